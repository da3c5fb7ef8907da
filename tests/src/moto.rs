//! A moto server of its own for an end-to-end test binary: the local AWS stack in server
//! mode, on a free loopback port, reached over the real wire protocol.
//!
//! ```ignore
//! let moto = MotoServer::start();
//! let endpoint = moto.endpoint(); // "http://127.0.0.1:PORT"
//! Command::new(lambda_binary).envs(moto.env()).spawn();
//! ```
//!
//! This is test-harness code: it panics, saying what failed and where its log is,
//! rather than returning errors. Standard library only.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a new server has to answer HTTP. moto starts in about a second, but test
/// binaries start many at once on two cores.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Tries with a new port when the server exits at once: another process may have taken
/// the free port between our probe and moto's bind.
const START_ATTEMPTS: usize = 3;

/// Python that runs the server script in argv[1] and exits when its stdin reaches EOF.
/// Its stdin is a pipe from the test binary, which closes when the binary exits however it
/// exits, so moto goes with it even when `Drop` never runs (a `MotoServer` kept in a
/// `static` is never dropped).
const EXIT_WITH_PARENT: &str = "\
import os, runpy, sys, threading
def watch():
    while os.read(0, 4096):
        pass
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
";

/// A running moto server, killed when dropped.
pub struct MotoServer {
    child: Child,
    port: u16,
    endpoint: String,
    log: PathBuf,
}

impl MotoServer {
    /// Ensures the project virtualenv (`scripts/stack.sh venv`, which serialises
    /// concurrent callers across processes with `flock`), spawns moto on a free
    /// 127.0.0.1 port and waits until it answers HTTP.
    ///
    /// The server is `scripts/moto_server.py` (moto serving one request at a time, so
    /// conditional writes are atomic as in `DynamoDB`) when the repo has it, otherwise
    /// the venv's stock `moto_server`.
    pub fn start() -> MotoServer {
        let root = repo_root();
        ensure_venv(&root);
        for attempt in 1..=START_ATTEMPTS {
            let mut server = MotoServer::spawn(&root);
            // On a panic, dropping `server` kills what is left of it.
            match server.wait_until_answering() {
                Startup::Answering => return server,
                Startup::Exited(_) if attempt < START_ATTEMPTS => {} // try another port
                Startup::Exited(failure) | Startup::TimedOut(failure) => panic!("{failure}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// "http://127.0.0.1:PORT"
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where this server's output goes (under ROOT/.stack/).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Env pairs a child process (a Lambda binary, the CLI) needs to use this server:
    /// the endpoint, dummy credentials and the region (`AWS_REGION` for the Rust SDK,
    /// `AWS_DEFAULT_REGION` for boto3 and the AWS CLI).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn spawn(root: &Path) -> MotoServer {
        let port = free_port();
        let log = log_file(root);
        let out = File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create moto log {}: {e}", log.display()));
        let err = out.try_clone().expect("duplicate the moto log handle");
        let script = server_script(root);
        let python = root.join(".venv/bin/python");
        let child = Command::new(&python)
            .arg("-c")
            .arg(EXIT_WITH_PARENT)
            .arg(&script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::piped()) // held open by `child` until this process exits
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} {}: {e} (is the venv installed? scripts/stack.sh venv)",
                    python.display(),
                    script.display()
                )
            });
        MotoServer {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Polls until an HTTP GET gets an answer, the server exits, or the time is up.
    fn wait_until_answering(&mut self) -> Startup {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if answers_http(self.port) {
                return Startup::Answering;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Startup::Exited(
                    self.failure(&format!("exited ({status}) before answering")),
                );
            }
            if Instant::now() >= deadline {
                let secs = STARTUP_TIMEOUT.as_secs();
                return Startup::TimedOut(self.failure(&format!("did not answer within {secs} s")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn failure(&self, what: &str) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!(
            "moto server at {} {what}; its log is {}, ending:\n{tail}",
            self.endpoint,
            self.log.display()
        )
    }
}

/// How a start went; the failures carry the message to panic with.
enum Startup {
    Answering,
    Exited(String),
    TimedOut(String),
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository root: `$LEADWATCH_ROOT` when set, otherwise the parent of the `tests`
/// crate (which lives at ROOT/tests).
pub fn repo_root() -> PathBuf {
    if let Some(root) = std::env::var_os("LEADWATCH_ROOT") {
        return PathBuf::from(root);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives at ROOT/tests")
        .to_path_buf()
}

/// Runs `scripts/stack.sh venv` once per test binary. The script itself holds a `flock`
/// while it installs, so test binaries starting together wait for one install; this
/// mutex only saves threads of one binary from running the script again.
fn ensure_venv(root: &Path) {
    static READY: Mutex<bool> = Mutex::new(false);
    let mut ready = READY.lock().unwrap_or_else(PoisonError::into_inner);
    if *ready {
        return;
    }
    let script = root.join("scripts/stack.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg("venv")
        .status()
        .unwrap_or_else(|e| panic!("cannot run bash {} venv: {e}", script.display()));
    assert!(
        status.success(),
        "`{} venv` failed ({status}); its output is above",
        script.display()
    );
    *ready = true;
}

fn server_script(root: &Path) -> PathBuf {
    let wrapper = root.join("scripts/moto_server.py");
    if wrapper.is_file() {
        wrapper
    } else {
        root.join(".venv/bin/moto_server")
    }
}

/// A port the OS says is free now (bind port 0, read it, let it go).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind 127.0.0.1:0 for a free port")
}

/// ROOT/.stack/moto-<test binary>-<n>.log: one per server, overwritten by the next run.
fn log_file(root: &Path) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = root.join(".stack");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let exe = std::env::current_exe().ok();
    let name = exe
        .as_deref()
        .and_then(Path::file_stem)
        .map_or_else(|| "test".into(), |s| s.to_string_lossy());
    let n = N.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("moto-{name}-{n}.log"))
}

/// Does anything answer an HTTP GET on 127.0.0.1:port? Any status line will do.
fn answers_http(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
