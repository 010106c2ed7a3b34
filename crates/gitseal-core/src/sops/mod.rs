//! The SOPS v3 format: encrypted values, metadata, MAC and selection rules.

pub(crate) mod mac;
pub mod metadata;
pub mod select;
pub mod value;
