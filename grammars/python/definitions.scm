; Definitions: functions, methods (functions in a class body) and classes,
; with their name, parameters, body and docstring.

(class_definition
  body: (block
    (function_definition
      name: (identifier) @name
      parameters: (parameters) @parameters
      body: (block . (expression_statement (string) @doc)?) @body) @definition.method))

(class_definition
  body: (block
    (decorated_definition
      definition: (function_definition
        name: (identifier) @name
        parameters: (parameters) @parameters
        body: (block . (expression_statement (string) @doc)?) @body) @definition.method)))

(function_definition
  name: (identifier) @name
  parameters: (parameters) @parameters
  body: (block . (expression_statement (string) @doc)?) @body) @definition.function

(class_definition
  name: (identifier) @name
  superclasses: (argument_list)? @parameters
  body: (block . (expression_statement (string) @doc)?) @body) @definition.class

; A name a module assigns at its top (`LOGGER = ...`, `make_scanner = ...`):
; other files use it as `module.NAME`, and the workspace index lists it.
(module
  (expression_statement
    (assignment left: (identifier) @name) @definition.constant))
