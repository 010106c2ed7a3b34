//! HashiCorp Vault client: Transit encryption of data keys (interoperable with sops'
//! `hc_vault` key source) and KV v1/v2 reads, behind a blocking API.
//!
//! - [`VaultConfig::from_env`] reads the Vault CLI's environment variables
//!   (`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE`, `VAULT_CACERT`, ...) and gitseal's
//!   login variables (AppRole, Kubernetes); see [`config`] for the precedence.
//! - [`VaultClient`] talks to one server; [`VaultPool`] keeps one client per address, as
//!   files can name several Vault servers.
//! - Transit key URIs are parsed by [`crate::keys::TransitKey`].
//!
//! Secrets (tokens, secret ids, JWTs, plaintexts, secret values) are held in
//! `secrecy`/`zeroize` types and never appear in `Debug`, `Display` or error messages.

pub mod auth;
pub mod backend;
pub mod client;
pub mod config;
pub mod error;
pub mod kv;
pub mod transit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use client::VaultClient;
pub use config::{VaultAuth, VaultConfig};
pub use error::VaultError;
pub use kv::KvSecret;

/// One [`VaultClient`] per server address, created on first use and shared after that
/// (so each server sees one login and one connection pool).
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
    pub fn new(cfg: VaultConfig) -> Self {
        VaultPool { cfg, clients: Mutex::new(HashMap::new()) }
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

/// Overwrites every string in a JSON value (response bodies can hold plaintexts and
/// tokens) before it is dropped.
pub(crate) fn scrub(value: &mut serde_json::Value) {
    use zeroize::Zeroize;
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
        serde_json::Value::Object(map) => map.values_mut().for_each(scrub),
        _ => {}
    }
}
