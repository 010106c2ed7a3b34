//! Master keys: wrapping the data key for recipients and unwrapping it with identities.

pub mod age;
pub(crate) mod age_pq;
pub mod discovery;
pub mod shamir;
pub mod transit;

use zeroize::Zeroizing;

use crate::crypto::DataKey;
use crate::ports::ServiceFailure;
use crate::sops::metadata::{KeyGroup, Metadata};

pub use self::age::{AgeRecipient, Identities};
pub use self::transit::{TransitBackend, TransitKey, TransitRecipient};

/// Why the data key could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A recipient that is neither `age1...` nor an SSH public key (the text, shortened for post-quantum keys).
    #[error("invalid age recipient {0:?}: expected age1... or an ssh-ed25519/ssh-rsa public key")]
    BadRecipient(String),
    /// An SSH private key that cannot be used (unreadable, passphrase-protected or of an
    /// unsupported type).
    #[error("{source_name}: {reason}")]
    BadIdentity {
        /// Where the key came from (a file path or an environment variable's name), never the key.
        source_name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// An identity source in which no line is an identity.
    #[error("{source_name}:{line}: identity file: {reason}")]
    MalformedIdentity {
        /// Where the identities came from (a file path or an environment variable's name).
        source_name: String,
        /// 1-based line of the first line that is not an identity.
        line: usize,
        /// What is wrong with that line (never its text).
        reason: String,
    },
    /// The identities at hand do not open the data key (for a split key: the shares that
    /// opened did not combine to one).
    #[error("no identity can decrypt the data key; the file is encrypted to: {}{}{}", recipient_list(.recipients), vault_reasons(.vault_errors), searched_places(.searched))]
    NoMatchingIdentity {
        /// The recipients the file is encrypted to (public keys and Transit URIs).
        recipients: Vec<String>,
        /// Each Vault Transit key that was tried and failed, with the service's error.
        vault_errors: Vec<ServiceFailure>,
        /// The identity sources that were looked at.
        searched: Vec<String>,
    },
    /// The data key could not be wrapped for a recipient.
    #[error("cannot wrap the data key for {recipient}: {reason}")]
    Wrap {
        /// The recipient (public key or Transit URI).
        recipient: String,
        /// Why wrapping failed.
        reason: String,
        /// The service that wraps it (Vault Transit) was unavailable: trying again may work.
        transient: bool,
    },
    /// Fewer key groups opened than `shamir_threshold` requires to combine the data key.
    #[error("key groups need {needed} of {total} groups to recover the data key, but only {found} could be opened; the file is encrypted to: {}{}{}", recipient_list(.recipients), vault_reasons(.vault_errors), searched_places(.searched))]
    NotEnoughGroups {
        /// The file's `shamir_threshold`.
        needed: usize,
        /// How many groups gave their share.
        found: usize,
        /// How many key groups the file has.
        total: usize,
        /// The recipients the file is encrypted to (public keys and Transit URIs).
        recipients: Vec<String>,
        /// Each Vault Transit key that was tried and failed, with the service's error.
        vault_errors: Vec<ServiceFailure>,
        /// The identity sources that were looked at.
        searched: Vec<String>,
    },
}

impl KeyError {
    /// Whether trying again later may succeed: a Vault server needed for the data key was
    /// unavailable. Wrong or missing keys are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            KeyError::Wrap { transient, .. } => *transient,
            KeyError::NoMatchingIdentity { vault_errors, .. } | KeyError::NotEnoughGroups { vault_errors, .. } => {
                vault_errors.iter().any(|f| f.error.is_transient())
            }
            _ => false,
        }
    }
}

/// Recipients for a message; post-quantum ones (about 2,000 characters) shortened.
fn recipient_list(recipients: &[String]) -> String {
    recipients.iter().map(|r| age::short(r)).collect::<Vec<_>>().join(", ")
}

fn searched_places(places: &[String]) -> String {
    if places.is_empty() {
        String::new()
    } else {
        format!("; identities searched in: {}", places.join(", "))
    }
}

