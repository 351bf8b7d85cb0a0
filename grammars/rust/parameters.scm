; What a doc comment documents, from the code: the parameters' names (not
; self) and a declared return type.

(parameters (parameter pattern: (identifier) @parameter))
(parameters (parameter pattern: (mut_pattern (identifier) @parameter)))
(function_item return_type: (_) @returns)
(function_signature_item return_type: (_) @returns)
