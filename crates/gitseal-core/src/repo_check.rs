//! The commit gate: what `gitseal check` finds wrong with a file, as data, and the git
//! textconv conversion. Nothing here prints or runs processes: callers read the bytes
//! (from the work tree or from the git index) and report the findings.
//!
//! A file is reported when it holds a Kubernetes Secret value in plaintext, when a
//! `.sops.yaml` creation rule covers it but it is not encrypted, when its MAC fails (only
//! checked when an identity at hand opens it), when its recipients are not those its
//! creation rule names now, or when it looks like a Secret but cannot be parsed.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Component, Path};
use std::sync::OnceLock;

use regex::bytes::Regex as BytesRegex;

use crate::config::{Config, CreationRule};
use crate::document::{self, Document, Format, Leaf, ParsedFile};
use crate::encrypted_secret;
use crate::error::Error;
use crate::k8s;
use crate::keys::Identities;
use crate::pipeline::{self, DecryptRequest, Decrypted};
use crate::sops::metadata::Metadata;
use crate::sops::select::Selection;
use crate::sops::value::{looks_encrypted, ValueType};

/// Files larger than this are skipped (with a note): no Secret manifest is this big, and
/// reading a large asset at every commit would make the gate slow.
pub const DEFAULT_MAX_SIZE: u64 = 50 * 1024 * 1024;

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FindingKind {
    /// A Kubernetes Secret `data`/`stringData` value in plaintext.
    PlaintextSecretValue,
    /// A value an encrypted file's rule encrypts, in plaintext (added after encryption).
    PlaintextInEncryptedFile,
    /// A file a creation rule covers, not encrypted.
    NotEncrypted,
    /// The MAC does not match the values.
    MacMismatch,
    /// An encrypted value does not authenticate under the file's data key.
    Tampered,
    /// The file's recipients or key-group layout differ from its creation rule.
    WrongRecipients,
    /// A file that looks like a Secret (or is covered, or encrypted) cannot be parsed.
    Unparseable,
    /// No identity at hand opens an encrypted file (reported only on request).
    Undecryptable,
    /// An EncryptedSecret the cluster would refuse: a wrong selection, keys out of sorted
    /// order, a missing binding (see [`crate::encrypted_secret::check_file`]).
    InvalidEncryptedSecret,
}

impl FindingKind {
    /// A stable name, for machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::PlaintextSecretValue => "plaintext-secret-value",
            FindingKind::PlaintextInEncryptedFile => "plaintext-in-encrypted-file",
            FindingKind::NotEncrypted => "not-encrypted",
            FindingKind::MacMismatch => "mac-mismatch",
            FindingKind::Tampered => "tampered",
            FindingKind::WrongRecipients => "wrong-recipients",
            FindingKind::Unparseable => "unparseable",
            FindingKind::Undecryptable => "undecryptable",
            FindingKind::InvalidEncryptedSecret => "invalid-encrypted-secret",
        }
    }
}

/// One problem, at a line of a file. Messages name keys, rules and recipients, never
/// secret values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, as [`FileToCheck::name`] named it.
    pub file: String,
    /// 1-based; file-level findings use the line of the sops metadata, or 1.
    pub line: u32,
    /// What kind of problem it is (machine-readable output shows its [`FindingKind::as_str`] name).
    pub kind: FindingKind,
    /// What is wrong, in words: keys, rules and recipients, never secret values.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Sorts findings by file, then line (then kind and message, for a stable order).
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| (&a.file, a.line, a.kind, &a.message).cmp(&(&b.file, b.line, b.kind, &b.message)));
}

/// Options of a check.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Report encrypted files that no identity at hand opens (their MAC cannot be checked).
    pub require_decrypt: bool,
}

/// One file to check.
#[derive(Debug, Clone, Copy)]
pub struct FileToCheck<'a> {
    /// How findings name the file.
    pub name: &'a str,
    /// Where the file is (or would be) in the work tree: chooses its format by extension
    /// and its creation rule.
    pub path: &'a Path,
    /// The content to check (work tree or index).
    pub bytes: &'a [u8],
    /// The `.sops.yaml` that applies to the file, if any.
    pub config: Option<&'a Config>,
}

