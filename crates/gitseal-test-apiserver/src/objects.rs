//! What the API server does to an object on each write, by type: defaults, normalization
//! (Secrets' `stringData`), validation (names, labels, Secret data, immutability), pruning of
//! unknown fields, generation, and the shape an object is served in.

use crate::error::{ApiError, ApiResult, FieldCause};
use crate::json::{meta_mut, meta_str};
use crate::resources::{ResourceType, Special};
use crate::schema;
use serde_json::{json, Map, Value};

/// Known fields of `metadata`; others are unknown and dropped.
const META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Top-level fields of the built-in types (besides apiVersion, kind, metadata).
fn builtin_fields(ty: &ResourceType) -> Option<&'static [&'static str]> {
    Some(match (ty.special, ty.group.as_str()) {
        (Special::Namespace, _) => &["spec", "status"],
        (Special::Secret, _) => &["data", "stringData", "type", "immutable"],
        (Special::ConfigMap, _) => &["data", "binaryData", "immutable"],
        (Special::Crd, _) => &["spec", "status"],
        (Special::Event, "") => &[
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        ],
        (Special::Event, _) => &[
            "regarding",
            "reason",
            "note",
            "deprecatedSource",
            "deprecatedFirstTimestamp",
            "deprecatedLastTimestamp",
            "deprecatedCount",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingController",
            "reportingInstance",
        ],
        (Special::Plain, _) if ty.kind == "ServiceAccount" => &["secrets", "imagePullSecrets", "automountServiceAccountToken"],
        (Special::Plain, _) => &["spec"],
        (Special::Custom, _) => return None,
    })
}

/// How unknown fields are reported (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Dropped silently.
    Ignore,
    /// Dropped, with a warning header.
    Warn,
    /// The request fails.
    Strict,
}

impl Validation {
    /// From the `fieldValidation` query parameter (default Warn).
    pub fn parse(v: Option<&str>) -> ApiResult<Self> {
        match v.unwrap_or("Warn") {
            "Ignore" | "" => Ok(Validation::Ignore),
            "Warn" => Ok(Validation::Warn),
            "Strict" => Ok(Validation::Strict),
            other => Err(ApiError::bad_request(format!("fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""))),
        }
    }
}

/// Drops unknown fields; returns the warnings to send, or the Strict error.
pub fn drop_unknown_fields(ty: &ResourceType, version: &str, obj: &mut Value, validation: Validation) -> ApiResult<Vec<String>> {
    let mut unknown = Vec::new();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let extra: Vec<String> = meta.keys().filter(|k| !META_FIELDS.contains(&k.as_str())).cloned().collect();
        for k in extra {
            meta.remove(&k);
            unknown.push(format!("metadata.{k}"));
        }
    }
    match builtin_fields(ty) {
        Some(fields) => {
            if let Some(m) = obj.as_object_mut() {
                let extra: Vec<String> =
                    m.keys().filter(|k| !["apiVersion", "kind", "metadata"].contains(&k.as_str()) && !fields.contains(&k.as_str())).cloned().collect();
                for k in extra {
                    m.remove(&k);
                    unknown.push(k);
                }
            }
        }
        None => {
            if let Some(s) = ty.schemas.get(version) {
                unknown.extend(schema::prune(obj, s));
            }
        }
    }
    unknown.sort();
    match validation {
        Validation::Strict if !unknown.is_empty() => {
            let list: Vec<String> = unknown.iter().map(|u| format!("unknown field \"{u}\"")).collect();
            Err(ApiError::bad_request(format!("strict decoding error: {}", list.join(", "))))
        }
        Validation::Warn => Ok(unknown.iter().map(|u| format!("unknown field \"{u}\"")).collect()),
        _ => Ok(Vec::new()),
    }
}

/// Field renames between `v1 Event` (stored) and `events.k8s.io/v1 Event`.
const EVENT_RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

fn rename(obj: &mut Value, pairs: impl Iterator<Item = (&'static str, &'static str)>) {
    if let Some(m) = obj.as_object_mut() {
        for (from, to) in pairs {
            if let Some(v) = m.remove(from) {
                m.insert(to.into(), v);
            }
        }
    }
}

/// The object as served in `version` of `ty`, from its storage form.
pub fn present(ty: &ResourceType, version: &str, stored: &Value) -> Value {
    let mut obj = stored.clone();
    if ty.special == Special::Event && !ty.group.is_empty() {
        rename(&mut obj, EVENT_RENAMES.iter().copied());
        if let Some(m) = obj.as_object_mut() {
            for empty in ["deprecatedFirstTimestamp", "deprecatedLastTimestamp", "eventTime"] {
                if m.get(empty).is_some_and(Value::is_null) {
                    m.remove(empty);
                }
            }
            if m.get("deprecatedCount") == Some(&json!(0)) {
                m.remove("deprecatedCount");
            }
        }
    }
    obj["apiVersion"] = json!(ty.api_version(version));
    obj["kind"] = json!(ty.kind);
    obj
}

/// The storage form of an object written through `ty`.
pub fn to_storage(ty: &ResourceType, mut obj: Value) -> Value {
    if ty.special == Special::Event && !ty.group.is_empty() {
        rename(&mut obj, EVENT_RENAMES.iter().map(|(a, b)| (*b, *a)));
        obj["apiVersion"] = json!("v1");
    } else {
        obj["apiVersion"] = json!(ty.storage_api_version());
    }
    obj["kind"] = json!(ty.kind);
    obj
}

/// Defaults applied on create, by type.
pub fn defaults_on_create(ty: &ResourceType, obj: &mut Value) {
    match ty.special {
        Special::Namespace => {
            let name = meta_str(obj, "name").to_string();
            let meta = meta_mut(obj);
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        Special::Crd => {
            let spec = &mut obj["spec"];
            if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
                let kind = names.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
                names.entry("singular").or_insert_with(|| json!(kind.to_lowercase()));
                names.entry("listKind").or_insert_with(|| json!(format!("{kind}List")));
            }
            if spec.get("conversion").is_none() {
                spec["conversion"] = json!({"strategy": "None"});
            }
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
        Special::Custom if ty.status_subresource => {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
        _ => {}
    }
}

/// Defaults and normalization on every write.
pub fn normalize(ty: &ResourceType, obj: &mut Value) -> ApiResult<()> {
    if ty.special == Special::Secret {
        // Defaulted on every write, so an update that leaves it out keeps the same type.
        if obj.get("type").is_none_or(|t| t.as_str() == Some("")) {
            obj["type"] = json!("Opaque");
        }
        if let Some(Value::Object(string_data)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) {
            let data = obj.as_object_mut().expect("object").entry("data").or_insert_with(|| json!({}));
            if !data.is_object() {
                *data = json!({});
            }
            for (k, v) in string_data {
                let text = v.as_str().map(String::from).unwrap_or_else(|| v.to_string());
                data[k.as_str()] = json!(base64_encode(text.as_bytes()));
            }
        }
        if let Some(Value::Object(data)) = obj.get("data") {
            for (k, v) in data {
                let ok = v.as_str().is_some_and(base64_valid);
                if !ok {
                    return Err(ApiError::bad_request(format!("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data[{k}]")));
                }
            }
        }
    }
    Ok(())
}

/// DNS-1123 subdomain (most names).
fn dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !p.starts_with('-') && !p.ends_with('-'))
}

/// DNS-1123 label (namespace names).
fn dns_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 63 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !s.starts_with('-') && !s.ends_with('-')
}

fn config_key(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) && s != "." && s != ".."
}

