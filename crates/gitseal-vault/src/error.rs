//! Errors of the Vault client.
//!
//! No variant carries a token, a secret id, a JWT, a request body or a response body:
//! only paths, HTTP methods and statuses, and the `errors` strings Vault itself returns
//! (such as `permission denied`), which never contain secret data.

use std::path::PathBuf;

use gitseal_core::ports::{ServiceError, ServiceErrorKind};

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
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },

    /// A secret path (or version) that cannot be requested as written.
    #[error("invalid Vault path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Nothing is stored at this path (HTTP 404), or the requested version does not exist.
    #[error("Vault: secret not found at {path}")]
    NotFound {
        /// The secret path.
        path: String,
    },

    /// A KV v2 version exists but was deleted (soft delete) or destroyed; Vault answers
    /// such reads with 404, so [`VaultError::is_not_found`] is true for it too.
    #[error("Vault: secret not found at {path}: version {version} was {}", if *destroyed { "destroyed" } else { "deleted" })]
    VersionDeleted {
        /// The secret path.
        path: String,
        /// The version asked for.
        version: u64,
        /// Destroyed (gone for good) rather than deleted (recoverable).
        destroyed: bool,
    },

    /// Vault answered with an error status. `errors` is Vault's own `errors` list.
    #[error("Vault {method} /v1/{path}: HTTP {status}{}{}", fmt_errors(errors), fmt_attempts(*attempts))]
    Api {
        /// The HTTP method.
        method: String,
        /// The API path, after `/v1/`.
        path: String,
        /// The HTTP status of the last answer.
        status: u16,
        /// Vault's `errors` strings.
        errors: Vec<String>,
        /// How many times the request was sent.
        attempts: u32,
    },

    /// The request did not get an HTTP answer (connection refused or dropped, timeout,
    /// TLS failure), after `attempts` tries.
    #[error("Vault {method} /v1/{path}: {message}{}", fmt_attempts(*attempts))]
    Transport {
        /// The HTTP method.
        method: String,
        /// The API path, after `/v1/`.
        path: String,
        /// What the HTTP stack reported (no request or response data).
        message: String,
        /// How many times the request was sent.
        attempts: u32,
    },

    /// Vault answered 2xx with a body this client cannot use.
    #[error("Vault {method} /v1/{path}: unexpected response: {reason}")]
    InvalidResponse {
        /// The HTTP method.
        method: String,
        /// The API path, after `/v1/`.
        path: String,
        /// What is wrong with the body (never the body itself).
        reason: String,
    },
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

    /// Whether trying again later may succeed: no HTTP answer (connection refused or
    /// dropped, timeout), or an answer saying the server is busy or unavailable (412,
    /// 429, 5xx but 501, as the Vault client retries).
    pub fn is_transient(&self) -> bool {
        match self {
            VaultError::Transport { .. } => true,
            VaultError::Api { status, .. } => crate::client::is_retryable_status(*status),
            _ => false,
        }
    }

    /// True when Vault refused the request for lack of permission (HTTP 403).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, VaultError::Api { status: 403, .. })
    }
}

impl From<&VaultError> for ServiceError {
    fn from(e: &VaultError) -> Self {
        let kind = if e.is_transient() {
            ServiceErrorKind::Unavailable
        } else {
            match e {
                VaultError::Config(_) | VaultError::Io { .. } => ServiceErrorKind::Config,
                VaultError::NotFound { .. } | VaultError::VersionDeleted { .. } => ServiceErrorKind::NotFound,
                VaultError::Api { status: 401 | 403, .. } => ServiceErrorKind::Denied,
                VaultError::Api { status: 404, .. } => ServiceErrorKind::NotFound,
                _ => ServiceErrorKind::Invalid,
            }
        };
        ServiceError::new(kind, e.to_string())
    }
}

impl From<VaultError> for ServiceError {
    fn from(e: VaultError) -> Self {
        ServiceError::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> VaultError {
        VaultError::Api { method: "POST".into(), path: "transit/decrypt/k".into(), status, errors: vec![], attempts: 1 }
    }

    #[test]
    fn unavailable_servers_are_transient_and_refusals_are_not() {
        let down = VaultError::Transport { method: "POST".into(), path: "transit/decrypt/k".into(), message: "connection refused".into(), attempts: 3 };
        for e in [down, api(503), api(429), api(500)] {
            assert!(e.is_transient(), "{e}");
            assert_eq!(ServiceError::from(&e).kind(), ServiceErrorKind::Unavailable);
        }
        let kinds = [
            (api(403), ServiceErrorKind::Denied),
            (api(401), ServiceErrorKind::Denied),
            (api(400), ServiceErrorKind::Invalid),
            (VaultError::NotFound { path: "kv/x".into() }, ServiceErrorKind::NotFound),
            (VaultError::Config("VAULT_ADDR is not set".into()), ServiceErrorKind::Config),
        ];
        for (e, kind) in kinds {
            assert!(!e.is_transient(), "{e}");
            let service = ServiceError::from(&e);
            assert_eq!(service.kind(), kind, "{e}");
            assert_eq!(service.message(), e.to_string());
        }
    }
}
