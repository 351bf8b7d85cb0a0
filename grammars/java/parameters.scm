; What a Javadoc documents, from the code: the parameters' names, a return
; type other than void, and exceptions declared or thrown.

(formal_parameters (formal_parameter name: (identifier) @parameter))
(formal_parameters (spread_parameter (variable_declarator name: (identifier) @parameter)))
(method_declaration type: (_) @returns (#not-eq? @returns "void"))
(throws (type_identifier) @raises)
(throw_statement (object_creation_expression type: (type_identifier) @raises))
