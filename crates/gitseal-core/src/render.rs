//! `gitseal render`: turning the manifests in Git into ready-to-apply ones.
//!
//! sops-encrypted documents are decrypted, and Secret values that reference HashiCorp
//! Vault KV entries are resolved, in the two forms argocd-vault-plugin users know:
//!
//! * inline: `<path:secret/data/flux/webhook#token>` or `<path:...#token#3>` (version 3);
//! * annotation: `gitseal.dev/vault-path: secret/data/flux/webhook` on the Secret (and
//!   optionally `gitseal.dev/vault-version`), with `<token>` placeholders in its values.
//!
//! Values under `data` are base64-encoded after resolution, as the API server expects;
//! the reference annotations are removed. Other documents pass through byte for byte.
//! Rendering is all or nothing: any unresolvable reference fails the whole run, so a
//! caller never applies an empty or partial Secret.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use crate::document::splice::{apply, Edit};
use crate::document::{self, Document, Format, Leaf, ParsedFile, Style};
use crate::encrypted_secret::MaterializedSecret;
use crate::error::{Error, Result};
use crate::keys::Identities;
use crate::pipeline::{self, DecryptRequest};
use crate::ports::ServiceError;
use crate::sops::value::ValueType;

/// The annotation naming the Vault path of a Secret's `<key>` placeholders.
pub(crate) const PATH_ANNOTATION: &str = "gitseal.dev/vault-path";
/// The annotation pinning the KV v2 version the placeholders read.
pub(crate) const VERSION_ANNOTATION: &str = "gitseal.dev/vault-version";

/// One KV entry's values, as read from Vault.
pub use crate::ports::KvData;

pub use crate::ports::KvSource;

/// Reads each Vault path (and version) once per run, however many references name it.
pub struct CachedKv<'a> {
    source: &'a dyn KvSource,
    cache: HashMap<(String, Option<u64>), KvRead>,
    /// Reads that went to the source, for tests and `--verbose` style reporting.
    pub reads: usize,
}

impl<'a> CachedKv<'a> {
    /// A cache over `source` that has read nothing yet.
    pub fn new(source: &'a dyn KvSource) -> Self {
        CachedKv { source, cache: HashMap::new(), reads: 0 }
    }

    fn get(&mut self, path: &str, version: Option<u64>) -> KvRead {
        let source = self.source;
        let reads = &mut self.reads;
        self.cache
            .entry((path.to_owned(), version))
            .or_insert_with(|| {
                *reads += 1;
                Arc::new(source.read(path, version))
            })
            .clone()
    }
}

/// A reference found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    /// Byte range of the whole `<...>` in the value.
    range: std::ops::Range<usize>,
    path: String,
    key: String,
    version: Option<u64>,
}

impl Reference {
    fn describe(&self) -> String {
        match self.version {
            Some(v) => format!("<path:{}#{}#{v}>", self.path, self.key),
            None => format!("<path:{}#{}>", self.path, self.key),
        }
    }
}

/// The inline references in `value`: `<path:PATH#KEY>` and `<path:PATH#KEY#VERSION>`.
fn inline_references(value: &str) -> std::result::Result<Vec<Reference>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = value[from..].find("<path:") {
        let start = from + i;
        let end = value[start..].find('>').map(|j| start + j).ok_or_else(|| format!("unterminated reference {:?}", &value[start..]))?;
        let body = &value[start + "<path:".len()..end];
        let mut parts = body.split('#');
        let path = parts.next().unwrap_or("").trim();
        let key = parts.next().map(str::trim);
        let version = parts.next().map(str::trim);
        let whole = &value[start..=end];
        let (Some(key), true) = (key, parts.next().is_none()) else {
            return Err(format!("reference {whole} must be <path:PATH#KEY> or <path:PATH#KEY#VERSION>"));
        };
        if path.is_empty() || key.is_empty() {
            return Err(format!("reference {whole} has an empty path or key"));
        }
        let version = match version {
            None => None,
            Some(v) => Some(v.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| format!("reference {whole}: version {v:?} is not a positive number"))?),
        };
        out.push(Reference { range: start..end + 1, path: path.to_owned(), key: key.to_owned(), version });
        from = end + 1;
    }
    Ok(out)
}

