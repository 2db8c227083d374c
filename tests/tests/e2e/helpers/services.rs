//! Programs the tests start beside the servers: moto (an S3-compatible server from PyPI,
//! installed by scripts/setup-moto.sh) and HAProxy (Debian's package, installed by
//! scripts/ensure-haproxy.sh). Each runs as a child process on a free port and is killed
//! when its handle is dropped. A missing program skips the test, and fails it under CI.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::process::free_port;

/// A child process killed (and reaped) on drop, even when the test panics.
struct Owned(Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn missing(what: &str, how: &str) -> Option<std::convert::Infallible> {
    if super::in_ci() {
        panic!("{what} is required under CI: {how}");
    }
    eprintln!("SKIPPED: {what} is missing ({how}; under CI=true this fails)");
    None
}

/// Waits until something accepts connections on the port.
async fn listening(port: u16, child: &mut Child, what: &str) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start: {status}");
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{what} does not listen on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// moto in server mode on 127.0.0.1.
pub struct Moto {
    _child: Owned,
    pub endpoint: String,
    http: reqwest::Client,
}

/// moto accepts any credentials; a request needs some to be answered like a signed one.
const ANY_CREDENTIALS: &str =
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

impl Moto {
    pub async fn start() -> Option<Moto> {
        let tools =
            std::env::var_os("MARQUEE_TOOLS").map_or_else(|| super::manifest_dir().join("../.tools"), PathBuf::from);
        let program = tools.join("moto/bin/moto_server");
        if !program.exists() {
            missing("moto", &format!("run scripts/setup-moto.sh ({} not found)", program.display()))?;
        }
        let port = free_port();
        let mut child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        listening(port, &mut child, "moto").await;
        let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        Some(Moto { _child: Owned(child), endpoint: format!("http://127.0.0.1:{port}"), http })
    }

    pub async fn create_bucket(&self, bucket: &str) {
        let answer = self.request(reqwest::Method::PUT, bucket).send().await.unwrap();
        assert!(answer.status().is_success(), "create bucket: {}", answer.status());
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}/{path}", self.endpoint)).header("authorization", ANY_CREDENTIALS)
    }

    /// An object's bytes and its `x-amz-meta-*` entry `meta`.
    pub async fn object(&self, bucket: &str, name: &str, meta: &str) -> (Vec<u8>, Option<String>) {
        let answer = self.request(reqwest::Method::GET, &format!("{bucket}/{name}")).send().await.unwrap();
        assert!(answer.status().is_success(), "get {name}: {}", answer.status());
        let value = answer.headers().get(format!("x-amz-meta-{meta}")).map(|v| v.to_str().unwrap().to_owned());
        (answer.bytes().await.unwrap().to_vec(), value)
    }

    /// Writes an object from outside the service, with one `x-amz-meta-*` entry.
    pub async fn put_object(&self, bucket: &str, name: &str, bytes: Vec<u8>, meta: (&str, &str)) {
        let answer = self
            .request(reqwest::Method::PUT, &format!("{bucket}/{name}"))
            .header("content-type", "application/octet-stream")
            .header(format!("x-amz-meta-{}", meta.0), meta.1)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "put {name}: {}", answer.status());
    }

    /// The names of the objects under `prefix`.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let answer = self.request(reqwest::Method::GET, &format!("{bucket}?list-type=2&prefix={prefix}")).send().await;
        let text = answer.unwrap().text().await.unwrap();
        text.split("<Key>").skip(1).filter_map(|rest| rest.split("</Key>").next()).map(str::to_owned).collect()
    }
}

/// HAProxy balancing round robin over servers, health-checked on `/readyz`.
pub struct Haproxy {
    _child: Owned,
    pub base_url: String,
    _config: Removed,
}

/// A file removed on drop.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Haproxy {
    /// The configuration docs/operations.md describes ("Behind a load balancer"); each
    /// response names the replica that answered in `x-replica`.
    pub fn config(port: u16, servers: &[(&str, u16)]) -> String {
        let mut config = format!(
            "global\n    maxconn 512\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n\
             \x20   retries 3\n    option redispatch 1\n    retry-on conn-failure empty-response 503\n    http-reuse never\n\
             frontend api\n    bind 127.0.0.1:{port}\n    default_backend replicas\n\
             backend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n\
             \x20   http-response set-header x-replica %[srv_name]\n    default-server inter 200ms fall 2 rise 1\n"
        );
        for (name, server_port) in servers {
            config.push_str(&format!("    server {name} 127.0.0.1:{server_port} check\n"));
        }
        config
    }

    pub async fn start(servers: &[(&str, u16)]) -> Option<Haproxy> {
        let found = Command::new("haproxy").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !found.is_ok_and(|s| s.success()) {
            missing("haproxy", "run scripts/ensure-haproxy.sh")?;
        }
        let port = free_port();
        let path = std::env::temp_dir().join(format!("marquee-e2e-haproxy-{}.cfg", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, Self::config(port, servers)).unwrap();
        let config = Removed(path);
        let checked = Command::new("haproxy").args(["-c", "-q", "-f"]).arg(&config.0).status().unwrap();
        assert!(checked.success(), "haproxy refuses the generated configuration");
        // -db: in the foreground, as this process's child.
        let mut child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&config.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        listening(port, &mut child, "haproxy").await;
        Some(Haproxy { _child: Owned(child), base_url: format!("http://127.0.0.1:{port}"), _config: config })
    }
}
