//! `EncryptedSecret`: a Kubernetes object that is also a SOPS file, decrypted in the
//! cluster after its integrity and scope are verified.
//!
//! # The file
//!
//! ```yaml
//! apiVersion: gitseal.dev/v1alpha1
//! kind: EncryptedSecret
//! metadata:
//!     name: webhook-token
//!     namespace: flux-system
//! spec:
//!     binding: ENC[AES256_GCM,...]     # the sealed scope and template (see below)
//!     data:
//!         token: ENC[AES256_GCM,...]   # base64 of the value, as in a Secret's data
//!     scope: strict
//!     template:
//!         type: Opaque
//!         metadata:
//!             labels: {app: receiver}
//! sops:
//!     ...
//!     encrypted_regex: ^(binding|data|stringData)$
//!     mac_only_encrypted: true
//! ```
//!
//! It stays an ordinary sops file: `sops -d` opens it and verifies its MAC.
//!
//! # Integrity after the API server's round trip
//!
//! The object the controller reads back is not the file: the API server sorts keys, and
//! kubectl, Argo CD and Flux add labels, annotations, `managedFields` and `status`. A MAC
//! over every value in file order, sops's default, could not be checked on that object.
//! So an EncryptedSecret is sealed with sops's `mac_only_encrypted` (the MAC covers the
//! encrypted values only) and is written with every map in sorted key order: the walk
//! order of its encrypted values is then the same in the file and in the API server's
//! answer, and [`open_object`] recomputes the MAC over the object as read.
//!
//! What the MAC does not cover, the *binding* does: `spec.binding` is an encrypted value
//! (so covered by the MAC and unreadable without the key) holding the scope, the namespace
//! and name it was sealed for, and the Secret's template (type, labels, annotations,
//! `immutable`). Opening checks it against the object: an edited template, an object
//! copied to another namespace or renamed, a widened `spec.scope` are refused. Every value
//! under `spec.data` and `spec.stringData` must be encrypted, so nothing unauthenticated
//! reaches the Secret; the selection in the `sops` block must be the one above, so an edited
//! rule cannot leave a value out of the MAC.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::document::{self, Format, ParsedFile, Style};
use crate::error::{Error, Result};
use crate::keys::{Identities, Recipients};
use crate::pipeline::{self, DecryptRequest, EncryptRequest, Encrypted};
use crate::sops::select::Selection;
use crate::sops::value::{looks_encrypted, ValueType};

/// The group and version of the resource.
pub const API_VERSION: &str = "gitseal.dev/v1alpha1";
/// The kind of the resource.
pub const KIND: &str = "EncryptedSecret";
/// The selection every EncryptedSecret is sealed with: the values of the Secret and the binding.
pub const ENCRYPTED_REGEX: &str = "^(binding|data|stringData)$";
/// The version of the binding record this code writes and reads.
const BINDING_VERSION: u64 = 1;
/// The type of a Secret whose template names none.
const DEFAULT_SECRET_TYPE: &str = "Opaque";
/// Keys the selection encrypts wherever they appear; a label or annotation of that name
/// would be encrypted too, and could not be both readable and part of the template.
const SELECTED_KEYS: [&str; 3] = ["binding", "data", "stringData"];

/// Where a sealed Secret may materialize (sealed-secrets' scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Only under the namespace and name it was sealed for (the default).
    Strict,
    /// Under any name in the namespace it was sealed for.
    Namespace,
    /// Anywhere in the cluster.
    Cluster,
}

impl Scope {
    /// The name written in `spec.scope`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::Namespace => "namespace",
            Scope::Cluster => "cluster",
        }
    }

    /// Reads `strict`, `namespace` or `cluster`.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "strict" => Some(Scope::Strict),
            "namespace" => Some(Scope::Namespace),
            "cluster" => Some(Scope::Cluster),
            _ => None,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Secret an EncryptedSecret stands for, verified and decrypted. Values are zeroized
/// when dropped; `Debug` shows the key names only.
pub struct MaterializedSecret {
    /// `metadata.name` of the object (and of the Secret).
    pub name: String,
    /// `metadata.namespace` of the object, when it has one.
    pub namespace: Option<String>,
    /// The scope it was sealed with.
    pub scope: Scope,
    /// The Secret's `type` (`Opaque` when the template names none).
    pub secret_type: String,
    /// The Secret's labels (from `spec.template.metadata.labels`).
    pub labels: BTreeMap<String, String>,
    /// The Secret's annotations (from `spec.template.metadata.annotations`).
    pub annotations: BTreeMap<String, String>,
    /// The Secret's `immutable`, when the template sets it.
    pub immutable: Option<bool>,
    /// The Secret's data as raw bytes: `spec.data` base64-decoded, `spec.stringData` merged
    /// over it (as the API server merges `stringData` into `data`).
    pub data: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for MaterializedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaterializedSecret")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("scope", &self.scope)
            .field("type", &self.secret_type)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl MaterializedSecret {
    /// The Secret as a plaintext manifest (YAML, `data` base64-encoded). Secret: write it
    /// nowhere but where the caller asked.
    pub fn to_secret_yaml(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(256 + self.data.values().map(|v| v.len() * 4 / 3 + 64).sum::<usize>()));
        out.push_str("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ");
        push_scalar(&mut out, &self.name);
        out.push('\n');
        if let Some(ns) = &self.namespace {
            out.push_str("  namespace: ");
            push_scalar(&mut out, ns);
            out.push('\n');
        }
        push_string_map(&mut out, "  ", "labels", &self.labels);
        push_string_map(&mut out, "  ", "annotations", &self.annotations);
        out.push_str("type: ");
        push_scalar(&mut out, &self.secret_type);
        out.push('\n');
        if let Some(immutable) = self.immutable {
            out.push_str(if immutable { "immutable: true\n" } else { "immutable: false\n" });
        }
        if self.data.is_empty() {
            out.push_str("data: {}\n");
        } else {
            out.push_str("data:\n");
            for (k, v) in &self.data {
                out.push_str("  ");
                push_scalar(&mut out, k);
                out.push_str(": ");
                let encoded = Zeroizing::new(B64.encode(v.as_slice()));
                out.push_str(&encoded);
                out.push('\n');
            }
        }
        out
    }
}

