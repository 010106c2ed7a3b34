//! `--kind` and `--scope`: which object `encrypt`, `create` and `decrypt` write, resolved
//! once into a [`SealedObject`] or a [`Reading`] before any file is touched.

use clap::{Args, ValueEnum};
use gitseal_core::encrypted_secret::{self, Scope};
use gitseal_core::Error;

/// The object an encrypting command writes.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedKind {
    /// A `gitseal.dev/v1alpha1` EncryptedSecret, which the gitseal controller turns into
    /// a Secret in the cluster.
    #[value(name = "EncryptedSecret")]
    EncryptedSecret,
}

/// `--scope` values.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeArg {
    /// Only under the namespace and name it was sealed for.
    Strict,
    /// Under any name in the namespace it was sealed for.
    Namespace,
    /// In any namespace, under any name.
    Cluster,
}

impl ScopeArg {
    fn scope(self) -> Scope {
        match self {
            ScopeArg::Strict => Scope::Strict,
            ScopeArg::Namespace => Scope::Namespace,
            ScopeArg::Cluster => Scope::Cluster,
        }
    }
}

/// `--kind EncryptedSecret [--scope strict|namespace|cluster]` for `encrypt` and `create`.
#[derive(Args, Debug, Clone, Default)]
pub struct SealedKindArgs {
    /// Write an EncryptedSecret (gitseal.dev/v1alpha1) made from the Secret, for the
    /// gitseal controller to decrypt in the cluster, instead of the Secret itself.
    #[arg(long = "kind", value_enum, value_name = "KIND", ignore_case = true)]
    kind: Option<SealedKind>,
    /// Where the EncryptedSecret may be decrypted: strict (its namespace and name, the
    /// default), namespace (any name in its namespace) or cluster (anywhere). Only with
    /// --kind EncryptedSecret.
    #[arg(long = "scope", value_enum, value_name = "SCOPE")]
    scope: Option<ScopeArg>,
}

/// What an encrypting command writes, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedObject {
    /// The input itself, its selected values encrypted (sops).
    SopsFile,
    /// An EncryptedSecret sealed for this scope.
    EncryptedSecret(Scope),
}

impl SealedKindArgs {
    /// The validated choice: `--scope` only with `--kind EncryptedSecret`.
    pub fn resolve(&self) -> Result<SealedObject, Error> {
        match (self.kind, self.scope) {
            (None, None) => Ok(SealedObject::SopsFile),
            (None, Some(_)) => Err(Error::Usage(format!("--scope applies to --kind {} only", encrypted_secret::KIND))),
            (Some(SealedKind::EncryptedSecret), scope) => Ok(SealedObject::EncryptedSecret(scope.map_or(Scope::Strict, ScopeArg::scope))),
        }
    }
}

/// The object `decrypt` writes.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadKind {
    /// The Secret an EncryptedSecret stands for, as the controller would create it (after
    /// the same checks: MAC, binding, sorted key order).
    #[value(name = "Secret")]
    Secret,
}

/// What `decrypt` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The file's plaintext, as sops gives it.
    Plaintext,
    /// The Secret of an EncryptedSecret.
    Secret,
}

impl Reading {
    /// The choice `--kind` names.
    pub fn of(kind: Option<ReadKind>) -> Reading {
        match kind {
            None => Reading::Plaintext,
            Some(ReadKind::Secret) => Reading::Secret,
        }
    }
}
