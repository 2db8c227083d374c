//! What a field costs against `graphql.max_complexity`. async-graphql counts 1 per field
//! and its children once; a list is counted once per element it may return, or
//! `endUsers(first: 100) { interactions(first: 100) }` costs as little as two fields.
//! An audited read of a person's data (a transaction and an audit event each) costs a
//! page of fields more, so a query that fans out into such reads is refused before any
//! of them runs. The limit holds per operation and, for a batch, for the sum
//! (`http::graphql`); `graphql.max_personal_reads` counts the reads that do run.

use domain::tenants::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The extra cost of one audited read of personal data.
pub const PERSONAL_READ: usize = 100;

const MAX_LIST: usize = domain::models::recommend::MAX_RECOMMENDATIONS;

/// How many elements a list may return: `first` as the resolver will accept it. A value
/// out of range is refused at run time; it is counted at the bound so the estimate stays
/// an upper bound of what can run.
fn elements(first: Option<i32>, default: usize, max: usize) -> usize {
    first.map_or(default, |n| usize::try_from(n).unwrap_or(1).clamp(1, max))
}

/// The extra cost of comparing two models: two evaluation files read and resampled.
pub const COMPARISON: usize = 100;

/// A comparison of two models.
pub fn comparison(child_complexity: usize) -> usize {
    COMPARISON.saturating_add(child_complexity).saturating_add(1)
}

/// A connection with `first` (default page size when absent).
pub fn page(first: Option<i32>, child_complexity: usize) -> usize {
    let n = elements(first, DEFAULT_PAGE_SIZE as usize, MAX_PAGE_SIZE as usize);
    n.saturating_mul(child_complexity).saturating_add(1)
}

/// A plain list with a required `first` (recommendations, similar items, top content).
pub fn list(first: i32, child_complexity: usize) -> usize {
    let n = elements(Some(first), 10, MAX_LIST);
    n.saturating_mul(child_complexity).saturating_add(1)
}

/// One audited read of one person's data.
pub fn personal(child_complexity: usize) -> usize {
    PERSONAL_READ.saturating_add(child_complexity).saturating_add(1)
}

/// A connection whose page is one audited read.
pub fn personal_page(first: Option<i32>, child_complexity: usize) -> usize {
    PERSONAL_READ.saturating_add(page(first, child_complexity))
}

/// A person's recommendations; explaining them is a second audited read.
pub fn recommendations(first: i32, explain: bool, child_complexity: usize) -> usize {
    let reads = if explain { 2 } else { 1 };
    PERSONAL_READ.saturating_mul(reads).saturating_add(list(first, child_complexity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_multiply_their_children_within_the_accepted_range() {
        assert_eq!(page(None, 3), 20 * 3 + 1);
        assert_eq!(page(Some(100), 3), 301);
        assert_eq!(page(Some(10_000), 3), 301, "refused at run time; counted at the bound");
        assert_eq!(page(Some(-5), 3), 4);
        assert_eq!(list(5, 2), 11);
        assert_eq!(personal_page(Some(1), 1), PERSONAL_READ + 2);
        assert!(recommendations(10, true, 5) > recommendations(10, false, 5));
    }
}
