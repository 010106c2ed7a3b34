//! Which values are encrypted: sops's selection rules, tested on every key of a path.

use regex::Regex;

/// The one selection field a file carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(String),
    EncryptedRegex(String),
}

/// The suffix sops assumes when a file names no selection field.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// The rule Flux documents for Kubernetes manifests.
pub const K8S_ENCRYPTED_REGEX: &str = "^(data|stringData)$";

impl Selection {
    pub fn default_sops() -> Self {
        Selection::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_owned())
    }

    pub fn k8s_default() -> Self {
        Selection::EncryptedRegex(K8S_ENCRYPTED_REGEX.to_owned())
    }

    /// Builds the selection from the four optional fields; at most one may be set.
    pub fn from_fields(
        unencrypted_suffix: Option<String>,
        encrypted_suffix: Option<String>,
        unencrypted_regex: Option<String>,
        encrypted_regex: Option<String>,
    ) -> Result<Self, String> {
        let set: Vec<Selection> = [
            unencrypted_suffix.map(Selection::UnencryptedSuffix),
            encrypted_suffix.map(Selection::EncryptedSuffix),
            unencrypted_regex.map(Selection::UnencryptedRegex),
            encrypted_regex.map(Selection::EncryptedRegex),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.field().1.is_empty())
        .collect();
        match set.len() {
            0 => Ok(Selection::default_sops()),
            1 => Ok(set.into_iter().next().unwrap()),
            _ => Err("only one of unencrypted_suffix, encrypted_suffix, unencrypted_regex and encrypted_regex may be set".into()),
        }
    }

    /// The metadata field name and its value.
    pub fn field(&self) -> (&'static str, &str) {
        match self {
            Selection::UnencryptedSuffix(s) => ("unencrypted_suffix", s),
            Selection::EncryptedSuffix(s) => ("encrypted_suffix", s),
            Selection::UnencryptedRegex(s) => ("unencrypted_regex", s),
            Selection::EncryptedRegex(s) => ("encrypted_regex", s),
        }
    }

    /// Compiles the rule for matching.
    pub fn compile(&self) -> Result<Selector, regex::Error> {
        Ok(match self {
            Selection::UnencryptedSuffix(s) => Selector::UnencryptedSuffix(s.clone()),
            Selection::EncryptedSuffix(s) => Selector::EncryptedSuffix(s.clone()),
            Selection::UnencryptedRegex(r) => Selector::UnencryptedRegex(Regex::new(r)?),
            Selection::EncryptedRegex(r) => Selector::EncryptedRegex(Regex::new(r)?),
        })
    }
}

/// A compiled selection rule.
#[derive(Debug, Clone)]
pub enum Selector {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
}

impl Selector {
    /// Whether this one key matches the rule's pattern.
    pub fn key_matches(&self, key: &str) -> bool {
        match self {
            Selector::UnencryptedSuffix(s) | Selector::EncryptedSuffix(s) => key.ends_with(s.as_str()),
            Selector::UnencryptedRegex(r) | Selector::EncryptedRegex(r) => r.is_match(key),
        }
    }

    /// Whether a value is encrypted, given whether any key on its path matches.
    pub fn encrypts(&self, any_key_matches: bool) -> bool {
        match self {
            Selector::UnencryptedSuffix(_) | Selector::UnencryptedRegex(_) => !any_key_matches,
            Selector::EncryptedSuffix(_) | Selector::EncryptedRegex(_) => any_key_matches,
        }
    }

    /// Whether the value at `keys` is encrypted.
    pub fn encrypts_path<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> bool {
        self.encrypts(keys.into_iter().any(|k| self.key_matches(k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k8s_rule_covers_data_subtrees_only() {
        let s = Selection::k8s_default().compile().unwrap();
        assert!(s.encrypts_path(["stringData", "token"]));
        assert!(s.encrypts_path(["data", ".dockerconfigjson"]));
        assert!(!s.encrypts_path(["metadata", "name"]));
        assert!(!s.encrypts_path(["metadataX"]));
    }

    #[test]
    fn suffix_rule_on_any_key() {
        let s = Selection::default_sops().compile().unwrap();
        assert!(s.encrypts_path(["a", "b"]));
        assert!(!s.encrypts_path(["a_unencrypted", "b"]));
        assert!(!s.encrypts_path(["a", "b_unencrypted"]));
    }

    #[test]
    fn only_one_field() {
        assert!(Selection::from_fields(Some("_u".into()), None, Some("x".into()), None).is_err());
        assert_eq!(Selection::from_fields(None, None, None, None).unwrap(), Selection::default_sops());
    }
}
