//! What the server knows of a resource's shape: how each list merges (atomic, set, or map
//! keyed by some fields), from the built-in types' API definitions or a CRD's structural
//! schema, and the pruning of fields a CRD schema does not declare.

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
    fn pruning_drops_undeclared_fields_only() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"a": {"type": "string"}, "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "m": {"type": "object", "additionalProperties": {"type": "string"}}}}
        }});
        let mut obj = json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"a": "1", "b": 2, "free": {"any": 1}, "m": {"k": "v"}}, "extra": true});
        let mut unknown = prune(&mut obj, &schema);
        unknown.sort();
        assert_eq!(unknown, vec!["extra".to_string(), "spec.b".to_string()]);
        assert_eq!(obj, json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"a": "1", "free": {"any": 1}, "m": {"k": "v"}}}));
    }
}
