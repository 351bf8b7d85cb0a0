; Names that refer to a function, method or class defined elsewhere: what a
; hover on them explains.

(call_expression function: (identifier) @reference)
(call_expression function: (member_expression property: (property_identifier) @reference))
(new_expression constructor: (identifier) @reference)