/// The `<key>` placeholders of the annotation form in `value`.
fn placeholders(value: &str, path: &str, version: Option<u64>) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = value[from..].find('<') {
        let start = from + i;
        let Some(len) = value[start + 1..].find('>') else { break };
        let name = &value[start + 1..start + 1 + len];
        let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
        if valid {
            out.push(Reference { range: start..start + len + 2, path: path.to_owned(), key: name.to_owned(), version });
            from = start + len + 2;
        } else {
            from = start + 1;
        }
    }
    out
}

/// The references in `value`, in order: the inline ones, and with the annotation form
/// (`annotation`: its path and version) the `<key>` placeholders outside them.
fn references_in(value: &str, annotation: Option<(&str, Option<u64>)>) -> std::result::Result<Vec<Reference>, String> {
    let mut refs = inline_references(value)?;
    if let Some((path, version)) = annotation {
        let extra = placeholders(value, path, version);
        let extra: Vec<Reference> = extra.into_iter().filter(|p| !refs.iter().any(|r| r.range.start <= p.range.start && p.range.end <= r.range.end)).collect();
        refs.extend(extra);
        refs.sort_by_key(|r| r.range.start);
    }
    Ok(refs)
}

/// Why the references of a value could not be substituted. `Display` names the reference,
/// never a value.
enum SubstitutionError<'r> {
    /// The store failed to read the reference's path.
    Store(&'r Reference, ServiceError),
    /// The path holds no such key; the keys it holds.
    MissingKey(&'r Reference, String),
}

impl std::fmt::Display for SubstitutionError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubstitutionError::Store(r, e) => write!(f, "{}: {e}", r.describe()),
            SubstitutionError::MissingKey(r, known) => write!(f, "{}: no key {:?} at {} (keys there: {known})", r.describe(), r.key, r.path),
        }
    }
}

impl SubstitutionError<'_> {
    /// What the store answered, when it was the store that failed.
    fn service(&self) -> Option<crate::ports::ServiceErrorKind> {
        match self {
            SubstitutionError::Store(_, e) => Some(e.kind()),
            SubstitutionError::MissingKey(..) => None,
        }
    }
}

/// `value` with each of `refs` (in order, from [`references_in`]) replaced by the value of
/// its key in what `read` returns for its path and version.
fn substitute<'r>(
    value: &str,
    refs: &'r [Reference],
    read: &mut dyn FnMut(&KvPath) -> KvRead,
) -> std::result::Result<Zeroizing<String>, SubstitutionError<'r>> {
    let mut resolved = Zeroizing::new(String::with_capacity(value.len()));
    let mut pos = 0;
    for r in refs {
        resolved.push_str(&value[pos..r.range.start]);
        let data = read(&KvPath { path: r.path.clone(), version: r.version });
        let data = data.as_ref().as_ref().map_err(|e| SubstitutionError::Store(r, e.clone()))?;
        let v = data.get(&r.key).ok_or_else(|| SubstitutionError::MissingKey(r, data.keys().map(String::as_str).collect::<Vec<_>>().join(", ")))?;
        resolved.push_str(v);
        pos = r.range.end;
    }
    resolved.push_str(&value[pos..]);
    Ok(resolved)
}

/// The result of rendering one input.
pub struct Rendered {
    /// Ready-to-apply manifests. Holds secret values: never log it.
    pub text: Zeroizing<String>,
    /// Secrets whose references were resolved.
    pub secrets_resolved: usize,
}

/// What to render.
pub struct RenderRequest<'a> {
    /// Name used in messages.
    pub file: &'a str,
    /// The format of `src`; rendering takes YAML and JSON manifests.
    pub format: Format,
    /// The file content, encrypted or plaintext, as read.
    pub src: &'a [u8],
    /// Identities that open the file's data key when it is encrypted.
    pub identities: &'a Identities,
}

