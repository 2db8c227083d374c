//! Checks made on the parsed query before it runs: async-graphql bounds depth and
//! complexity; aliases we count here, since each alias can multiply the work of one
//! field.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};

pub fn count_aliases(doc: &ExecutableDocument) -> usize {
    let operations: usize = match &doc.operations {
        DocumentOperations::Single(op) => in_set(&op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => ops.values().map(|op| in_set(&op.node.selection_set.node)).sum(),
    };
    let fragments: usize = doc.fragments.values().map(|f| in_set(&f.node.selection_set.node)).sum();
    operations + fragments
}

fn in_set(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => usize::from(field.node.alias.is_some()) + in_set(&field.node.selection_set.node),
            Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_aliases_everywhere() -> Result<(), async_graphql::parser::Error> {
        let doc = async_graphql::parser::parse_query(
            "query { a: viewer { b: kind } ... on Query { c: tenant { name } } ...F } fragment F on Query { d: tenant { slug } }",
        )?;
        assert_eq!(count_aliases(&doc), 4);
        Ok(())
    }
}
