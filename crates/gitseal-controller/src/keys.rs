//! The controller's age identities: every data entry of the keys Secret (`gitseal-keys` in
//! the controller's namespace) whose name ends in `.agekey`, as Flux's decryption Secret.
//! Several entries (and several keys per entry) are loaded at once, so a key can be added
//! before files move to it and removed after.

use std::collections::BTreeMap;
use std::sync::Arc;

use gitseal_core::Identities;
use k8s_openapi::ByteString;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// The suffix of the keys Secret's entries that hold age identities.
pub const AGE_KEY_SUFFIX: &str = ".agekey";

/// Identities read from the keys Secret, and what was wrong with the entries that were skipped.
pub struct LoadedKeys {
    /// Every identity of every usable entry.
    pub identities: Identities,
    /// The entries identities were read from.
    pub entries: Vec<String>,
    /// Entries that could not be used (`entry: reason`), never with their content.
    pub problems: Vec<String>,
    /// SHA-256 over the usable entries' names and contents: tells a real change from a resync.
    pub fingerprint: [u8; 32],
    /// The public recipients of the identities, sorted, without repeats: what may be published.
    pub recipients: Vec<String>,
}

impl std::fmt::Debug for LoadedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedKeys").field("identities", &self.identities.len()).field("entries", &self.entries).field("problems", &self.problems).finish()
    }
}

/// Reads identities from the keys Secret's data. `secret` names it (`namespace/name`) in
/// messages. The data is zeroized as it is read.
pub fn load_from_secret(secret: &str, data: &mut BTreeMap<String, ByteString>) -> LoadedKeys {
    let mut identities = Identities::default();
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut recipients = Vec::new();
    let mut hasher = Sha256::new();
    for (entry, value) in data.iter_mut() {
        if !entry.ends_with(AGE_KEY_SUFFIX) {
            value.0.zeroize();
            continue;
        }
        let source = format!("secret {secret}, entry {entry}");
        match std::str::from_utf8(&value.0) {
            Err(_) => problems.push(format!("{source}: not UTF-8 text")),
            Ok(text) => match identities.add_text(&source, text) {
                Ok(0) => problems.push(format!("{source}: no age identity in it")),
                Ok(_) => {
                    recipients.extend(text.lines().filter(|l| !l.trim_start().starts_with('#')).filter_map(gitseal_core::keys::age::recipient_of));
                    hasher.update((entry.len() as u64).to_le_bytes());
                    hasher.update(entry.as_bytes());
                    hasher.update((value.0.len() as u64).to_le_bytes());
                    hasher.update(&value.0);
                    entries.push(entry.clone());
                }
                Err(e) => problems.push(e.to_string()),
            },
        }
        value.0.zeroize();
    }
    identities.note_searched(format!("secret {secret}: {}", describe_entries(&entries)));
    problems.extend(identities.warnings.iter().cloned());
    recipients.sort();
    recipients.dedup();
    LoadedKeys { identities, entries, problems, fingerprint: hasher.finalize().into(), recipients }
}

fn describe_entries(entries: &[String]) -> String {
    if entries.is_empty() {
        format!("no usable *{AGE_KEY_SUFFIX} entry")
    } else {
        entries.join(", ")
    }
}

/// The identities in use and their version, which the reconcile remembers per object so
/// that a change of keys (and only that, besides the object's generation) decrypts again.
#[derive(Clone)]
pub struct KeyState {
    /// The identities (empty while the keys Secret is missing).
    pub identities: Arc<Identities>,
    /// Increments on every change of the usable keys.
    pub version: u64,
    /// What was loaded, for messages: `None` while the keys Secret is missing.
    pub fingerprint: Option<[u8; 32]>,
    /// Where the keys come from (`namespace/name`), for messages.
    pub secret: String,
}

impl KeyState {
    /// No keys yet: the keys Secret `secret` has not been read (or does not exist).
    pub fn missing(secret: &str) -> Self {
        let mut identities = Identities::default();
        identities.note_searched(format!("secret {secret}: it does not exist"));
        KeyState { identities: Arc::new(identities), version: 0, fingerprint: None, secret: secret.to_owned() }
    }

