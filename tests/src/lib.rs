//! Support for the end-to-end tests: each test binary starts its own moto server (the
//! local AWS stack, over the real wire protocol) and each test makes its own table, so
//! tests run in parallel without seeing each other's data.

pub mod moto;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use aws_config::BehaviorVersion;

pub use moto::{repo_root, MotoServer};

/// The shared moto server of this test binary, started on first use. It exits with the
/// test binary (see [`moto`]'s module docs), even though a static is never dropped.
pub fn moto() -> &'static MotoServer {
    static MOTO: OnceLock<MotoServer> = OnceLock::new();
    MOTO.get_or_init(MotoServer::start)
}

impl MotoServer {
    /// An SDK config pointed at this moto with dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }
}

/// A name (table, topic, queue) unique within this test binary.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}
