//! Breaking changes between two versions of a GraphQL schema, and whether CHANGELOG.md
//! announces them.
//!
//! A change is breaking when a query, variable or fragment that was valid against the old
//! schema can fail against the new one, or when a client that read a response of the old
//! shape can no longer read the new one:
//!
//! - a type removed, or changed into another kind (object, input object, enum...);
//! - a field, an argument, an input field, an enum value, a union member, an interface of
//!   an object, or a directive removed;
//! - an output field's type changed other than by adding non-null (`String` to `String!`
//!   is safe, the reverse is not; a list and its element count separately);
//! - an argument's or input field's type changed other than by dropping non-null
//!   (`String!` to `String` is safe, the reverse is not);
//! - a new required argument or input field (non-null and without a default).
//!
//! Additions (types, fields, optional arguments, enum values) are not breaking. Each change
//! is named by its schema coordinate: `Type`, `Type.field`, `Type.field(arg:)`,
//! `Enum.VALUE`, `@directive`, `@directive(arg:)`.
//!
//! The rule for CHANGELOG.md (see [`unannounced`]): every breaking change's coordinate
//! appears, between backquotes, in its `## [Unreleased]` section.

use std::collections::BTreeMap;
use std::fmt;

use async_graphql_parser::Positioned;
use async_graphql_parser::types::{
    BaseType, DirectiveDefinition, FieldDefinition, InputValueDefinition, Type, TypeDefinition, TypeKind,
    TypeSystemDefinition,
};

/// One breaking change: where it is and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The schema coordinate of what changed, e.g. `Query.models(status:)`.
    pub coordinate: String,
    /// What happened to it, in a few words.
    pub what: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.coordinate, self.what)
    }
}

/// A schema that does not parse; `which` says which of the two.
#[derive(Debug)]
pub struct ParseError {
    pub which: &'static str,
    pub error: async_graphql_parser::Error,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} schema does not parse: {}", self.which, self.error)
    }
}

impl std::error::Error for ParseError {}

/// Every breaking change from `old` to `new` (both SDL), by type name, then directives.
pub fn breaking_changes(old: &str, new: &str) -> Result<Vec<Change>, ParseError> {
    let old = Schema::parse(old).map_err(|error| ParseError { which: "old", error })?;
    let new = Schema::parse(new).map_err(|error| ParseError { which: "new", error })?;
    let mut changes = Vec::new();
    for (name, old_type) in &old.types {
        match new.types.get(name) {
            None => changes.push(change(name, format!("{} removed", kind_name(&old_type.kind)))),
            Some(new_type) => compare_types(name, old_type, new_type, &mut changes),
        }
    }
    for (name, old_directive) in &old.directives {
        let coordinate = format!("@{name}");
        match new.directives.get(name) {
            None => changes.push(change(&coordinate, "directive removed")),
            Some(new_directive) => {
                compare_arguments(&coordinate, &old_directive.arguments, &new_directive.arguments, &mut changes)
            }
        }
    }
    Ok(changes)
}

/// The changes whose coordinate CHANGELOG.md's `## [Unreleased]` section does not mention
/// between backquotes (all of them when there is no such section).
pub fn unannounced<'a>(changes: &'a [Change], changelog: &str) -> Vec<&'a Change> {
    let section = unreleased_section(changelog).unwrap_or_default();
    changes.iter().filter(|c| !section.contains(&format!("`{}`", c.coordinate))).collect()
}

/// The text of the `## [Unreleased]` section (from its heading to the next `## ` heading).
pub fn unreleased_section(changelog: &str) -> Option<String> {
    let mut lines = changelog.lines().skip_while(|line| !is_unreleased_heading(line));
    lines.next()?;
    Some(lines.take_while(|line| !line.starts_with("## ")).collect::<Vec<_>>().join("\n"))
}

fn is_unreleased_heading(line: &str) -> bool {
    line.strip_prefix("## ").is_some_and(|rest| rest.trim().trim_matches(['[', ']']).eq_ignore_ascii_case("unreleased"))
}

/// The definitions of one schema by name.
struct Schema {
    types: BTreeMap<String, TypeDefinition>,
    directives: BTreeMap<String, DirectiveDefinition>,
}

impl Schema {
    fn parse(sdl: &str) -> Result<Self, async_graphql_parser::Error> {
        let document = async_graphql_parser::parse_schema(sdl)?;
        let mut schema = Schema { types: BTreeMap::new(), directives: BTreeMap::new() };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Type(t) => {
                    schema.types.insert(t.node.name.node.to_string(), t.node);
                }
                TypeSystemDefinition::Directive(d) => {
                    schema.directives.insert(d.node.name.node.to_string(), d.node);
                }
                TypeSystemDefinition::Schema(_) => {}
            }
        }
        Ok(schema)
    }
}

