; What a doc comment documents, from the code: the parameters' names (not the
; receiver) and declared results.

(function_declaration parameters: (parameter_list (parameter_declaration name: (identifier) @parameter)))
(function_declaration parameters: (parameter_list (variadic_parameter_declaration name: (identifier) @parameter)))
(method_declaration parameters: (parameter_list (parameter_declaration name: (identifier) @parameter)))
(method_declaration parameters: (parameter_list (variadic_parameter_declaration name: (identifier) @parameter)))
(function_declaration result: (_) @returns)
(method_declaration result: (_) @returns)
