//! The checked-in `schema.graphql` is the contract: it must equal what the code serves.
//! Regenerate with `make schema` (or `marquee export-schema -o schema.graphql`).

#[test]
fn checked_in_schema_matches_the_code() {
    let path = crate::helpers::manifest_dir().join("../schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let served = api::graphql::export_sdl();
    assert!(
        checked_in == served,
        "schema.graphql differs from the code's schema; run `make schema` and review the diff"
    );
}