/// Decrypts (when encrypted) and resolves the references of one file.
pub fn render(req: &RenderRequest<'_>, kv: &mut CachedKv<'_>) -> Result<Rendered> {
    let file = req.file;
    if !matches!(req.format, Format::Yaml | Format::Json) {
        return Err(Error::Usage(format!("{file}: render reads YAML and JSON manifests")));
    }
    let text = std::str::from_utf8(req.src).map_err(|e| {
        let (line, col) = document::line_col(&String::from_utf8_lossy(&req.src[..e.valid_up_to()]), e.valid_up_to());
        Error::Syntax { file: file.into(), line, col, msg: "the file is not valid UTF-8 text".into() }
    })?;
    let syntax = |e: document::SyntaxError| Error::Syntax { file: file.into(), line: e.line, col: e.col, msg: e.msg };
    let parsed = document::parse(req.format, text).map_err(syntax)?;
    let plain: Zeroizing<String> = if parsed.docs.iter().any(|d| d.metadata.is_some()) {
        let out = pipeline::decrypt(&DecryptRequest { file, format: req.format, src: req.src, identities: req.identities, ignore_mac: false })?;
        // Decrypted output of valid UTF-8 input is UTF-8 (values were encrypted from text).
        Zeroizing::new(String::from_utf8_lossy(out.as_bytes()).into_owned())
    } else {
        Zeroizing::new(text.to_owned())
    };
    let parsed = document::parse(req.format, &plain).map_err(syntax)?;
    let mut edits = Vec::new();
    let mut secrets_resolved = 0;
    for (index, doc) in parsed.docs.iter().enumerate() {
        if !crate::k8s::is_secret(doc) {
            continue;
        }
        let before = edits.len();
        resolve_secret(file, req.format, &plain, &parsed, doc, index, kv, &mut edits)?;
        if edits.len() > before {
            secrets_resolved += 1;
        }
    }
    let text = Zeroizing::new(apply(&plain, edits));
    Ok(Rendered { text, secrets_resolved })
}

/// Where the value of `leaf` sits in a Secret.
fn section(doc: &Document, leaf: &Leaf) -> Option<&'static str> {
    let keys = &doc.paths[leaf.parent as usize].keys;
    match keys.as_slice() {
        [k] if &**k == "data" => Some("data"),
        [k] if &**k == "stringData" => Some("stringData"),
        _ => None,
    }
}

fn is_annotation(doc: &Document, leaf: &Leaf, src: &str, name: &str) -> bool {
    let keys = &doc.paths[leaf.parent as usize].keys;
    keys.len() == 2 && &*keys[0] == "metadata" && &*keys[1] == "annotations" && leaf.key(src) == Some(name)
}

