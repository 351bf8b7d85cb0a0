; Names that refer to a method or class defined elsewhere: what a hover on
; them explains.

(method_invocation name: (identifier) @reference)
(object_creation_expression type: (type_identifier) @reference)
(type_identifier) @reference
