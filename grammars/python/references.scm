; Names that refer to a function, method or class defined elsewhere: what a
; hover on them explains.

(call function: (identifier) @reference)
(call function: (attribute attribute: (identifier) @reference))
(decorator (identifier) @reference)
(class_definition superclasses: (argument_list (identifier) @reference))
(type (identifier) @reference)
