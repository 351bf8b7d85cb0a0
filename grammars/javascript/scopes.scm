(program) @scope
(statement_block) @scope
(class_body) @scope
(switch_body) @scope