    /// Whether the keys Secret exists.
    pub fn present(&self) -> bool {
        self.fingerprint.is_some()
    }

    /// The state after the keys Secret changed to `loaded` (or went away with `None`).
    /// Returns `None` when nothing changed, so a resync of the keys Secret re-queues nothing.
    pub fn updated(&self, loaded: Option<LoadedKeys>) -> Option<KeyState> {
        match loaded {
            None if !self.present() => None,
            None => Some(KeyState { version: self.version + 1, ..KeyState::missing(&self.secret) }),
            Some(l) if self.fingerprint == Some(l.fingerprint) => None,
            Some(l) => {
                Some(KeyState { identities: Arc::new(l.identities), version: self.version + 1, fingerprint: Some(l.fingerprint), secret: self.secret.clone() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(entries: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
        entries.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect()
    }

    fn generated_key() -> String {
        let (text, _) = test_keys::generate();
        text
    }

    mod test_keys {
        /// A fresh age identity as key-file text, and its recipient.
        pub fn generate() -> (String, String) {
            use age::secrecy::ExposeSecret;
            let id = age::x25519::Identity::generate();
            (format!("# test\n{}\n", id.to_string().expose_secret()), id.to_public().to_string())
        }
    }

    #[test]
    fn every_agekey_entry_is_loaded_and_other_entries_are_ignored() {
        let (a, b) = (generated_key(), generated_key());
        let mut d = data(&[("old.agekey", &a), ("new.agekey", &b), ("README", "not a key")]);
        let loaded = load_from_secret("gitseal-system/gitseal-keys", &mut d);
        assert_eq!(loaded.identities.len(), 2);
        assert_eq!(loaded.entries, ["new.agekey", "old.agekey"]);
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert!(d.values().all(|v| v.0.iter().all(|b| *b == 0)), "the Secret's data is zeroized after reading");
    }

    #[test]
    fn a_malformed_entry_is_reported_by_name_without_its_content_and_the_others_still_load() {
        let good = generated_key();
        let mut d = data(&[("bad.agekey", "AGE-SECRET-KEY-1NOTAKEY\n"), ("good.agekey", &good)]);
        d.insert("bin.agekey".into(), ByteString(vec![0xff, 0xfe]));
        let loaded = load_from_secret("ns/keys", &mut d);
        assert_eq!(loaded.identities.len(), 1);
        assert_eq!(loaded.entries, ["good.agekey"]);
        assert_eq!(loaded.problems.len(), 2, "{:?}", loaded.problems);
        assert!(loaded.problems.iter().any(|p| p.contains("bad.agekey")));
        assert!(loaded.problems.iter().any(|p| p.contains("bin.agekey") && p.contains("UTF-8")));
        assert!(loaded.problems.iter().all(|p| !p.contains("NOTAKEY")), "{:?}", loaded.problems);
    }

    #[test]
    fn the_key_version_changes_only_when_the_keys_change() {
        let key = generated_key();
        let start = KeyState::missing("ns/keys");
        assert!(!start.present());
        assert!(start.updated(None).is_none(), "still missing: nothing to re-queue");
        let first = start.updated(Some(load_from_secret("ns/keys", &mut data(&[("a.agekey", &key)])))).expect("keys appeared");
        assert_eq!(first.version, 1);
        assert!(first.present());
        assert!(first.updated(Some(load_from_secret("ns/keys", &mut data(&[("a.agekey", &key), ("notes", "x")])))).is_none(), "same keys: a resync");
        let second =
            first.updated(Some(load_from_secret("ns/keys", &mut data(&[("a.agekey", &key), ("b.agekey", &generated_key())])))).expect("a key was added");
        assert_eq!(second.version, 2);
        assert_eq!(second.identities.len(), 2);
        let gone = second.updated(None).expect("keys Secret deleted");
        assert_eq!(gone.version, 3);
        assert_eq!(gone.identities.len(), 0);
        assert!(!gone.present());
    }
}