/// Tooling files that are never content: the sops config, git's own files, pre-commit's.
pub(crate) fn is_skipped_name(name: &str) -> bool {
    matches!(name, ".sops.yaml" | ".sops.yml" | ".gitattributes" | ".gitignore" | ".gitmodules" | ".pre-commit-hooks.yaml" | ".pre-commit-config.yaml")
}

/// Whether `path` is never checked: inside `.git`, or a tooling file.
pub fn is_skipped_path(path: &Path) -> bool {
    path.components().any(|c| matches!(c, Component::Normal(n) if n == ".git")) || path.file_name().and_then(|n| n.to_str()).is_some_and(is_skipped_name)
}

/// The creation rule that says `path` must be encrypted: the first rule matching it, when
/// that rule has a `path_regex`. A rule without `path_regex` only supplies defaults for
/// whatever is encrypted; it does not make every file of the repository a secret.
pub(crate) fn covering_rule<'c>(config: Option<&'c Config>, path: &Path) -> Option<&'c CreationRule> {
    config?.rule_for(path).filter(|r| r.path_regex.is_some())
}

/// Whether a file found by walking a directory or listed by git is worth reading: it has
/// a YAML, JSON or dotenv name, or a creation rule covers it.
pub fn wants_path(path: &Path, config: Option<&Config>) -> bool {
    !is_skipped_path(path) && (Format::from_path(path) != Format::Binary || covering_rule(config, path).is_some())
}

fn secret_kind_re() -> &'static BytesRegex {
    static RE: OnceLock<BytesRegex> = OnceLock::new();
    RE.get_or_init(|| BytesRegex::new(r#"kind["']?[ \t]*:[ \t]*["']?(?:Encrypted)?Secret\b"#).expect("valid regex"))
}

fn sops_marker_re() -> &'static BytesRegex {
    static RE: OnceLock<BytesRegex> = OnceLock::new();
    RE.get_or_init(|| BytesRegex::new(r#"(?m)^sops:|"sops"[ \t\r\n]*:|^sops_[a-z_]+="#).expect("valid regex"))
}

/// The cheap test on the bytes that decides whether a file is parsed at all: it may hold
/// a Secret, it carries sops metadata, or a creation rule covers it.
pub(crate) fn worth_parsing(format: Format, bytes: &[u8], covered: bool) -> bool {
    covered || sops_marker_re().is_match(bytes) || (matches!(format, Format::Yaml | Format::Json) && secret_kind_re().is_match(bytes))
}

/// Collects the findings of one file.
struct Report<'a> {
    file: &'a str,
    findings: Vec<Finding>,
}

impl Report<'_> {
    fn push(&mut self, line: u32, kind: FindingKind, message: String) {
        self.findings.push(Finding { file: self.file.to_owned(), line: line.max(1), kind, message });
    }

    fn push_error(&mut self, e: &Error) {
        let (line, kind, msg) = error_parts(e);
        self.push(line, kind, msg);
    }
}

/// A library error as a finding: its line and its message without the file name.
fn error_parts(e: &Error) -> (u32, FindingKind, String) {
    match e {
        Error::Syntax { line, col, msg, .. } => (*line, FindingKind::Unparseable, format!("{msg} (column {col})")),
        Error::InvalidValue { line, msg, .. } | Error::Metadata { line, msg, .. } => (*line, FindingKind::Unparseable, msg.clone()),
        Error::Tampered { line, .. } => (
            *line,
            FindingKind::Tampered,
            "encrypted value does not decrypt with this file's data key: it was tampered with, moved from another key, or copied from another file".into(),
        ),
        Error::Misplaced { line, msg, .. } => (*line, FindingKind::Tampered, format!("{msg}; the file was tampered with")),
        Error::MacMismatch { .. } => (1, FindingKind::MacMismatch, mac_message().into()),
        other => {
            let text = other.to_string();
            let msg = match other.file() {
                Some(f) => text.strip_prefix(f).and_then(|t| t.strip_prefix(": ")).map(str::to_owned).unwrap_or(text),
                None => text,
            };
            (1, FindingKind::Unparseable, msg)
        }
    }
}

fn mac_message() -> &'static str {
    "MAC mismatch: the file was changed after it was encrypted (values edited, moved or removed by hand, or a document lost)"
}

