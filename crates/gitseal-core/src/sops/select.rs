//! Which values are encrypted: sops's selection rules. The four key rules test every key
//! of a value's path; the two comment rules look at the comments sops has seen on the
//! way to the value (see `Selector::select`).

use regex::Regex;

use crate::document::{Document, Format, ParsedFile, WalkStep};
use crate::sops::value::ValueType;

/// The one selection field a file carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `unencrypted_suffix`: keys ending in it stay plaintext, everything else is encrypted (sops's default, `_unencrypted`).
    UnencryptedSuffix(String),
    /// `encrypted_suffix`: only keys ending in it are encrypted.
    EncryptedSuffix(String),
    /// `unencrypted_regex`: keys matching it stay plaintext.
    UnencryptedRegex(String),
    /// `encrypted_regex`: only values under a key matching it are encrypted.
    EncryptedRegex(String),
    /// `unencrypted_comment_regex`: values after a comment matching it stay plaintext.
    UnencryptedCommentRegex(String),
    /// `encrypted_comment_regex`: only values after a comment matching it are encrypted.
    EncryptedCommentRegex(String),
}

/// The suffix sops assumes when a file names no selection field.
pub(crate) const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// The rule Flux documents for Kubernetes manifests.
pub const K8S_ENCRYPTED_REGEX: &str = "^(data|stringData)$";

/// The selection fields, in the order [`Selection::from_fields`] takes them.
pub const FIELDS: [&str; 6] =
    ["unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex", "unencrypted_comment_regex", "encrypted_comment_regex"];

/// sops's wording when more than one selection field is set.
pub(crate) const ONLY_ONE: &str = "cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex";

impl Selection {
    pub(crate) fn default_sops() -> Self {
        Selection::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_owned())
    }

    /// The selection for Kubernetes manifests: `encrypted_regex: ^(data|stringData)$`.
    pub fn k8s_default() -> Self {
        Selection::EncryptedRegex(K8S_ENCRYPTED_REGEX.to_owned())
    }

    /// Builds the selection from the six optional fields, given in [`FIELDS`] order; at
    /// most one may be set (an empty value counts as unset, as in sops). None set gives
    /// sops's default. The error names the fields that are set.
    pub fn from_fields(fields: [Option<String>; 6]) -> Result<Self, String> {
        let set: Vec<Selection> =
            fields.into_iter().zip(FIELDS).filter_map(|(v, name)| v.filter(|v| !v.is_empty()).map(|v| Selection::of_field(name, v))).collect();
        match set.len() {
            0 => Ok(Selection::default_sops()),
            1 => Ok(set.into_iter().next().unwrap()),
            _ => {
                let names: Vec<&str> = set.iter().map(|s| s.field().0).collect();
                Err(format!("{ONLY_ONE} (set: {})", names.join(", ")))
            }
        }
    }

    /// The selection a field of that name (one of [`FIELDS`]) holds.
    fn of_field(name: &str, value: String) -> Self {
        match name {
            "unencrypted_suffix" => Selection::UnencryptedSuffix(value),
            "encrypted_suffix" => Selection::EncryptedSuffix(value),
            "unencrypted_regex" => Selection::UnencryptedRegex(value),
            "encrypted_regex" => Selection::EncryptedRegex(value),
            "unencrypted_comment_regex" => Selection::UnencryptedCommentRegex(value),
            _ => Selection::EncryptedCommentRegex(value),
        }
    }

    /// The metadata field name and its value.
    pub fn field(&self) -> (&'static str, &str) {
        match self {
            Selection::UnencryptedSuffix(s) => ("unencrypted_suffix", s),
            Selection::EncryptedSuffix(s) => ("encrypted_suffix", s),
            Selection::UnencryptedRegex(s) => ("unencrypted_regex", s),
            Selection::EncryptedRegex(s) => ("encrypted_regex", s),
            Selection::UnencryptedCommentRegex(s) => ("unencrypted_comment_regex", s),
            Selection::EncryptedCommentRegex(s) => ("encrypted_comment_regex", s),
        }
    }

    /// Compiles the rule for matching.
    pub fn compile(&self) -> Result<Selector, regex::Error> {
        Ok(match self {
            Selection::UnencryptedSuffix(s) => Selector::UnencryptedSuffix(s.clone()),
            Selection::EncryptedSuffix(s) => Selector::EncryptedSuffix(s.clone()),
            Selection::UnencryptedRegex(r) => Selector::UnencryptedRegex(Regex::new(r)?),
            Selection::EncryptedRegex(r) => Selector::EncryptedRegex(Regex::new(r)?),
            Selection::UnencryptedCommentRegex(r) => Selector::UnencryptedCommentRegex(Regex::new(r)?),
            Selection::EncryptedCommentRegex(r) => Selector::EncryptedCommentRegex(Regex::new(r)?),
        })
    }
}