/// The template of the generated Secret, as the binding records it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Template {
    secret_type: String,
    immutable: Option<bool>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

impl Template {
    fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), Value::String(self.secret_type.clone()));
        if let Some(i) = self.immutable {
            m.insert("immutable".into(), Value::Bool(i));
        }
        let strings = |map: &BTreeMap<String, String>| Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect());
        m.insert("labels".into(), strings(&self.labels));
        m.insert("annotations".into(), strings(&self.annotations));
        Value::Object(m)
    }

    fn from_json(v: &Value) -> Option<Template> {
        let strings = |v: Option<&Value>| -> Option<BTreeMap<String, String>> {
            match v {
                None => Some(BTreeMap::new()),
                Some(Value::Object(m)) => m.iter().map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned()))).collect(),
                Some(_) => None,
            }
        };
        let immutable = match v.get("immutable") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return None,
        };
        Some(Template {
            secret_type: v.get("type")?.as_str()?.to_owned(),
            immutable,
            labels: strings(v.get("labels"))?,
            annotations: strings(v.get("annotations"))?,
        })
    }

    /// What differs from `sealed`, in words (field names only, never values).
    fn differences(&self, sealed: &Template) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.secret_type != sealed.secret_type {
            d.push("type");
        }
        if self.immutable != sealed.immutable {
            d.push("immutable");
        }
        if self.labels != sealed.labels {
            d.push("metadata.labels");
        }
        if self.annotations != sealed.annotations {
            d.push("metadata.annotations");
        }
        d
    }
}

/// The binding's plaintext: a compact JSON object with sorted keys.
fn binding_text(scope: Scope, namespace: Option<&str>, name: &str, template: &Template) -> String {
    let mut m = serde_json::Map::new();
    m.insert("v".into(), Value::from(BINDING_VERSION));
    m.insert("scope".into(), Value::String(scope.as_str().into()));
    if scope != Scope::Cluster {
        m.insert("namespace".into(), namespace.map_or(Value::Null, |n| Value::String(n.into())));
    }
    if scope == Scope::Strict {
        m.insert("name".into(), Value::String(name.into()));
    }
    m.insert("template".into(), template.to_json());
    let mut out = String::new();
    canonical_json(&Value::Object(m), &mut out);
    out
}

/// Which object layout a document is read as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// A `v1` `Secret` manifest.
    Secret,
    /// An `EncryptedSecret` (its plaintext or its encrypted file).
    EncryptedSecret,
}

/// A value with the line it is on.
struct Located {
    text: Zeroizing<String>,
    line: u32,
}

/// The fields of one document that matter here, read from a parsed file.
#[derive(Default)]
struct Fields {
    api_version: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    template: Template,
    secret_type: Option<String>,
    scope: Option<Located>,
    binding: Option<Located>,
    data: Vec<(String, Located)>,
    string_data: Vec<(String, Located)>,
    /// Encrypted values in walk order, by path, for the canonical-order check.
    encrypted_paths: Vec<(Vec<String>, u32)>,
    /// The values the selection encrypts (`spec.binding`, `spec.data.*`,
    /// `spec.stringData.*`), encrypted or not yet, in walk order.
    sealed_paths: Vec<(Vec<String>, u32)>,
}

