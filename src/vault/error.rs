//! Errors of the Vault client.
//!
//! No variant carries a token, a secret id, a JWT, a request body or a response body:
//! only paths, HTTP methods and statuses, and the `errors` strings Vault itself returns
//! (such as `permission denied`), which never contain secret data.

use std::path::PathBuf;

/// An error talking to Vault or configuring the client.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The environment or the arguments describe no usable client (bad `VAULT_*` value,
    /// address that is not http/https, half of an AppRole pair, ...).
    #[error("Vault configuration: {0}")]
    Config(String),

    /// A file the configuration names (token file, CA certificate, service account
    /// token) could not be read.
    #[error("Vault configuration: cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A secret path (or version) that cannot be requested as written.
    #[error("invalid Vault path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    /// Nothing is stored at this path (HTTP 404), or the requested version does not exist.
    #[error("Vault: secret not found at {path}")]
    NotFound { path: String },

    /// A KV v2 version exists but was deleted (soft delete) or destroyed; Vault answers
    /// such reads with 404, so [`VaultError::is_not_found`] is true for it too.
    #[error("Vault: secret not found at {path}: version {version} was {}", if *destroyed { "destroyed" } else { "deleted" })]
    VersionDeleted { path: String, version: u64, destroyed: bool },

    /// Vault answered with an error status. `errors` is Vault's own `errors` list.
    #[error("Vault {method} /v1/{path}: HTTP {status}{}{}", fmt_errors(errors), fmt_attempts(*attempts))]
    Api { method: String, path: String, status: u16, errors: Vec<String>, attempts: u32 },

    /// The request did not get an HTTP answer (connection refused or dropped, timeout,
    /// TLS failure), after `attempts` tries.
    #[error("Vault {method} /v1/{path}: {message}{}", fmt_attempts(*attempts))]
    Transport { method: String, path: String, message: String, attempts: u32 },

    /// Vault answered 2xx with a body this client cannot use.
    #[error("Vault {method} /v1/{path}: unexpected response: {reason}")]
    InvalidResponse { method: String, path: String, reason: String },
}

fn fmt_errors(errors: &[String]) -> String {
    let text: Vec<&str> = errors.iter().map(|e| e.trim()).filter(|e| !e.is_empty()).collect();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", text.join("; "))
    }
}

fn fmt_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

impl VaultError {
    /// The HTTP status Vault answered with, if the error is an HTTP answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            VaultError::Api { status, .. } => Some(*status),
            VaultError::NotFound { .. } | VaultError::VersionDeleted { .. } => Some(404),
            _ => None,
        }
    }

    /// True for a missing secret, a missing version and a deleted or destroyed version.
    pub fn is_not_found(&self) -> bool {
        matches!(self, VaultError::NotFound { .. } | VaultError::VersionDeleted { .. })
    }

    /// True when Vault refused the request for lack of permission (HTTP 403).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, VaultError::Api { status: 403, .. })
    }
}
