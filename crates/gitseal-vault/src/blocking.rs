//! The synchronous client, for the CLI and any other caller: [`VaultClient`] (the crate's
//! one client, also exported as [`crate::VaultClient`]) and [`VaultPool`], one client per
//! server address.
//!
//! Calls block the calling thread. From async code (a controller on tokio), call them
//! inside `tokio::task::spawn_blocking`, sharing the pool or client through an `Arc`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::VaultConfig;
use crate::error::VaultError;

pub use crate::client::VaultClient;

/// One [`VaultClient`] per server address, created on first use and shared after
/// that (so each server sees one login and one connection pool).
pub struct VaultPool {
    cfg: VaultConfig,
    clients: Mutex<HashMap<String, Arc<VaultClient>>>,
}

impl std::fmt::Debug for VaultPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addrs: Vec<String> = self.clients.lock().map(|c| c.keys().cloned().collect()).unwrap_or_default();
        f.debug_struct("VaultPool").field("cfg", &self.cfg).field("clients", &addrs).finish()
    }
}

impl VaultPool {
    /// A pool whose clients all use `cfg` (but for the address).
    pub fn new(cfg: VaultConfig) -> Self {
        VaultPool { cfg, clients: Mutex::new(HashMap::new()) }
    }

    /// The configuration the clients use.
    pub fn config(&self) -> &VaultConfig {
        &self.cfg
    }

    /// The client for `addr` (trailing slashes ignored), created on first use.
    pub fn client(&self, addr: &str) -> Result<Arc<VaultClient>, VaultError> {
        let key = addr.trim().trim_end_matches('/').to_owned();
        let mut clients = self.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(c) = clients.get(&key) {
            return Ok(Arc::clone(c));
        }
        let client = Arc::new(VaultClient::new(&self.cfg, &key)?);
        clients.insert(key, Arc::clone(&client));
        Ok(client)
    }

    /// The client for `VAULT_ADDR` (the configuration's `addr`).
    pub fn default_client(&self) -> Result<Arc<VaultClient>, VaultError> {
        match self.cfg.addr.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(addr) => self.client(addr),
            None => Err(VaultError::Config("VAULT_ADDR is not set (no Vault server address)".into())),
        }
    }
}
