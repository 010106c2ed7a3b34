//! What the server knows of a resource's shape: how each list merges (atomic, set, or map
//! keyed by some fields), from the built-in types' API definitions or a CRD's structural
//! schema, and the pruning of fields a CRD schema does not declare.

use crate::error::FieldCause;
use serde_json::{Map, Value};

/// How a list merges, in strategic merge patch and server-side apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole (`x-kubernetes-list-type: atomic`, the default).
    Atomic,
    /// A set of scalars (`x-kubernetes-list-type: set`).
    Set,
    /// A list of objects keyed by these fields (`x-kubernetes-list-type: map`).
    Map(Vec<String>),
}

/// List kinds of `metadata`, the same for every resource.
fn metadata_list_kind(path: &[String]) -> Option<ListKind> {
    match path {
        [m, f] if m == "metadata" && f == "ownerReferences" => Some(ListKind::Map(vec!["uid".into()])),
        [m, f] if m == "metadata" && f == "finalizers" => Some(ListKind::Set),
        [m, f] if m == "metadata" && f == "managedFields" => Some(ListKind::Atomic),
        _ => None,
    }
}

/// List kinds of the built-in types, from their API definitions (`+listType`, `patchMergeKey`).
pub fn builtin_list_kind(kind: &str, path: &[String]) -> ListKind {
    if let Some(k) = metadata_list_kind(path) {
        return k;
    }
    let joined = path.join(".");
    match (kind, joined.as_str()) {
        ("Namespace", "status.conditions") => ListKind::Map(vec!["type".into()]),
        ("ServiceAccount", "secrets") => ListKind::Map(vec!["name".into()]),
        ("CustomResourceDefinition", "spec.versions") => ListKind::Map(vec!["name".into()]),
        ("CustomResourceDefinition", "status.conditions") => ListKind::Map(vec!["type".into()]),
        ("CustomResourceDefinition", "spec.versions.additionalPrinterColumns") => ListKind::Atomic,
        _ => ListKind::Atomic,
    }
}

/// The schema node of a CRD's `openAPIV3Schema` at a field path (field names only; list
/// items and map values are stepped into on the way).
fn schema_at<'a>(schema: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = schema;
    for field in path {
        node = step_into_items(node);
        node = match node.get("properties").and_then(|p| p.get(field)) {
            Some(n) => n,
            None => node.get("additionalProperties").filter(|a| a.is_object())?,
        };
    }
    Some(node)
}

fn step_into_items(node: &Value) -> &Value {
    let mut node = node;
    while node.get("type").and_then(Value::as_str) == Some("array") {
        match node.get("items") {
            Some(items) => node = items,
            None => break,
        }
    }
    node
}

/// List kind of a custom resource's field from its CRD schema.
pub fn crd_list_kind(schema: Option<&Value>, path: &[String]) -> ListKind {
    if let Some(k) = metadata_list_kind(path) {
        return k;
    }
    let Some(node) = schema.and_then(|s| schema_at(s, path)) else {
        return ListKind::Atomic;
    };
    match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => ListKind::Set,
        Some("map") => {
            let keys = node
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|k| k.as_str().map(String::from)).collect())
                .unwrap_or_default();
            ListKind::Map(keys)
        }
        _ => ListKind::Atomic,
    }
}

/// Removes the fields of a custom resource that its structural schema does not declare
/// (outside `apiVersion`, `kind` and `metadata`), returning their paths, as the API server
/// prunes them (and reports them under `fieldValidation=Warn|Strict`).
pub fn prune(obj: &mut Value, schema: &Value) -> Vec<String> {
    let mut unknown = Vec::new();
    if let Value::Object(map) = obj {
        let props = schema.get("properties").and_then(Value::as_object);
        let preserve = schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true);
        let keys: Vec<String> = map.keys().cloned().collect();
        for k in keys {
            if k == "apiVersion" || k == "kind" || k == "metadata" {
                continue;
            }
            match props.and_then(|p| p.get(&k)) {
                Some(sub) => prune_node(map.get_mut(&k).expect("key exists"), sub, &k, &mut unknown),
                None if preserve => {}
                None => {
                    map.remove(&k);
                    unknown.push(k);
                }
            }
        }
    }
    unknown
}

fn prune_node(v: &mut Value, schema: &Value, path: &str, unknown: &mut Vec<String>) {
    if schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true) && schema.get("properties").is_none() {
        return;
    }
    match v {
        Value::Object(map) => prune_map(map, schema, path, unknown),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_node(item, item_schema, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

fn prune_map(map: &mut Map<String, Value>, schema: &Value, path: &str, unknown: &mut Vec<String>) {
    if schema.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true) && schema.get("properties").is_none() {
        return;
    }
    let preserve = schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true);
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        let child = format!("{path}.{k}");
        if let Some(sub) = props.and_then(|p| p.get(&k)) {
            if map[&k].is_null() && sub.get("nullable").and_then(Value::as_bool) != Some(true) {
                // As the API server drops nulls of fields that are not nullable.
                map.remove(&k);
                continue;
            }
            prune_node(map.get_mut(&k).expect("key exists"), sub, &child, unknown);
        } else if let Some(add) = additional {
            if add.is_object() {
                prune_node(map.get_mut(&k).expect("key exists"), add, &child, unknown);
            }
        } else if !preserve {
            map.remove(&k);
            unknown.push(child);
        }
    }
}

