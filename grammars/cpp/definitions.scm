; inherits: c

; Member functions defined in the class body, and out of it (Shape::area).
((comment)* @doc
  .
  (field_declaration_list
    (function_definition
      declarator: (function_declarator
        declarator: (_) @name
        parameters: (parameter_list) @parameters)
      body: (compound_statement) @body) @definition.method))

((comment)* @doc
  .
  (function_definition
    declarator: (function_declarator
      declarator: (qualified_identifier) @name
      parameters: (parameter_list) @parameters)
    body: (compound_statement) @body) @definition.method)

((comment)* @doc
  .
  (class_specifier
    name: (_) @name
    body: (field_declaration_list) @body) @definition.class)
