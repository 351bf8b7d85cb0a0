; Names that refer to a function or type defined elsewhere: what a hover on
; them explains.

(call_expression function: (identifier) @reference)
(type_identifier) @reference
