//! The core's errors. Every variant names the file; input problems name the line too.
//! Messages never contain secret values. [`Error::kind`] says what kind of failure it is
//! (the CLI maps kinds to exit codes), [`Error::location`] where, and
//! [`Error::is_transient`] whether trying again may help (a controller requeues those and
//! reports the others).

use crate::keys::KeyError;

/// What went wrong, and where.
///
/// Every variant but [`Error::Usage`] carries `file`: the name the caller gave the input (a path, or a label
/// such as `<stdin>`), never its contents. `line` and `col` are 1-based. No message holds
/// a secret value, a key or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not valid YAML, JSON or dotenv.
    #[error("{file}:{line}:{col}: {msg}")]
    Syntax {
        /// The file the input came from.
        file: String,
        /// 1-based line of the first offending byte.
        line: u32,
        /// 1-based column of the first offending byte, as the parser counts it.
        col: u32,
        /// What the parser expected or found, in words.
        msg: String,
    },
    /// A value is well-formed syntax but wrong for gitseal or sops (bad base64 in a Secret's
    /// `data`, a malformed `ENC[...]` string, an unsupported key type).
    #[error("{file}:{line}: {msg}")]
    InvalidValue {
        /// The file the value is in.
        file: String,
        /// 1-based line of the value.
        line: u32,
        /// What is wrong with the value (never the value itself).
        msg: String,
    },
    /// The `sops` metadata block is missing a field, has a wrong type or an unknown version.
    #[error("{file}:{line}: {msg}")]
    Metadata {
        /// The encrypted file.
        file: String,
        /// 1-based line of the offending metadata entry (that of the `sops` key when unknown).
        line: u32,
        /// Which field is wrong and how.
        msg: String,
    },
    /// A command that needs an encrypted file got one without `sops` metadata.
    #[error("{file}: not encrypted (no sops metadata found)")]
    NotEncrypted {
        /// The plaintext file.
        file: String,
    },
    /// The data key could not be unwrapped or wrapped; `source` says for which keys and why.
    #[error("{file}: {source}")]
    Key {
        /// The file whose data key it is.
        file: String,
        /// The failure of each key tried.
        source: KeyError,
    },
    /// Encrypting with no recipient from the flags or a `.sops.yaml` creation rule.
    #[error("{file}: no recipients: give --age, or add a creation rule with recipients to .sops.yaml")]
    NoRecipients {
        /// The file that was to be encrypted.
        file: String,
    },
    /// No recipients for a new file, with what to give instead (the file may not exist
    /// yet, or go to stdout).
    #[error("{file}: no recipients: {hint}")]
    NoRecipientsFor {
        /// The file that was to be created.
        file: String,
        /// The flag or configuration that would supply recipients.
        hint: String,
    },
    /// The MAC in the metadata does not match the values: something was changed, moved or
    /// removed after encryption (checked as sops checks it, over the values in file order).
    #[error("{file}: MAC mismatch: the file was modified after it was encrypted (values changed, moved or removed, or a document lost)")]
    MacMismatch {
        /// The encrypted file.
        file: String,
    },
    /// An `ENC[...]` value fails AES-GCM authentication with the file's data key and its
    /// tree path as additional data.
    #[error(
        "{file}:{line}: encrypted value does not decrypt with this file's data key: it was tampered with, moved from another key, or copied from another file"
    )]
    Tampered {
        /// The encrypted file.
        file: String,
        /// 1-based line of the value that does not authenticate.
        line: u32,
    },
    /// A ciphertext that authenticates but stands where its kind cannot (an encrypted
    /// comment in a value's place, a value's ciphertext in a comment, ciphertext in a
    /// document without sops metadata): moved there by hand.
    #[error("{file}:{line}: {msg}; the file was tampered with")]
    Misplaced {
        /// The encrypted file.
        file: String,
        /// 1-based line of the misplaced ciphertext.
        line: u32,
        /// Which kind of ciphertext stands where.
        msg: &'static str,
    },
    /// The `.sops.yaml` configuration is invalid (bad regex, unknown key, wrong type).
    #[error("{file}: {msg}")]
    Config {
        /// The configuration file.
        file: String,
        /// What is wrong in it.
        msg: String,
    },
    /// Reading or writing failed: writing a plan's output to the caller's writer, or I/O the
    /// caller did itself (the core opens no files).
    #[error("{file}: {action}: {source}")]
    Io {
        /// The file read or written.
        file: String,
        /// What was being done, in words (`"cannot read"`, `"cannot write output"`).
        action: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A `<path:...>` reference in a value could not be resolved from the key-value store.
    #[error("{file}:{line}: {msg}")]
    Reference {
        /// The file holding the reference.
        file: String,
        /// 1-based line of the reference.
        line: u32,
        /// Which reference failed and why (the store's answer, never a secret).
        msg: String,
        /// The store was unavailable (connection, timeout, 5xx): trying again may work.
        transient: bool,
    },
    /// An `EncryptedSecret` found where its sealed binding does not allow it: another
    /// namespace or name than it was sealed for, or a scope wider than the sealed one.
    #[error("{file}: scope violation: {msg}")]
    ScopeViolation {
        /// The object or file.
        file: String,
        /// What the binding says and what was found (names, never values).
        msg: String,
    },
    /// An `EncryptedSecret` whose Secret template (type, labels, annotations, `immutable`)
    /// differs from the one sealed in its binding: edited after encryption.
    #[error("{file}: {msg}; the object was tampered with (re-seal it with gitseal edit or set)")]
    TemplateMismatch {
        /// The object or file.
        file: String,
        /// Which template fields differ.
        msg: String,
    },
    /// Arguments or options that make no sense together; the message says which.
    #[error("{0}")]
    Usage(String),
    /// A tree path (`["stringData"]["token"]`) that names nothing, or not what the command
    /// needs.
    #[error("{file}: {path}: {msg}")]
    Path {
        /// The file the path was looked up in.
        file: String,
        /// The tree path as the user wrote it.
        path: String,
        /// Why it does not fit (with the nearest existing path when there is one).
        msg: String,
    },
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
    /// An `EncryptedSecret` is outside the scope (namespace, name) it was sealed for.
    ScopeViolation,
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
            Error::Tampered { .. } | Error::Misplaced { .. } | Error::TemplateMismatch { .. } => ErrorKind::Tampered,
            Error::ScopeViolation { .. } => ErrorKind::ScopeViolation,
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
    pub(crate) fn file(&self) -> Option<&str> {
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
            | Error::Path { file, .. }
            | Error::ScopeViolation { file, .. }
            | Error::TemplateMismatch { file, .. } => Some(file),
            Error::Usage(_) => None,
        }
    }
}

/// The core's result: [`Error`] unless another error type is named.
pub type Result<T, E = Error> = std::result::Result<T, E>;
