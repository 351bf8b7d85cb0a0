; What a docstring documents, from the code: the parameters' names (not
; self or cls), a value returned, and exceptions raised.

(parameters
  [((identifier) @parameter)
   (typed_parameter . (identifier) @parameter)
   (default_parameter name: (identifier) @parameter)
   (typed_default_parameter name: (identifier) @parameter)
   (list_splat_pattern (identifier) @parameter)
   (dictionary_splat_pattern (identifier) @parameter)
   (typed_parameter (list_splat_pattern (identifier) @parameter))
   (typed_parameter (dictionary_splat_pattern (identifier) @parameter))]
  (#not-match? @parameter "^(self|cls)$"))

(return_statement (_)) @returns
(function_definition return_type: (type) @returns (#not-eq? @returns "None"))

(raise_statement (call function: (identifier) @raises))
(raise_statement (call function: (attribute) @raises))
(raise_statement . (identifier) @raises)