/// Reads the fields of `parsed`'s single document as `layout`.
fn collect(file: &str, src: &str, parsed: &ParsedFile, layout: Layout) -> Result<Fields> {
    let doc = match parsed.docs.as_slice() {
        [doc] => doc,
        [] => return Err(invalid(file, 1, "the file holds no object".into())),
        docs => {
            return Err(invalid(
                file,
                docs[1].line,
                format!("the file holds {} documents; an {KIND} file holds exactly one object (split it into one file per object)", docs.len()),
            ))
        }
    };
    let mut f = Fields::default();
    let (tmpl_prefix, data_prefix): (&[&str], &[&str]) = match layout {
        Layout::Secret => (&[], &[]),
        Layout::EncryptedSecret => (&["spec", "template"], &["spec"]),
    };
    for leaf in &doc.leaves {
        if matches!(leaf.style, Style::Comment) || leaf.ty == ValueType::Comment {
            continue;
        }
        let parent = &doc.paths[leaf.parent as usize].keys;
        let Some(key) = leaf.key(src) else {
            let path = parent.iter().map(|k| &**k).collect::<Vec<_>>().join(".");
            if is_under(parent, data_prefix, "data") || is_under(parent, data_prefix, "stringData") || is_under(parent, &["spec"], "binding") {
                return Err(invalid(file, leaf.line, format!("{path} holds a list; Secret values are strings")));
            }
            continue;
        };
        let text = leaf.text(src);
        let mut path: Vec<&str> = parent.iter().map(|k| &**k).collect();
        path.push(key);
        if looks_encrypted(text) {
            f.encrypted_paths.push((path.iter().map(|s| (*s).to_owned()).collect(), leaf.line));
        }
        if layout == Layout::EncryptedSecret && matches!(path.as_slice(), ["spec", "binding"] | ["spec", "data" | "stringData", _]) {
            f.sealed_paths.push((path.iter().map(|s| (*s).to_owned()).collect(), leaf.line));
        }
        let located = || Located { text: Zeroizing::new(text.to_owned()), line: leaf.line };
        match path.as_slice() {
            ["apiVersion"] => f.api_version = Some(text.to_owned()),
            ["kind"] => f.kind = Some(text.to_owned()),
            ["metadata", "name"] => f.name = Some(text.to_owned()),
            ["metadata", "namespace"] => f.namespace = Some(text.to_owned()),
            _ => {
                if let Some(r) = path.strip_prefix(tmpl_prefix) {
                    match r {
                        ["metadata", "labels", k] => {
                            f.template.labels.insert((*k).to_owned(), text.to_owned());
                            continue;
                        }
                        ["metadata", "annotations", k] => {
                            f.template.annotations.insert((*k).to_owned(), text.to_owned());
                            continue;
                        }
                        ["type"] => {
                            f.secret_type = Some(text.to_owned());
                            continue;
                        }
                        ["immutable"] => {
                            f.template.immutable = match (leaf.ty, text) {
                                (ValueType::Bool, "true") => Some(true),
                                (ValueType::Bool, "false") => Some(false),
                                _ => return Err(invalid(file, leaf.line, format!("{} must be true or false", path.join(".")))),
                            };
                            continue;
                        }
                        _ => {}
                    }
                }
                if let Some(r) = path.strip_prefix(data_prefix) {
                    match r {
                        ["data", k] => {
                            f.data.push(((*k).to_owned(), located()));
                            continue;
                        }
                        ["stringData", k] => {
                            f.string_data.push(((*k).to_owned(), located()));
                            continue;
                        }
                        ["data" | "stringData", ..] => {
                            return Err(invalid(file, leaf.line, format!("{} is nested; Secret values are strings", path.join("."))))
                        }
                        _ => {}
                    }
                }
                if layout == Layout::EncryptedSecret {
                    match path.as_slice() {
                        ["spec", "scope"] => f.scope = Some(located()),
                        ["spec", "binding"] => f.binding = Some(located()),
                        // The controller's schedule for reading Vault values again: not sealed, it changes no value.
                        ["spec", "refreshInterval"] => {}
                        ["spec", "template", "metadata", ..] | ["spec", "template", ..] => {
                            return Err(invalid(
                                file,
                                leaf.line,
                                format!("unknown field {} (a template has type, immutable, metadata.labels and metadata.annotations)", path.join(".")),
                            ))
                        }
                        ["spec", ..] => return Err(invalid(file, leaf.line, format!("unknown field {}", path.join(".")))),
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(f)
}

fn is_under(parent: &[Box<str>], prefix: &[&str], key: &str) -> bool {
    parent.len() > prefix.len() && parent.iter().zip(prefix).all(|(a, b)| &**a == *b) && &*parent[prefix.len()] == key
}

fn invalid(file: &str, line: u32, msg: String) -> Error {
    Error::InvalidValue { file: file.into(), line, msg }
}

fn parse(file: &str, format: Format, text: &str) -> Result<ParsedFile> {
    document::parse(format, text).map_err(|e| Error::Syntax { file: file.into(), line: e.line, col: e.col, msg: e.msg })
}

/// Turns a plaintext `v1` Secret manifest (YAML or JSON) into an EncryptedSecret file
/// (YAML), encrypted for `recipients` and sealed for `scope`. The Secret's labels,
/// annotations, type and `immutable` become the template; `data` and `stringData` stay
/// where they are, encrypted. `file` names the input in messages.
pub fn encrypt_secret_manifest(file: &str, secret_src: &[u8], scope: Scope, recipients: &Recipients) -> Result<Encrypted> {
    let text = std::str::from_utf8(secret_src).map_err(|_| invalid(file, 1, "the file is not valid UTF-8 text".into()))?;
    let format = if text.trim_start().starts_with('{') { Format::Json } else { Format::Yaml };
    let parsed = parse(file, format, text)?;
    if parsed.docs.iter().any(|d| d.metadata.is_some()) {
        return Err(invalid(file, 1, "the file is already encrypted; decrypt it first, or give the plaintext Secret".into()));
    }
    let mut f = collect(file, text, &parsed, Layout::Secret)?;
    if f.api_version.as_deref() != Some("v1") || f.kind.as_deref() != Some("Secret") {
        return Err(invalid(file, 1, format!("an {KIND} is made from a Secret (apiVersion: v1, kind: Secret)")));
    }
    let name = f.name.clone().ok_or_else(|| invalid(file, 1, "the Secret has no metadata.name".into()))?;
    if scope != Scope::Cluster && f.namespace.is_none() {
        return Err(Error::Usage(format!(
            "{file}: the Secret has no metadata.namespace, which scope {scope} seals it to: add one (or give --namespace), or choose --scope cluster"
        )));
    }
    f.template.secret_type = f.secret_type.clone().unwrap_or_else(|| DEFAULT_SECRET_TYPE.into());
    for k in f.template.labels.keys().chain(f.template.annotations.keys()) {
        if SELECTED_KEYS.contains(&k.as_str()) {
            return Err(Error::Usage(format!("{file}: a label or annotation named {k:?} cannot go into an {KIND} template: sops would encrypt it")));
        }
    }
    for (k, v) in &f.data {
        if !crate::k8s::is_base64_data(&v.text) {
            return Err(invalid(file, v.line, format!("data.{k} is not valid base64 (a Secret's data values are base64; put plain text under stringData)")));
        }
    }
    let binding = binding_text(scope, f.namespace.as_deref(), &name, &f.template);
    let plaintext = encrypted_secret_yaml(&name, f.namespace.as_deref(), scope, &binding, &f);
    let expected = 1 + f.data.len() + f.string_data.len();
    let no_identities = Identities::default();
    let outcome = pipeline::encrypt(&EncryptRequest {
        file,
        format: Format::Yaml,
        src: plaintext.as_bytes(),
        recipients,
        selection: Some(Selection::EncryptedRegex(ENCRYPTED_REGEX.into())),
        mac_only_encrypted: true,
        identities: &no_identities,
        previous: None,
        check: None,
    })?;
    if outcome.sealed != expected {
        return Err(invalid(file, 1, format!("internal error: {} of {expected} values were encrypted; nothing written", outcome.sealed)));
    }
    Ok(outcome.output)
}

/// The plaintext EncryptedSecret, every map in sorted key order.
fn encrypted_secret_yaml(name: &str, namespace: Option<&str>, scope: Scope, binding: &str, f: &Fields) -> Zeroizing<String> {
    let size: usize = f.data.iter().chain(&f.string_data).map(|(k, v)| k.len() + v.text.len() * 2 + 16).sum();
    let mut out = Zeroizing::new(String::with_capacity(1024 + binding.len() + size));
    out.push_str("apiVersion: ");
    out.push_str(API_VERSION);
    out.push_str("\nkind: ");
    out.push_str(KIND);
    out.push_str("\nmetadata:\n  name: ");
    push_scalar(&mut out, name);
    out.push('\n');
    if let Some(ns) = namespace {
        out.push_str("  namespace: ");
        push_scalar(&mut out, ns);
        out.push('\n');
    }
    out.push_str("spec:\n  binding: ");
    push_scalar(&mut out, binding);
    out.push('\n');
    for (title, entries) in [("data", &f.data), ("stringData", &f.string_data)] {
        if title == "stringData" {
            out.push_str("  scope: ");
            out.push_str(scope.as_str());
            out.push('\n');
        }
        if entries.is_empty() {
            continue;
        }
        out.push_str("  ");
        out.push_str(title);
        out.push_str(":\n");
        let mut sorted: Vec<(&str, &str)> = entries.iter().map(|(k, l)| (k.as_str(), l.text.as_str())).collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in sorted {
            out.push_str("    ");
            push_scalar(&mut out, k);
            out.push_str(": ");
            push_scalar(&mut out, v);
            out.push('\n');
        }
    }
    out.push_str("  template:\n");
    if let Some(i) = f.template.immutable {
        out.push_str(if i { "    immutable: true\n" } else { "    immutable: false\n" });
    }
    if !f.template.labels.is_empty() || !f.template.annotations.is_empty() {
        out.push_str("    metadata:\n");
        push_string_map(&mut out, "      ", "annotations", &f.template.annotations);
        push_string_map(&mut out, "      ", "labels", &f.template.labels);
    }
    out.push_str("    type: ");
    push_scalar(&mut out, &f.template.secret_type);
    out.push('\n');
    out
}

fn push_string_map(out: &mut String, indent: &str, title: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        return;
    }
    out.push_str(indent);
    out.push_str(title);
    out.push_str(":\n");
    for (k, v) in map {
        out.push_str(indent);
        out.push_str("  ");
        push_scalar(out, k);
        out.push_str(": ");
        push_scalar(out, v);
        out.push('\n');
    }
}

fn push_scalar(out: &mut String, s: &str) {
    crate::k8s_create::push_scalar(out, s);
}

/// Opens an EncryptedSecret as the API server returns it (`object_json`, JSON in any key
/// order, with whatever metadata, `managedFields` and `status` it has gained). Checks,
/// before anything is used: the selection is gitseal's and the MAC covers encrypted values
/// only; every value under `spec.data` and `spec.stringData` is encrypted; the MAC, over the
/// encrypted values in sorted key order; the binding against the object's namespace, name,
/// `spec.scope` and `spec.template`. `label` names the object in messages.
pub fn open_object(label: &str, object_json: &[u8], identities: &Identities) -> Result<MaterializedSecret> {
    let object: Value = serde_json::from_slice(object_json).map_err(|e| invalid(label, e.line() as u32, format!("the object is not JSON: {e}")))?;
    let mut canonical = String::with_capacity(object_json.len());
    canonical_json(&cluster_view(label, &object)?, &mut canonical);
    open_text(label, Format::Json, &canonical, identities)
}

/// Opens an EncryptedSecret file (YAML or JSON, as committed) with the checks of
/// [`open_object`], and also that the file is in the canonical order the cluster verifies
/// it in (a file sops verifies but the controller would refuse is refused here too).
pub fn open_file(file: &str, format: Format, src: &[u8], identities: &Identities) -> Result<MaterializedSecret> {
    let text = std::str::from_utf8(src).map_err(|_| invalid(file, 1, "the file is not valid UTF-8 text".into()))?;
    open_text(file, format, text, identities)
}

/// Whether `src` is an EncryptedSecret (its single document has this kind and group).
pub fn is_encrypted_secret(format: Format, src: &str) -> bool {
    let Ok(parsed) = document::parse(format, src) else { return false };
    let Some(doc) = parsed.docs.first() else { return false };
    let mut api = None;
    let mut kind = None;
    for leaf in &doc.leaves {
        if leaf.parent == 0 {
            match leaf.key(src) {
                Some("apiVersion") => api = Some(leaf.text(src)),
                Some("kind") => kind = Some(leaf.text(src)),
                _ => {}
            }
        }
    }
    api == Some(API_VERSION) && kind == Some(KIND)
}

/// Checks an encrypted EncryptedSecret file without keys: its selection, that every value
/// of the Secret is encrypted and that the encrypted values are in the canonical order.
/// This is what `gitseal check` can say before the file reaches the cluster.
pub fn check_file(file: &str, format: Format, src: &str) -> Result<()> {
    let parsed = parse(file, format, src)?;
    let meta = pipeline::file_metadata(file, &parsed)?.ok_or_else(|| Error::NotEncrypted { file: file.into() })?;
    let fields = collect(file, src, &parsed, Layout::EncryptedSecret)?;
    check_sealed_shape(file, &meta, &fields)
}

fn open_text(file: &str, format: Format, text: &str, identities: &Identities) -> Result<MaterializedSecret> {
    let parsed = parse(file, format, text)?;
    let meta = pipeline::file_metadata(file, &parsed)?.ok_or_else(|| Error::NotEncrypted { file: file.into() })?;
    let sealed = collect(file, text, &parsed, Layout::EncryptedSecret)?;
    check_sealed_shape(file, &meta, &sealed)?;
    let plain = pipeline::decrypt(&DecryptRequest { file, format, src: text.as_bytes(), identities, ignore_mac: false })?;
    let plain_text = std::str::from_utf8(plain.as_bytes()).map_err(|_| invalid(file, 1, "a decrypted value is not UTF-8".into()))?;
    let plain_parsed = parse(file, format, plain_text)?;
    let fields = collect(file, plain_text, &plain_parsed, Layout::EncryptedSecret)?;
    materialize(file, fields)
}

/// The checks that need no key: kind, selection, MAC mode, every Secret value and the
/// binding encrypted, and the encrypted values in sorted path order.
fn check_sealed_shape(file: &str, meta: &crate::sops::metadata::Metadata, f: &Fields) -> Result<()> {
    if f.api_version.as_deref() != Some(API_VERSION) || f.kind.as_deref() != Some(KIND) {
        return Err(invalid(file, 1, format!("not an {KIND} (apiVersion: {API_VERSION}, kind: {KIND})")));
    }
    if meta.selection != Selection::EncryptedRegex(ENCRYPTED_REGEX.into()) || !meta.mac_only_encrypted {
        return Err(Error::Metadata {
            file: file.into(),
            line: 1,
            msg: format!("an {KIND} is sealed with encrypted_regex {ENCRYPTED_REGEX} and mac_only_encrypted: true; this one is not (re-create it with gitseal encrypt --kind {KIND})"),
        });
    }
    for (section, entries) in [("data", &f.data), ("stringData", &f.string_data)] {
        if let Some((k, v)) = entries.iter().find(|(_, v)| !looks_encrypted(&v.text)) {
            return Err(invalid(file, v.line, format!("spec.{section}.{k} is not encrypted; every value of an {KIND} must be")));
        }
    }
    match &f.binding {
        Some(b) if looks_encrypted(&b.text) => {}
        Some(b) => return Err(invalid(file, b.line, "spec.binding is not encrypted".into())),
        None => return Err(invalid(file, 1, format!("spec.binding is missing: the file was not sealed as an {KIND}"))),
    }
    check_order(file, &f.encrypted_paths)
}

/// Refuses values out of sorted path order, naming the first one and the one it follows.
fn check_order(file: &str, paths: &[(Vec<String>, u32)]) -> Result<()> {
    if let Some(pair) = paths.windows(2).find(|w| w[0].0 >= w[1].0) {
        let (path, line) = &pair[1];
        return Err(invalid(
            file,
            *line,
            format!(
                "{} is out of sorted key order (it follows {}): the cluster checks the MAC in sorted order, so keys must be sorted (gitseal set and edit keep them so)",
                path.join("."),
                pair[0].0.join(".")
            ),
        ));
    }
    Ok(())
}

/// Checks the decrypted binding against the object and builds the Secret.
fn materialize(file: &str, f: Fields) -> Result<MaterializedSecret> {
    let scope_field = f.scope.as_ref().ok_or_else(|| invalid(file, 1, "spec.scope is missing".into()))?;
    let scope = Scope::parse(&scope_field.text).ok_or_else(|| invalid(file, scope_field.line, "spec.scope must be strict, namespace or cluster".into()))?;
    let binding = f.binding.as_ref().ok_or_else(|| invalid(file, 1, "spec.binding is missing".into()))?;
    let record: Value = serde_json::from_str(&binding.text).map_err(|_| invalid(file, binding.line, "spec.binding is not a gitseal binding".into()))?;
    if record.get("v").and_then(Value::as_u64) != Some(BINDING_VERSION) {
        return Err(invalid(file, binding.line, "spec.binding has an unknown version; a newer gitseal wrote it".into()));
    }
    let sealed_scope =
        record.get("scope").and_then(Value::as_str).and_then(Scope::parse).ok_or_else(|| invalid(file, binding.line, "spec.binding names no scope".into()))?;
    let name = f.name.clone().ok_or_else(|| invalid(file, 1, "metadata.name is missing".into()))?;
    let violation = |msg: String| Error::ScopeViolation { file: file.into(), msg };
    if sealed_scope != scope {
        return Err(violation(format!("spec.scope says {scope} but the object was sealed with scope {sealed_scope}")));
    }
    let sealed_ns = record.get("namespace").and_then(Value::as_str);
    if scope != Scope::Cluster && sealed_ns != f.namespace.as_deref() {
        return Err(violation(format!(
            "sealed for namespace {}, found in namespace {}",
            sealed_ns.unwrap_or("(none)"),
            f.namespace.as_deref().unwrap_or("(none)")
        )));
    }
    let sealed_name = record.get("name").and_then(Value::as_str);
    if scope == Scope::Strict && sealed_name != Some(name.as_str()) {
        return Err(violation(format!("sealed for the name {}, found as {name}", sealed_name.unwrap_or("(none)"))));
    }
    let mut template = f.template.clone();
    template.secret_type = f.secret_type.clone().unwrap_or_else(|| DEFAULT_SECRET_TYPE.into());
    let sealed_template =
        record.get("template").and_then(Template::from_json).ok_or_else(|| invalid(file, binding.line, "spec.binding holds no template".into()))?;
    let differences = template.differences(&sealed_template);
    if !differences.is_empty() {
        return Err(Error::TemplateMismatch {
            file: file.into(),
            msg: format!("spec.template {} changed after the object was sealed", differences.join(", ")),
        });
    }
    let mut data = BTreeMap::new();
    for (k, v) in &f.data {
        let compact = Zeroizing::new(v.text.chars().filter(|c| !c.is_ascii_whitespace()).collect::<String>());
        let bytes = B64.decode(compact.as_bytes()).map(Zeroizing::new).map_err(|_| invalid(file, v.line, format!("spec.data.{k} is not valid base64")))?;
        data.insert(k.clone(), bytes);
    }
    for (k, v) in &f.string_data {
        data.insert(k.clone(), Zeroizing::new(v.text.as_bytes().to_vec()));
    }
    for k in data.keys() {
        crate::k8s_create::check_data_key(k).map_err(|m| invalid(file, 1, format!("{k:?} is not a valid Secret key: {m}")))?;
    }
    Ok(MaterializedSecret {
        name,
        namespace: f.namespace,
        scope,
        secret_type: template.secret_type,
        labels: template.labels,
        annotations: template.annotations,
        immutable: template.immutable,
        data,
    })
}

/// The part of an API object the MAC and the binding are about: `apiVersion`, `kind`,
/// `metadata.name` and `metadata.namespace`, `spec` and `sops`. Everything the API server
/// and the tools add (other metadata, `managedFields`, `status`) is left out.
fn cluster_view(label: &str, object: &Value) -> Result<Value> {
    let Value::Object(top) = object else { return Err(invalid(label, 1, "the object is not a JSON object".into())) };
    let mut view = serde_json::Map::new();
    for key in ["apiVersion", "kind", "spec", "sops"] {
        if let Some(v) = top.get(key) {
            view.insert(key.into(), v.clone());
        }
    }
    let mut meta = serde_json::Map::new();
    if let Some(Value::Object(m)) = top.get("metadata") {
        for key in ["name", "namespace"] {
            if let Some(v @ Value::String(_)) = m.get(key) {
                meta.insert(key.into(), v.clone());
            }
        }
    }
    view.insert("metadata".into(), Value::Object(meta));
    Ok(Value::Object(view))
}

/// Writes `v` as compact JSON with every object's keys in byte order, whatever order the
/// map type keeps (the walk order the MAC is checked in must not depend on it).
fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("strings serialise"));
                out.push(':');
                canonical_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).expect("JSON values serialise")),
    }
}

