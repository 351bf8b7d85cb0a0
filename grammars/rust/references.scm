; Names that refer to a function, method or type defined elsewhere: what a
; hover on them explains.

(call_expression function: (identifier) @reference)
(call_expression function: (scoped_identifier name: (identifier) @reference))
(call_expression function: (field_expression field: (field_identifier) @reference))
(type_identifier) @reference

; Macro arguments are token trees: a name right before a parenthesized one is a call.
(token_tree (identifier) @reference . (token_tree))
