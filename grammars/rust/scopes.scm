(source_file) @scope
(block) @scope
(declaration_list) @scope
(match_block) @scope