fn vault_reasons(errors: &[ServiceFailure]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(" (Vault refused: {})", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    }
}

/// Who a new data key is wrapped for: one group of recipients, or several key groups
/// over which the data key is split with Shamir's scheme (any `shamir_threshold` groups
/// recover it), as sops does.
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    /// The single group (ignored when `key_groups` is not empty).
    pub age: Vec<AgeRecipient>,
    /// Vault Transit keys of the single group (ignored when `key_groups` is not empty).
    pub hc_vault: Vec<TransitRecipient>,
    /// Key groups for Shamir splitting; empty for a single group made of `age` and `hc_vault`.
    pub key_groups: Vec<RecipientGroup>,
    /// Defaults to the number of groups.
    pub shamir_threshold: Option<u64>,
}

/// The recipients of one key group.
#[derive(Debug, Clone, Default)]
pub struct RecipientGroup {
    /// Age recipients of the group.
    pub age: Vec<AgeRecipient>,
    /// Vault Transit keys of the group.
    pub hc_vault: Vec<TransitRecipient>,
}

impl RecipientGroup {
    fn is_empty(&self) -> bool {
        self.age.is_empty() && self.hc_vault.is_empty()
    }

    /// Wraps `data` for every member of the group.
    fn wrap(&self, data: &[u8]) -> Result<KeyGroup, KeyError> {
        let mut group = KeyGroup::default();
        for r in &self.hc_vault {
            group.hc_vault.push(r.wrap(data)?);
        }
        for r in &self.age {
            group.age.push(r.wrap(data)?);
        }
        Ok(group)
    }

    fn describe(&self) -> impl Iterator<Item = String> + '_ {
        let vault = self.hc_vault.iter().map(|r| format!("hc_vault:{}", r.key));
        vault.chain(self.age.iter().map(|r| format!("age:{}", r.as_str())))
    }
}

/// The data key wrapped for a set of recipients, as metadata holds it.
#[derive(Debug, Clone)]
pub(crate) struct WrappedKeys {
    /// The wrapped keys per group, when the data key was split (sops's `key_groups`).
    pub key_groups: Option<Vec<KeyGroup>>,
    /// The wrapped keys of the single group (sops's top-level `age` and `hc_vault`); empty when split.
    pub keys: KeyGroup,
    /// How many groups recover the data key, written to metadata only for split keys.
    pub shamir_threshold: Option<u64>,
}

