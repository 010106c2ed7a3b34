//! gitseal-core: SOPS-compatible, format-preserving encryption of Kubernetes Secrets and
//! other YAML, JSON, dotenv and binary files.
//!
//! The core reads bytes and returns bytes: it does no file system, environment, network or
//! process access and prints nothing. Files, key discovery, flags and exit codes are the
//! `gitseal` CLI's; Vault is reached through the traits of [`ports`], which the
//! `gitseal-vault` crate implements.
//!
//! # The API
//!
//! The crate root re-exports the entry points: [`encrypt`] and [`decrypt`] a whole file
//! ([`EncryptRequest`] → [`EncryptOutcome`] with the [`Encrypted`] text,
//! [`DecryptRequest`] → [`Decrypted`]), [`open`] a file once for editing ([`OpenedFile`]),
//! the keys ([`Recipients`] to encrypt for, [`Identities`] to decrypt with), the
//! [`Format`] of a file, and the errors ([`Error`], its [`ErrorKind`], and
//! [`ServiceError`] from the ports).
//!
//! The public modules are the rest of the API, for the commands the CLI builds on them:
//! - [`pipeline`]: the engine (plans, re-encryption, `updatekeys`, rotation);
//! - [`document`]: parsed files with the byte span of every value, and the per-format
//!   parsers the fuzz targets drive;
//! - [`sops`]: the `ENC[...]` codec, the metadata block and the selection rules;
//! - [`keys`]: age (X25519, SSH, post-quantum hybrid) and Vault Transit master keys,
//!   Shamir key groups;
//! - [`config`]: `.sops.yaml` creation rules; [`ports`]: the services the core calls;
//! - [`plaintext_edit`], [`tree_path`]: `set`/`unset` on plaintext, and sops's
//!   `["key"][0]` paths;
//! - [`encrypted_secret`]: the `EncryptedSecret` resource, sealed for a scope and opened
//!   after the API server's round trip;
//! - [`k8s`], [`k8s_create`], [`render`], [`repo_check`], [`status`], [`env_vars`]:
//!   Kubernetes rules and manifests, reference rendering, the repository check, `status`
//!   and `exec-env`;
//! - [`crypto`], [`error`], [`shell_words`] (splitting `$EDITOR` and key commands), [`duration`] (Go durations).
//!
//! Parser internals, splice bookkeeping and helpers are crate-private. Secrets (data
//! keys, identities, plaintexts) stay in zeroizing storage and out of `Debug` output and
//! error messages.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod crypto;
pub mod document;
pub mod duration;
pub mod encrypted_secret;
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
pub mod shell_words;
pub mod sops;
pub mod status;
pub mod tree_path;

pub use document::Format;
pub use error::{Error, ErrorKind, Result};
pub use keys::{Identities, Recipients};
pub use pipeline::{decrypt, encrypt, open, DecryptRequest, Decrypted, EncryptOutcome, EncryptRequest, Encrypted, OpenedFile};
pub use ports::{KvSource, ServiceError, TransitBackend};
