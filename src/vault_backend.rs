//! The process's Vault connection: configured from the `VAULT_*` environment the first
//! time a command meets an `hc_vault` key or a `<path:...>` reference.

use std::sync::{Arc, OnceLock};

use gitseal_vault::backend::LazyVault;
use gitseal_vault::VaultConfig;

/// The one backend the commands share (one login and one connection pool per server).
pub fn shared() -> Arc<LazyVault> {
    static SHARED: OnceLock<Arc<LazyVault>> = OnceLock::new();
    SHARED.get_or_init(|| Arc::new(LazyVault::new(VaultConfig::from_env, Box::new(|w| eprintln!("warning: {w}"))))).clone()
}