fn label_value(v: &str) -> bool {
    v.len() <= 63
        && (v.is_empty()
            || (v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))))
}

fn label_key(k: &str) -> bool {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(dns_subdomain) && !name.is_empty() && label_value(name)
}

/// Validation of a create (`old` None) or update; a 422 Invalid names every bad field.
pub fn validate(ty: &ResourceType, obj: &Value, old: Option<&Value>) -> ApiResult<()> {
    let name = meta_str(obj, "name");
    let mut causes = Vec::new();
    let name_ok = match ty.special {
        Special::Namespace => dns_label(name),
        Special::Event => !name.is_empty(),
        _ => dns_subdomain(name),
    };
    if name.is_empty() {
        causes.push(FieldCause::required("metadata.name", "name or generateName is required"));
    } else if !name_ok {
        let rule = if ty.special == Special::Namespace {
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        } else {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        };
        causes.push(FieldCause::invalid("metadata.name", name, rule));
    }
    for (k, v) in obj.pointer("/metadata/labels").and_then(Value::as_object).into_iter().flatten() {
        if !label_key(k) {
            causes.push(FieldCause::invalid(
                "metadata.labels",
                k,
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            ));
        }
        match v.as_str() {
            Some(s) if label_value(s) => {}
            _ => causes.push(FieldCause::invalid(
                format!("metadata.labels.{k}"),
                &v.as_str().map(String::from).unwrap_or_else(|| v.to_string()),
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            )),
        }
    }
    for (k, v) in obj.pointer("/metadata/annotations").and_then(Value::as_object).into_iter().flatten() {
        if !v.is_string() {
            causes.push(FieldCause::invalid(format!("metadata.annotations.{k}"), &v.to_string(), "annotation values must be strings"));
        }
    }
    for (i, r) in obj.pointer("/metadata/ownerReferences").and_then(Value::as_array).into_iter().flatten().enumerate() {
        for f in ["apiVersion", "kind", "name", "uid"] {
            if r.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
                causes.push(FieldCause::required(format!("metadata.ownerReferences[{i}].{f}"), &format!("{f} must not be empty")));
            }
        }
    }
    if matches!(ty.special, Special::Secret | Special::ConfigMap) {
        for field in ["data", "binaryData"] {
            for k in obj.get(field).and_then(Value::as_object).map(Map::keys).into_iter().flatten() {
                if !config_key(k) {
                    causes.push(FieldCause::invalid(format!("{field}[{k}]"), k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
                }
            }
        }
        if let Some(old) = old {
            if old.get("immutable") == Some(&json!(true)) {
                for field in ["data", "binaryData"] {
                    if old.get(field) != obj.get(field) {
                        causes.push(FieldCause::forbidden(field, "field is immutable when `immutable` is set"));
                    }
                }
                if obj.get("immutable") != Some(&json!(true)) {
                    causes.push(FieldCause::forbidden("immutable", "field is immutable when `immutable` is set"));
                }
            }
            if ty.special == Special::Secret && old.get("type") != obj.get("type") {
                causes.push(FieldCause::invalid("type", obj.get("type").and_then(Value::as_str).unwrap_or(""), "field is immutable"));
            }
        }
    }
    if ty.special == Special::Custom {
        if let Some(s) = ty.schemas.get(&ty.versions[0]) {
            causes.extend(schema::validate(obj, s));
        }
    }
    if ty.special == Special::Crd {
        match crate::resources::from_crd(obj) {
            Ok(t) => {
                let want = format!("{}.{}", t.plural, t.group);
                if name != want {
                    causes.push(FieldCause::invalid("metadata.name", name, &format!("must be spec.names.plural+\".\"+spec.group ({want})")));
                }
                if let Some(old) = old {
                    if old.pointer("/spec/group") != obj.pointer("/spec/group") {
                        causes.push(FieldCause::invalid("spec.group", t.group.as_str(), "field is immutable"));
                    }
                }
            }
            Err(why) => causes.push(FieldCause::invalid("spec", "", &why)),
        }
    }
    if let (Some(old), Special::Custom | Special::Namespace | Special::Plain | Special::Secret | Special::ConfigMap | Special::Crd) = (old, ty.special) {
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            let before: Vec<&Value> = old.pointer("/metadata/finalizers").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
            let added = obj.pointer("/metadata/finalizers").and_then(Value::as_array).into_iter().flatten().any(|f| !before.contains(&f));
            if added {
                causes.push(FieldCause::forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted"));
            }
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&ty.kind, &ty.group, name, causes))
    }
}

