//! The `marquee` binary's library: HTTP server, GraphQL schema, command line.
//!
//! Layering rule: `api` depends on `domain` (and `migrations` to run them), never the
//! other way. It holds no business rules: a resolver parses input into domain types,
//! calls one domain function and maps the result into GraphQL types defined here.

// Modules in layering order, lowest first: a module uses only those declared before it,
// which `e2e`'s module-order test checks.
pub mod config;
pub mod error_codes;
pub mod telemetry;
pub mod secrets;
pub mod node;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod demo;
pub mod import_cmd;
pub mod audit_cmd;
pub mod train_cmd;
pub mod text_model_cmd;
pub mod cli;
pub mod startup;
