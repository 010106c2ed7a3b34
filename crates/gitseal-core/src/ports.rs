//! What the core asks of the outside world, and how those requests fail.
//!
//! The core does no network or process I/O: Vault Transit (for `hc_vault` data keys) and
//! key/value stores (for `<path:...>` references) are reached through these traits, which
//! the `gitseal-vault` crate implements (and tests implement in memory). Their errors are
//! typed, so that a caller can tell a failure worth retrying (a server down, a timeout)
//! from one that will not go away (permission denied, a missing key).

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::keys::TransitKey;

/// What kind of failure a service reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceErrorKind {
    /// The service could not be reached or answered that it is unavailable (connection
    /// refused or reset, timeout, HTTP 429, 5xx, a sealed Vault): worth retrying.
    Unavailable,
    /// The credentials were refused or do not allow the operation (HTTP 401/403).
    Denied,
    /// What was asked for does not exist (HTTP 404, a deleted secret version).
    NotFound,
    /// The request or the answer was malformed (HTTP 400, an unreadable response).
    Invalid,
    /// The client is not configured to reach the service (no address, no token).
    Config,
}

/// A failure reported by (or on the way to) a service behind a port. The message is safe
/// to show: it never holds a data key, a token or a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    kind: ServiceErrorKind,
    message: String,
}

impl ServiceError {
    /// A failure of `kind`, described by `message` (which must not hold secrets).
    pub fn new(kind: ServiceErrorKind, message: impl Into<String>) -> Self {
        ServiceError { kind, message: message.into() }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ServiceErrorKind {
        self.kind
    }

    /// Whether trying again later may succeed (the service was unavailable).
    pub(crate) fn is_transient(&self) -> bool {
        self.kind == ServiceErrorKind::Unavailable
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The Vault Transit calls the key layer needs.
pub trait TransitBackend: Send + Sync {
    /// Encrypts `data_key` (raw bytes) and returns Vault's `vault:vN:...` ciphertext.
    fn encrypt(&self, key: &TransitKey, data_key: &[u8]) -> Result<String, ServiceError>;
    /// Decrypts a `vault:vN:...` ciphertext back to the raw data key.
    fn decrypt(&self, key: &TransitKey, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, ServiceError>;
    /// Re-encrypts a ciphertext with the key's latest version (Vault's `rewrap`), without
    /// the data key ever leaving Vault.
    fn rewrap(&self, key: &TransitKey, ciphertext: &str) -> Result<String, ServiceError>;
}

/// The data of one secret in a key/value store: key to value.
pub type KvData = BTreeMap<String, Zeroizing<String>>;

/// Where `<path:...>` references are read from (Vault KV v1 or v2).
pub trait KvSource {
    /// Reads `path` (as written in the reference: `secret/data/x` for KV v2, `kv/x` for
    /// KV v1), at `version` when given.
    fn read(&self, path: &str, version: Option<u64>) -> Result<KvData, ServiceError>;
}

/// A service failure together with what it was about (`hc_vault:<key uri>`), kept for a
/// key error's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFailure {
    /// What was being used, e.g. `hc_vault:https://vault:8200/v1/transit/keys/k`.
    pub subject: String,
    /// What went wrong.
    pub error: ServiceError,
}

impl fmt::Display for ServiceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.error)
    }
}