/// Checks one file. Findings come in the order they were found; see [`sort_findings`].
pub fn check_file(f: &FileToCheck<'_>, identities: &Identities, opts: CheckOptions) -> Vec<Finding> {
    let format = Format::from_path(f.path);
    let covered = covering_rule(f.config, f.path);
    if !worth_parsing(format, f.bytes, covered.is_some()) {
        return Vec::new();
    }
    let mut report = Report { file: f.name, findings: Vec::new() };
    check_parsed(f, format, covered, identities, opts, &mut report);
    report.findings
}

fn check_parsed(f: &FileToCheck<'_>, format: Format, covered: Option<&CreationRule>, ids: &Identities, opts: CheckOptions, report: &mut Report<'_>) {
    let binary = format == Format::Binary;
    let not_encrypted = |report: &mut Report<'_>, rule: &CreationRule| {
        let cfg = f.config.map(|c| c.path.display().to_string()).unwrap_or_default();
        let regex = rule.path_regex.as_ref().map(|r| r.as_str()).unwrap_or_default();
        report.push(
            1,
            FindingKind::NotEncrypted,
            format!("not encrypted, but creation_rules[{}] of {cfg} (path_regex: {regex}) covers it; encrypt it with gitseal encrypt -i", rule.index),
        );
    };
    let text = match std::str::from_utf8(f.bytes) {
        Ok(t) => t,
        Err(e) => {
            if binary {
                // Raw binary content: plaintext by definition.
                if let Some(rule) = covered {
                    not_encrypted(report, rule);
                }
                return;
            }
            let valid = String::from_utf8_lossy(&f.bytes[..e.valid_up_to()]);
            let (line, _) = document::line_col(&valid, valid.len());
            report.push(line, FindingKind::Unparseable, format!("cannot check this file: it is not valid UTF-8 text ({})", format.name()));
            return;
        }
    };
    let parse_format = if binary { Format::Json } else { format };
    let parsed = match document::parse(parse_format, text) {
        Ok(p) => p,
        Err(e) => {
            if binary {
                if let Some(rule) = covered {
                    if !f.bytes.is_empty() {
                        not_encrypted(report, rule);
                    }
                }
                return;
            }
            report.push(e.line, FindingKind::Unparseable, format!("cannot parse as {}: {} (column {})", format.name(), e.msg, e.col));
            return;
        }
    };
    let meta = match pipeline::file_metadata(f.name, &parsed) {
        Ok(m) => m,
        Err(e) => {
            report.push_error(&e);
            return;
        }
    };
    match meta {
        None => {
            if !binary {
                plaintext_secret_values(&parsed, text, report);
                plaintext_encrypted_secret_values(&parsed, text, report);
            }
            if let Some(rule) = covered {
                if (binary && !f.bytes.is_empty()) || (!binary && rule_encrypts_something(rule, &parsed, text)) {
                    not_encrypted(report, rule);
                }
            }
        }
        Some(meta) => check_encrypted(f, format, &parsed, text, &meta, ids, opts, report),
    }
}

/// Whether `leaf` sits under a Secret's `data` or `stringData`.
fn in_secret_data(doc: &Document, leaf: &Leaf, src: &str) -> bool {
    let first = doc.paths[leaf.parent as usize].keys.first().map(|k| &**k).or_else(|| leaf.key(src));
    matches!(first, Some("data" | "stringData"))
}

/// A certificate a rule may leave readable on purpose (`tls.crt`, `ca.crt`, public by
/// nature): the value (base64 under `data`) is PEM `CERTIFICATE` blocks and nothing
/// else, so no secret can hide beside them.
fn is_readable_certificate(doc: &Document, leaf: &Leaf, src: &str) -> bool {
    use base64::Engine;
    let keys = &doc.paths[leaf.parent as usize].keys;
    let (Some(section), 1, Some("tls.crt" | "ca.crt")) = (keys.first().map(|k| &**k), keys.len(), leaf.key(src)) else {
        return false;
    };
    let text = match section {
        "data" => match base64::engine::general_purpose::STANDARD.decode(leaf.text(src)) {
            Ok(bytes) => bytes,
            Err(_) => return false,
        },
        _ => leaf.text(src).as_bytes().to_vec(),
    };
    let Ok(text) = std::str::from_utf8(&text) else { return false };
    let mut blocks = 0;
    let mut inside = false;
    for line in text.lines().map(str::trim_end) {
        match (inside, line) {
            (false, "") => {}
            (false, "-----BEGIN CERTIFICATE-----") => inside = true,
            (true, "-----END CERTIFICATE-----") => {
                inside = false;
                blocks += 1;
            }
            (true, l) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=') => {}
            _ => return false,
        }
    }
    !inside && blocks > 0
}