/// A compiled selection rule.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Keys ending in the suffix stay plaintext.
    UnencryptedSuffix(String),
    /// Only keys ending in the suffix are encrypted.
    EncryptedSuffix(String),
    /// Keys matching the regex stay plaintext.
    UnencryptedRegex(Regex),
    /// Only values under a key matching the regex are encrypted.
    EncryptedRegex(Regex),
    /// Values after a comment matching the regex stay plaintext.
    UnencryptedCommentRegex(Regex),
    /// Only values after a comment matching the regex are encrypted.
    EncryptedCommentRegex(Regex),
}

impl Selector {
    /// Whether this one key matches the rule's pattern (never, for the comment rules).
    pub(crate) fn key_matches(&self, key: &str) -> bool {
        match self {
            Selector::UnencryptedSuffix(s) | Selector::EncryptedSuffix(s) => key.ends_with(s.as_str()),
            Selector::UnencryptedRegex(r) | Selector::EncryptedRegex(r) => r.is_match(key),
            Selector::UnencryptedCommentRegex(_) | Selector::EncryptedCommentRegex(_) => false,
        }
    }

    /// Whether a value is encrypted, given whether any key on its path matches (for the
    /// comment rules: whether any comment in scope matches).
    pub(crate) fn encrypts(&self, any_matches: bool) -> bool {
        match self {
            Selector::UnencryptedSuffix(_) | Selector::UnencryptedRegex(_) | Selector::UnencryptedCommentRegex(_) => !any_matches,
            Selector::EncryptedSuffix(_) | Selector::EncryptedRegex(_) | Selector::EncryptedCommentRegex(_) => any_matches,
        }
    }

    /// Whether the value at `keys` is encrypted under a key rule.
    pub fn encrypts_path<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> bool {
        self.encrypts(keys.into_iter().any(|k| self.key_matches(k)))
    }

    /// The regex of a comment rule.
    pub(crate) fn comment_regex(&self) -> Option<&Regex> {
        match self {
            Selector::UnencryptedCommentRegex(r) | Selector::EncryptedCommentRegex(r) => Some(r),
            _ => None,
        }
    }

