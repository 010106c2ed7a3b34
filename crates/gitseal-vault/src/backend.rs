//! Vault as the core's Transit backend and KV source: one lazily created connection pool
//! per process, so commands that never meet an `hc_vault` key never read Vault settings.

use std::sync::{Arc, OnceLock};

use gitseal_core::keys::TransitKey;
use gitseal_core::ports::{KvData, KvSource, ServiceError, ServiceErrorKind, TransitBackend};
use zeroize::Zeroizing;

use crate::blocking::{VaultClient, VaultPool};
use crate::{VaultConfig, VaultError};

/// Called with a warning about the settings (such as `VAULT_SKIP_VERIFY` being set); the
/// CLI prints it, a controller logs it.
pub type WarningSink = Box<dyn Fn(&str) + Send + Sync>;

/// A [`TransitBackend`] and [`KvSource`] over blocking clients, configured on first use
/// by a settings function (the CLI reads the `VAULT_*` environment).
pub struct LazyVault {
    settings: Box<dyn Fn() -> Result<VaultConfig, VaultError> + Send + Sync>,
    warn: WarningSink,
    pool: OnceLock<Result<VaultPool, ServiceError>>,
}

impl LazyVault {
    /// A backend whose settings come from `settings`, called once, on first use.
    pub fn new(settings: impl Fn() -> Result<VaultConfig, VaultError> + Send + Sync + 'static, warn: WarningSink) -> Self {
        LazyVault { settings: Box::new(settings), warn, pool: OnceLock::new() }
    }

    /// The pool, created from the settings the first time.
    pub fn pool(&self) -> Result<&VaultPool, ServiceError> {
        self.pool
            .get_or_init(|| {
                let cfg = (self.settings)().map_err(|e| ServiceError::new(ServiceErrorKind::Config, format!("Vault settings: {e}")))?;
                for warning in cfg.warnings() {
                    (self.warn)(&warning);
                }
                Ok(VaultPool::new(cfg))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn client(&self, key: &TransitKey) -> Result<Arc<VaultClient>, ServiceError> {
        Ok(self.pool()?.client(&key.address)?)
    }
}

impl TransitBackend for LazyVault {
    fn encrypt(&self, key: &TransitKey, data_key: &[u8]) -> Result<String, ServiceError> {
        Ok(self.client(key)?.transit_encrypt(&key.engine_path, &key.key_name, data_key)?)
    }

    fn decrypt(&self, key: &TransitKey, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        Ok(self.client(key)?.transit_decrypt(&key.engine_path, &key.key_name, ciphertext)?)
    }

    fn rewrap(&self, key: &TransitKey, ciphertext: &str) -> Result<String, ServiceError> {
        Ok(self.client(key)?.transit_rewrap(&key.engine_path, &key.key_name, ciphertext)?)
    }
}

impl KvSource for LazyVault {
    fn read(&self, path: &str, version: Option<u64>) -> Result<KvData, ServiceError> {
        let client = self.pool()?.default_client()?;
        Ok(client.kv_read(path, version).map(|secret| secret.data)?)
    }
}
