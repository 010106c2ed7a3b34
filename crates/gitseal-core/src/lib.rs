//! gitseal: SOPS-compatible, format-preserving encryption of Kubernetes Secrets.
//!
//! The library does no process I/O beyond key discovery ([`keys::discovery`]), config
//! loading ([`config`]) and the file helpers in [`fsio`]: the CLI, the in-cluster
//! decryptor and the render plugins share it.

#![forbid(unsafe_code)]

pub mod config;
pub mod crypto;
pub mod document;
pub mod env_vars;
pub mod error;
pub mod k8s;
pub mod k8s_create;
pub mod keys;
pub mod pipeline;
pub mod plaintext_edit;
pub mod ports;
pub mod render;
pub mod repo_check;
pub mod sops;
pub mod status;
pub mod tree_path;

pub use error::{Error, Result};
pub use pipeline::{decrypt, encrypt, DecryptRequest, Decrypted, EncryptOutcome, EncryptRequest, Encrypted};
