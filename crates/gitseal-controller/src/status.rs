//! The conditions (kstatus style, so `kubectl wait --for=condition=Ready` and Flux
//! health checks work) and the reasons the controller gives.
//!
//! `Ready` is always there. Besides it, following kstatus's "abnormal-true" conditions: an
//! object refused until it changes also has `Stalled=True` (kstatus, and so Flux's `wait`,
//! reads it as failed at once instead of waiting out the timeout), and one being retried
//! (Vault or the API server unavailable) has `Reconciling=True` (in progress).

use crate::resource::{Condition, EncryptedSecretStatus};

/// The type of the condition every status has.
pub const READY: &str = "Ready";
/// Set (True) while the object is refused and waits for a change.
pub const STALLED: &str = "Stalled";
/// Set (True) while a failure that may pass is retried.
pub const RECONCILING: &str = "Reconciling";

/// Where an object that is not Ready stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Refused: nothing changes until the object (or the keys, or Vault's answer) does.
    Stalled,
    /// A failure that may pass: retried with backoff.
    Retrying,
}

/// Why an object is or is not Ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The Secret was created or is up to date.
    Decrypted,
    /// No identity of the keys Secret opens the data key (or the keys Secret is missing).
    NoMatchingKey,
    /// The MAC does not match, or a value does not authenticate: the object was edited.
    MacMismatch,
    /// The object is not where it was sealed for (namespace, name), or its scope was edited.
    ScopeViolation,
    /// The object is malformed (a value not encrypted, bad metadata, a Secret the API refuses).
    InvalidData,
    /// Vault could not open the data key or resolve a reference.
    VaultError,
    /// A Secret of that name exists and is not owned by this object; it is left alone.
    SecretExists,
}

impl Reason {
    /// The CamelCase reason written into the condition and the Event.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Decrypted => "Decrypted",
            Reason::NoMatchingKey => "NoMatchingKey",
            Reason::MacMismatch => "MacMismatch",
            Reason::ScopeViolation => "ScopeViolation",
            Reason::InvalidData => "InvalidData",
            Reason::VaultError => "VaultError",
            Reason::SecretExists => "SecretExists",
        }
    }

    /// Whether the object is Ready with this reason.
    pub fn is_ready(self) -> bool {
        self == Reason::Decrypted
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reason for an error from opening an EncryptedSecret.
pub fn reason_for(err: &gitseal_core::Error) -> Reason {
    use gitseal_core::keys::KeyError;
    use gitseal_core::ErrorKind;
    match err.kind() {
        ErrorKind::Key => {
            match err {
                gitseal_core::Error::Key {
                    source: KeyError::NoMatchingIdentity { vault_errors, .. } | KeyError::NotEnoughGroups { vault_errors, .. }, ..
                } if !vault_errors.is_empty() => Reason::VaultError,
                _ if err.is_transient() => Reason::VaultError,
                _ => Reason::NoMatchingKey,
            }
        }
        ErrorKind::MacMismatch | ErrorKind::Tampered => Reason::MacMismatch,
        ErrorKind::ScopeViolation => Reason::ScopeViolation,
        ErrorKind::Reference => Reason::VaultError,
        _ => Reason::InvalidData,
    }
}

/// The status for `generation` with `reason` and `message`, keeping the previous
/// `lastTransitionTime` when the condition's status did not change.
///
/// `progress` says what an object that is not Ready waits for (ignored when it is).
pub fn status_for(
    previous: Option<&EncryptedSecretStatus>,
    generation: Option<i64>,
    reason: Reason,
    progress: Progress,
    message: &str,
    secret_name: Option<&str>,
    now: &str,
) -> EncryptedSecretStatus {
    let previous_conditions = previous.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    let condition = |type_: &str, status: &str| {
        let last_transition_time = match previous_conditions.iter().find(|c| c.type_ == type_) {
            Some(c) if c.status == status => c.last_transition_time.clone(),
            _ => now.to_owned(),
        };
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.as_str().into(),
            message: truncate(message, MAX_MESSAGE),
            last_transition_time,
            observed_generation: generation,
        }
    };
    let mut conditions = vec![condition(READY, if reason.is_ready() { "True" } else { "False" })];
    if !reason.is_ready() {
        conditions.push(condition(if progress == Progress::Stalled { STALLED } else { RECONCILING }, "True"));
    }
    EncryptedSecretStatus { observed_generation: generation, conditions: Some(conditions), secret_name: secret_name.map(str::to_owned) }
}

