//! `.sops.yaml`: its rules, and choosing the creation rule for a file. Finding and
//! reading the file is the caller's (the CLI walks up from the working directory as sops
//! does).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::document::yaml::nodes::{self, Node};
use regex::Regex;

use crate::document::Tree;
use crate::error::{Error, Result};
use crate::sops::select::{Selection, FIELDS};

/// Config file names, in the order sops looks for them in each directory.
pub const CONFIG_NAMES: [&str; 2] = [".sops.yaml", ".sops.yml"];
/// sops stops walking up after this many levels.
pub const MAX_SEARCH_DEPTH: usize = 100;

/// A parsed `.sops.yaml`.
#[derive(Debug)]
pub struct Config {
    /// The file the rules were read from, as the caller named it (used in error messages).
    pub path: PathBuf,
    /// The directory paths are matched relative to.
    pub dir: PathBuf,
    /// `creation_rules` in file order; the first whose `path_regex` matches a file applies, as in sops.
    pub rules: Vec<CreationRule>,
    /// Keys sops does not know (`creation_rule:`, `path_regx:`), as `FILE:LINE: message`:
    /// sops ignores them silently, which drops or widens a rule.
    pub warnings: Vec<String>,
}

/// One entry of `creation_rules`.
#[derive(Debug)]
pub struct CreationRule {
    /// 0-based position in `creation_rules`, shown in messages as `[index]`.
    pub index: usize,
    /// `path_regex`, compiled; `None` matches every file.
    pub path_regex: Option<Regex>,
    /// The rule's top-level `age` recipients (a list or a comma-separated string in the file).
    pub age: Vec<String>,
    /// The rule's top-level `hc_vault_transit_uri` keys, as URIs (`https://vault:8200/v1/transit/keys/name`).
    pub hc_vault_transit_uri: Vec<String>,
    /// `key_groups`: recipients grouped for Shamir splitting; when present, sops ignores the top-level keys.
    pub key_groups: Vec<RuleKeyGroup>,
    /// `shamir_threshold`: how many key groups must open the data key; `None` means all of them.
    pub shamir_threshold: Option<u64>,
    /// The rule's selection (`encrypted_regex`, `unencrypted_suffix`, ...); `None` when it sets none, so the default applies.
    pub selection: Option<Selection>,
    /// `mac_only_encrypted`: the MAC covers encrypted values only (sops's option of that name).
    pub mac_only_encrypted: bool,
}

/// One entry of a rule's `key_groups`.
#[derive(Debug, Default)]
pub struct RuleKeyGroup {
    /// Age recipients of the group.
    pub age: Vec<String>,
    /// Vault Transit key URIs of the group (`hc_vault` in the file).
    pub hc_vault: Vec<String>,
}

fn config_err(path: &Path, msg: String) -> Error {
    Error::Config { file: path.display().to_string(), msg }
}

/// Parses and validates the text of the config file `path`, whose rules' `path_regex`
/// match paths relative to `dir` (the directory the file is in, absolute).
pub fn parse(path: &Path, dir: &Path, text: &str) -> Result<Config> {
    let tree = parse_tree(text).map_err(|(line, msg)| config_err(path, format!("line {line}: {msg}")))?;
    let dir = dir.to_path_buf();
    let mut rules = Vec::new();
    for (index, r) in tree.get("creation_rules").map(Tree::as_list).unwrap_or(&[]).iter().enumerate() {
        let field_err = |field: &str, msg: &str| config_err(path, format!("creation_rules[{index}].{field}: {msg}"));
        let path_regex = match r.get("path_regex").and_then(Tree::as_str) {
            Some(s) => Some(Regex::new(s).map_err(|e| field_err("path_regex", &format!("invalid regex: {e}")))?),
            None => None,
        };
        let s = |k: &str| r.get(k).and_then(Tree::as_str).map(str::to_owned);
        let selection = if FIELDS.iter().any(|k| r.get(k).is_some()) {
            // sops's message, under the name of the second field set.
            let sel = Selection::from_fields(FIELDS.map(s)).map_err(|m| {
                let second = FIELDS.iter().filter(|f| s(f).is_some_and(|v| !v.is_empty())).nth(1).copied().unwrap_or("encrypted_regex");
                field_err(second, &m)
            })?;
            if let Err(e) = sel.compile() {
                return Err(field_err(sel.field().0, &format!("invalid regex: {e}")));
            }
            Some(sel)
        } else {
            None
        };
        let mut key_groups = Vec::new();
        for g in r.get("key_groups").map(Tree::as_list).unwrap_or(&[]) {
            key_groups.push(RuleKeyGroup { age: list_or_csv(g.get("age")), hc_vault: list_or_csv(g.get("hc_vault")) });
        }
        let shamir_threshold = match s("shamir_threshold") {
            Some(v) => Some(v.parse().map_err(|_| field_err("shamir_threshold", "not a number"))?),
            None => None,
        };
        let age = list_or_csv(r.get("age"));
        for a in age.iter().chain(key_groups.iter().flat_map(|g| g.age.iter())) {
            crate::keys::AgeRecipient::parse(a).map_err(|e| field_err("age", &e.to_string()))?;
        }
        let hc_vault_transit_uri = list_or_csv(r.get("hc_vault_transit_uri"));
        for (field, uri) in hc_vault_transit_uri
            .iter()
            .map(|u| ("hc_vault_transit_uri".to_owned(), u))
            .chain(key_groups.iter().enumerate().flat_map(|(i, g)| g.hc_vault.iter().map(move |u| (format!("key_groups[{i}].hc_vault"), u))))
        {
            crate::keys::TransitKey::parse(uri).map_err(|e| field_err(&field, &e.to_string()))?;
        }
        rules.push(CreationRule {
            index,
            path_regex,
            age,
            hc_vault_transit_uri,
            key_groups,
            shamir_threshold,
            selection,
            mac_only_encrypted: matches!(s("mac_only_encrypted").as_deref(), Some("true" | "True")),
        });
    }
    let warnings = unknown_keys(text).into_iter().map(|(line, msg)| format!("{}:{line}: {msg}", path.display())).collect();
    Ok(Config { path: path.to_path_buf(), dir, rules, warnings })
}

