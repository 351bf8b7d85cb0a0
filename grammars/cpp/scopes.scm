; inherits: c
(declaration_list) @scope