/// `kind/name` of a document, for messages.
fn describe_doc(doc: &Document, src: &str, index: usize) -> String {
    let name = doc
        .leaves
        .iter()
        .find(|l| l.key(src) == Some("name") && doc.paths[l.parent as usize].keys.len() == 1 && &*doc.paths[l.parent as usize].keys[0] == "metadata")
        .map(|l| l.text(src).to_owned());
    match name {
        Some(n) => format!("Secret {n:?} (document {})", index + 1),
        None => format!("Secret (document {})", index + 1),
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve_secret(
    file: &str,
    format: Format,
    src: &str,
    parsed: &ParsedFile,
    doc: &Document,
    index: usize,
    kv: &mut CachedKv<'_>,
    edits: &mut Vec<Edit>,
) -> Result<()> {
    let err = |line: u32, msg: String| Error::Reference { file: file.into(), line, msg: format!("{}: {msg}", describe_doc(doc, src, index)), transient: false };
    let annotation = |name: &str| doc.leaves.iter().find(|l| is_annotation(doc, l, src, name));
    let path_note = annotation(PATH_ANNOTATION);
    let version_note = annotation(VERSION_ANNOTATION);
    if version_note.is_some() && path_note.is_none() {
        let l = version_note.unwrap_or(&doc.leaves[0]);
        return Err(err(l.line, format!("{VERSION_ANNOTATION} needs {PATH_ANNOTATION}")));
    }
    let annotation_path = path_note.map(|l| l.text(src).trim().to_owned()).filter(|p| !p.is_empty());
    if path_note.is_some() && annotation_path.is_none() {
        return Err(err(path_note.map_or(doc.line, |l| l.line), format!("{PATH_ANNOTATION} is empty")));
    }
    let annotation_version = match version_note {
        Some(l) => Some(
            l.text(src).trim().parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| err(l.line, format!("{VERSION_ANNOTATION} must be a positive number")))?,
        ),
        None => None,
    };
    for leaf in &doc.leaves {
        let Some(section) = section(doc, leaf) else { continue };
        if leaf.key.is_none() || leaf.ty == ValueType::Comment {
            continue;
        }
        let value = leaf.text(src);
        let refs = references_in(value, annotation_path.as_deref().map(|p| (p, annotation_version))).map_err(|m| err(leaf.line, m))?;
        if refs.is_empty() {
            continue;
        }
        if leaf.ty != ValueType::Str {
            return Err(err(leaf.line, "a reference must be a string value".into()));
        }
        let resolved = substitute(value, &refs, &mut |p| kv.get(&p.path, p.version)).map_err(|failure| Error::Reference {
            file: file.into(),
            line: leaf.line,
            msg: format!("{}: {failure}", describe_doc(doc, src, index)),
            transient: failure.service() == Some(crate::ports::ServiceErrorKind::Unavailable),
        })?;
        let final_text: Zeroizing<String> = if section == "data" { Zeroizing::new(B64.encode(resolved.as_bytes())) } else { resolved };
        pipeline::push_value_edit(edits, format, parsed, leaf, ValueType::Str, &final_text, src);
    }
    // The reference annotations have done their job; the cluster does not need them.
    let notes: Vec<&Leaf> = [path_note, version_note].into_iter().flatten().collect();
    if !notes.is_empty() {
        if format != Format::Yaml {
            return Err(err(notes[0].line, format!("the {PATH_ANNOTATION} form is supported in YAML manifests; use inline <path:...> references in JSON")));
        }
        remove_annotations(file, src, doc, &notes, edits)?;
    }
    Ok(())
}

/// Removes the annotation lines (and an `annotations:` line left empty).
fn remove_annotations(file: &str, src: &str, doc: &Document, notes: &[&Leaf], edits: &mut Vec<Edit>) -> Result<()> {
    let mut removed = Vec::new();
    for leaf in notes {
        if matches!(leaf.style, Style::YamlBlock { .. }) || matches!(leaf.style, Style::YamlPlain { indent: u32::MAX }) {
            return Err(Error::Reference {
                file: file.into(),
                line: leaf.line,
                msg: "write the gitseal.dev annotations in block style, one per line".into(),
                transient: false,
            });
        }
        removed.push(line_start(src, leaf.span.start)..line_end(src, leaf.span.end));
    }
    let annotation_count = doc
        .leaves
        .iter()
        .filter(|l| {
            l.ty != ValueType::Comment && {
                let k = &doc.paths[l.parent as usize].keys;
                k.len() >= 2 && &*k[0] == "metadata" && &*k[1] == "annotations"
            }
        })
        .count();
    if annotation_count == notes.len() {
        // The map is empty now: drop its `annotations:` line too, when it is one.
        let first = removed.iter().map(|r| r.start).min().unwrap_or(0);
        if first > 0 {
            let prev_start = line_start(src, first - 1);
            if src[prev_start..first].trim() == "annotations:" {
                removed.push(prev_start..first);
            }
        }
    }
    for span in removed {
        edits.retain(|e| e.span.end <= span.start || e.span.start >= span.end);
        edits.push(Edit { span, text: String::new() });
    }
    Ok(())
}

fn line_start(src: &str, pos: usize) -> usize {
    src[..pos].rfind('\n').map_or(0, |i| i + 1)
}

fn line_end(src: &str, pos: usize) -> usize {
    src[pos..].find('\n').map_or(src.len(), |i| pos + i + 1)
}

/// One path (and KV v2 version) that references read, as a cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KvPath {
    /// The path as written in the reference (`secret/data/x` for KV v2, `kv/x` for KV v1).
    pub path: String,
    /// The version pinned by `#VERSION` or `gitseal.dev/vault-version`.
    pub version: Option<u64>,
}

