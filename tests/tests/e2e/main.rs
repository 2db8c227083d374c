//! End-to-end tests: the real server on a random port, real HTTP, against SQLite and
//! PostgreSQL. One server per backend per run (a fresh database each run), a fresh
//! tenant per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access_control;
mod audit;
mod bad_input;
mod demo;
mod fairness;
mod hostile_models;
mod explanations;
mod ingestion;
mod isolation;
mod limits;
mod model_upload;
mod members;
mod jobs;
mod models;
mod privacy;
mod schema_contract;
mod secrets_at_rest;
mod sessions;
mod throttling;
mod uploaded_model_files;
mod settings;
