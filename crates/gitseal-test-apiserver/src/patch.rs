//! The three patch formats of the API besides apply: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902) and strategic merge patch for built-in types.
//!
//! The strategic merge patch merges the lists that have a merge key (`ownerReferences` by
//! `uid`, conditions by `type`, ...) and unions the primitive lists with the merge strategy
//! (`finalizers`); it honours `$patch: delete|replace`, `$retainKeys` and
//! `$deleteFromPrimitiveList/<field>`, and ignores `$setElementOrder/<field>`: lists keep the
//! order of the live object, new items are appended.

use crate::schema::ListKind;
use serde_json::{Map, Value};

/// RFC 7386 merge patch.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut result = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    result.remove(k);
                } else {
                    let merged = merge_patch(result.get(k).unwrap_or(&Value::Null), v);
                    result.insert(k.clone(), merged);
                }
            }
            Value::Object(result)
        }
        other => other.clone(),
    }
}

/// RFC 6902 JSON patch. The error says which operation failed and why.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, String> {
    let ops = patch.as_array().ok_or("a JSON patch must be an array of operations")?;
    let mut doc = target.clone();
    for (i, op) in ops.iter().enumerate() {
        let name = op.get("op").and_then(Value::as_str).ok_or(format!("operation {i}: missing \"op\""))?;
        let path = op.get("path").and_then(Value::as_str).ok_or(format!("operation {i}: missing \"path\""))?;
        let value = || op.get("value").cloned().ok_or(format!("operation {i} ({name}): missing \"value\""));
        let from = || op.get("from").and_then(Value::as_str).ok_or(format!("operation {i} ({name}): missing \"from\""));
        match name {
            "add" => add(&mut doc, path, value()?)?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                remove(&mut doc, path)?;
                add(&mut doc, path, value()?)?;
            }
            "move" => {
                let from = from()?;
                let v = remove(&mut doc, from)?;
                add(&mut doc, path, v)?;
            }
            "copy" => {
                let v = doc.pointer(from()?).cloned().ok_or(format!("copy operation does not apply: doc is missing from path: {path}"))?;
                add(&mut doc, path, v)?;
            }
            "test" => {
                let want = value()?;
                if doc.pointer(path) != Some(&want) {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(doc)
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<(String, String), String> {
    if path.is_empty() {
        return Ok((String::new(), String::new()));
    }
    if !path.starts_with('/') {
        return Err(format!("invalid JSON pointer: {path}"));
    }
    let idx = path.rfind('/').unwrap_or(0);
    Ok((path[..idx].to_string(), unescape(&path[idx + 1..])))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    let target = doc.pointer_mut(&parent).ok_or(format!("add operation does not apply: doc is missing path: \"{path}\""))?;
    match target {
        Value::Object(m) => {
            m.insert(last, value);
        }
        Value::Array(a) => {
            let idx = if last == "-" { a.len() } else { last.parse::<usize>().map_err(|_| format!("invalid array index in {path}"))? };
            if idx > a.len() {
                return Err(format!("add operation does not apply: index {idx} out of bounds in {path}"));
            }
            a.insert(idx, value);
        }
        _ => return Err(format!("add operation does not apply: doc is missing path: \"{path}\"")),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    let missing = || format!("remove operation does not apply: doc is missing path: \"{path}\"");
    match doc.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => m.remove(&last).ok_or_else(missing),
        Value::Array(a) => {
            let idx = last.parse::<usize>().map_err(|_| missing())?;
            if idx >= a.len() {
                return Err(missing());
            }
            Ok(a.remove(idx))
        }
        _ => Err(missing()),
    }
}

/// Strategic merge patch; `list_kind` tells how the list at a field path (field names only)
/// merges.
pub fn strategic_merge_patch(target: &Value, patch: &Value, list_kind: &dyn Fn(&[String]) -> ListKind) -> Result<Value, String> {
    let mut path = Vec::new();
    Ok(smp_value(Some(target), patch, &mut path, list_kind)?.unwrap_or(Value::Null))
}

fn smp_value(target: Option<&Value>, patch: &Value, path: &mut Vec<String>, lk: &dyn Fn(&[String]) -> ListKind) -> Result<Option<Value>, String> {
    let Value::Object(p) = patch else {
        return Ok(Some(patch.clone()));
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("delete") => return Ok(None),
        Some("replace") => {
            let mut replaced = p.clone();
            replaced.remove("$patch");
            return Ok(Some(strip_directives(&Value::Object(replaced))));
        }
        Some("merge") | None => {}
        Some(other) => return Err(format!("Unknown patch type: {other}")),
    }
    let mut result = match target {
        Some(Value::Object(t)) => t.clone(),
        _ => Map::new(),
    };
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        result.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let drop: Vec<&Value> = v.as_array().map(|a| a.iter().collect()).unwrap_or_default();
            if let Some(Value::Array(items)) = result.get_mut(field) {
                items.retain(|i| !drop.contains(&i));
            }
            continue;
        }
        path.push(k.clone());
        match v {
            Value::Null => {
                result.remove(k);
            }
            Value::Object(_) => match smp_value(result.get(k), v, path, lk)? {
                Some(merged) => {
                    result.insert(k.clone(), merged);
                }
                None => {
                    result.remove(k);
                }
            },
            Value::Array(items) => {
                let merged = smp_list(result.get(k), items, path, lk)?;
                result.insert(k.clone(), merged);
            }
            other => {
                result.insert(k.clone(), other.clone());
            }
        }
        path.pop();
    }
    Ok(Some(Value::Object(result)))
}

fn smp_list(target: Option<&Value>, items: &[Value], path: &mut Vec<String>, lk: &dyn Fn(&[String]) -> ListKind) -> Result<Value, String> {
    let live: Vec<Value> = target.and_then(Value::as_array).cloned().unwrap_or_default();
    if items.iter().any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace")) {
        let kept: Vec<Value> = items.iter().filter(|i| i.get("$patch").is_none()).map(strip_directives).collect();
        return Ok(Value::Array(kept));
    }
    match lk(path) {
        ListKind::Atomic => Ok(Value::Array(items.iter().map(strip_directives).collect())),
        ListKind::Set => {
            let mut out = live;
            for i in items {
                if !out.contains(i) {
                    out.push(i.clone());
                }
            }
            Ok(Value::Array(out))
        }
        ListKind::Map(keys) => {
            let key_of = |v: &Value| -> Vec<Value> { keys.iter().map(|k| v.get(k).cloned().unwrap_or(Value::Null)).collect() };
            let mut out = live;
            for item in items {
                let key = key_of(item);
                let pos = out.iter().position(|o| key_of(o) == key);
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (pos, delete) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => {
                        if let Some(merged) = smp_value(Some(&out[i]), item, path, lk)? {
                            out[i] = merged;
                        }
                    }
                    (None, false) => out.push(strip_directives(item)),
                }
            }
            Ok(Value::Array(out))
        }
    }
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), strip_directives(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7386_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (target, patch, want) in cases {
            assert_eq!(merge_patch(&target, &patch), want, "{target} + {patch}");
        }
    }

    #[test]
    fn json_patch_applies_every_operation() {
        let doc = json!({"metadata": {"labels": {"a/b": "1"}}, "list": [1, 2, 3]});
        let patch = json!([
            {"op": "add", "path": "/metadata/labels/c", "value": "2"},
            {"op": "remove", "path": "/metadata/labels/a~1b"},
            {"op": "replace", "path": "/list/0", "value": 9},
            {"op": "add", "path": "/list/-", "value": 4},
            {"op": "move", "from": "/list/1", "path": "/moved"},
            {"op": "copy", "from": "/moved", "path": "/copied"},
            {"op": "test", "path": "/copied", "value": 2},
        ]);
        assert_eq!(json_patch(&doc, &patch).unwrap(), json!({"metadata": {"labels": {"c": "2"}}, "list": [9, 3, 4], "moved": 2, "copied": 2}));
        assert!(json_patch(&doc, &json!([{"op": "test", "path": "/list/0", "value": 5}])).unwrap_err().contains("testing value"));
        assert!(json_patch(&doc, &json!([{"op": "remove", "path": "/nope"}])).is_err());
    }

    fn kinds(path: &[String]) -> ListKind {
        match path.join(".").as_str() {
            "metadata.ownerReferences" => ListKind::Map(vec!["uid".into()]),
            "metadata.finalizers" => ListKind::Set,
            _ => ListKind::Atomic,
        }
    }

    #[test]
    fn strategic_merge_merges_keyed_lists_and_honours_directives() {
        let live = json!({
            "metadata": {"finalizers": ["a"], "ownerReferences": [{"uid": "1", "name": "x"}, {"uid": "2", "name": "y"}], "labels": {"k": "v", "drop": "me"}},
            "data": {"a": "1", "b": "2"},
            "items": [1, 2]
        });
        let patch = json!({
            "metadata": {
                "finalizers": ["b"],
                "ownerReferences": [{"uid": "2", "name": "z"}, {"uid": "1", "$patch": "delete"}, {"uid": "3", "name": "w"}],
                "$setElementOrder/ownerReferences": [{"uid": "2"}, {"uid": "3"}],
                "labels": {"drop": null}
            },
            "data": {"$patch": "replace", "c": "3"},
            "items": [3]
        });
        let got = strategic_merge_patch(&live, &patch, &kinds).unwrap();
        assert_eq!(
            got,
            json!({
                "metadata": {"finalizers": ["a", "b"], "ownerReferences": [{"uid": "2", "name": "z"}, {"uid": "3", "name": "w"}], "labels": {"k": "v"}},
                "data": {"c": "3"},
                "items": [3]
            })
        );
        let deleted =
            strategic_merge_patch(&live, &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}, "data": {"$patch": "delete"}}), &kinds).unwrap();
        assert_eq!(deleted["metadata"]["finalizers"], json!([]));
        assert!(deleted.get("data").is_none());
    }
}
