; What a doc comment documents, from the code: the parameters' names, a value
; returned (or a declared return type other than void), and exceptions thrown.
; Not inherited from javascript: parameters are typed nodes here.

(formal_parameters
  [(required_parameter pattern: (identifier) @parameter)
   (optional_parameter pattern: (identifier) @parameter)
   (required_parameter pattern: (rest_pattern (identifier) @parameter))])

(return_statement (_)) @returns
(_ return_type: (type_annotation) @returns
  (#not-match? @returns "^:\\s*(void|never|Promise<void>)$"))

(throw_statement (new_expression constructor: (identifier) @raises))
