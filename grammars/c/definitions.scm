; Definitions with the comments right before them as their doc (Doxygen).

((comment)* @doc
  .
  (function_definition
    declarator: [(function_declarator
                   declarator: (_) @name
                   parameters: (parameter_list) @parameters)
                 (pointer_declarator
                   declarator: (function_declarator
                     declarator: (_) @name
                     parameters: (parameter_list) @parameters))]
    body: (compound_statement) @body) @definition.function)

((comment)* @doc
  .
  [(struct_specifier name: (_) @name body: (field_declaration_list) @body)
   (union_specifier name: (_) @name body: (field_declaration_list) @body)
   (enum_specifier name: (_) @name body: (enumerator_list) @body)] @definition.class)
