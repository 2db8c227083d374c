//! End-to-end tests: the real server on a random port, real HTTP, against SQLite and
//! PostgreSQL. One server per backend per run (a fresh database each run), a fresh
//! tenant per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access_control;
mod answer_cache;
mod audit;
mod auto_choice;
mod bad_input;
mod comparisons;
mod console;
mod console_sessions;
mod content;
mod demo;
mod error_codes;
mod explained_scores;
mod explanations;
mod fairness;
mod graphql_over_http;
mod faults;
mod hostile_models;
mod ingestion;
mod isolation;
mod job_queue;
mod jobs;
mod limits;
mod members;
mod metrics;
mod model_stores;
mod model_upload;
mod models;
mod privacy;
mod proxied_replicas;
mod quotas;
mod replicas;
mod schema_contract;
mod secrets_at_rest;
mod sessions;
mod settings;
mod telemetry;
mod throttling;
mod total_count;
mod uploaded_model_files;
