; Definitions with the Javadoc comment right before them as their doc.

(([(block_comment) (line_comment)])* @doc
  .
  [(method_declaration
     name: (identifier) @name
     parameters: (formal_parameters) @parameters
     body: (block)? @body)
   (constructor_declaration
     name: (identifier) @name
     parameters: (formal_parameters) @parameters
     body: (constructor_body) @body)] @definition.method)

(([(block_comment) (line_comment)])* @doc
  .
  [(class_declaration name: (identifier) @name body: (class_body) @body)
   (interface_declaration name: (identifier) @name body: (interface_body) @body)
   (enum_declaration name: (identifier) @name body: (enum_body) @body)
   (record_declaration
     name: (identifier) @name
     parameters: (formal_parameters) @parameters
     body: (class_body) @body)] @definition.class)
