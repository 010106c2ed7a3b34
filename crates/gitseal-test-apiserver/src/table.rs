//! Server-side printing: the `meta.k8s.io/v1 Table` that `kubectl get` asks for
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with the columns of the
//! built-in types and the additionalPrinterColumns of a CRD.

use crate::clock;
use crate::resources::{PrinterColumn, ResourceType, Special};
use serde_json::{json, Value};

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl Include {
    /// From the `includeObject` query parameter.
    pub fn parse(v: Option<&str>) -> Self {
        match v {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// Whether an Accept header asks for a Table.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| first.contains("as=Table"))
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.";

fn col(name: &str, type_: &str, path: &str, description: &str) -> PrinterColumn {
    PrinterColumn { name: name.into(), type_: type_.into(), format: String::new(), description: description.into(), priority: 0, json_path: path.into() }
}

/// The columns after Name for a type and version.
fn columns(ty: &ResourceType, version: &str) -> Vec<PrinterColumn> {
    let age = || col("Age", "date", ".metadata.creationTimestamp", AGE_DESCRIPTION);
    match ty.special {
        Special::Custom => ty.columns.get(version).cloned().unwrap_or_else(|| vec![age()]),
        Special::Namespace => vec![col("Status", "string", ".status.phase", "The status of the namespace"), age()],
        Special::Secret => {
            vec![col("Type", "string", ".type", "The type of the secret"), col("Data", "integer", "#count:data", "The number of entries in the secret"), age()]
        }
        Special::ConfigMap => vec![col("Data", "integer", "#count:data,binaryData", "Number of data in configmap"), age()],
        Special::Crd => vec![col("Created At", "date", "#time:.metadata.creationTimestamp", "")],
        Special::Event => vec![
            col("Last Seen", "string", "#eventage", "Time when this event was last seen"),
            col("Type", "string", ".type", "Type of this event (Normal, Warning), new types could be added in the future."),
            col("Reason", "string", ".reason", "Reason why this event was generated"),
            col("Object", "string", "#eventobject", "The object this event is about"),
            col("Message", "string", "#eventmessage", "A human-readable description of the status of this operation."),
        ],
        Special::Plain if ty.kind == "ServiceAccount" => vec![
            col("Secrets", "integer", "#count:secrets", "Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount"),
            age(),
        ],
        Special::Plain if ty.kind == "Lease" => vec![col("Holder", "string", ".spec.holderIdentity", "Holder of the lease"), age()],
        Special::Plain => vec![age()],
    }
}

/// Evaluates the simple JSONPath of printer columns: `.a.b`, `.a[0]`, `.a[?(@.k=="v")].b`.
pub fn json_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = obj;
    let mut rest = path.trim().trim_start_matches('{').trim_end_matches('}');
    rest = rest.strip_prefix('$').unwrap_or(rest);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            node = node.get(&r[..end])?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (field, want) = filter.split_once("==")?;
                let want = want.trim().trim_matches(|c| c == '"' || c == '\'');
                node = node.as_array()?.iter().find(|i| i.get(field.trim()).and_then(Value::as_str) == Some(want))?;
            } else {
                node = node.get(inner.parse::<usize>().ok()?)?;
            }
        } else {
            return None;
        }
    }
    Some(node)
}

fn cell(c: &PrinterColumn, obj: &Value) -> Value {
    if let Some(fields) = c.json_path.strip_prefix("#count:") {
        let n: usize =
            fields.split(',').map(|f| obj.get(f).map(|v| v.as_object().map(|m| m.len()).or(v.as_array().map(Vec::len)).unwrap_or(0)).unwrap_or(0)).sum();
        return json!(n);
    }
    if let Some(path) = c.json_path.strip_prefix("#time:") {
        return json_path(obj, path).cloned().unwrap_or(Value::Null);
    }
    match c.json_path.as_str() {
        "#eventage" => {
            let t = ["lastTimestamp", "eventTime", "firstTimestamp"]
                .iter()
                .find_map(|f| obj.get(*f).and_then(Value::as_str))
                .or(obj.pointer("/metadata/creationTimestamp").and_then(Value::as_str));
            return json!(t.map(clock::age).unwrap_or_else(|| "<unknown>".into()));
        }
        "#eventobject" => {
            let o = obj.get("involvedObject").or(obj.get("regarding")).cloned().unwrap_or(json!({}));
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or("").to_lowercase();
            let name = o.get("name").and_then(Value::as_str).unwrap_or("");
            return json!(format!("{kind}/{name}"));
        }
        "#eventmessage" => return obj.get("message").or(obj.get("note")).cloned().unwrap_or(json!("")),
        _ => {}
    }
    let Some(v) = json_path(obj, &c.json_path) else {
        return Value::Null;
    };
    match c.type_.as_str() {
        "date" => v.as_str().map(|t| json!(clock::age(t))).unwrap_or(Value::Null),
        "integer" => v.as_i64().map(Value::from).unwrap_or(Value::Null),
        "number" => v.as_f64().map(Value::from).unwrap_or(Value::Null),
        "boolean" => v.as_bool().map(Value::from).unwrap_or(Value::Null),
        _ => match v {
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        },
    }
}

/// The Table of served objects.
pub fn table(ty: &ResourceType, version: &str, items: &[Value], include: Include, list_meta: Value) -> Value {
    let cols = columns(ty, version);
    // Events show their name last and only with `-o wide`, as the API server prints them.
    let name_last = ty.special == Special::Event;
    let name_def = json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": if name_last { 1 } else { 0 }});
    let mut defs: Vec<Value> =
        cols.iter().map(|c| json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})).collect();
    if name_last {
        defs.push(name_def);
    } else {
        defs.insert(0, name_def);
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let name = obj.pointer("/metadata/name").cloned().unwrap_or(json!(""));
            let mut cells: Vec<Value> = cols.iter().map(|c| cell(c, obj)).collect();
            if name_last {
                cells.push(name);
            } else {
                cells.insert(0, name);
            }
            let mut row = json!({"cells": cells});
            match include {
                Include::None => {}
                Include::Metadata => {
                    row["object"] =
                        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata").cloned().unwrap_or(json!({}))});
                }
                Include::Object => row["object"] = obj.clone(),
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "columnDefinitions": defs, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_of_printer_columns() {
        let obj = json!({"status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}, "spec": {"list": [7]}});
        assert_eq!(json_path(&obj, ".status.conditions[?(@.type==\"Ready\")].status"), Some(&json!("True")));
        assert_eq!(json_path(&obj, ".spec.list[0]"), Some(&json!(7)));
        assert_eq!(json_path(&obj, ".spec.missing"), None);
    }

    #[test]
    fn table_accept_header_is_recognised() {
        assert!(wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
        assert!(!wants_table("application/json"));
    }
}