/// Condition messages are kept under the API's 32 KiB limit, and Events under 1 KiB.
pub const MAX_MESSAGE: usize = 4096;

/// `text` cut to at most `max` bytes at a character boundary, marked when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_decrypted_is_ready() {
        for r in [Reason::NoMatchingKey, Reason::MacMismatch, Reason::ScopeViolation, Reason::InvalidData, Reason::VaultError, Reason::SecretExists] {
            assert!(!r.is_ready(), "{r}");
        }
        assert!(Reason::Decrypted.is_ready());
    }

    #[test]
    fn the_transition_time_is_kept_while_the_status_stays_the_same() {
        let first = status_for(None, Some(1), Reason::NoMatchingKey, Progress::Stalled, "no key", None, "2026-01-01T00:00:00Z");
        let c = &first.conditions.as_ref().unwrap()[0];
        assert_eq!((c.type_.as_str(), c.status.as_str(), c.reason.as_str()), ("Ready", "False", "NoMatchingKey"));
        assert_eq!(c.observed_generation, Some(1));
        let second = status_for(Some(&first), Some(2), Reason::MacMismatch, Progress::Stalled, "mac", None, "2026-01-02T00:00:00Z");
        assert_eq!(second.conditions.as_ref().unwrap()[0].last_transition_time, "2026-01-01T00:00:00Z", "False stays False");
        assert_eq!(second.observed_generation, Some(2));
        let third = status_for(Some(&second), Some(2), Reason::Decrypted, Progress::Stalled, "ok", Some("db"), "2026-01-03T00:00:00Z");
        let c = &third.conditions.as_ref().unwrap()[0];
        assert_eq!((c.status.as_str(), c.last_transition_time.as_str()), ("True", "2026-01-03T00:00:00Z"));
        assert_eq!(third.secret_name.as_deref(), Some("db"));
    }

    #[test]
    fn a_refused_object_is_stalled_a_retried_one_reconciling_and_a_ready_one_neither() {
        let types = |s: &EncryptedSecretStatus| s.conditions.as_ref().unwrap().iter().map(|c| (c.type_.clone(), c.status.clone())).collect::<Vec<_>>();
        let pair = |t: &str, s: &str| (t.to_owned(), s.to_owned());
        let refused = status_for(None, Some(1), Reason::MacMismatch, Progress::Stalled, "mac", None, "2026-01-01T00:00:00Z");
        assert_eq!(types(&refused), [pair("Ready", "False"), pair("Stalled", "True")]);
        assert!(refused.conditions.as_ref().unwrap().iter().all(|c| c.reason == "MacMismatch" && c.observed_generation == Some(1)));
        let retried = status_for(Some(&refused), Some(1), Reason::VaultError, Progress::Retrying, "down", None, "2026-01-02T00:00:00Z");
        assert_eq!(types(&retried), [pair("Ready", "False"), pair("Reconciling", "True")]);
        assert_eq!(retried.conditions.as_ref().unwrap()[0].last_transition_time, "2026-01-01T00:00:00Z");
        assert_eq!(retried.conditions.as_ref().unwrap()[1].last_transition_time, "2026-01-02T00:00:00Z");
        let ready = status_for(Some(&retried), Some(1), Reason::Decrypted, Progress::Retrying, "ok", Some("db"), "2026-01-03T00:00:00Z");
        assert_eq!(types(&ready), [pair("Ready", "True")]);
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let long = "é".repeat(3000);
        let cut = truncate(&long, MAX_MESSAGE);
        assert!(cut.len() <= MAX_MESSAGE);
        assert!(cut.ends_with("..."));
        assert_eq!(truncate("short", 10), "short");
    }
}
