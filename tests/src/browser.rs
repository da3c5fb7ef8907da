//! The one browser harness of the browser tests (`tests/tests/browser.rs`, the public
//! forms; `tests/tests/browser_web.rs`, the web app): headless Chromium and chromedriver
//! from Debian's packages, axe-core from `.browser/`, all installed by
//! `scripts/browser.sh`, driven over WebDriver with fantoccini.
//!
//! Without the tools a test says so loudly and passes, except under `CI=true`, where it
//! fails: CI must run it. Screenshots go to `<target>/screenshots/` (`CARGO_TARGET_DIR`
//! when set, else the repository's `target/`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use crate::repo_root;

/// The flags the browser runs with: headless, no sandbox (root in CI), and nothing
/// that reaches the network on its own.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// Chromium and its WebDriver server.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// `name` through `LEADWATCH_<VAR>`, else on PATH.
fn find(name: &str, var: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Skip a test whose tools are missing, or fail it under `CI=true`.
fn missing(what: &str) {
    let message = format!("{what} is not installed: run scripts/browser.sh");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (CI=true: the browser tests must run in CI)");
    }
    eprintln!("\n======== SKIPPED a browser test: {message} ========\n");
}

impl Tools {
    /// Chromium and chromedriver, or None (skipped locally, a failure in CI).
    pub fn find() -> Option<Tools> {
        match (
            find("chromium", "LEADWATCH_CHROMIUM"),
            find("chromedriver", "LEADWATCH_CHROMEDRIVER"),
        ) {
            (Some(chromium), Some(chromedriver)) => Some(Tools {
                chromium,
                chromedriver,
            }),
            _ => {
                missing("chromium or chromedriver");
                None
            }
        }
    }
}

/// axe-core's script from `.browser/`, or None (skipped locally, a failure in CI).
pub fn axe_core() -> Option<String> {
    let path = repo_root().join(".browser/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(_) => {
            missing(&format!("axe-core ({})", path.display()));
            None
        }
    }
}

/// A chromedriver process on a free loopback port, ended with the test.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A browser session: the driver, the client and its throw-away profile.
pub struct Browser {
    pub client: Client,
    profile: PathBuf,
    // Declared last: dropped after the client, so the session closes before the driver.
    _driver: Driver,
}

impl Browser {
    /// chromedriver, then a headless Chromium session with a fresh profile that logs
    /// the console (read with [`console_errors`]).
    pub async fn start(tools: &Tools) -> Browser {
        let driver = start_driver(&tools.chromedriver).await;
        let profile = std::env::temp_dir().join(crate::unique_name("chromium-profile"));
        let client = session(&driver.url, &tools.chromium, &profile).await;
        Browser {
            client,
            profile,
            _driver: driver,
        }
    }

    /// Close the session and remove the profile.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn start_driver(chromedriver: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {}",
            driver.url
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

async fn session(driver: &str, chromium: &Path, profile: &Path) -> Client {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium, "args": args }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a WebDriver session with headless Chromium")
}

/// chromedriver's console log of the page (`POST /session/{id}/se/log`), drained.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// The page's console errors since the last call.
pub async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.expect("read the console log");
    log.as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["level"] == "SEVERE")
                .map(|e| e["message"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Where screenshots go: `<target>/screenshots/`.
pub fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("screenshots")
}

/// Save the page as `<target>/screenshots/<name>.png`.
pub async fn screenshot(c: &Client, name: &str) {
    let dir = screenshots();
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    let png = c.screenshot().await.expect("a screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("save the screenshot");
}

/// Poll `check` (up to 20 s) until it holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