/// Checks an EncryptedSecret's plaintext before it is resealed (an
/// [`InputCheck`](crate::pipeline::InputCheck) for the editing commands): one object of
/// this kind, only the fields the format knows, `spec.data` values base64, valid Secret
/// key names, a known `spec.scope`, and no label or annotation the selection would
/// encrypt, and the values the selection encrypts in sorted key order. Values still
/// encrypted are left to the engine. What the cluster would refuse is refused here,
/// before anything is written.
pub fn check_plaintext(file: &str, text: &str, parsed: &ParsedFile) -> Result<()> {
    let f = collect(file, text, parsed, Layout::EncryptedSecret)?;
    if f.api_version.as_deref() != Some(API_VERSION) || f.kind.as_deref() != Some(KIND) {
        return Err(invalid(file, 1, format!("apiVersion and kind must stay {API_VERSION} and {KIND}")));
    }
    if let Some(s) = &f.scope {
        if Scope::parse(&s.text).is_none() {
            return Err(invalid(file, s.line, "spec.scope must be strict, namespace or cluster".into()));
        }
    }
    for k in f.template.labels.keys().chain(f.template.annotations.keys()) {
        if SELECTED_KEYS.contains(&k.as_str()) {
            return Err(invalid(file, 1, format!("a label or annotation named {k:?} cannot go into an {KIND} template: sops would encrypt it")));
        }
    }
    for (section, entries) in [("data", &f.data), ("stringData", &f.string_data)] {
        for (k, v) in entries {
            crate::k8s_create::check_data_key(k).map_err(|m| invalid(file, v.line, format!("spec.{section}.{k:?} is not a valid Secret key: {m}")))?;
            if section == "data" && !looks_encrypted(&v.text) && !crate::k8s::is_base64_data(&v.text) {
                return Err(invalid(file, v.line, format!("spec.data.{k} is not valid base64 (put plain text under spec.stringData)")));
            }
        }
    }
    check_order(file, &f.sealed_paths)
}

