//! Settings read once at cold start. A bad setting fails start-up with a clear message
//! instead of failing every request later.

use std::sync::Arc;

use crate::domain::contract::Contract;

/// The contract: the file named by `LEADWATCH_CONTRACT_FILE`, else the one compiled in.
pub fn contract_from_env() -> Result<Arc<Contract>, String> {
    match std::env::var("LEADWATCH_CONTRACT_FILE") {
        Ok(path) if !path.is_empty() => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("LEADWATCH_CONTRACT_FILE {path}: {e}"))?;
            Contract::parse(&text)
                .map(Arc::new)
                .map_err(|e| format!("LEADWATCH_CONTRACT_FILE {path} is invalid:\n{e}"))
        }
        _ => Contract::default_contract()
            .map(Arc::new)
            .map_err(|e| format!("the built-in contract is invalid:\n{e}")),
    }
}

/// The ingest webhook secret (`LEADWATCH_WEBHOOK_SECRET`); unset or empty disables
/// signature checks, for forms posted straight from browsers.
pub fn webhook_secret_from_env() -> Option<Vec<u8>> {
    std::env::var("LEADWATCH_WEBHOOK_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .map(String::into_bytes)
}
