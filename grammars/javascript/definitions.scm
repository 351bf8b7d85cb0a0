; Definitions with the comment right before them as their doc (JSDoc).

((comment)* @doc
  .
  [(function_declaration
     name: (_) @name
     parameters: (formal_parameters) @parameters
     body: (statement_block) @body)
   (generator_function_declaration
     name: (_) @name
     parameters: (formal_parameters) @parameters
     body: (statement_block) @body)] @definition.function)

((comment)* @doc
  .
  (export_statement
    declaration: [(function_declaration
                    name: (_) @name
                    parameters: (formal_parameters) @parameters
                    body: (statement_block) @body)
                  (generator_function_declaration
                    name: (_) @name
                    parameters: (formal_parameters) @parameters
                    body: (statement_block) @body)] @definition.function))

; const name = (a, b) => ...; const name = function (a, b) {...}
((comment)* @doc
  .
  (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function parameters: (formal_parameters) @parameters body: (_) @body)
              (function_expression parameters: (formal_parameters) @parameters body: (statement_block) @body)])) @definition.function)

((comment)* @doc
  .
  (export_statement
    declaration: (lexical_declaration
      (variable_declarator
        name: (identifier) @name
        value: [(arrow_function parameters: (formal_parameters) @parameters body: (_) @body)
                (function_expression parameters: (formal_parameters) @parameters body: (statement_block) @body)])) @definition.function))

((comment)* @doc
  .
  (method_definition
    name: (_) @name
    parameters: (formal_parameters) @parameters
    body: (statement_block) @body) @definition.method)

((comment)* @doc
  .
  (class_declaration
    name: (_) @name
    body: (class_body) @body) @definition.class)

((comment)* @doc
  .
  (export_statement
    declaration: (class_declaration
      name: (_) @name
      body: (class_body) @body) @definition.class))
