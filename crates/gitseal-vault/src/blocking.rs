//! A blocking face of the async [`crate::VaultClient`], for the CLI and other callers
//! without a tokio runtime: each client owns a current-thread runtime and blocks on it.
//! Do not call it from inside an async runtime (use the async client there).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::config::VaultConfig;
use crate::error::VaultError;
use crate::kv::KvSecret;

/// A blocking client for one Vault server. `Send + Sync`: share it (for example in an
/// `Arc`) between threads.
pub struct VaultClient {
    runtime: tokio::runtime::Runtime,
    inner: crate::VaultClient,
}

impl std::fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl VaultClient {
    /// A client for the server at `addr`; see [`crate::VaultClient::new`].
    pub fn new(cfg: &VaultConfig, addr: &str) -> Result<Self, VaultError> {
        let inner = crate::VaultClient::new(cfg, addr)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| VaultError::Config(format!("cannot start the HTTP runtime: {e}")))?;
        Ok(VaultClient { runtime, inner })
    }

    /// The server address this client talks to (no trailing slash).
    pub fn address(&self) -> &str {
        self.inner.address()
    }

    /// See [`crate::VaultClient::transit_encrypt`].
    pub fn transit_encrypt(&self, engine_path: &str, key_name: &str, plaintext: &[u8]) -> Result<String, VaultError> {
        self.runtime.block_on(self.inner.transit_encrypt(engine_path, key_name, plaintext))
    }

    /// See [`crate::VaultClient::transit_decrypt`].
    pub fn transit_decrypt(&self, engine_path: &str, key_name: &str, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        self.runtime.block_on(self.inner.transit_decrypt(engine_path, key_name, ciphertext))
    }

    /// See [`crate::VaultClient::transit_rewrap`].
    pub fn transit_rewrap(&self, engine_path: &str, key_name: &str, ciphertext: &str) -> Result<String, VaultError> {
        self.runtime.block_on(self.inner.transit_rewrap(engine_path, key_name, ciphertext))
    }

    /// See [`crate::VaultClient::kv_read`].
    pub fn kv_read(&self, path: &str, version: Option<u64>) -> Result<KvSecret, VaultError> {
        self.runtime.block_on(self.inner.kv_read(path, version))
    }
}

/// One blocking [`VaultClient`] per server address, created on first use and shared after
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