impl Recipients {
    /// Whether there is no recipient at all, in any group.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.hc_vault.is_empty() && self.key_groups.iter().all(RecipientGroup::is_empty)
    }

    /// The single group, when there are no key groups.
    fn single(&self) -> RecipientGroup {
        match self.key_groups.first() {
            Some(g) if self.key_groups.len() == 1 => g.clone(),
            _ => RecipientGroup { age: self.age.clone(), hc_vault: self.hc_vault.clone() },
        }
    }

    /// Every recipient, for messages and comparisons.
    pub fn describe(&self) -> Vec<String> {
        if self.key_groups.is_empty() {
            return self.single().describe().collect();
        }
        self.key_groups.iter().flat_map(|g| g.describe().collect::<Vec<_>>()).collect()
    }

    /// Wraps `key` for every recipient; with several key groups, each group gets one
    /// Shamir share (share `i` to group `i`, as sops assigns them).
    pub(crate) fn wrap(&self, key: &DataKey) -> Result<WrappedKeys, KeyError> {
        if self.key_groups.len() <= 1 {
            let group = self.single().wrap(key.as_bytes())?;
            return Ok(WrappedKeys { key_groups: None, keys: group, shamir_threshold: None });
        }
        let parts = self.key_groups.len();
        let threshold = self.shamir_threshold.unwrap_or(parts as u64) as usize;
        let shares = shamir::split(key.as_bytes(), parts, threshold).map_err(|e| KeyError::Wrap {
            recipient: "key groups".into(),
            reason: e.to_string(),
            transient: false,
        })?;
        let mut groups = Vec::with_capacity(parts);
        for (g, share) in self.key_groups.iter().zip(&shares) {
            groups.push(g.wrap(share)?);
        }
        Ok(WrappedKeys { key_groups: Some(groups), keys: KeyGroup::default(), shamir_threshold: Some(threshold as u64) })
    }

    /// The recipients a file's metadata names (those gitseal can wrap for). Transit
    /// entries need the Vault connection of `ids`.
    pub(crate) fn from_metadata(meta: &Metadata, ids: &Identities) -> Result<Self, KeyError> {
        let parse = |g: &KeyGroup| -> Result<RecipientGroup, KeyError> {
            let age = g.age.iter().map(|a| AgeRecipient::parse(&a.recipient)).collect::<Result<_, _>>()?;
            let mut hc_vault = Vec::new();
            for v in &g.hc_vault {
                let key = TransitKey::of_stanza(v);
                let backend = ids.transit().ok_or_else(|| KeyError::Wrap {
                    recipient: format!("hc_vault:{key}"),
                    reason: "no Vault connection (set VAULT_ADDR and a token)".into(),
                    transient: false,
                })?;
                hc_vault.push(TransitRecipient::new(key, backend.clone()));
            }
            Ok(RecipientGroup { age, hc_vault })
        };
        Ok(match &meta.key_groups {
            Some(groups) => {
                Recipients { key_groups: groups.iter().map(parse).collect::<Result<_, _>>()?, shamir_threshold: meta.shamir_threshold, ..Recipients::default() }
            }
            None => {
                let g = parse(&meta.keys)?;
                Recipients { age: g.age, hc_vault: g.hc_vault, ..Recipients::default() }
            }
        })
    }
}

/// Recovers the data key of a file from its metadata with the identities at hand.
pub(crate) fn unwrap_data_key(meta: &Metadata, ids: &Identities) -> Result<DataKey, KeyError> {
    let mut vault_errors = Vec::new();
    let result = match &meta.key_groups {
        Some(groups) if groups.len() > 1 => {
            // One share per group, in group order; every share found goes to the combiner.
            let shares: Vec<Zeroizing<Vec<u8>>> = groups.iter().filter_map(|g| unwrap_group(g, ids, &mut vault_errors)).collect();
            let needed = meta.shamir_threshold.unwrap_or(groups.len() as u64) as usize;
            if shares.is_empty() {
                None
            } else if shares.len() < needed {
                return Err(KeyError::NotEnoughGroups {
                    needed,
                    found: shares.len(),
                    total: groups.len(),
                    recipients: meta.describe_keys(),
                    vault_errors,
                    searched: ids.searched.clone(),
                });
            } else {
                let refs: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
                shamir::combine(&refs).ok().and_then(|key| DataKey::from_bytes(&key))
            }
        }
        _ => {
            let group = meta.groups().into_iter().next().cloned().unwrap_or_default();
            unwrap_group(&group, ids, &mut vault_errors).and_then(|k| DataKey::from_bytes(&k))
        }
    };
    result.ok_or_else(|| KeyError::NoMatchingIdentity { recipients: meta.describe_keys(), vault_errors, searched: ids.searched.clone() })
}

/// Opens one group's copy of the data key (or share): age entries first, since they need
/// no network, then Vault Transit entries. Vault's refusals are kept for the message.
fn unwrap_group(g: &KeyGroup, ids: &Identities, vault_errors: &mut Vec<ServiceFailure>) -> Option<Zeroizing<Vec<u8>>> {
    if let Some(k) = g.age.iter().find_map(|stanza| ids.unwrap_bytes(&stanza.enc)) {
        return Some(k);
    }
    let backend = ids.transit()?;
    for stanza in &g.hc_vault {
        let key = TransitKey::of_stanza(stanza);
        match backend.decrypt(&key, &stanza.enc) {
            Ok(k) => return Some(k),
            Err(error) => vault_errors.push(ServiceFailure { subject: format!("hc_vault:{key}"), error }),
        }
    }
    None
}