/// The value's place in sops's path syntax: `["stringData"]["password"]`.
fn value_path(doc: &Document, leaf: &Leaf, src: &str) -> String {
    let mut out = String::new();
    for k in doc.paths[leaf.parent as usize].keys.iter().map(|k| &**k).chain(leaf.key(src)) {
        out.push_str("[\"");
        out.push_str(&k.replace('\\', "\\\\").replace('"', "\\\""));
        out.push_str("\"]");
    }
    out
}

fn secret_label(doc: &Document, src: &str) -> String {
    match secret_name(doc, src) {
        Some(n) => format!("Secret {n:?}: "),
        None => "Secret: ".into(),
    }
}

/// `metadata.name` of a document.
fn secret_name(doc: &Document, src: &str) -> Option<String> {
    doc.leaves
        .iter()
        .find(|l| {
            let p = &doc.paths[l.parent as usize].keys;
            l.key(src) == Some("name") && p.len() == 1 && &*p[0] == "metadata" && l.ty != ValueType::Comment
        })
        .map(|l| l.text(src).to_owned())
}

/// Plaintext values of the Secrets of an unencrypted file.
fn plaintext_secret_values(parsed: &ParsedFile, src: &str, report: &mut Report<'_>) {
    for doc in parsed.docs.iter().filter(|d| k8s::is_secret(d)) {
        let mut label = None;
        for leaf in &doc.leaves {
            let value = leaf.text(src);
            if leaf.ty == ValueType::Comment || value.is_empty() || !in_secret_data(doc, leaf, src) || looks_encrypted(value) {
                continue;
            }
            let label = label.get_or_insert_with(|| secret_label(doc, src));
            report.push(
                leaf.line,
                FindingKind::PlaintextSecretValue,
                format!("{label}{} is plaintext; encrypt the file with gitseal encrypt -i", value_path(doc, leaf, src)),
            );
        }
    }
}

/// Plaintext values of an EncryptedSecret that was never encrypted (written by hand).
fn plaintext_encrypted_secret_values(parsed: &ParsedFile, src: &str, report: &mut Report<'_>) {
    for doc in parsed.docs.iter().filter(|d| d.is_k8s_object() && d.k8s_kind.as_deref() == Some(encrypted_secret::KIND)) {
        for leaf in &doc.leaves {
            let keys = &doc.paths[leaf.parent as usize].keys;
            let value = leaf.text(src);
            let in_values = keys.len() == 2 && &*keys[0] == "spec" && matches!(&*keys[1], "data" | "stringData");
            if leaf.ty == ValueType::Comment || value.is_empty() || !in_values || looks_encrypted(value) {
                continue;
            }
            let name = secret_name(doc, src).map(|n| format!(" {n:?}")).unwrap_or_default();
            report.push(
                leaf.line,
                FindingKind::PlaintextSecretValue,
                format!(
                    "{}{name}: {} is plaintext; encrypt the Secret with gitseal encrypt --kind {}",
                    encrypted_secret::KIND,
                    value_path(doc, leaf, src),
                    encrypted_secret::KIND
                ),
            );
        }
    }
}

/// Whether encrypting the file under `rule` (or gitseal's default for the file when the
/// rule names no selection) would encrypt at least one value: a covered file with
/// nothing to encrypt (a Deployment next to Secrets) is not a problem.
fn rule_encrypts_something(rule: &CreationRule, parsed: &ParsedFile, src: &str) -> bool {
    let selection = match &rule.selection {
        Some(s) => s.clone(),
        None if parsed.docs.iter().all(Document::is_k8s_object) => Selection::k8s_default(),
        None => Selection::default_sops(),
    };
    let Ok(sel) = selection.compile() else { return true };
    parsed
        .docs
        .iter()
        .zip(sel.select_all(parsed, src))
        .any(|(doc, selected)| doc.leaves.iter().zip(&selected).any(|(l, &selected)| l.ty != ValueType::Comment && !l.text(src).is_empty() && selected))
}

