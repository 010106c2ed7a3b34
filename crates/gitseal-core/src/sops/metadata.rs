//! The `sops` metadata block: read in any key order, written in sops 3.11's order.

use crate::document::Tree;
use crate::sops::select::{Selection, FIELDS};

/// Version string written into new files (the sops release whose layout gitseal writes).
pub(crate) const SOPS_VERSION: &str = "3.11.0";

/// One age recipient's copy of the data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeStanza {
    /// The recipient's public key (`age1...`, `age1pq1...` or an SSH key), as sops writes it.
    pub recipient: String,
    /// ASCII-armored age ciphertext of the raw 32-byte data key.
    pub enc: String,
}

/// One HashiCorp Vault Transit copy of the data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultStanza {
    /// Vault's address: scheme, host and port (`https://vault.example.com:8200`).
    pub vault_address: String,
    /// The Transit mount, which may contain slashes (`transit`, `team/transit`).
    pub engine_path: String,
    /// The Transit key's name.
    pub key_name: String,
    /// When the data key was wrapped: RFC 3339 UTC, as sops writes it.
    pub created_at: String,
    /// Transit's ciphertext of the base64 data key (`vault:v1:...`).
    pub enc: String,
}

impl VaultStanza {
    /// The `hc_vault_transit_uri` form sops uses to name this key.
    pub(crate) fn uri(&self) -> String {
        format!("{}/v1/{}/keys/{}", self.vault_address, self.engine_path, self.key_name)
    }
}

/// The master keys of one key group. Kinds gitseal cannot use itself (KMS, PGP, ...) are
/// kept verbatim so rewriting a file never drops someone else's access.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyGroup {
    /// The group's age copies of the data key.
    pub age: Vec<AgeStanza>,
    /// The group's Vault Transit copies of the data key.
    pub hc_vault: Vec<VaultStanza>,
    /// `(field, value)` for kms, gcp_kms, hckms, azure_kv and pgp.
    pub foreign: Vec<(String, Tree)>,
}

impl KeyGroup {
    /// Whether the group holds no master key of any kind.
    pub(crate) fn is_empty(&self) -> bool {
        self.age.is_empty() && self.hc_vault.is_empty() && self.foreign.iter().all(|(_, t)| t.as_list().is_empty())
    }

    /// Human-readable names of every master key, for messages.
    pub(crate) fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self.age.iter().map(|a| format!("age:{}", a.recipient)).collect();
        out.extend(self.hc_vault.iter().map(|v| format!("hc_vault:{}", v.uri())));
        for (kind, t) in &self.foreign {
            for _ in t.as_list() {
                out.push(kind.clone());
            }
        }
        out
    }
}

const FOREIGN_KINDS: [&str; 5] = ["kms", "gcp_kms", "hckms", "azure_kv", "pgp"];

/// The parsed metadata of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// How many key groups recover the data key (`key_groups` form only); `None` means all of them.
    pub shamir_threshold: Option<u64>,
    /// `key_groups` form (several groups, Shamir-split data key) when `Some`.
    pub key_groups: Option<Vec<KeyGroup>>,
    /// The single, top-level group otherwise.
    pub keys: KeyGroup,
    /// `lastmodified`: when the values were last encrypted, RFC 3339 UTC; the MAC is encrypted with it as additional data.
    pub lastmodified: String,
    /// `mac`: the `ENC[...]` encryption of the SHA-512 over the values, bound to `lastmodified`.
    pub mac: String,
    /// The selection field (written where sops writes it, after `mac`).
    pub selection: Selection,
    /// `mac_only_encrypted`: whether the MAC covers encrypted values only.
    pub mac_only_encrypted: bool,
    /// The sops `version` the file was written with (gitseal writes `3.11.0`).
    pub version: String,
}

/// A metadata block that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sops metadata: {0}")]
pub struct MetadataError(pub String);

fn bad(msg: impl Into<String>) -> MetadataError {
    MetadataError(msg.into())
}

fn str_field(t: &Tree, key: &str) -> Option<String> {
    t.get(key).and_then(Tree::as_str).map(str::to_owned)
}

fn parse_group(t: &Tree) -> Result<KeyGroup, MetadataError> {
    let mut g = KeyGroup::default();
    for item in t.get("age").map(Tree::as_list).unwrap_or(&[]) {
        g.age.push(AgeStanza {
            recipient: str_field(item, "recipient").ok_or_else(|| bad("age entry without recipient"))?,
            enc: str_field(item, "enc").ok_or_else(|| bad("age entry without enc"))?,
        });
    }
    for item in t.get("hc_vault").map(Tree::as_list).unwrap_or(&[]) {
        g.hc_vault.push(VaultStanza {
            vault_address: str_field(item, "vault_address").ok_or_else(|| bad("hc_vault entry without vault_address"))?,
            engine_path: str_field(item, "engine_path").ok_or_else(|| bad("hc_vault entry without engine_path"))?,
            key_name: str_field(item, "key_name").ok_or_else(|| bad("hc_vault entry without key_name"))?,
            created_at: str_field(item, "created_at").unwrap_or_default(),
            enc: str_field(item, "enc").ok_or_else(|| bad("hc_vault entry without enc"))?,
        });
    }
    for kind in FOREIGN_KINDS {
        if let Some(v @ Tree::List(items)) = t.get(kind) {
            if !items.is_empty() {
                g.foreign.push((kind.to_owned(), v.clone()));
            }
        }
    }
    Ok(g)
}

