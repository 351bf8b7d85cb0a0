; Nodes whose children are statements: a suggestion inside one may be a block.
(module) @scope
(block) @scope