/// The line where the file's first metadata block starts (`sops:`, `"sops":`, `sops_...=`).
fn metadata_line(parsed: &ParsedFile, src: &str) -> u32 {
    let Some(block) = parsed.docs.iter().find_map(|d| d.metadata.as_ref()) else { return 1 };
    // The span may begin with the separator before the block (a line break, a comma).
    let skip = src[block.span.clone()].find(|c: char| !c.is_whitespace() && c != ',').unwrap_or(0);
    document::line_col(src, block.span.start + skip).0
}

/// The line of the `mac` entry of the file's first metadata block, else the block's line.
fn mac_line(parsed: &ParsedFile, src: &str) -> u32 {
    let Some(block) = parsed.docs.iter().find_map(|d| d.metadata.as_ref()) else { return 1 };
    let text = &src[block.span.clone()];
    let first = document::line_col(src, block.span.start).0;
    for (line, l) in (first..).zip(text.split_inclusive('\n')) {
        let t = l.trim_start();
        if t.starts_with("mac:") || t.starts_with("\"mac\"") || t.starts_with("sops_mac=") {
            return line;
        }
    }
    block.line
}

#[allow(clippy::too_many_arguments)]
fn check_encrypted(
    f: &FileToCheck<'_>,
    format: Format,
    parsed: &ParsedFile,
    src: &str,
    meta: &Metadata,
    ids: &Identities,
    opts: CheckOptions,
    report: &mut Report<'_>,
) {
    let meta_line = metadata_line(parsed, src);
    let sel = match meta.selection.compile() {
        Ok(s) => s,
        Err(e) => {
            report.push(meta_line, FindingKind::Unparseable, format!("invalid selection regex in the sops metadata: {e}"));
            return;
        }
    };
    let binary = format == Format::Binary;
    let mut plaintext = false;
    for (doc, selection) in parsed.docs.iter().zip(sel.select_all(parsed, src)) {
        let secret = !binary && k8s::is_secret(doc);
        let mut label = None;
        for (leaf, &selected) in doc.leaves.iter().zip(&selection) {
            let value = leaf.text(src);
            if leaf.ty == ValueType::Comment || value.is_empty() {
                continue;
            }
            if selected && !(looks_encrypted(value) && leaf.ty == ValueType::Str) {
                plaintext = true;
                let label = if secret { label.get_or_insert_with(|| secret_label(doc, src)).as_str() } else { "" };
                report.push(
                    leaf.line,
                    FindingKind::PlaintextInEncryptedFile,
                    format!(
                        "{label}{} is plaintext in an encrypted file (added after encryption?); encrypt it with gitseal encrypt -i",
                        value_path(doc, leaf, src)
                    ),
                );
            } else if !selected && secret && in_secret_data(doc, leaf, src) && !looks_encrypted(value) && !is_readable_certificate(doc, leaf, src) {
                let label = label.get_or_insert_with(|| secret_label(doc, src)).as_str();
                let (field, rule) = meta.selection.field();
                report.push(
                    leaf.line,
                    FindingKind::PlaintextSecretValue,
                    format!("{label}{} is plaintext: the file's rule ({field}: {rule}) leaves it unencrypted", value_path(doc, leaf, src)),
                );
            }
        }
    }

    // An EncryptedSecret the cluster would refuse, though sops opens it. A plaintext value
    // reported above is not reported twice.
    let mut sealed_as_encrypted_secret = false;
    if !binary && encrypted_secret::is_encrypted_secret(format, src) {
        match encrypted_secret::check_file(f.name, format, src) {
            Ok(()) => sealed_as_encrypted_secret = true,
            Err(e) => {
                let (line, _, msg) = error_parts(&e);
                if !report.findings.iter().any(|x| x.line == line && x.kind == FindingKind::PlaintextInEncryptedFile) {
                    report.push(line, FindingKind::InvalidEncryptedSecret, format!("an {} the cluster would refuse: {msg}", encrypted_secret::KIND));
                }
            }
        }
    }

    // The MAC: only with an identity that opens the file. A file with plaintext where
    // ciphertext belongs has been reported already and cannot be verified as it is.
    if !plaintext && (!ids.is_empty() || opts.require_decrypt) {
        let req = DecryptRequest { file: f.name, format, src: f.bytes, identities: ids, ignore_mac: false };
        // An EncryptedSecret is opened as the cluster opens it: MAC, then its binding.
        let opened =
            if sealed_as_encrypted_secret { encrypted_secret::open_file(f.name, format, f.bytes, ids).map(drop) } else { pipeline::decrypt(&req).map(drop) };
        match opened {
            Ok(()) => {}
            Err(e @ (Error::TemplateMismatch { .. } | Error::ScopeViolation { .. })) => {
                let (_, _, msg) = error_parts(&e);
                report.push(1, FindingKind::InvalidEncryptedSecret, format!("an {} the cluster would refuse: {msg}", encrypted_secret::KIND));
            }
            Err(Error::Key { .. }) => {
                if opts.require_decrypt {
                    report.push(
                        meta_line,
                        FindingKind::Undecryptable,
                        format!("no identity at hand opens this file, so its MAC was not checked; it is encrypted to: {}", meta.describe_keys().join(", ")),
                    );
                }
            }
            Err(Error::MacMismatch { .. }) => report.push(mac_line(parsed, src), FindingKind::MacMismatch, mac_message().into()),
            Err(e) => report.push_error(&e),
        }
    }

    // The recipients against the rule that covers the file now.
    if let Some(cfg) = f.config {
        if let Some(rule) = cfg.rule_for(f.path) {
            let want = KeyLayout::of_rule(rule);
            if !want.is_empty() {
                let have = KeyLayout::of_metadata(meta);
                if let Some(diff) = have.differences(&want) {
                    let hint = if diff.contains("hc_vault:") {
                        "sops updatekeys (gitseal cannot wrap for Vault)".to_owned()
                    } else {
                        format!("gitseal updatekeys -y {}", f.name)
                    };
                    report.push(
                        meta_line,
                        FindingKind::WrongRecipients,
                        format!("recipients differ from creation_rules[{}] of {} ({diff}); run {hint}", rule.index, cfg.path.display()),
                    );
                }
            }
        }
    }
}

