(translation_unit) @scope
(compound_statement) @scope
(field_declaration_list) @scope