/// The keys of a sops config, by level, as sops 3.11 reads them.
const TOP_KEYS: [&str; 3] = ["creation_rules", "destination_rules", "stores"];
const RULE_KEYS: [&str; 18] = [
    "path_regex",
    "kms",
    "aws_profile",
    "age",
    "pgp",
    "gcp_kms",
    "hckms",
    "azure_keyvault",
    "hc_vault_transit_uri",
    "key_groups",
    "shamir_threshold",
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
    "mac_only_encrypted",
];
const KEY_GROUP_KEYS: [&str; 8] = ["merge", "kms", "gcp_kms", "hckms", "azure_keyvault", "hc_vault", "age", "pgp"];

/// Which keys a mapping of the config may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    Rule,
    KeyGroup,
    /// Not checked (the values of keys, `stores`, `destination_rules`).
    Free,
}

impl Level {
    fn known(self) -> &'static [&'static str] {
        match self {
            Level::Top => &TOP_KEYS,
            Level::Rule => &RULE_KEYS,
            Level::KeyGroup => &KEY_GROUP_KEYS,
            Level::Free => &[],
        }
    }

    /// The level of the items of the list under `key` in a mapping of this level.
    fn list_items(self, key: &str) -> Level {
        match (self, key) {
            (Level::Top, "creation_rules") => Level::Rule,
            (Level::Rule, "key_groups") | (Level::KeyGroup, "merge") => Level::KeyGroup,
            _ => Level::Free,
        }
    }
}

/// Mapping keys of a config that sops does not know, with their line and a message
/// suggesting the nearest known key: at the top level, in each creation rule, and in
/// each of a rule's key groups.
fn unknown_keys(src: &str) -> Vec<(usize, String)> {
    enum Frame {
        /// A mapping: its level, whether a key comes next, and the last key read.
        Map { level: Level, expect_key: bool, key: String },
        /// A list: the level of its mapping items.
        List { items: Level },
    }
    let mut out = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // A syntax error is reported by parse_tree, which reads the same text.
    let _ = nodes::walk(
        src,
        |_| (),
        |node| {
            match node {
                Node::CollectionStart { map, .. } => {
                    // The level of the new collection, from where it sits.
                    let (map_level, list_level) = match stack.last_mut() {
                        None => (Level::Top, Level::Free),
                        Some(Frame::Map { level, expect_key, key }) => {
                            *expect_key = true;
                            (Level::Free, level.list_items(key))
                        }
                        Some(Frame::List { items }) => (*items, Level::Free),
                    };
                    stack.push(if map { Frame::Map { level: map_level, expect_key: true, key: String::new() } } else { Frame::List { items: list_level } });
                }
                Node::CollectionEnd => {
                    stack.pop();
                }
                Node::Scalar { text, line, .. } => {
                    if let Some(Frame::Map { level, expect_key, key }) = stack.last_mut() {
                        if *expect_key {
                            let known = level.known();
                            if *level != Level::Free && !known.contains(&&*text) {
                                let near = crate::tree_path::nearest(&text, known.iter().copied(), 1, false);
                                let hint = near.first().map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
                                out.push((line, format!("warning: unknown key `{text}`{hint}; sops ignores it")));
                            }
                            *key = text.into_owned();
                        }
                        *expect_key = !*expect_key;
                    }
                }
                Node::DocumentEnd => return Ok(ControlFlow::Break(())),
                Node::DocumentStart | Node::Alias { .. } => {}
            }
            Ok(ControlFlow::Continue(()))
        },
    );
    out
}

impl Config {
    /// The first rule whose `path_regex` matches `file` (relative to the config's
    /// directory, as sops matches it); a rule without `path_regex` matches everything.
    pub fn rule_for(&self, file: &Path) -> Option<&CreationRule> {
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let rel = abs.strip_prefix(&self.dir).unwrap_or(&abs);
        let rel = rel.to_string_lossy();
        self.rules.iter().find(|r| r.path_regex.as_ref().is_none_or(|re| re.is_match(&rel)))
    }

