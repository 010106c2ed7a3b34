//! Vault as the key layer's Transit backend: one lazily created connection pool per
//! process, so commands that never meet an `hc_vault` key never read Vault settings.

use std::sync::{Arc, OnceLock};

use zeroize::Zeroizing;

use super::{VaultConfig, VaultPool};
use crate::keys::{TransitBackend, TransitKey};

/// A [`TransitBackend`] that reads the `VAULT_*` environment on first use.
#[derive(Default)]
pub struct LazyVault {
    pool: OnceLock<Result<VaultPool, String>>,
}

impl LazyVault {
    pub fn new() -> Self {
        Self::default()
    }

    /// The pool, created from the environment the first time.
    pub fn pool(&self) -> Result<&VaultPool, String> {
        self.pool.get_or_init(|| VaultConfig::from_env().map(VaultPool::new).map_err(|e| format!("Vault settings: {e}"))).as_ref().map_err(Clone::clone)
    }

    fn client(&self, key: &TransitKey) -> Result<Arc<super::VaultClient>, String> {
        self.pool()?.client(&key.address).map_err(|e| e.to_string())
    }
}

impl TransitBackend for LazyVault {
    fn encrypt(&self, key: &TransitKey, data_key: &[u8]) -> Result<String, String> {
        self.client(key)?.transit_encrypt(&key.engine_path, &key.key_name, data_key).map_err(|e| e.to_string())
    }

    fn decrypt(&self, key: &TransitKey, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        self.client(key)?.transit_decrypt(&key.engine_path, &key.key_name, ciphertext).map_err(|e| e.to_string())
    }

    fn rewrap(&self, key: &TransitKey, ciphertext: &str) -> Result<String, String> {
        self.client(key)?.transit_rewrap(&key.engine_path, &key.key_name, ciphertext).map_err(|e| e.to_string())
    }
}

/// The process-wide backend the CLI and render plugins use.
pub fn shared() -> Arc<LazyVault> {
    static SHARED: OnceLock<Arc<LazyVault>> = OnceLock::new();
    SHARED.get_or_init(|| Arc::new(LazyVault::new())).clone()
}

impl crate::render::KvSource for LazyVault {
    fn read(&self, path: &str, version: Option<u64>) -> Result<crate::render::KvData, String> {
        let client = self.pool()?.default_client().map_err(|e| e.to_string())?;
        client.kv_read(path, version).map(|secret| secret.data).map_err(|e| e.to_string())
    }
}
