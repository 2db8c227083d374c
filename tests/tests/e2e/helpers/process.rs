//! Servers in processes of their own, for tests that kill them (SIGKILL, SIGTERM): the
//! test binary starts itself with the filter of the ignored test below, which reads its
//! settings from the environment and serves until it is stopped.

use api::config::Settings;

/// Where the started process finds its settings (JSON).
const SETTINGS: &str = "MARQUEE_E2E_PROCESS_SETTINGS";

#[test]
#[ignore = "a server process that tests start; does nothing on its own"]
fn server_process() {
    let Ok(json) = std::env::var(SETTINGS) else { return };
    let settings: Settings = serde_json::from_str(&json).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // As the binary does: its logs (to the standard output the test discards) and its
        // traces when an endpoint is set, sent at the graceful stop.
        let telemetry = api::telemetry::init(&settings.log, &settings.telemetry);
        let app = api::startup::Application::build(&settings).await.unwrap();
        app.run_until_stopped().await.unwrap();
        telemetry.shutdown().await;
    });
}

/// Starts a server process with these settings.
pub fn spawn_server(settings: &Settings) -> std::process::Child {
    spawn_server_with_env(settings, &[])
}

/// Starts a server process with these settings and these environment variables too.
pub fn spawn_server_with_env(settings: &Settings, env: &[(&str, &str)]) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["helpers::process::server_process", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(SETTINGS, serde_json::to_string(settings).unwrap())
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Sends SIGTERM (a graceful stop).
pub fn terminate(child: &std::process::Child) {
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Where the started import finds its tenant and directory.
const IMPORT: &str = "MARQUEE_E2E_PROCESS_IMPORT";

#[test]
#[ignore = "a `marquee import movielens` process that tests start; does nothing on its own"]
fn import_process() {
    let (Ok(json), Ok(what)) = (std::env::var(SETTINGS), std::env::var(IMPORT)) else { return };
    let settings: Settings = serde_json::from_str(&json).unwrap();
    let (slug, dir) = what.split_once('\n').unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let app = api::startup::connect(&settings, false).await.unwrap();
        api::import_cmd::movielens(&app.services, std::path::Path::new(dir), slug).await.unwrap();
    });
}

/// Starts `marquee import movielens <dir> --tenant <slug>` as a process of its own.
pub fn spawn_import(settings: &Settings, slug: &str, dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["helpers::process::import_process", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(SETTINGS, serde_json::to_string(settings).unwrap())
        .env(IMPORT, format!("{slug}\n{}", dir.display()))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}
