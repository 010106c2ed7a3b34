//! Library errors. Every variant names the file; input problems name the line too.
//! Messages never contain secret values.

use crate::keys::KeyError;

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{file}:{line}:{col}: {msg}")]
    Syntax { file: String, line: u32, col: u32, msg: String },
    #[error("{file}:{line}: {msg}")]
    InvalidValue { file: String, line: u32, msg: String },
    #[error("{file}:{line}: {msg}")]
    Metadata { file: String, line: u32, msg: String },
    #[error("{file}: not encrypted (no sops metadata found)")]
    NotEncrypted { file: String },
    #[error("{file}: {source}")]
    Key { file: String, source: KeyError },
    #[error("{file}: no recipients: give --age, or add a creation rule with recipients to .sops.yaml")]
    NoRecipients { file: String },
    /// No recipients for a new file, with what to give instead (the file may not exist
    /// yet, or go to stdout).
    #[error("{file}: no recipients: {hint}")]
    NoRecipientsFor { file: String, hint: String },
    #[error("{file}: MAC mismatch: the file was modified after it was encrypted (values changed, moved or removed, or a document lost)")]
    MacMismatch { file: String },
    #[error(
        "{file}:{line}: encrypted value does not decrypt with this file's data key: it was tampered with, moved from another key, or copied from another file"
    )]
    Tampered { file: String, line: u32 },
    /// A ciphertext that authenticates but stands where its kind cannot (an encrypted
    /// comment in a value's place, a value's ciphertext in a comment, ciphertext in a
    /// document without sops metadata): moved there by hand.
    #[error("{file}:{line}: {msg}; the file was tampered with")]
    Misplaced { file: String, line: u32, msg: &'static str },
    #[error("{file}: {msg}")]
    Config { file: String, msg: String },
    #[error("{file}: {action}: {source}")]
    Io { file: String, action: &'static str, source: std::io::Error },
    #[error("{file}:{line}: {msg}")]
    Reference { file: String, line: u32, msg: String },
    #[error("{0}")]
    Usage(String),
    /// A tree path (`["stringData"]["token"]`) that names nothing, or not what the command
    /// needs.
    #[error("{file}: {path}: {msg}")]
    Path { file: String, path: String, msg: String },
}

impl Error {
    /// The process exit code for this error (documented in docs/exit-codes.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Syntax { .. } | Error::InvalidValue { .. } | Error::Metadata { .. } | Error::Path { .. } => 3,
            Error::NotEncrypted { .. } => 4,
            Error::Io { .. } => 5,
            Error::Config { .. } => 6,
            Error::NoRecipients { .. } => 7,
            Error::NoRecipientsFor { .. } => 7,
            Error::Key { .. } => 8,
            Error::Tampered { .. } | Error::Misplaced { .. } => 9,
            Error::Reference { .. } => 11,
            Error::MacMismatch { .. } => 51,
        }
    }

    /// The file this error is about, when there is one.
    pub fn file(&self) -> Option<&str> {
        match self {
            Error::Syntax { file, .. }
            | Error::InvalidValue { file, .. }
            | Error::Metadata { file, .. }
            | Error::NotEncrypted { file }
            | Error::Key { file, .. }
            | Error::NoRecipients { file }
            | Error::NoRecipientsFor { file, .. }
            | Error::MacMismatch { file }
            | Error::Tampered { file, .. }
            | Error::Misplaced { file, .. }
            | Error::Reference { file, .. }
            | Error::Config { file, .. }
            | Error::Io { file, .. }
            | Error::Path { file, .. } => Some(file),
            Error::Usage(_) => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
