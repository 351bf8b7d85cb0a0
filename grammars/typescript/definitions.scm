; inherits: javascript

((comment)* @doc
  .
  (abstract_class_declaration
    name: (_) @name
    body: (class_body) @body) @definition.class)

((comment)* @doc
  .
  (interface_declaration
    name: (_) @name
    body: (_) @body) @definition.class)

((comment)* @doc
  .
  (export_statement
    declaration: [(abstract_class_declaration name: (_) @name body: (class_body) @body)
                  (interface_declaration name: (_) @name body: (_) @body)] @definition.class))

((comment)* @doc
  .
  (function_signature
    name: (_) @name
    parameters: (formal_parameters) @parameters) @definition.function)
