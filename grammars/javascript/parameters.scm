; What a doc comment documents, from the code: the parameters' names, a value
; returned, and exceptions thrown.

(formal_parameters
  [(identifier) @parameter
   (assignment_pattern left: (identifier) @parameter)
   (rest_pattern (identifier) @parameter)])

(return_statement (_)) @returns

(throw_statement (new_expression constructor: (identifier) @raises))
