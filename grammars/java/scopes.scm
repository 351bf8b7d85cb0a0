(program) @scope
(block) @scope
(class_body) @scope
(interface_body) @scope
(constructor_body) @scope
