(source_file) @scope
(block) @scope
(field_declaration_list) @scope