/// Validates a custom resource against its structural schema (types, `required`, `enum`,
/// bounds on numbers, strings, lists and maps), outside `apiVersion`, `kind` and `metadata`.
pub fn validate(obj: &Value, schema: &Value) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let props = schema.get("properties").and_then(Value::as_object);
    for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if obj.get(name).is_none() && !["apiVersion", "kind", "metadata"].contains(&name) {
            causes.push(FieldCause { reason: "FieldValueRequired", field: name.to_string(), message: "Required value".into() });
        }
    }
    if let (Some(m), Some(props)) = (obj.as_object(), props) {
        for (k, v) in m {
            if k == "apiVersion" || k == "kind" || k == "metadata" {
                continue;
            }
            if let Some(sub) = props.get(k) {
                validate_node(v, sub, k, &mut causes);
            }
        }
    }
    causes
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn validate_node(v: &Value, schema: &Value, path: &str, out: &mut Vec<FieldCause>) {
    if v.is_null() {
        // Nulls of non-nullable fields were pruned before validation.
        return;
    }
    let int_or_string = schema.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true);
    if let Some(want) = schema.get("type").and_then(Value::as_str) {
        let got = type_name(v);
        let ok = got == want || (want == "number" && got == "integer") || (int_or_string && (got == "integer" || got == "string"));
        if !ok {
            out.push(FieldCause {
                reason: "FieldValueTypeInvalid",
                field: path.into(),
                message: format!("Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\""),
            });
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            let list: Vec<String> = allowed.iter().map(|a| format!("\"{}\"", short(a))).collect();
            out.push(FieldCause {
                reason: "FieldValueNotSupported",
                field: path.into(),
                message: format!("Unsupported value: \"{}\": supported values: {}", short(v), list.join(", ")),
            });
        }
    }
    let bound = |k: &str| schema.get(k).and_then(Value::as_f64);
    let mut limit = |ok: bool, message: String| {
        if !ok {
            out.push(FieldCause { reason: "FieldValueInvalid", field: path.into(), message: format!("Invalid value: \"{}\": {message}", short(v)) });
        }
    };
    if let Some(n) = v.as_f64() {
        if let Some(min) = bound("minimum") {
            limit(n >= min, format!("{path} in body should be greater than or equal to {min}"));
        }
        if let Some(max) = bound("maximum") {
            limit(n <= max, format!("{path} in body should be less than or equal to {max}"));
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as f64;
        if let Some(min) = bound("minLength") {
            limit(len >= min, format!("{path} in body should be at least {min} chars long"));
        }
        if let Some(max) = bound("maxLength") {
            limit(len <= max, format!("{path} in body should be at most {max} chars long"));
        }
    }
    if let Some(items) = v.as_array() {
        if let Some(max) = bound("maxItems") {
            limit(items.len() as f64 <= max, format!("{path} in body should have at most {max} items"));
        }
        if let Some(min) = bound("minItems") {
            limit(items.len() as f64 >= min, format!("{path} in body should have at least {min} items"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                validate_node(item, item_schema, &format!("{path}[{i}]"), out);
            }
        }
    }
    if let Some(m) = v.as_object() {
        if schema.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true) {
            return;
        }
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !m.contains_key(name) {
                out.push(FieldCause { reason: "FieldValueRequired", field: format!("{path}.{name}"), message: "Required value".into() });
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        for (k, child) in m {
            if let Some(sub) = props.and_then(|p| p.get(k)).or(additional) {
                validate_node(child, sub, &format!("{path}.{k}"), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(String::from).collect()
    }

    #[test]
    fn crd_schema_decides_list_kinds() {
        let schema = json!({"type": "object", "properties": {
            "status": {"type": "object", "properties": {"conditions": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"], "items": {"type": "object"}}}},
            "spec": {"type": "object", "properties": {"tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}, "plain": {"type": "array"}}}
        }});
        assert_eq!(crd_list_kind(Some(&schema), &path("status.conditions")), ListKind::Map(vec!["type".into()]));
        assert_eq!(crd_list_kind(Some(&schema), &path("spec.tags")), ListKind::Set);
        assert_eq!(crd_list_kind(Some(&schema), &path("spec.plain")), ListKind::Atomic);
        assert_eq!(crd_list_kind(Some(&schema), &path("metadata.ownerReferences")), ListKind::Map(vec!["uid".into()]));
        assert_eq!(crd_list_kind(None, &path("spec.other")), ListKind::Atomic);
    }

    #[test]
    fn custom_resources_are_validated_against_their_schema() {
        let schema = json!({"type": "object", "required": ["spec"], "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "port": {"x-kubernetes-int-or-string": true},
                "tags": {"type": "array", "maxItems": 1, "items": {"type": "string"}}
            }}
        }});
        assert!(validate(&json!({"spec": {"size": 2, "mode": "a", "port": "http", "tags": ["x"]}}), &schema).is_empty());
        let causes = validate(&json!({"spec": {"size": "big", "mode": "c", "tags": ["x", 1]}}), &schema);
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.mode", "spec.size", "spec.tags", "spec.tags[1]"], "{causes:?}");
        assert_eq!(causes[1].message, "Invalid value: \"string\": spec.size in body must be of type integer: \"string\"");
        assert_eq!(validate(&json!({}), &schema)[0].field, "spec");
        assert_eq!(validate(&json!({"spec": {"size": 0}}), &schema)[0].field, "spec.size");
    }

    #[test]
    fn pruning_drops_undeclared_fields_only() {
        let mut schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"a": {"type": "string"}, "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "m": {"type": "object", "additionalProperties": {"type": "string"}}}}
        }});
        let mut obj = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"a": "1", "b": 2, "free": {"any": 1}, "m": {"k": "v"}, "gone": null}, "extra": true});
        schema["properties"]["spec"]["properties"]["gone"] = json!({"type": "string"});
        let mut unknown = prune(&mut obj, &schema);
        unknown.sort();
        assert_eq!(unknown, vec!["extra".to_string(), "spec.b".to_string()]);
        assert_eq!(obj, json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"a": "1", "free": {"any": 1}, "m": {"k": "v"}}}));
    }
}
