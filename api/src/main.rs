use anyhow::Context as _;
use api::cli::{AuditCommand, Cli, Command, ImportCommand, RetentionCommand, TenantCommand};
use api::config::{ExposeSecret as _, Settings};
use api::startup::{Application, connect, run_migrations};
use clap::Parser;
use domain::access::{self, NewTenant};
use domain::tenants::ids::{Email, TenantSlug};

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    // A model worker reads no settings, starts no runtime and inherits nothing it needs.
    if let Command::OnnxWorker = cli.command {
        return Ok(inference::sandbox::worker_main());
    }
    // An offline build step: no settings, no runtime.
    if let Command::TextModel { command } = &cli.command {
        api::text_model_cmd::run(command)?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(cli))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref(), &cli.overrides()).context("invalid settings")?;
    let telemetry = api::telemetry::init(&settings.log, &settings.telemetry);
    let outcome = execute(cli, settings).await;
    // After a graceful stop too (SIGTERM, Ctrl-C): the last requests' spans are sent.
    telemetry.shutdown().await;
    outcome
}

async fn execute(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let mut settings = settings;
            if args.demo {
                api::demo::adjust_settings(&mut settings);
            }
            let app = Application::build(&settings).await?;
            if args.demo {
                let demo = api::demo::ensure_demo_tenant(&app.app().services).await?;
                api::demo::print_banner(app.port(), &settings.server.host, &demo, true);
                let (port, host, domain_app) = (app.port(), settings.server.host.clone(), app.app().clone());
                tokio::spawn(async move {
                    let sizes = domain::import::demo::DemoSizes::STANDARD;
                    let run = match api::demo::first_run(&domain_app, demo.tenant_id, sizes).await {
                        Ok(run) => run,
                        Err(e) => {
                            tracing::error!(error = ?e, "the demo could not be prepared");
                            return;
                        }
                    };
                    api::demo::print_ready(port, &host, &run);
                    if run.trained {
                        match api::demo::first_report(&domain_app, demo.tenant_id, &run).await {
                            Ok(report) => api::demo::print_report(&report),
                            Err(e) => tracing::error!(error = ?e, "the demo's fairness report failed"),
                        }
                    }
                });
            }
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            std::fs::create_dir_all(&settings.data_dir)?;
            run_migrations(settings.database_url().expose_secret()).await?;
            println!("migrations applied");
        }
        Command::Tenant { command: TenantCommand::Create { slug, name, owner_email, json } } => {
            let app = connect(&settings, settings.database.migrate_on_start).await?;
            let slug = TenantSlug::parse(&slug)?;
            let owner_email = Email::parse(&owner_email.unwrap_or_else(|| format!("owner@{slug}.example")))?;
            let created =
                access::create_tenant(&app.services, NewTenant { slug, name, owner_email, owner_password: None })
                    .await?;
            if json {
                let out = serde_json::json!({
                    "tenant": { "slug": created.tenant.slug.as_str(), "name": created.tenant.name },
                    "owner": { "email": created.owner.email.as_str(), "password": created.owner_password },
                    "apiKey": { "id": created.api_key.id.as_string(), "secret": created.api_key_secret },
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("tenant   {} ({})", created.tenant.slug, created.tenant.name);
                println!("owner    {}  password {}", created.owner.email.as_str(), created.owner_password);
                println!("api key  {}", created.api_key_secret);
                println!("These secrets are shown once. Store them now.");
            }
        }
        Command::Tenant {
            command:
                TenantCommand::Limits {
                    slug,
                    tenant_requests_per_sec,
                    tenant_burst,
                    key_requests_per_sec,
                    key_burst,
                    training_jobs_per_day,
                    max_interactions,
                    max_catalog_items,
                },
        } => {
            let app = connect(&settings, settings.database.migrate_on_start).await?;
            let slug = TenantSlug::parse(&slug)?;
            let tenant = access::find_tenant_by_slug(&app.services, &slug)
                .await?
                .with_context(|| format!("no tenant {slug}"))?;
            let ctx = domain::TenantCtx::operator(tenant.id, domain::RequestId::new());
            let update = domain::tenants::quota::LimitsUpdate {
                tenant_requests_per_sec,
                tenant_burst,
                key_requests_per_sec,
                key_burst,
                training_jobs_per_day,
                max_interactions,
                max_catalog_items,
            };
            let limits = domain::limits::set_tenant_limits(&ctx, &app.services, update).await?;
            // Running servers drop their cached limits now, not after their time to live.
            let change = domain::serving_cache::Change::Settings;
            domain::change_relay::send_now(&app.services.db, &app.services.serving_cache, tenant.id.get(), change)
                .await?;
            println!("{}", serde_json::to_string_pretty(&limits)?);
        }
        Command::Audit { command: AuditCommand::Verify { tenant, json } } => {
            let app = connect(&settings, settings.database.migrate_on_start).await?;
            let report = api::audit_cmd::verify(&app.services, &tenant).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&api::audit_cmd::report_json(&report))?);
            } else {
                println!("{}", api::audit_cmd::report_text(&tenant, &report));
            }
            if !report.ok {
                std::process::exit(api::audit_cmd::BROKEN_EXIT_CODE);
            }
        }
        Command::Retention { command: RetentionCommand::Run } => {
            let app = connect(&settings, settings.database.migrate_on_start).await?;
            let runs = domain::privacy::apply_retention(&app.services).await?;
            for run in &runs {
                println!(
                    "tenant {}  keeps {} days  deleted {} interactions before {}",
                    run.tenant,
                    run.retention_days,
                    run.deleted,
                    run.cutoff.to_rfc3339()
                );
            }
            println!("{} tenant(s) with a retention period", runs.len());
        }
        Command::Audit { command: AuditCommand::Checkpoint { tenant } } => {
            let app = connect(&settings, settings.database.migrate_on_start).await?;
            let cp = api::audit_cmd::checkpoint(&app.services, &tenant).await?;
            println!("checkpoint  tenant {tenant}  event {}  hash {}", cp.seq, cp.hash);
            println!("signed at {}  key {}  signature {}", cp.signed_at.to_rfc3339(), cp.key_id, cp.signature);
        }
        Command::Audit { command: AuditCommand::Archive { tenant, through } } => {
            let app = connect(&settings, settings.database.migrate_on_start).await?;
            let archives = api::audit_cmd::archive(&app.services, &tenant, through).await?;
            for a in &archives {
                println!(
                    "archived  tenant {tenant}  events {}..={}  {}  sha256 {}",
                    a.from_seq, a.to_seq, a.location, a.sha256
                );
            }
            println!("{} segment(s) archived", archives.len());
        }
        Command::Import { command: ImportCommand::Movielens { dir, tenant } } => {
            let app = connect(&settings, settings.database.migrate_on_start).await?;
            api::import_cmd::movielens(&app.services, &dir, &tenant).await?;
        }
        Command::Train(args) => {
            let app = connect(&settings, settings.database.migrate_on_start).await?;
            api::train_cmd::train(&app, &args).await?;
        }
        // Handled in `main` before any runtime starts.
        Command::OnnxWorker | Command::TextModel { .. } => {}
        Command::ExportSchema { output } => {
            let sdl = api::graphql::export_sdl();
            match output {
                Some(path) => std::fs::write(&path, sdl).with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{sdl}"),
            }
        }
    }
    Ok(())
}
