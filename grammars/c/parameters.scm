; What a doc comment documents, from the code: the parameters' names and a
; value returned.

(parameter_declaration declarator: (identifier) @parameter)
(parameter_declaration declarator: (pointer_declarator declarator: (identifier) @parameter))
(parameter_declaration declarator: (pointer_declarator declarator: (pointer_declarator declarator: (identifier) @parameter)))
(parameter_declaration declarator: (array_declarator declarator: (identifier) @parameter))
(return_statement (_)) @returns
