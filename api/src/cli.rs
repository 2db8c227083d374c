//! The `marquee` command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Overrides, SecretString};

#[derive(Parser, Debug)]
#[command(name = "marquee", version, about = "Recommendations and analysis as a service")]
pub struct Cli {
    /// Settings file (TOML). Default: ./marquee.toml when present.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Default, Clone)]
pub struct CommonFlags {
    /// Database URL (overrides DATABASE_URL and the settings).
    #[arg(long, global = true, value_parser = secret)]
    pub database_url: Option<SecretString>,
    /// Data directory for the embedded database and model files.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Apply every tenant's interaction retention period now (the server also does it
    /// every `privacy.retention_interval_secs`).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Check and sign tenants' tamper-evident audit logs.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Import a public dataset into a tenant.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Train a model for a tenant, print its held-out metrics, optionally deploy it.
    Train(crate::train_cmd::TrainArgs),
    /// Build the sentence-embedding model (ONNX) from a BERT checkpoint.
    TextModel {
        #[command(subcommand)]
        command: crate::text_model_cmd::TextModelCommand,
    },
    /// Print the GraphQL schema (SDL) or write it to a file.
    ExportSchema {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Internal: the sandboxed worker the server runs tenant-uploaded models in (speaks a
    /// binary protocol on stdin and stdout).
    #[command(name = "onnx-worker", hide = true)]
    OnnxWorker,
}

/// The subcommand name the server starts its model workers with.
pub const ONNX_WORKER_COMMAND: &str = "onnx-worker";

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long)]
    pub host: Option<String>,
    /// Do not run migrations at start-up.
    #[arg(long)]
    pub no_migrate: bool,
    /// Make sure a demo tenant exists and print a key and a query to try.
    #[arg(long)]
    pub demo: bool,
    /// What this server runs (default: the `server.role` setting, `all`).
    #[arg(long, value_enum)]
    pub role: Option<crate::config::Role>,
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant with an owner and a first API key (shown once).
    Create {
        slug: String,
        #[arg(long)]
        name: String,
        /// The owner's e-mail; default owner@<slug>.example.
        #[arg(long)]
        owner_email: Option<String>,
        /// Print the credentials as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Set a tenant's own limits (what is left out keeps its value; 0: no limit) and
    /// print them as JSON. Takes effect at once on every replica.
    Limits {
        slug: String,
        #[arg(long)]
        tenant_requests_per_sec: Option<f64>,
        #[arg(long)]
        tenant_burst: Option<u32>,
        #[arg(long)]
        key_requests_per_sec: Option<f64>,
        #[arg(long)]
        key_burst: Option<u32>,
        #[arg(long)]
        training_jobs_per_day: Option<u32>,
        #[arg(long)]
        max_interactions: Option<u64>,
        #[arg(long)]
        max_catalog_items: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Delete interactions older than each tenant keeps, and record it in their audit logs.
    Run,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute a tenant's audit chain and check its signed checkpoints. Exits with
    /// status 2 when the log is broken.
    Verify {
        #[arg(long)]
        tenant: String,
        /// Print the report as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Sign the tenant's audit chain as it stands now and print the checkpoint.
    Checkpoint {
        #[arg(long)]
        tenant: String,
    },
    /// Archive the tenant's sealed segments (up to signed checkpoints) to
    /// `audit.archive_dir` and remove their events from the database.
    Archive {
        #[arg(long)]
        tenant: String,
        /// Archive no event after this one (default: up to the latest signed checkpoint).
        #[arg(long)]
        through: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import a MovieLens 100K directory (u.item, u.user, u.data): idempotent, damaged
    /// lines are reported with file and line number and skipped.
    Movielens {
        dir: PathBuf,
        #[arg(long)]
        tenant: String,
    },
}

/// A flag's value that may hold a password (a database URL), kept out of `Debug` output.
fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(value.into())
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        let mut overrides = Overrides {
            database_url: self.common.database_url.clone(),
            data_dir: self.common.data_dir.clone(),
            ..Default::default()
        };
        if let Command::Serve(args) = &self.command {
            overrides.port = args.port;
            overrides.host = args.host.clone();
            overrides.no_migrate = args.no_migrate;
            overrides.role = args.role;
        }
        overrides
    }
}