impl std::fmt::Display for KvPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.version {
            Some(v) => write!(f, "{} (version {v})", self.path),
            None => f.write_str(&self.path),
        }
    }
}

/// The outcome of one read of a [`KvPath`], shared by every value (and object) that
/// references it.
pub type KvRead = Arc<std::result::Result<KvData, ServiceError>>;

/// Why the references of a [`MaterializedSecret`] cannot be resolved. The message names the
/// data key and the reference, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReferenceError {
    /// What failed.
    pub message: String,
    /// What the store answered, when it was the store that failed.
    pub service: Option<crate::ports::ServiceErrorKind>,
}

impl ReferenceError {
    fn usage(message: String) -> Self {
        ReferenceError { message, service: None }
    }

    /// Whether trying again later may help (the store was unavailable).
    pub fn is_transient(&self) -> bool {
        self.service == Some(crate::ports::ServiceErrorKind::Unavailable)
    }
}

/// The references in the values of a verified, decrypted Secret, per data key: inline
/// `<path:...>` anywhere, and `<key>` placeholders when its annotations carry
/// `gitseal.dev/vault-path`. Values that are not UTF-8 text hold no references.
fn materialized_references_by_key(secret: &MaterializedSecret) -> std::result::Result<Vec<(String, Vec<Reference>)>, ReferenceError> {
    let annotation_path = secret.annotations.get(PATH_ANNOTATION).map(|p| p.trim().to_owned());
    let annotation_version = match secret.annotations.get(VERSION_ANNOTATION) {
        None => None,
        Some(_) if annotation_path.is_none() => return Err(ReferenceError::usage(format!("{VERSION_ANNOTATION} needs {PATH_ANNOTATION}"))),
        Some(v) => Some(
            v.trim().parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| ReferenceError::usage(format!("{VERSION_ANNOTATION} must be a positive number")))?,
        ),
    };
    if annotation_path.as_deref() == Some("") {
        return Err(ReferenceError::usage(format!("{PATH_ANNOTATION} is empty")));
    }
    let mut out = Vec::new();
    for (key, value) in &secret.data {
        let Ok(text) = std::str::from_utf8(value) else { continue };
        let refs = references_in(text, annotation_path.as_deref().map(|p| (p, annotation_version)))
            .map_err(|m| ReferenceError::usage(format!("value {key:?}: {m}")))?;
        if !refs.is_empty() {
            out.push((key.clone(), refs));
        }
    }
    Ok(out)
}