/// Who a data key is (or should be) wrapped for: the master keys of each key group, and
/// the Shamir threshold when there are several groups. Keys gitseal does not read from
/// `.sops.yaml` (KMS, PGP, ...) are left out on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyLayout {
    /// Each group's keys as `age:age1...` and `hc_vault:https://.../v1/ENGINE/keys/NAME`.
    pub groups: Vec<BTreeSet<String>>,
    pub shamir_threshold: Option<u64>,
}

fn vault_name(uri: &str) -> String {
    format!("hc_vault:{}", uri.trim().trim_end_matches('/'))
}

impl KeyLayout {
    /// The layout an encrypted file has.
    pub(crate) fn of_metadata(meta: &Metadata) -> Self {
        let groups: Vec<BTreeSet<String>> = meta
            .groups()
            .iter()
            .map(|g| g.age.iter().map(|a| format!("age:{}", a.recipient.trim())).chain(g.hc_vault.iter().map(|v| vault_name(&v.uri()))).collect())
            .collect();
        let n = groups.len();
        KeyLayout { groups, shamir_threshold: (n > 1).then(|| meta.shamir_threshold.unwrap_or(n as u64)) }
    }

    /// The layout a creation rule asks for, read as `gitseal encrypt` and `updatekeys`
    /// read it: several `key_groups` split the key; one group (or none) joins the rule's
    /// top-level keys.
    pub(crate) fn of_rule(rule: &CreationRule) -> Self {
        let group_of = |age: &[String], vault: &[String]| -> BTreeSet<String> {
            age.iter().map(|a| format!("age:{}", a.trim())).chain(vault.iter().map(|v| vault_name(v))).collect()
        };
        if rule.key_groups.len() > 1 {
            let groups: Vec<_> = rule.key_groups.iter().map(|g| group_of(&g.age, &g.hc_vault)).collect();
            let n = groups.len() as u64;
            return KeyLayout { groups, shamir_threshold: Some(rule.shamir_threshold.unwrap_or(n)) };
        }
        let mut group = group_of(&rule.age, &rule.hc_vault_transit_uri);
        if let Some(g) = rule.key_groups.first() {
            group.extend(group_of(&g.age, &g.hc_vault));
        }
        KeyLayout { groups: vec![group], shamir_threshold: None }
    }

