; inherits: c
; References, and exceptions thrown.

(parameter_declaration declarator: (reference_declarator (identifier) @parameter))
(optional_parameter_declaration declarator: (identifier) @parameter)
(throw_statement (call_expression function: (identifier) @raises))
(throw_statement (call_expression function: (qualified_identifier) @raises))