    /// For each document of `parsed` and each of its leaves (comments included), whether
    /// it is encrypted.
    pub fn select_all(&self, parsed: &ParsedFile, src: &str) -> Vec<Vec<bool>> {
        // The YAML fast path leaves sops's walk order to the event parser, and only the
        // comment rules need it: then the file is read once more, by the event parser.
        let needs_walks = self.comment_regex().is_some()
            && parsed.format == Format::Yaml
            && parsed.docs.iter().any(|d| d.walk.is_empty() && d.leaves.iter().any(|l| l.ty == ValueType::Comment));
        let reparsed = if needs_walks { crate::document::yaml::parse_events(src).ok() } else { None };
        parsed
            .docs
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                let walk = reparsed.as_ref().and_then(|p| p.docs.get(i)).filter(|d| d.leaves.len() == doc.leaves.len()).map_or(&doc.walk[..], |d| &d.walk[..]);
                self.select(doc, walk, src)
            })
            .collect()
    }

    /// For each leaf of `doc` (comments included), whether it is encrypted; `walk` is the
    /// document's walk order (empty: its leaves in order).
    ///
    /// The comment rules follow sops's walk: each collection keeps the comments seen
    /// since its last entry, and an entry (a value, or a whole nested collection) clears
    /// them once it is done. A value or comment is in the scope of every comment kept by
    /// the collections enclosing it. `unencrypted_comment_regex` leaves a leaf plaintext
    /// when any comment in scope matches (a matching comment is in its own scope) and
    /// encrypts the rest, comments included. `encrypted_comment_regex` encrypts a leaf
    /// when a comment in scope matches, except that a matching comment does not count for
    /// itself, so it stays readable. Comments are matched as they stand in `src`: the
    /// plaintext when encrypting, the ciphertext when decrypting, as sops does.
    pub(crate) fn select(&self, doc: &Document, walk: &[WalkStep], src: &str) -> Vec<bool> {
        let Some(re) = self.comment_regex() else {
            let paths: Vec<bool> = doc.paths.iter().map(|p| p.keys.iter().any(|k| self.key_matches(k))).collect();
            return doc.leaves.iter().map(|l| self.encrypts(paths[l.parent as usize] || l.key(src).is_some_and(|k| self.key_matches(k)))).collect();
        };
        let mut out = vec![false; doc.leaves.len()];
        // Per open collection: does each comment kept since its last entry match?
        let mut levels: Vec<Vec<bool>> = vec![Vec::new()];
        // Matching comments kept across all levels.
        let mut matching = 0usize;
        fn clear(level: Option<&mut Vec<bool>>, matching: &mut usize) {
            if let Some(l) = level {
                *matching -= l.iter().filter(|m| **m).count();
                l.clear();
            }
        }
        let flat = (0..doc.leaves.len() as u32).map(WalkStep::Leaf);
        let steps: Box<dyn Iterator<Item = WalkStep>> = if walk.is_empty() { Box::new(flat) } else { Box::new(walk.iter().copied()) };
        for step in steps {
            match step {
                WalkStep::Enter => levels.push(Vec::new()),
                WalkStep::Exit => {
                    if levels.len() > 1 {
                        clear(levels.last_mut(), &mut matching);
                        levels.pop();
                    }
                    clear(levels.last_mut(), &mut matching);
                }
                WalkStep::Null => clear(levels.last_mut(), &mut matching),
                WalkStep::Leaf(i) => {
                    let leaf = &doc.leaves[i as usize];
                    if leaf.ty == ValueType::Comment {
                        let m = re.is_match(leaf.text(src));
                        levels.last_mut().expect("the root level is never popped").push(m);
                        matching += usize::from(m);
                        let others = matching - usize::from(m);
                        out[i as usize] = match self {
                            Selector::EncryptedCommentRegex(_) => others > 0,
                            _ => matching == 0,
                        };
                    } else {
                        out[i as usize] = self.encrypts(matching > 0);
                        clear(levels.last_mut(), &mut matching);
                    }
                }
            }
        }
        out
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
        let err = Selection::from_fields([Some("_u".into()), None, Some("x".into()), None, None, None]).unwrap_err();
        assert!(err.starts_with(ONLY_ONE) && err.ends_with("(set: unencrypted_suffix, unencrypted_regex)"), "{err}");
        let err = Selection::from_fields([None, None, None, Some("^data$".into()), None, Some("sops:enc".into())]).unwrap_err();
        assert!(err.ends_with("(set: encrypted_regex, encrypted_comment_regex)"), "{err}");
        assert_eq!(Selection::from_fields(Default::default()).unwrap(), Selection::default_sops());
        assert_eq!(
            Selection::from_fields([Some(String::new()), None, None, None, Some("keep".into()), None]).unwrap(),
            Selection::UnencryptedCommentRegex("keep".into())
        );
    }
}