    /// True when the layout names no key at all (a rule that leaves keys to flags).
    pub(crate) fn is_empty(&self) -> bool {
        self.groups.iter().all(BTreeSet::is_empty)
    }

    fn all(&self) -> BTreeSet<&str> {
        self.groups.iter().flatten().map(String::as_str).collect()
    }

    /// How `self` (a file) differs from `want` (its rule), in words; `None` when equal.
    pub(crate) fn differences(&self, want: &KeyLayout) -> Option<String> {
        if self == want {
            return None;
        }
        let (have_all, want_all) = (self.all(), want.all());
        let mut parts = Vec::new();
        let missing: Vec<&str> = want_all.difference(&have_all).copied().collect();
        let extra: Vec<&str> = have_all.difference(&want_all).copied().collect();
        if !missing.is_empty() {
            parts.push(format!("missing: {}", missing.join(", ")));
        }
        if !extra.is_empty() {
            parts.push(format!("not in the rule: {}", extra.join(", ")));
        }
        if self.groups.len() != want.groups.len() {
            parts.push(format!("key groups: the file has {}, the rule names {}", self.groups.len(), want.groups.len()));
        } else if missing.is_empty() && extra.is_empty() && self.groups != want.groups {
            parts.push("the keys are split into key groups differently from the rule".into());
        }
        if self.shamir_threshold != want.shamir_threshold && self.groups.len() == want.groups.len() {
            let show = |t: Option<u64>| t.map_or("none".to_owned(), |t| t.to_string());
            parts.push(format!("shamir_threshold: the file has {}, the rule names {}", show(self.shamir_threshold), show(want.shamir_threshold)));
        }
        if parts.is_empty() {
            parts.push("key layout differs".into());
        }
        Some(parts.join("; "))
    }
}

/// What `gitseal textconv` shows for a file.
pub enum Textconv {
    /// The file decrypted (MAC checked).
    Decrypted(Decrypted),
    /// The file as it is: not encrypted, no identity opens it, or not readable as sops.
    AsIs,
    /// Encrypted, opened, but its MAC or a value fails: shown as it is, with this error.
    Unverified(Error),
}

/// Decrypts a file for `git diff` when that is possible.
pub fn textconv(name: &str, path: &Path, bytes: &[u8], identities: &Identities) -> Textconv {
    if identities.is_empty() || !sops_marker_re().is_match(bytes) {
        return Textconv::AsIs;
    }
    let req = DecryptRequest { file: name, format: Format::from_path(path), src: bytes, identities, ignore_mac: false };
    match pipeline::decrypt(&req) {
        Ok(d) => Textconv::Decrypted(d),
        Err(e @ (Error::MacMismatch { .. } | Error::Tampered { .. } | Error::Misplaced { .. })) => Textconv::Unverified(e),
        Err(_) => Textconv::AsIs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_spots_secrets_and_sops_metadata() {
        assert!(worth_parsing(Format::Yaml, b"apiVersion: v1\nkind: Secret\n", false));
        assert!(worth_parsing(Format::Yaml, b"kind:   'Secret' # x\n", false));
        assert!(worth_parsing(Format::Json, br#"{"kind" : "Secret"}"#, false));
        assert!(!worth_parsing(Format::Yaml, b"kind: SecretStore\n", false));
        assert!(worth_parsing(Format::Yaml, b"kind: EncryptedSecret\n", false));
        assert!(!worth_parsing(Format::Yaml, b"kind: ConfigMap\n", false));
        assert!(worth_parsing(Format::Yaml, b"a: b\nsops:\n  mac: x\n", false));
        assert!(worth_parsing(Format::Dotenv, b"A=b\nsops_version=3.11.0\n", false));
        assert!(!worth_parsing(Format::Dotenv, b"kind: Secret\n", false));
        assert!(worth_parsing(Format::Dotenv, b"A=b\n", true));
    }

    #[test]
    fn skipped_paths() {
        assert!(is_skipped_path(Path::new("a/.git/config")));
        assert!(is_skipped_path(Path::new("sub/.sops.yaml")));
        assert!(!is_skipped_path(Path::new(".env")));
        assert!(!is_skipped_path(Path::new(".github/x.yaml")));
    }
}
