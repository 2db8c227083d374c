//! The `marquee` binary's library: HTTP server, GraphQL schema, command line.
//!
//! Layering rule: `api` depends on `domain` (and `migrations` to run them), never the
//! other way. It holds no business rules: a resolver parses input into domain types,
//! calls one domain function and maps the result into GraphQL types defined here.

pub mod audit_cmd;
pub mod cli;
pub mod config;
pub mod demo;
pub mod graphql;
pub mod http;
pub mod import_cmd;
pub mod jobs;
pub mod node;
pub mod secrets;
pub mod startup;
pub mod telemetry;
pub mod train_cmd;