    /// The text `path_regex` is matched against for `file`: its path relative to the
    /// config's directory (or as given, when it lies outside it).
    pub(crate) fn match_text(&self, file: &Path) -> String {
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        abs.strip_prefix(&self.dir).unwrap_or(&abs).to_string_lossy().into_owned()
    }

    /// Why no rule applies to `file`: the config read, the text matched, and the rules'
    /// `path_regex`es.
    pub fn no_rule_message(&self, file: &Path) -> String {
        let regexes: Vec<String> = self.rules.iter().filter_map(|r| r.path_regex.as_ref().map(|re| format!("[{}] {:?}", r.index, re.as_str()))).collect();
        let rules = match (self.rules.len(), regexes.is_empty()) {
            (0, _) => "it has no creation_rules".to_owned(),
            (_, true) => "its rules have no path_regex".to_owned(),
            (_, false) => format!("its path_regex: {}", regexes.join(", ")),
        };
        format!(
            "no creation rule of {} matches {:?} (the path relative to {}; {rules}); give --age, or add a rule that matches",
            self.path.display(),
            self.match_text(file),
            self.dir.display()
        )
    }
}

/// A recipient list written either as a YAML list or as one comma-separated string.
fn list_or_csv(t: Option<&Tree>) -> Vec<String> {
    match t {
        Some(Tree::Scalar(s)) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        Some(Tree::List(items)) => items.iter().filter_map(Tree::as_str).map(|s| s.trim().to_owned()).collect(),
        _ => Vec::new(),
    }
}

/// Parses the first document of a YAML text into a [`Tree`].
pub fn parse_tree(src: &str) -> std::result::Result<Tree, (usize, String)> {
    enum F {
        Map(Vec<(String, Tree)>, Option<String>),
        List(Vec<Tree>),
    }
    fn push(stack: &mut [F], v: Tree) -> Option<Tree> {
        match stack.last_mut() {
            None => Some(v),
            Some(F::Map(e, k)) => {
                match k.take() {
                    Some(key) => e.push((key, v)),
                    None => *k = Some(v.as_str().unwrap_or_default().to_owned()),
                }
                None
            }
            Some(F::List(items)) => {
                items.push(v);
                None
            }
        }
    }
    let mut stack: Vec<F> = Vec::new();
    let mut result = Tree::Null;
    nodes::walk(
        src,
        |e| (e.line, e.info),
        |node| {
            let done = match node {
                Node::CollectionStart { map: true, .. } => {
                    stack.push(F::Map(Vec::new(), None));
                    None
                }
                Node::CollectionStart { map: false, .. } => {
                    stack.push(F::List(Vec::new()));
                    None
                }
                Node::CollectionEnd => {
                    let v = match stack.pop() {
                        Some(F::Map(e, _)) => Tree::Map(e),
                        Some(F::List(i)) => Tree::List(i),
                        None => Tree::Null,
                    };
                    push(&mut stack, v)
                }
                Node::Scalar { text, null, .. } => push(&mut stack, if null { Tree::Null } else { Tree::Scalar(text.into_owned()) }),
                Node::Alias { line } => return Err((line, "aliases are not supported".into())),
                Node::DocumentStart | Node::DocumentEnd => None,
            };
            Ok(match done {
                Some(t) => {
                    result = t;
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            })
        },
    )?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named_with_their_line_and_the_nearest_known_key() {
        let src = "creation_rule:\n  - path_regex: x\ncreation_rules:\n  - path_regx: \\.yaml$\n    age: age1x\n    key_groups:\n      - agee: [a]\n        hc_vault: [b]\n    kms:\n      whatever: 1\nstores:\n  yaml:\n    indent: 4\n";
        let w = unknown_keys(src);
        assert_eq!(w.len(), 3, "{w:?}");
        assert_eq!(w[0].0, 1);
        assert!(w[0].1.contains("`creation_rule`") && w[0].1.contains("did you mean `creation_rules`"), "{w:?}");
        assert_eq!(w[1].0, 4);
        assert!(w[1].1.contains("`path_regx`") && w[1].1.contains("`path_regex`"), "{w:?}");
        assert_eq!(w[2].0, 7);
        assert!(w[2].1.contains("`agee`") && w[2].1.contains("`age`"), "{w:?}");
    }

    #[test]
    fn a_config_of_known_keys_has_no_warnings() {
        let src = "creation_rules:\n  - path_regex: a\n    encrypted_regex: ^data$\n    age: >-\n      age1x,\n      age1y\n    mac_only_encrypted: true\n  - key_groups:\n      - age: [a]\n        merge:\n          - pgp: [c]\n    shamir_threshold: 1\ndestination_rules:\n  - s3_bucket: b\n";
        assert!(unknown_keys(src).is_empty(), "{:?}", unknown_keys(src));
    }
}
