//! Support for the end-to-end tests: each test binary starts its own moto server (the
//! local AWS stack, over the real wire protocol) and each test makes its own table, so
//! tests run in parallel without seeing each other's data.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A moto server for this test binary, started on first use and killed at exit.
pub struct Moto {
    endpoint: String,
    _child: ChildGuard,
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// The shared moto server of this test binary.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(Moto::start)
}

impl Moto {
    fn start() -> Moto {
        let root = repo_root();
        // One venv for all test binaries; flock serialises the first install.
        let status = Command::new("flock")
            .arg(root.join(".venv.lock"))
            .arg(root.join("scripts/stack.sh"))
            .arg("venv")
            .status()
            .expect("run scripts/stack.sh venv");
        assert!(status.success(), "scripts/stack.sh venv failed");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        // scripts/moto_server.py: moto serving one request at a time, which gives it
        // DynamoDB's atomic conditional writes (see the script's docstring).
        let child = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let guard = ChildGuard(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _child: guard,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Env pairs for a child process (the real Lambda binaries) to reach this moto.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ]
    }

    /// An SDK config pointed at this moto with dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }
}

/// A table name unique within this test binary.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