/// The distinct paths (and versions) the values of `secret` reference, sorted; empty when
/// it references nothing.
pub fn materialized_references(secret: &MaterializedSecret) -> std::result::Result<Vec<KvPath>, ReferenceError> {
    let mut paths: Vec<KvPath> =
        materialized_references_by_key(secret)?.into_iter().flat_map(|(_, refs)| refs).map(|r| KvPath { path: r.path, version: r.version }).collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Resolves the references of a verified, decrypted Secret in place, as `render` does for a
/// manifest: each value's references are replaced by what `read` returns for their path
/// (called once per distinct path and version), and the `gitseal.dev/vault-*` annotations
/// are removed. All or nothing: on an error `secret` is left as it was. Returns how many
/// values were resolved.
pub fn resolve_materialized(secret: &mut MaterializedSecret, read: &mut dyn FnMut(&KvPath) -> KvRead) -> std::result::Result<usize, ReferenceError> {
    let by_key = materialized_references_by_key(secret)?;
    let mut reads: HashMap<KvPath, KvRead> = HashMap::new();
    let mut resolved_values = Vec::with_capacity(by_key.len());
    for (key, refs) in &by_key {
        let value = std::str::from_utf8(&secret.data[key]).unwrap_or_default();
        let mut read_once = |path: &KvPath| reads.entry(path.clone()).or_insert_with(|| read(path)).clone();
        let resolved = substitute(value, refs, &mut read_once)
            .map_err(|failure| ReferenceError { message: format!("value {key:?}: {failure}"), service: failure.service() })?;
        resolved_values.push((key.clone(), resolved));
    }
    let count = resolved_values.len();
    for (key, value) in resolved_values {
        secret.data.insert(key, Zeroizing::new(value.as_bytes().to_vec()));
    }
    secret.annotations.remove(PATH_ANNOTATION);
    secret.annotations.remove(VERSION_ANNOTATION);
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ServiceErrorKind;
    use std::collections::BTreeMap;

    struct Fake(BTreeMap<(String, Option<u64>), KvData>);

    impl KvSource for Fake {
        fn read(&self, path: &str, version: Option<u64>) -> std::result::Result<KvData, ServiceError> {
            self.0.get(&(path.to_owned(), version)).cloned().ok_or_else(|| ServiceError::new(ServiceErrorKind::NotFound, format!("no secret at {path}")))
        }
    }

    fn fake() -> Fake {
        let mut m = BTreeMap::new();
        let kv = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), Zeroizing::new(v.to_string()))).collect::<KvData>();
        m.insert(("secret/data/flux/webhook".to_owned(), None), kv(&[("token", "s3cr3t"), ("user", "flux")]));
        m.insert(("secret/data/flux/webhook".to_owned(), Some(1)), kv(&[("token", "old")]));
        Fake(m)
    }

    fn run(src: &str) -> Result<(String, usize)> {
        let source = fake();
        let mut kv = CachedKv::new(&source);
        let ids = Identities::default();
        let out = render(&RenderRequest { file: "in.yaml", format: Format::Yaml, src: src.as_bytes(), identities: &ids }, &mut kv)?;
        Ok((out.text.to_string(), kv.reads))
    }

    #[test]
    fn parses_inline_references() {
        let r = inline_references("a<path:secret/data/x#k>b<path:kv/y#z#3>").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].path.as_str(), r[0].key.as_str(), r[0].version), ("secret/data/x", "k", None));
        assert_eq!((r[1].path.as_str(), r[1].key.as_str(), r[1].version), ("kv/y", "z", Some(3)));
        assert!(inline_references("<path:secret/x>").is_err());
        assert!(inline_references("<path:secret/x#k#zero>").is_err());
        assert!(inline_references("<path:secret/x#k").is_err());
    }

    #[test]
    fn inline_references_resolve_and_data_is_base64() {
        let src = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\ndata:\n  token: <path:secret/data/flux/webhook#token>\nstringData:\n  url: https://<path:secret/data/flux/webhook#user>@example.com\n  old: <path:secret/data/flux/webhook#token#1>\n";
        let (out, reads) = run(src).unwrap();
        assert_eq!(
            out,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\ndata:\n  token: czNjcjN0\nstringData:\n  url: https://flux@example.com\n  old: old\n"
        );
        assert_eq!(reads, 2, "one read per path and version");
    }

    #[test]
    fn annotation_form_resolves_and_annotation_goes() {
        let src = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\n  annotations:\n    gitseal.dev/vault-path: secret/data/flux/webhook\nstringData:\n  token: <token>\n";
        let (out, _) = run(src).unwrap();
        assert_eq!(out, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: s3cr3t\n");
        let src = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\n  annotations:\n    keep: me\n    gitseal.dev/vault-path: secret/data/flux/webhook\n    gitseal.dev/vault-version: \"1\"\nstringData:\n  token: <token>\n";
        let (out, _) = run(src).unwrap();
        assert_eq!(out, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\n  annotations:\n    keep: me\nstringData:\n  token: old\n");
    }

    #[test]
    fn missing_key_names_reference_and_document() {
        let src = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/data/flux/webhook#nope>\n";
        let e = run(src).unwrap_err().to_string();
        assert!(e.starts_with("in.yaml:6: "), "{e}");
        assert!(e.contains("Secret \"hook\" (document 1)") && e.contains("<path:secret/data/flux/webhook#nope>") && e.contains("no key \"nope\""), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let src = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/data/missing#k>\n";
        assert!(run(src).unwrap_err().to_string().contains("no secret at secret/data/missing"));
    }

    #[test]
    fn other_documents_pass_through() {
        let src = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  x: <path:secret/data/flux/webhook#token>\n---\n# plain\nkind: Secret\n";
        let (out, reads) = run(src).unwrap();
        assert_eq!(out, src);
        assert_eq!(reads, 0);
    }

    fn materialized(annotations: &[(&str, &str)], data: &[(&str, &[u8])]) -> MaterializedSecret {
        MaterializedSecret {
            name: "hook".into(),
            namespace: Some("flux-system".into()),
            scope: crate::encrypted_secret::Scope::Strict,
            secret_type: "Opaque".into(),
            labels: BTreeMap::new(),
            annotations: annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            immutable: None,
            data: data.iter().map(|(k, v)| (k.to_string(), Zeroizing::new(v.to_vec()))).collect(),
        }
    }

    #[test]
    fn materialized_secrets_resolve_inline_and_annotation_references_once_per_path() {
        let source = fake();
        let mut secret = materialized(
            &[(PATH_ANNOTATION, "secret/data/flux/webhook"), ("keep", "me")],
            &[
                ("token", b"<token>"),
                ("url", b"https://<path:secret/data/flux/webhook#user>@x/<path:secret/data/flux/webhook#token#1>"),
                ("bin", &[0xff, 0x3c]),
            ],
        );
        let paths = materialized_references(&secret).unwrap();
        assert_eq!(
            paths,
            [KvPath { path: "secret/data/flux/webhook".into(), version: None }, KvPath { path: "secret/data/flux/webhook".into(), version: Some(1) }]
        );
        let mut count = 0;
        let mut read = |p: &KvPath| {
            count += 1;
            Arc::new(source.read(&p.path, p.version))
        };
        assert_eq!(resolve_materialized(&mut secret, &mut read).unwrap(), 2);
        assert_eq!(count, 2, "one read per path and version");
        assert_eq!(secret.data["token"].as_slice(), b"s3cr3t");
        assert_eq!(secret.data["url"].as_slice(), b"https://flux@x/old");
        assert_eq!(secret.data["bin"].as_slice(), &[0xff, 0x3c]);
        assert_eq!(secret.annotations.keys().collect::<Vec<_>>(), ["keep"]);
    }

    #[test]
    fn a_failed_materialized_reference_leaves_the_secret_as_it_was_and_says_whether_to_retry() {
        let mut secret = materialized(&[], &[("a", b"<path:secret/data/flux/webhook#token>"), ("b", b"<path:secret/data/other#k>")]);
        let unavailable = |p: &KvPath| -> KvRead {
            match p.path.as_str() {
                "secret/data/other" => Arc::new(Err(ServiceError::new(ServiceErrorKind::Unavailable, "connection refused"))),
                _ => Arc::new(fake().read(&p.path, p.version)),
            }
        };
        let err = resolve_materialized(&mut secret, &mut { unavailable }).unwrap_err();
        assert!(err.is_transient());
        assert!(err.message.contains("value \"b\"") && err.message.contains("connection refused"), "{err}");
        assert_eq!(secret.data["a"].as_slice(), b"<path:secret/data/flux/webhook#token>");
        let denied = |_: &KvPath| -> KvRead { Arc::new(Err(ServiceError::new(ServiceErrorKind::Denied, "permission denied"))) };
        let err = resolve_materialized(&mut secret, &mut { denied }).unwrap_err();
        assert!(!err.is_transient());
        let mut missing_key = materialized(&[], &[("a", b"<path:secret/data/flux/webhook#nope>")]);
        let err = resolve_materialized(&mut missing_key, &mut |p: &KvPath| Arc::new(fake().read(&p.path, p.version))).unwrap_err();
        assert!(err.message.contains("no key \"nope\"") && err.message.contains("token, user"), "{err}");
        assert!(!err.message.contains("s3cr3t"));
        let version_alone = materialized(&[(VERSION_ANNOTATION, "2")], &[]);
        assert!(materialized_references(&version_alone).unwrap_err().message.contains("needs"));
    }
}
