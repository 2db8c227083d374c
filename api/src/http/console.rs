//! The web console: the built single-page app under `/console`. A path that names a
//! file serves it; any other path serves `index.html`, so the app's own routes survive
//! a reload. Its pages carry a Content-Security-Policy that allows only the app's own
//! scripts, styles and the same-origin API.

use std::path::{Component, Path, PathBuf};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

/// Where the built console lives.
#[derive(Clone)]
pub struct ConsoleDir(pub PathBuf);

/// Scripts and styles only from the console itself; Mantine sets inline style
/// attributes, which `style-src 'unsafe-inline'` allows (no inline script is).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

pub async fn serve(req: HttpRequest, dir: web::Data<ConsoleDir>) -> HttpResponse {
    let tail = req.match_info().get("tail").unwrap_or("");
    let Some(relative) = safe_relative(tail) else {
        return HttpResponse::NotFound().finish();
    };
    let wanted = dir.0.join(&relative);
    let (path, is_asset) = if !relative.as_os_str().is_empty() && wanted.is_file() {
        (wanted, relative.starts_with("assets"))
    } else {
        (dir.0.join("index.html"), false)
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut response = HttpResponse::Ok();
            response
                .insert_header((header::CONTENT_TYPE, content_type(&path)))
                .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
                .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .insert_header((header::REFERRER_POLICY, "same-origin"));
            // Built assets carry a content hash in their names; the page itself must not
            // be cached, or a new build would load old assets.
            let cache = if is_asset { "public, max-age=31536000, immutable" } else { "no-cache" };
            response.insert_header((header::CACHE_CONTROL, cache));
            response.body(bytes)
        }
        Err(_) => HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body(
            "The console is not built: run `npm ci && npm run build` in frontend/ (make run does), \
             or set server.console_dir.",
        ),
    }
}

pub async fn redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/console/")).finish()
}

/// The request's path as a relative path with no `..`, root or prefix in it.
fn safe_relative(tail: &str) -> Option<PathBuf> {
    let path = Path::new(tail);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_folder_are_refused() {
        assert_eq!(safe_relative("assets/app.js"), Some(PathBuf::from("assets/app.js")));
        assert_eq!(safe_relative("models/12"), Some(PathBuf::from("models/12")));
        assert_eq!(safe_relative("../secret"), None);
        assert_eq!(safe_relative("a/../../b"), None);
        assert_eq!(safe_relative("/etc/passwd"), None);
    }
}