impl Metadata {
    /// Reads the metadata tree of a file.
    pub fn from_tree(t: &Tree) -> Result<Self, MetadataError> {
        if !matches!(t, Tree::Map(_)) {
            return Err(bad("the sops entry is not a mapping"));
        }
        let version = str_field(t, "version").ok_or_else(|| bad("no version field"))?;
        let lastmodified = str_field(t, "lastmodified").ok_or_else(|| bad("no lastmodified field"))?;
        let mac = str_field(t, "mac").unwrap_or_default();
        let shamir_threshold = match t.get("shamir_threshold").and_then(Tree::as_str) {
            Some(s) => Some(s.parse::<u64>().map_err(|_| bad("shamir_threshold is not a number"))?),
            None => None,
        };
        let key_groups = match t.get("key_groups") {
            Some(Tree::List(groups)) if !groups.is_empty() => Some(groups.iter().map(parse_group).collect::<Result<Vec<_>, _>>()?),
            _ => None,
        };
        let keys = parse_group(t)?;
        let selection = Selection::from_fields(FIELDS.map(|f| str_field(t, f))).map_err(bad)?;
        let mac_only_encrypted = matches!(t.get("mac_only_encrypted").and_then(Tree::as_str), Some("true" | "True"));
        Ok(Metadata { shamir_threshold, key_groups, keys, lastmodified, mac, selection, mac_only_encrypted, version })
    }

    /// The key groups, whichever form the file uses.
    pub(crate) fn groups(&self) -> Vec<&KeyGroup> {
        match &self.key_groups {
            Some(groups) => groups.iter().collect(),
            None => vec![&self.keys],
        }
    }

    /// Every master key named by the file, for messages.
    pub fn describe_keys(&self) -> Vec<String> {
        self.groups().iter().flat_map(|g| g.describe()).collect()
    }

    /// The tree to write, in sops 3.11's field order.
    pub fn to_tree(&self) -> Tree {
        let mut m: Vec<(String, Tree)> = Vec::new();
        if let Some(groups) = &self.key_groups {
            if let Some(t) = self.shamir_threshold {
                m.push(("shamir_threshold".into(), Tree::Scalar(t.to_string())));
            }
            let groups = groups.iter().map(|g| Tree::Map(group_entries(g, true))).collect();
            m.push(("key_groups".into(), Tree::List(groups)));
        } else {
            let entries = group_entries(&self.keys, false);
            // In the flat form, pgp comes after mac.
            m.extend(entries.iter().filter(|(k, _)| k != "pgp").cloned());
        }
        m.push(("lastmodified".into(), Tree::Scalar(self.lastmodified.clone())));
        m.push(("mac".into(), Tree::Scalar(self.mac.clone())));
        if self.key_groups.is_none() {
            if let Some((_, pgp)) = self.keys.foreign.iter().find(|(k, _)| k == "pgp") {
                m.push(("pgp".into(), pgp.clone()));
            }
        }
        let (field, value) = self.selection.field();
        m.push((field.into(), Tree::Scalar(value.into())));
        if self.mac_only_encrypted {
            m.push(("mac_only_encrypted".into(), Tree::Scalar("true".into())));
        }
        m.push(("version".into(), Tree::Scalar(self.version.clone())));
        Tree::Map(m)
    }
}

fn group_entries(g: &KeyGroup, in_group: bool) -> Vec<(String, Tree)> {
    let mut m = Vec::new();
    let foreign = |kind: &str| g.foreign.iter().find(|(k, _)| k == kind).map(|(_, t)| t.clone());
    if in_group {
        if let Some(t) = foreign("pgp") {
            m.push(("pgp".into(), t));
        }
    }
    for kind in ["kms", "gcp_kms", "hckms", "azure_kv"] {
        if let Some(t) = foreign(kind) {
            m.push((kind.into(), t));
        }
    }
    if in_group && g.hc_vault.is_empty() {
        // sops writes a group's empty Vault list as Go's nil slice: `[]` in YAML, `null`
        // in JSON.
        m.push(("hc_vault".into(), Tree::Null));
    }
    if !g.hc_vault.is_empty() {
        let items = g
            .hc_vault
            .iter()
            .map(|v| {
                Tree::Map(vec![
                    ("vault_address".into(), Tree::Scalar(v.vault_address.clone())),
                    ("engine_path".into(), Tree::Scalar(v.engine_path.clone())),
                    ("key_name".into(), Tree::Scalar(v.key_name.clone())),
                    ("created_at".into(), Tree::Scalar(v.created_at.clone())),
                    ("enc".into(), Tree::Scalar(v.enc.clone())),
                ])
            })
            .collect();
        m.push(("hc_vault".into(), Tree::List(items)));
    }
    if !g.age.is_empty() {
        let items = g
            .age
            .iter()
            .map(|a| Tree::Map(vec![("recipient".into(), Tree::Scalar(a.recipient.clone())), ("enc".into(), Tree::Scalar(a.enc.clone()))]))
            .collect();
        m.push(("age".into(), Tree::List(items)));
    }
    if !in_group {
        if let Some(t) = foreign("pgp") {
            m.push(("pgp".into(), t));
        }
    }
    m
}

/// The current time as sops writes `lastmodified`: UTC, RFC 3339, whole seconds.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format_rfc3339(secs)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn format_rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_795_359_315), "2026-11-22T14:55:15Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
