; Definitions with the `//` comment lines right before them as their doc.

((comment)* @doc
  .
  (function_declaration
    name: (identifier) @name
    parameters: (parameter_list) @parameters
    body: (block) @body) @definition.function)

((comment)* @doc
  .
  (method_declaration
    name: (field_identifier) @name
    parameters: (parameter_list) @parameters
    body: (block) @body) @definition.method)

((comment)* @doc
  .
  (type_declaration
    (type_spec
      name: (type_identifier) @name
      type: [(struct_type) (interface_type)] @body)) @definition.class)
