//! The core's errors. Every variant names the file; input problems name the line too.
//! Messages never contain secret values. [`Error::kind`] says what kind of failure it is
//! (the CLI maps kinds to exit codes), [`Error::location`] where, and
//! [`Error::is_transient`] whether trying again may help (a controller requeues those and
//! reports the others).

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
    Reference {
        file: String,
        line: u32,
        msg: String,
        /// The store was unavailable (connection, timeout, 5xx): trying again may work.
        transient: bool,
    },
    #[error("{0}")]
    Usage(String),
    /// A tree path (`["stringData"]["token"]`) that names nothing, or not what the command
    /// needs.
    #[error("{file}: {path}: {msg}")]
    Path { file: String, path: String, msg: String },
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Arguments that make no sense together (a usage error).
    Usage,
    /// The input is not valid YAML/JSON/dotenv, or a value or path in it is wrong.
    InvalidInput,
    /// The file has no sops metadata.
    NotEncrypted,
    /// A file could not be read or written.
    Io,
    /// The `.sops.yaml` configuration is wrong.
    Config,
    /// There is no one to encrypt for.
    NoRecipients,
    /// No key at hand opens the data key, or a key could not wrap it.
    Key,
    /// A ciphertext does not authenticate or stands where it cannot: edited by hand.
    Tampered,
    /// A `<path:...>` reference could not be resolved.
    Reference,
    /// The file's MAC does not match its values.
    MacMismatch,
}

/// Where in a file an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location<'a> {
    /// The file, as named by the caller.
    pub file: &'a str,
    /// 1-based line, when the error is about one.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(_) => ErrorKind::Usage,
            Error::Syntax { .. } | Error::InvalidValue { .. } | Error::Metadata { .. } | Error::Path { .. } => ErrorKind::InvalidInput,
            Error::NotEncrypted { .. } => ErrorKind::NotEncrypted,
            Error::Io { .. } => ErrorKind::Io,
            Error::Config { .. } => ErrorKind::Config,
            Error::NoRecipients { .. } | Error::NoRecipientsFor { .. } => ErrorKind::NoRecipients,
            Error::Key { .. } => ErrorKind::Key,
            Error::Tampered { .. } | Error::Misplaced { .. } => ErrorKind::Tampered,
            Error::Reference { .. } => ErrorKind::Reference,
            Error::MacMismatch { .. } => ErrorKind::MacMismatch,
        }
    }

    /// Whether trying again later may succeed: a service (Vault) was unavailable, or an
    /// I/O operation was interrupted or timed out. Bad input, wrong keys and tampering
    /// are permanent.
    pub fn is_transient(&self) -> bool {
        use std::io::ErrorKind as Io;
        match self {
            Error::Key { source, .. } => source.is_transient(),
            Error::Reference { transient, .. } => *transient,
            Error::Io { source, .. } => matches!(source.kind(), Io::Interrupted | Io::TimedOut | Io::WouldBlock),
            _ => false,
        }
    }

    /// The file, line and column this error is about, when there is a file.
    pub fn location(&self) -> Option<Location<'_>> {
        let file = self.file()?;
        let (line, column) = match self {
            Error::Syntax { line, col, .. } => (Some(*line), Some(*col)),
            Error::InvalidValue { line, .. }
            | Error::Metadata { line, .. }
            | Error::Tampered { line, .. }
            | Error::Misplaced { line, .. }
            | Error::Reference { line, .. } => (Some(*line), None),
            _ => (None, None),
        };
        Some(Location { file, line, column })
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
