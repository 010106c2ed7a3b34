//! Master keys: wrapping the data key for recipients and unwrapping it with identities.

pub mod age;
pub mod discovery;
pub mod shamir;

use zeroize::Zeroizing;

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

/// Who a new data key is wrapped for: one group of recipients, or several key groups
/// over which the data key is split with Shamir's scheme (any `shamir_threshold` groups
/// recover it), as sops does.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    /// The single group (ignored when `key_groups` is not empty).
    pub age: Vec<AgeRecipient>,
    pub key_groups: Vec<RecipientGroup>,
    /// Defaults to the number of groups.
    pub shamir_threshold: Option<u64>,
}

/// The recipients of one key group.
#[derive(Debug, Clone, Default)]
pub struct RecipientGroup {
    pub age: Vec<AgeRecipient>,
}

/// The data key wrapped for a set of recipients, as metadata holds it.
#[derive(Debug, Clone)]
pub struct WrappedKeys {
    pub key_groups: Option<Vec<KeyGroup>>,
    pub keys: KeyGroup,
    pub shamir_threshold: Option<u64>,
}

impl Recipients {
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.key_groups.iter().all(|g| g.age.is_empty())
    }

    /// Every recipient, for messages and comparisons.
    pub fn describe(&self) -> Vec<String> {
        let groups: Vec<&[AgeRecipient]> = if self.key_groups.is_empty() {
            vec![&self.age]
        } else {
            self.key_groups.iter().map(|g| g.age.as_slice()).collect()
        };
        groups.iter().flat_map(|g| g.iter().map(|r| format!("age:{}", r.as_str()))).collect()
    }

    /// Wraps `key` for every recipient; with several key groups, each group gets one
    /// Shamir share (share `i` to group `i`, as sops assigns them).
    pub fn wrap(&self, key: &DataKey) -> Result<WrappedKeys, KeyError> {
        if self.key_groups.len() <= 1 {
            let recipients = self.key_groups.first().map_or(&self.age, |g| &g.age);
            let mut group = KeyGroup::default();
            for r in recipients {
                group.age.push(r.wrap(key.as_bytes())?);
            }
            return Ok(WrappedKeys { key_groups: None, keys: group, shamir_threshold: None });
        }
        let parts = self.key_groups.len();
        let threshold = self.shamir_threshold.unwrap_or(parts as u64) as usize;
        let shares = shamir::split(key.as_bytes(), parts, threshold)
            .map_err(|e| KeyError::Wrap { recipient: "key groups".into(), reason: e.to_string() })?;
        let mut groups = Vec::with_capacity(parts);
        for (g, share) in self.key_groups.iter().zip(&shares) {
            let mut group = KeyGroup::default();
            for r in &g.age {
                group.age.push(r.wrap(share)?);
            }
            groups.push(group);
        }
        Ok(WrappedKeys { key_groups: Some(groups), keys: KeyGroup::default(), shamir_threshold: Some(threshold as u64) })
    }

    /// The recipients a file's metadata names (those gitseal can wrap for).
    pub fn from_metadata(meta: &Metadata) -> Result<Self, KeyError> {
        let parse = |g: &KeyGroup| -> Result<Vec<AgeRecipient>, KeyError> {
            g.age.iter().map(|a| AgeRecipient::parse(&a.recipient)).collect()
        };
        Ok(match &meta.key_groups {
            Some(groups) => Recipients {
                age: Vec::new(),
                key_groups: groups.iter().map(|g| parse(g).map(|age| RecipientGroup { age })).collect::<Result<_, _>>()?,
                shamir_threshold: meta.shamir_threshold,
            },
            None => Recipients { age: parse(&meta.keys)?, key_groups: Vec::new(), shamir_threshold: None },
        })
    }
}

/// Recovers the data key of a file from its metadata with the identities at hand.
pub fn unwrap_data_key(meta: &Metadata, ids: &Identities) -> Result<DataKey, KeyError> {
    let recipients = || meta.describe_keys();
    match &meta.key_groups {
        Some(groups) if groups.len() > 1 => {
            // One share per group, in group order; every share found goes to the combiner.
            let shares: Vec<Zeroizing<Vec<u8>>> = groups.iter().filter_map(|g| unwrap_group(g, ids)).collect();
            let needed = meta.shamir_threshold.unwrap_or(groups.len() as u64) as usize;
            if shares.is_empty() {
                return Err(KeyError::NoMatchingIdentity { recipients: recipients() });
            }
            if shares.len() < needed {
                return Err(KeyError::NotEnoughGroups { needed, found: shares.len(), total: groups.len(), recipients: recipients() });
            }
            let refs: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
            let key = shamir::combine(&refs).map_err(|_| KeyError::NoMatchingIdentity { recipients: recipients() })?;
            DataKey::from_bytes(&key).ok_or(KeyError::NoMatchingIdentity { recipients: recipients() })
        }
        _ => {
            let group = meta.groups().into_iter().next().cloned().unwrap_or_default();
            unwrap_group(&group, ids)
                .and_then(|k| DataKey::from_bytes(&k))
                .ok_or_else(|| KeyError::NoMatchingIdentity { recipients: recipients() })
        }
    }
}

fn unwrap_group(g: &KeyGroup, ids: &Identities) -> Option<Zeroizing<Vec<u8>>> {
    g.age.iter().find_map(|stanza| ids.unwrap_bytes(&stanza.enc))
}
