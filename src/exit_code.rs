//! The process's exit codes (docs/exit-codes.md documents them): the core says what kind
//! of failure an error is, the CLI says which number that is.

use gitseal_core::error::{Error, ErrorKind};

/// `gitseal check` found problems.
pub const FINDINGS: i32 = 10;

/// The exit code for a core error.
pub fn of(err: &Error) -> i32 {
    match err.kind() {
        ErrorKind::Usage => 2,
        ErrorKind::InvalidInput => 3,
        ErrorKind::NotEncrypted => 4,
        ErrorKind::Io => 5,
        ErrorKind::Config => 6,
        ErrorKind::NoRecipients => 7,
        ErrorKind::Key => 8,
        ErrorKind::Tampered => 9,
        ErrorKind::Reference => 11,
        ErrorKind::ScopeViolation => 12,
        ErrorKind::MacMismatch => 51,
        // A kind added to the core later: a plain failure until it gets its own code.
        _ => 1,
    }
}