fn change(coordinate: &str, what: impl Into<String>) -> Change {
    Change { coordinate: coordinate.to_owned(), what: what.into() }
}

fn kind_name(kind: &TypeKind) -> &'static str {
    match kind {
        TypeKind::Scalar => "scalar",
        TypeKind::Object(_) => "object type",
        TypeKind::Interface(_) => "interface",
        TypeKind::Union(_) => "union",
        TypeKind::Enum(_) => "enum",
        TypeKind::InputObject(_) => "input object",
    }
}

fn compare_types(name: &str, old: &TypeDefinition, new: &TypeDefinition, changes: &mut Vec<Change>) {
    match (&old.kind, &new.kind) {
        (TypeKind::Scalar, TypeKind::Scalar) => {}
        (TypeKind::Object(o), TypeKind::Object(n)) => {
            compare_interfaces(name, &o.implements, &n.implements, changes);
            compare_fields(name, &o.fields, &n.fields, changes);
        }
        (TypeKind::Interface(o), TypeKind::Interface(n)) => {
            compare_interfaces(name, &o.implements, &n.implements, changes);
            compare_fields(name, &o.fields, &n.fields, changes);
        }
        (TypeKind::Union(o), TypeKind::Union(n)) => {
            for member in &o.members {
                if !n.members.iter().any(|m| m.node == member.node) {
                    changes.push(change(name, format!("union member `{}` removed", member.node)));
                }
            }
        }
        (TypeKind::Enum(o), TypeKind::Enum(n)) => {
            for value in &o.values {
                if !n.values.iter().any(|v| v.node.value.node == value.node.value.node) {
                    changes.push(change(&format!("{name}.{}", value.node.value.node), "enum value removed"));
                }
            }
        }
        (TypeKind::InputObject(o), TypeKind::InputObject(n)) => {
            compare_input_values(name, "input field", ".", "", &o.fields, &n.fields, changes);
        }
        (o, n) => changes.push(change(name, format!("changed from {} to {}", kind_name(o), kind_name(n)))),
    }
}

/// `N` is the parser's name type, which it does not export.
fn compare_interfaces<N: PartialEq + fmt::Display>(
    name: &str,
    old: &[Positioned<N>],
    new: &[Positioned<N>],
    changes: &mut Vec<Change>,
) {
    for interface in old {
        if !new.iter().any(|i| i.node == interface.node) {
            changes.push(change(name, format!("no longer implements `{}`", interface.node)));
        }
    }
}

fn compare_fields(
    name: &str,
    old: &[Positioned<FieldDefinition>],
    new: &[Positioned<FieldDefinition>],
    changes: &mut Vec<Change>,
) {
    for old_field in old {
        let field = &old_field.node.name.node;
        let coordinate = format!("{name}.{field}");
        let Some(new_field) = new.iter().find(|f| f.node.name.node == *field) else {
            let deprecated = old_field.node.directives.iter().any(|d| d.node.name.node == "deprecated");
            changes.push(change(&coordinate, if deprecated { "deprecated field removed" } else { "field removed" }));
            continue;
        };
        let (old_ty, new_ty) = (&old_field.node.ty.node, &new_field.node.ty.node);
        if !output_compatible(old_ty, new_ty) {
            changes.push(change(&coordinate, format!("type changed from `{old_ty}` to `{new_ty}`")));
        }
        compare_arguments(&coordinate, &old_field.node.arguments, &new_field.node.arguments, changes);
    }
}

fn compare_arguments(
    owner: &str,
    old: &[Positioned<InputValueDefinition>],
    new: &[Positioned<InputValueDefinition>],
    changes: &mut Vec<Change>,
) {
    compare_input_values(owner, "argument", "(", ":)", old, new, changes);
}

/// Arguments (`owner(name:)`) and input fields (`owner.name`) follow the same rules.
fn compare_input_values(
    owner: &str,
    what: &str,
    open: &str,
    close: &str,
    old: &[Positioned<InputValueDefinition>],
    new: &[Positioned<InputValueDefinition>],
    changes: &mut Vec<Change>,
) {
    let coordinate = |name: &str| format!("{owner}{open}{name}{close}");
    for old_value in old {
        let name = &old_value.node.name.node;
        match new.iter().find(|v| v.node.name.node == *name) {
            None => changes.push(change(&coordinate(name), format!("{what} removed"))),
            Some(new_value) => {
                let (old_ty, new_ty) = (&old_value.node.ty.node, &new_value.node.ty.node);
                if !input_compatible(old_ty, new_ty) {
                    changes.push(change(&coordinate(name), format!("type changed from `{old_ty}` to `{new_ty}`")));
                }
            }
        }
    }
    for new_value in new {
        let name = &new_value.node.name.node;
        let required = !new_value.node.ty.node.nullable && new_value.node.default_value.is_none();
        if required && !old.iter().any(|v| v.node.name.node == *name) {
            changes.push(change(&coordinate(name), format!("new required {what}")));
        }
    }
}