/// Whether the change from `old` to `new` bumps `metadata.generation`: anything outside
/// `metadata` (and outside `status` when status is a subresource).
pub fn generation_changes(ty: &ResourceType, old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            if ty.status_subresource {
                m.remove("status");
            }
        }
        v
    };
    strip(old) != strip(new)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Whether `s` is standard padded base64 (what Go's encoding/json accepts for `[]byte`).
pub fn base64_valid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() % 4 != 0 {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2 && b[..b.len() - pad].iter().all(|c| B64.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtin_types;

    fn ty(kind: &str) -> ResourceType {
        builtin_types().into_iter().find(|t| t.kind == kind).unwrap()
    }

    #[test]
    fn secret_string_data_becomes_base64_data() {
        let mut s = json!({"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hello", "a": "y"}});
        normalize(&ty("Secret"), &mut s).unwrap();
        assert_eq!(s, json!({"metadata": {"name": "s"}, "data": {"a": "eQ==", "b": "aGVsbG8="}, "type": "Opaque"}));
        let mut bad = json!({"metadata": {"name": "s"}, "data": {"a": "not base64!"}});
        assert_eq!(normalize(&ty("Secret"), &mut bad).unwrap_err().code, 400);
    }

    #[test]
    fn an_update_without_a_secret_type_keeps_opaque() {
        let old = json!({"metadata": {"name": "s"}, "type": "Opaque"});
        let mut new = json!({"metadata": {"name": "s"}, "data": {}});
        normalize(&ty("Secret"), &mut new).unwrap();
        assert!(validate(&ty("Secret"), &new, Some(&old)).is_ok());
    }

    #[test]
    fn immutable_secret_data_cannot_change() {
        let old = json!({"metadata": {"name": "s"}, "data": {"a": "eA=="}, "immutable": true, "type": "Opaque"});
        let mut new = old.clone();
        new["data"]["a"] = json!("eQ==");
        let err = validate(&ty("Secret"), &new, Some(&old)).unwrap_err();
        assert_eq!((err.code, err.reason), (422, "Invalid"));
        assert!(err.message.contains("field is immutable when `immutable` is set"), "{}", err.message);
    }

    #[test]
    fn names_and_labels_are_validated() {
        let err = validate(&ty("ConfigMap"), &json!({"metadata": {"name": "Bad_Name", "labels": {"ok": "-bad"}}}), None).unwrap_err();
        assert_eq!(err.details.unwrap()["causes"].as_array().unwrap().len(), 2);
        assert!(validate(&ty("Namespace"), &json!({"metadata": {"name": "a.b"}}), None).is_err());
        assert!(validate(&ty("ConfigMap"), &json!({"metadata": {"name": "a.b-c", "labels": {"app.kubernetes.io/name": "x"}}}), None).is_ok());
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_encode(b""), "");
        assert!(base64_valid("aGVsbG8=") && base64_valid("") && !base64_valid("aGVsbG8") && !base64_valid("a=b="));
    }
}
