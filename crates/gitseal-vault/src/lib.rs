//! HashiCorp Vault (and OpenBao) client for gitseal: Transit encryption of data keys
//! (interoperable with sops' `hc_vault` key source) and KV v1/v2 reads.
//!
//! - [`VaultClient`] (also [`blocking::VaultClient`]) is synchronous: a small blocking
//!   HTTP/1.1 client (`ureq` on rustls with the `ring` provider), no async runtime. Async
//!   callers (a controller on tokio) run its calls in `tokio::task::spawn_blocking`.
//! - [`VaultConfig::from_env`] reads the Vault CLI's environment variables
//!   (`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE`, `VAULT_CACERT`, ...) and gitseal's
//!   login variables (AppRole, Kubernetes); see [`config`] for the precedence.
//! - [`blocking::VaultPool`] keeps one client per address, as files can name several
//!   Vault servers; [`backend::LazyVault`] implements the core's ports
//!   ([`gitseal_core::ports::TransitBackend`], [`gitseal_core::ports::KvSource`]) with it.
//! - Errors are [`VaultError`]; [`VaultError::is_transient`] tells the ones worth
//!   retrying, and they become the core's typed [`gitseal_core::ports::ServiceError`].
//! - Transit key URIs are parsed by [`gitseal_core::keys::TransitKey`].
//!
//! Secrets (tokens, secret ids, JWTs, plaintexts, secret values) are held in
//! `secrecy`/`zeroize` types and never appear in `Debug`, `Display` or error messages.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
pub mod backend;
pub mod blocking;
mod client;
pub mod config;
mod error;
mod kv;
mod transit;

pub use client::VaultClient;
pub use config::{ClientCertFiles, VaultAuth, VaultConfig};
pub use error::VaultError;
pub use kv::KvSecret;

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
