; Definitions with their `///` doc lines (the line comments right before them,
; or before the attributes right before them).

((line_comment)* @doc
  .
  (impl_item
    body: (declaration_list
      (function_item
        name: (identifier) @name
        parameters: (parameters) @parameters
        body: (block) @body) @definition.method)))

((line_comment)* @doc
  .
  (attribute_item)*
  .
  (function_item
    name: (identifier) @name
    parameters: (parameters) @parameters
    body: (block) @body) @definition.function)

((line_comment)* @doc
  .
  (function_signature_item
    name: (identifier) @name
    parameters: (parameters) @parameters) @definition.method)

((line_comment)* @doc
  .
  (attribute_item)*
  .
  [(struct_item name: (_) @name body: (_)? @body)
   (enum_item name: (_) @name body: (_) @body)
   (union_item name: (_) @name body: (_) @body)
   (trait_item name: (_) @name body: (_) @body)] @definition.class)