/// After an edit of an EncryptedSecret's plaintext (YAML or JSON), the binding that matches
/// its namespace, name, scope and template; `None` when the current one already does. The
/// editing commands call this before resealing, so changing the template or the scope
/// with gitseal re-seals it, while an edit behind gitseal's back is refused in the cluster.
pub fn rebind(file: &str, format: Format, plaintext: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let text = std::str::from_utf8(plaintext).map_err(|_| invalid(file, 1, "the file is not valid UTF-8 text".into()))?;
    let parsed = parse(file, format, text)?;
    let f = collect(file, text, &parsed, Layout::EncryptedSecret)?;
    let scope_field = f.scope.as_ref().ok_or_else(|| invalid(file, 1, "spec.scope is missing".into()))?;
    let scope = Scope::parse(&scope_field.text).ok_or_else(|| invalid(file, scope_field.line, "spec.scope must be strict, namespace or cluster".into()))?;
    let name = f.name.clone().ok_or_else(|| invalid(file, 1, "metadata.name is missing".into()))?;
    if scope != Scope::Cluster && f.namespace.is_none() {
        return Err(invalid(file, 1, format!("scope {scope} needs metadata.namespace")));
    }
    let mut template = f.template.clone();
    template.secret_type = f.secret_type.clone().unwrap_or_else(|| DEFAULT_SECRET_TYPE.into());
    let wanted = binding_text(scope, f.namespace.as_deref(), &name, &template);
    let doc = &parsed.docs[0];
    let leaf = doc
        .leaves
        .iter()
        .find(|l| l.key(text) == Some("binding") && doc.paths[l.parent as usize].keys.iter().map(|k| &**k).eq(["spec"]))
        .ok_or_else(|| invalid(file, 1, "spec.binding is missing".into()))?;
    if leaf.text(text) == wanted {
        return Ok(None);
    }
    if matches!(leaf.style, Style::YamlBlock { .. }) {
        return Err(invalid(file, leaf.line, "spec.binding must be a quoted or plain scalar".into()));
    }
    let quoted = serde_json::to_string(&wanted).expect("strings serialise");
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() + quoted.len()));
    out.extend_from_slice(&text.as_bytes()[..leaf.span.start]);
    out.extend_from_slice(quoted.as_bytes());
    out.extend_from_slice(&text.as_bytes()[leaf.span.end..]);
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::age::generate_identity;

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: webhook-token\n  namespace: flux-system\n  labels:\n    app: receiver\ntype: Opaque\nstringData:\n  token: s3cr3t-value\n  b-key: other\ndata:\n  z: aGVsbG8=\n";

    fn keys() -> (Recipients, Identities) {
        let (identity, recipient) = generate_identity();
        let mut ids = Identities::default();
        ids.add_text("test", &identity).unwrap();
        (Recipients { age: vec![crate::keys::AgeRecipient::parse(&recipient).unwrap()], ..Recipients::default() }, ids)
    }

    /// The file as the API server would hand it back: keys sorted, metadata and status added.
    fn as_api_object(file: &str) -> Vec<u8> {
        let yaml = yaml_to_json(file);
        let mut obj = yaml;
        let meta = obj["metadata"].as_object_mut().unwrap();
        meta.insert("uid".into(), "1234".into());
        meta.insert("resourceVersion".into(), "42".into());
        meta.insert("annotations".into(), serde_json::json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"}));
        meta.insert("managedFields".into(), serde_json::json!([{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:data": {"f:z": {}}}}}]));
        obj["status"] = serde_json::json!({"conditions": [{"type": "Ready", "status": "True"}]});
        serde_json::to_vec(&obj).unwrap()
    }

    /// A small YAML-to-JSON reader for the files this module writes (maps of scalars).
    fn yaml_to_json(src: &str) -> Value {
        let parsed = document::parse(Format::Yaml, src).unwrap();
        let doc = &parsed.docs[0];
        let mut root = Value::Object(Default::default());
        for leaf in &doc.leaves {
            let mut at = &mut root;
            for k in doc.paths[leaf.parent as usize].keys.iter() {
                at = at.as_object_mut().unwrap().entry(k.to_string()).or_insert_with(|| Value::Object(Default::default()));
            }
            let text = leaf.text(src);
            let v = match leaf.ty {
                ValueType::Bool => Value::Bool(text == "true"),
                ValueType::Int => Value::from(text.parse::<i64>().unwrap()),
                _ => Value::String(text.to_owned()),
            };
            let key = leaf.key(src).unwrap().to_owned();
            if let Some(list) = at.as_object_mut().unwrap().get_mut(&key) {
                panic!("duplicate {key}: {list}");
            }
            at.as_object_mut().unwrap().insert(key, v);
        }
        // sops's age entries are a list of maps; rebuild that one list by hand.
        let meta = doc.metadata.as_ref().unwrap();
        root["sops"] = tree_to_json(&meta.tree);
        root
    }

    fn tree_to_json(t: &crate::document::Tree) -> Value {
        use crate::document::Tree;
        match t {
            Tree::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), tree_to_json(v))).collect()),
            Tree::List(l) => Value::Array(l.iter().map(tree_to_json).collect()),
            Tree::Scalar(s) if s == "true" => Value::Bool(true),
            Tree::Scalar(s) => Value::String(s.clone()),
            Tree::Null => Value::Null,
        }
    }

    #[test]
    fn a_sealed_secret_opens_after_the_api_round_trip() {
        let (r, ids) = keys();
        let file = encrypt_secret_manifest("s.yaml", SECRET.as_bytes(), Scope::Strict, &r).unwrap();
        let text = file.as_str();
        assert!(text.contains("kind: EncryptedSecret") && text.contains("mac_only_encrypted: true"), "{text}");
        assert!(!text.contains("s3cr3t-value"));
        let s = open_object("flux-system/webhook-token", &as_api_object(text), &ids).unwrap();
        assert_eq!(s.data["token"].as_slice(), b"s3cr3t-value");
        assert_eq!(s.data["z"].as_slice(), b"hello");
        assert_eq!(s.labels["app"], "receiver");
        assert_eq!(s.secret_type, "Opaque");
        assert_eq!(s.namespace.as_deref(), Some("flux-system"));
        let f = open_file("s.yaml", Format::Yaml, text.as_bytes(), &ids).unwrap();
        assert_eq!(f.data["token"].as_slice(), b"s3cr3t-value");
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn an_object_copied_to_another_namespace_is_a_scope_violation() {
        let (r, ids) = keys();
        let file = encrypt_secret_manifest("s.yaml", SECRET.as_bytes(), Scope::Strict, &r).unwrap();
        let mut obj: Value = serde_json::from_slice(&as_api_object(file.as_str())).unwrap();
        obj["metadata"]["namespace"] = "team-b".into();
        let err = open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::ScopeViolation, "{err}");
        assert!(err.to_string().contains("team-b"));
        obj["metadata"]["namespace"] = "flux-system".into();
        obj["metadata"]["name"] = "renamed".into();
        let err = open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::ScopeViolation, "{err}");
    }

    #[test]
    fn a_widened_scope_is_refused_and_a_namespace_scope_allows_renaming() {
        let (r, ids) = keys();
        let file = encrypt_secret_manifest("s.yaml", SECRET.as_bytes(), Scope::Namespace, &r).unwrap();
        let mut obj: Value = serde_json::from_slice(&as_api_object(file.as_str())).unwrap();
        obj["metadata"]["name"] = "renamed".into();
        assert_eq!(open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap().name, "renamed");
        obj["spec"]["scope"] = "cluster".into();
        let err = open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::ScopeViolation, "{err}");
    }

    #[test]
    fn an_edited_template_is_refused() {
        let (r, ids) = keys();
        let file = encrypt_secret_manifest("s.yaml", SECRET.as_bytes(), Scope::Strict, &r).unwrap();
        for (path, value) in [("type", Value::from("kubernetes.io/tls")), ("immutable", Value::from(true))] {
            let mut obj: Value = serde_json::from_slice(&as_api_object(file.as_str())).unwrap();
            obj["spec"]["template"][path] = value;
            let err = open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Tampered, "{err}");
            assert!(err.to_string().contains(path), "{err}");
        }
        let mut obj: Value = serde_json::from_slice(&as_api_object(file.as_str())).unwrap();
        obj["spec"]["template"]["metadata"]["labels"]["app"] = "other".into();
        let err = open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap_err();
        assert!(err.to_string().contains("metadata.labels"), "{err}");
    }

    #[test]
    fn swapped_removed_or_plaintext_values_are_refused() {
        let (r, ids) = keys();
        let file = encrypt_secret_manifest("s.yaml", SECRET.as_bytes(), Scope::Strict, &r).unwrap();
        let base: Value = serde_json::from_slice(&as_api_object(file.as_str())).unwrap();
        // Two ciphertexts swapped between keys: AES-GCM's additional data is the path.
        let mut obj = base.clone();
        let a = obj["spec"]["stringData"]["token"].clone();
        obj["spec"]["stringData"]["token"] = obj["spec"]["stringData"]["b-key"].clone();
        obj["spec"]["stringData"]["b-key"] = a;
        assert_eq!(open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap_err().kind(), crate::ErrorKind::Tampered);
        // A value removed: the MAC no longer matches.
        let mut obj = base.clone();
        obj["spec"]["stringData"].as_object_mut().unwrap().remove("b-key");
        assert_eq!(open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap_err().kind(), crate::ErrorKind::MacMismatch);
        // A plaintext value added: not covered by the MAC, so refused outright.
        let mut obj = base.clone();
        obj["spec"]["data"]["evil"] = "aGk=".into();
        let err = open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("spec.data.evil is not encrypted"), "{err}");
        // The selection edited so that a value would fall out of the MAC.
        let mut obj = base;
        obj["sops"]["encrypted_regex"] = "^(data|binding)$".into();
        assert!(open_object("x", &serde_json::to_vec(&obj).unwrap(), &ids).is_err());
    }

    #[test]
    fn a_wrong_key_is_a_key_error() {
        let (r, _) = keys();
        let (_, other) = keys();
        let file = encrypt_secret_manifest("s.yaml", SECRET.as_bytes(), Scope::Strict, &r).unwrap();
        let err = open_object("x", &as_api_object(file.as_str()), &other).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Key);
        assert!(!err.is_transient());
    }

    #[test]
    fn keys_out_of_sorted_order_are_refused_before_they_reach_the_cluster() {
        let (r, ids) = keys();
        let file = encrypt_secret_manifest("s.yaml", SECRET.as_bytes(), Scope::Strict, &r).unwrap();
        let text = file.as_str();
        check_file("s.yaml", Format::Yaml, text).unwrap();
        // Move the first stringData entry below the second: check_file says so without a
        // key, naming the key out of order (the MAC, computed in walk order, fails too).
        let lines: Vec<&str> = text.lines().collect();
        let i = lines.iter().position(|l| l.trim_start().starts_with("b-key:")).unwrap();
        let mut moved = lines.clone();
        moved.swap(i, i + 1);
        let moved = moved.join("\n") + "\n";
        let err = check_file("s.yaml", Format::Yaml, &moved).unwrap_err();
        assert!(err.to_string().contains("sorted"), "{err}");
        assert!(open_file("s.yaml", Format::Yaml, moved.as_bytes(), &ids).is_err());
    }

    #[test]
    fn rebind_reseals_an_edited_template() {
        let plain = "apiVersion: gitseal.dev/v1alpha1\nkind: EncryptedSecret\nmetadata:\n  name: a\n  namespace: n\nspec:\n  binding: x\n  data:\n    k: aGk=\n  scope: strict\n  template:\n    type: Opaque\n";
        let new = rebind("f", Format::Yaml, plain.as_bytes()).unwrap().expect("the binding changes");
        let new = std::str::from_utf8(&new).unwrap();
        assert!(new.contains(r#"binding: "{\"name\":\"a\",\"namespace\":\"n\",\"scope\":\"strict\""#), "{new}");
        assert!(rebind("f", Format::Yaml, new.as_bytes()).unwrap().is_none());
    }

    #[test]
    fn check_plaintext_refuses_what_the_cluster_would() {
        let plain = "apiVersion: gitseal.dev/v1alpha1\nkind: EncryptedSecret\nmetadata:\n  name: a\n  namespace: n\nspec:\n  binding: x\n  data:\n    k: aGk=\n  scope: strict\n  template:\n    type: Opaque\n";
        let check = |t: &str| {
            let parsed = document::parse(Format::Yaml, t).unwrap();
            check_plaintext("f", t, &parsed).map_err(|e| e.to_string())
        };
        check(plain).unwrap();
        assert!(check(&plain.replace("k: aGk=", "k: not base64!")).unwrap_err().contains("f:9: spec.data.k is not valid base64"));
        let err = check(&plain.replace("    k: aGk=\n", "    k: aGk=\n    b: Yg==\n")).unwrap_err();
        assert!(err.contains("f:10: spec.data.b is out of sorted key order (it follows spec.data.k)"), "{err}");
        // Sections out of order are out of order too: the MAC walks stringData after data.
        let err = check(&plain.replace("  data:\n    k: aGk=\n", "  stringData:\n    s: t\n  data:\n    k: aGk=\n")).unwrap_err();
        assert!(err.contains("spec.data.k is out of sorted key order (it follows spec.stringData.s)"), "{err}");
        assert!(check(&plain.replace("scope: strict", "scope: global")).unwrap_err().contains("spec.scope must be"));
        assert!(check(&plain.replace("    type: Opaque\n", "    type: Opaque\n    extra: x\n")).unwrap_err().contains("unknown field spec.template.extra"));
        assert!(check(&plain.replace("    k: aGk=", "    bad/key: aGk=")).unwrap_err().contains("not a valid Secret key"));
        assert!(check(&plain.replace("kind: EncryptedSecret", "kind: Secret")).unwrap_err().contains("must stay"));
    }

    #[test]
    fn a_secret_without_namespace_needs_cluster_scope() {
        let (r, _) = keys();
        let src = SECRET.replace("  namespace: flux-system\n", "");
        let err = encrypt_secret_manifest("s.yaml", src.as_bytes(), Scope::Strict, &r).unwrap_err();
        assert!(err.to_string().contains("--scope cluster"), "{err}");
        encrypt_secret_manifest("s.yaml", src.as_bytes(), Scope::Cluster, &r).unwrap();
    }

    #[test]
    fn a_multi_document_input_is_refused() {
        let (r, _) = keys();
        let src = format!("{SECRET}---\n{SECRET}");
        let err = encrypt_secret_manifest("s.yaml", src.as_bytes(), Scope::Strict, &r).unwrap_err();
        assert!(err.to_string().contains("one file per object"), "{err}");
    }

    #[test]
    fn the_secret_manifest_round_trips() {
        let (r, ids) = keys();
        let file = encrypt_secret_manifest("s.yaml", SECRET.as_bytes(), Scope::Strict, &r).unwrap();
        let s = open_file("s.yaml", Format::Yaml, file.as_bytes(), &ids).unwrap();
        let yaml = s.to_secret_yaml();
        let again = encrypt_secret_manifest("s.yaml", yaml.as_bytes(), Scope::Strict, &r).unwrap();
        let t = open_file("s.yaml", Format::Yaml, again.as_bytes(), &ids).unwrap();
        assert_eq!(t.data.len(), 3);
        assert_eq!(t.data["token"].as_slice(), b"s3cr3t-value");
    }
}
