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

#[test]
fn error_codes_are_documented_in_the_schema_docs() {
    let docs = std::fs::read_to_string(crate::helpers::manifest_dir().join("../docs/errors.md")).unwrap_or_default();
    use api::error_codes::ErrorCodeExt as _;
    for code in domain::ErrorCode::ALL {
        assert!(docs.contains(code.graphql_code()), "docs/errors.md does not describe {}", code.graphql_code());
    }
}