/// Whether every value of the old output type is also a value of the new one as clients
/// read it: non-null may be added, not removed; the named type stays.
fn output_compatible(old: &Type, new: &Type) -> bool {
    if !old.nullable && new.nullable {
        return false;
    }
    match (&old.base, &new.base) {
        (BaseType::Named(o), BaseType::Named(n)) => o == n,
        (BaseType::List(o), BaseType::List(n)) => output_compatible(o, n),
        _ => false,
    }
}

/// Whether every input clients could send before is still accepted: non-null may be
/// dropped, not added; the named type stays.
fn input_compatible(old: &Type, new: &Type) -> bool {
    if old.nullable && !new.nullable {
        return false;
    }
    match (&old.base, &new.base) {
        (BaseType::Named(o), BaseType::Named(n)) => o == n,
        (BaseType::List(o), BaseType::List(n)) => input_compatible(o, n),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        directive @cached(seconds: Int) on FIELD_DEFINITION
        interface Node { id: ID! }
        type Query {
            content(id: ID!, locale: String): Content
            contents(first: Int = 10, kinds: [ContentKind!]): [Content!]!
            count: Int!
            legacy: String @deprecated(reason: "use count")
            search: SearchResult
        }
        type Content implements Node { id: ID! title: String kind: ContentKind! tags: [String!]! }
        type Person { id: ID! }
        union SearchResult = Content | Person
        enum ContentKind { MOVIE SERIES GAME }
        input ContentInput { id: ID! title: String tags: [String!] }
        scalar DateTime
    "#;

    fn changes(new: &str) -> Vec<String> {
        breaking_changes(BASE, new).unwrap().iter().map(ToString::to_string).collect()
    }

    /// BASE with one textual replacement, which must apply.
    fn edited(from: &str, to: &str) -> String {
        assert!(BASE.contains(from), "the fixture has no `{from}`");
        BASE.replacen(from, to, 1)
    }

    #[test]
    fn the_same_schema_has_no_breaking_change() {
        assert_eq!(changes(BASE), Vec::<String>::new());
    }

    #[test]
    fn additions_are_not_breaking() {
        let new = edited("count: Int!", "count: Int!\n newField(arg: Int!): String")
            .replace("MOVIE SERIES GAME", "MOVIE SERIES GAME MUSIC")
            .replace(
                "content(id: ID!, locale: String)",
                "content(id: ID!, locale: String, region: String, n: Int! = 3)",
            )
            .replace("tags: [String!] }", "tags: [String!] note: String size: Int! = 1 }")
            .replace("union SearchResult = Content | Person", "union SearchResult = Content | Person | Added")
            .replace("type Person {", "type Person implements Node {")
            + "\ntype Added { x: Int }\ninput AddedInput { y: Int! }\ndirective @new on FIELD";
        assert_eq!(changes(&new), Vec::<String>::new());
    }

    #[test]
    fn safe_type_changes_are_not_breaking() {
        // Outputs may gain non-null, inputs may lose it.
        let new = edited("title: String kind", "title: String! kind")
            .replace("content(id: ID!,", "content(id: ID,")
            .replace("input ContentInput { id: ID!", "input ContentInput { id: ID");
        assert_eq!(changes(&new), Vec::<String>::new());
    }

    #[test]
    fn a_removed_type_is_breaking() {
        assert_eq!(changes(&edited("scalar DateTime", "")), ["DateTime: scalar removed"]);
    }

    #[test]
    fn a_removed_field_is_breaking_and_says_when_it_was_deprecated() {
        assert_eq!(changes(&edited("count: Int!", "")), ["Query.count: field removed"]);
        assert_eq!(
            changes(&edited(r#"legacy: String @deprecated(reason: "use count")"#, "")),
            ["Query.legacy: deprecated field removed"]
        );
    }

    #[test]
    fn a_removed_enum_value_is_breaking() {
        assert_eq!(changes(&edited("MOVIE SERIES GAME", "MOVIE GAME")), ["ContentKind.SERIES: enum value removed"]);
    }

    #[test]
    fn a_removed_argument_is_breaking() {
        assert_eq!(
            changes(&edited("content(id: ID!, locale: String)", "content(id: ID!)")),
            ["Query.content(locale:): argument removed"]
        );
    }

    #[test]
    fn a_removed_input_field_union_member_interface_or_directive_is_breaking() {
        assert_eq!(
            changes(&edited("input ContentInput { id: ID! title: String", "input ContentInput { id: ID!")),
            ["ContentInput.title: input field removed"]
        );
        assert_eq!(
            changes(&edited("= Content | Person", "= Content")),
            ["SearchResult: union member `Person` removed"]
        );
        assert_eq!(
            changes(&edited("type Content implements Node {", "type Content {")),
            ["Content: no longer implements `Node`"]
        );
        assert_eq!(
            changes(&edited("directive @cached(seconds: Int) on FIELD_DEFINITION", "")),
            ["@cached: directive removed"]
        );
    }

    #[test]
    fn output_types_that_lose_non_null_or_change_are_breaking() {
        assert_eq!(changes(&edited("count: Int!", "count: Int")), ["Query.count: type changed from `Int!` to `Int`"]);
        assert_eq!(
            changes(&edited("tags: [String!]!", "tags: [String]!")),
            ["Content.tags: type changed from `[String!]!` to `[String]!`"]
        );
        assert_eq!(
            changes(&edited("count: Int!", "count: [Int!]!")),
            ["Query.count: type changed from `Int!` to `[Int!]!`"]
        );
        assert_eq!(
            changes(&edited("count: Int!", "count: Float!")),
            ["Query.count: type changed from `Int!` to `Float!`"]
        );
    }

    #[test]
    fn input_types_that_gain_non_null_or_change_are_breaking() {
        assert_eq!(
            changes(&edited("locale: String)", "locale: String!)")),
            ["Query.content(locale:): type changed from `String` to `String!`"]
        );
        assert_eq!(
            changes(&edited("kinds: [ContentKind!])", "kinds: [ContentKind])")),
            Vec::<String>::new(),
            "a list argument may accept null elements"
        );
        assert_eq!(
            changes(&edited("kinds: [ContentKind!])", "kinds: [ContentKind!]!)")),
            ["Query.contents(kinds:): type changed from `[ContentKind!]` to `[ContentKind!]!`"]
        );
        assert_eq!(
            changes(&edited("tags: [String!] }", "tags: String }")),
            ["ContentInput.tags: type changed from `[String!]` to `String`"]
        );
    }

    #[test]
    fn new_required_arguments_and_input_fields_are_breaking() {
        assert_eq!(
            changes(&edited("content(id: ID!, locale: String)", "content(id: ID!, locale: String, region: String!)")),
            ["Query.content(region:): new required argument"]
        );
        assert_eq!(
            changes(&edited("tags: [String!] }", "tags: [String!] size: Int! }")),
            ["ContentInput.size: new required input field"]
        );
        assert_eq!(
            changes(&edited("directive @cached(seconds: Int)", "directive @cached(seconds: Int, scope: String!)")),
            ["@cached(scope:): new required argument"]
        );
    }

    #[test]
    fn a_type_that_changes_kind_is_breaking() {
        assert_eq!(
            changes(&edited("type Person { id: ID! }", "input Person { id: ID! }")),
            ["Person: changed from object type to input object"]
        );
    }

    #[test]
    fn a_rename_is_a_removal_and_a_change_of_every_field_of_that_type() {
        let new = edited("type Person { id: ID! }", "type Human { id: ID! }").replace("| Person", "| Human");
        assert_eq!(changes(&new), ["Person: object type removed", "SearchResult: union member `Person` removed"]);
    }

    #[test]
    fn a_schema_that_does_not_parse_is_an_error_naming_which() {
        let err = breaking_changes(BASE, "type {").unwrap_err();
        assert_eq!(err.which, "new");
    }

    const CHANGELOG: &str = "# Changelog\n\n## [Unreleased]\n\n### Removed\n\n- `Query.count`: use `contents`.\n\n\
                             ## [0.1.0] - 2026-01-01\n\n- `Query.legacy` removed.\n";

    #[test]
    fn only_the_unreleased_section_announces_a_change_and_only_in_backquotes() {
        let changes = vec![change("Query.count", "field removed"), change("Query.legacy", "field removed")];
        let missing: Vec<_> = unannounced(&changes, CHANGELOG).into_iter().map(|c| c.coordinate.as_str()).collect();
        assert_eq!(missing, ["Query.legacy"]);
        let prose = CHANGELOG.replace("`Query.count`", "Query.count");
        assert_eq!(unannounced(&changes, &prose).len(), 2);
        // A coordinate that merely starts another one's name does not count.
        assert_eq!(unannounced(&[change("Query.coun", "field removed")], CHANGELOG).len(), 1);
    }

    #[test]
    fn without_an_unreleased_section_nothing_is_announced() {
        let changes = vec![change("Query.count", "field removed")];
        assert_eq!(unannounced(&changes, "# Changelog\n\n- `Query.count`\n").len(), 1);
        assert!(
            unreleased_section("## Unreleased\nx\n## [1.0.0]\ny").is_some_and(|s| s.contains('x') && !s.contains('y'))
        );
    }
}
