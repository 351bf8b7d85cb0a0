; inherits: javascript
; Types named in annotations, `extends` and `implements`.

(type_identifier) @reference
