; Names that refer to a function, method or type defined elsewhere: what a
; hover on them explains.

(call_expression function: (identifier) @reference)
(call_expression function: (selector_expression field: (field_identifier) @reference))
(type_identifier) @reference
