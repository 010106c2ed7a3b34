//! The gitseal controller: watches `EncryptedSecret` objects (group `gitseal.dev`), verifies
//! each one (MAC, every value encrypted, the sealed scope and binding) and materializes the
//! Secret it describes, owned by it and restored when edited or deleted.
//!
//! - [`resource`]: the Rust types of the object; [`crd`]: the CRD built from them.
//! - [`keys`]: age identities from the keys Secret.
//! - [`cluster_keys`]: `--generate-key` and the published recipients.
//! - [`opening`]: the call into the core's verification.
//! - [`secret`]: the Secret applied for an object.
//! - [`status`]: the `Ready` condition and its reasons.
//! - [`reconcile`]: the reconcile, its cache and error policy; [`run`]: wiring it all up.
//! - [`options`], [`probes`]: the command line and the health endpoints; [`metrics`]: `/metrics`.
//! - [`leader`]: leader election among replicas.
//! - [`vault`]: Vault Transit and KV references, with the controller's own settings;
//!   [`refresh`]: `spec.refreshInterval` and the rounds that share reads.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cluster_keys;
pub mod crd;
pub mod keys;
pub mod leader;
pub mod metrics;
pub mod opening;
pub mod options;
pub mod probes;
pub mod reconcile;
pub mod refresh;
pub mod resource;
pub mod run;
pub mod secret;
pub mod status;
pub mod vault;
