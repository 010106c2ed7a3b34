//! Master keys: wrapping the data key for recipients and unwrapping it with identities.

pub mod age;
pub mod discovery;
pub mod shamir;

use crate::crypto::DataKey;
use crate::sops::metadata::{KeyGroup, Metadata};

pub use self::age::{AgeRecipient, Identities};

/// Why the data key could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("invalid age recipient {0:?}: expected age1... or an ssh-ed25519/ssh-rsa public key")]
    BadRecipient(String),
    #[error("{source_name}: {reason}")]
    BadIdentity { source_name: String, reason: String },
    #[error("no identity can decrypt the data key; the file is encrypted to: {}", .recipients.join(", "))]
    NoMatchingIdentity { recipients: Vec<String> },
    #[error("cannot wrap the data key for {recipient}: {reason}")]
    Wrap { recipient: String, reason: String },
    #[error("key groups need {needed} of {total} groups to recover the data key, but only {found} could be opened; the file is encrypted to: {}", .recipients.join(", "))]
    NotEnoughGroups { needed: usize, found: usize, total: usize, recipients: Vec<String> },
}

/// Who a new data key is wrapped for.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    pub age: Vec<AgeRecipient>,
}

impl Recipients {
    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
    }

    /// Wraps `key` for every recipient into one key group.
    pub fn wrap(&self, key: &DataKey) -> Result<KeyGroup, KeyError> {
        let mut group = KeyGroup::default();
        for r in &self.age {
            group.age.push(r.wrap(key)?);
        }
        Ok(group)
    }
}

/// Recovers the data key of a file from its metadata with the identities at hand.
pub fn unwrap_data_key(meta: &Metadata, ids: &Identities) -> Result<DataKey, KeyError> {
    let groups = meta.groups();
    let mut found = Vec::new();
    for g in &groups {
        if let Some(k) = unwrap_group(g, ids) {
            if meta.key_groups.is_none() || groups.len() == 1 {
                return Ok(k);
            }
            found.push(k);
        }
    }
    let recipients = meta.describe_keys();
    if found.is_empty() {
        return Err(KeyError::NoMatchingIdentity { recipients });
    }
    Err(KeyError::NotEnoughGroups {
        needed: meta.shamir_threshold.unwrap_or(groups.len() as u64) as usize,
        found: found.len(),
        total: groups.len(),
        recipients,
    })
}

fn unwrap_group(g: &KeyGroup, ids: &Identities) -> Option<DataKey> {
    g.age.iter().find_map(|stanza| ids.unwrap(&stanza.enc))
}
