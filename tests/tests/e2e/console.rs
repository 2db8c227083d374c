//! The web console's files under `/console`: the built app's files as they are, every
//! other path the app's page (its router takes over), with a Content-Security-Policy;
//! nothing outside the console's folder.

use crate::helpers::{Backend, dedicated_server};

fn built_console() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("marquee-console-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>console</title>").unwrap();
    std::fs::write(dir.join("assets/app-1234.js"), "console.log('app')").unwrap();
    std::fs::write(dir.parent().unwrap().join("marquee-console-secret.txt"), "secret").unwrap();
    dir
}

async fn get(base: &str, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = client.get(format!("{base}{path}")).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_serves_its_files_and_its_page_for_every_route() {
    let dir = built_console();
    let dir_setting = dir.display().to_string();
    let server = dedicated_server(Backend::Sqlite, Box::new(move |s| s.server.console_dir = dir_setting)).unwrap();
    let base = server.base_url.as_str();

    let (status, headers, body) = get(base, "/console").await;
    assert_eq!(status, 308, "{body}");
    assert_eq!(headers["location"], "/console/");

    for route in ["/console/", "/console/models", "/console/audience/u-00001"] {
        let (status, headers, body) = get(base, route).await;
        assert_eq!(status, 200, "{route}");
        assert!(body.contains("<title>console</title>"), "{route}: {body}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["cache-control"], "no-cache");
    }

    let (status, headers, body) = get(base, "/console/assets/app-1234.js").await;
    assert_eq!(status, 200);
    assert_eq!(body, "console.log('app')");
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(headers["cache-control"].to_str().unwrap().contains("immutable"));

    // Neither a plain nor an encoded climb out of the folder reaches the file beside it.
    for path in ["/console/../marquee-console-secret.txt", "/console/%2e%2e/marquee-console-secret.txt"] {
        let (_, _, body) = get(base, path).await;
        assert!(!body.contains("secret"), "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_built_console_the_answer_says_how_to_build_it() {
    let missing = std::env::temp_dir().join(format!("marquee-no-console-{}", uuid::Uuid::new_v4().simple()));
    let setting = missing.display().to_string();
    let server = dedicated_server(Backend::Sqlite, Box::new(move |s| s.server.console_dir = setting)).unwrap();
    let (status, _, body) = get(&server.base_url, "/console/").await;
    assert_eq!(status, 404);
    assert!(body.contains("npm run build"), "{body}");
}
