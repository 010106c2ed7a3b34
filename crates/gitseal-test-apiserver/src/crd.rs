//! CustomResourceDefinitions: registering the type they define, and the status the API
//! server's own controllers write (`NamesAccepted`, `Established`, `acceptedNames`,
//! `storedVersions`).

use crate::api::storage_key;
use crate::clock;
use crate::json::meta_mut;
use crate::managed::{self, Part, Write};
use crate::resources::{from_crd, Special};
use crate::store::{EventType, Store};
use serde_json::{json, Value};
use std::sync::Arc;

/// The finalizer that keeps a CRD until its custom resources are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

const CRD_STORAGE: (&str, &str) = ("apiextensions.k8s.io", "customresourcedefinitions");

fn crd_key() -> (String, String) {
    (CRD_STORAGE.0.to_string(), CRD_STORAGE.1.to_string())
}

fn condition(kind: &str, ok: bool, reason: &str, message: &str, old: &Value) -> Value {
    let status = if ok { "True" } else { "False" };
    let previous =
        old.pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| cs.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(kind)));
    let since = match previous {
        Some(p) if p.get("status").and_then(Value::as_str) == Some(status) => p.get("lastTransitionTime").cloned().unwrap_or(json!(clock::now_rfc3339())),
        _ => json!(clock::now_rfc3339()),
    };
    json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": since})
}

/// Registers (or re-registers) the type of CRD `name` and writes its status.
pub fn reconcile(store: &mut Store, name: &str) {
    let key = (String::new(), name.to_string());
    let Some(crd) = store.get(&crd_key(), &key).cloned() else {
        return;
    };
    let Ok(ty) = from_crd(&crd) else {
        return;
    };
    let kind_taken = store.types.iter().any(|t| t.group == ty.group && t.kind == ty.kind && t.plural != ty.plural);
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut conditions = Vec::new();
    if kind_taken {
        conditions.push(condition("NamesAccepted", false, "KindConflict", &format!("\"{}\" is already in use", ty.kind), &crd));
        conditions.push(condition("Established", false, "NotAccepted", "not all names are accepted", &crd));
    } else {
        conditions.push(condition("NamesAccepted", true, "NoConflicts", "no conflicts found", &crd));
        conditions.push(condition("Established", true, "InitialNamesAccepted", "the initial names have been accepted", &crd));
        if crd.pointer("/metadata/deletionTimestamp").is_some() {
            conditions.push(condition("Terminating", true, "InstanceDeletionInProgress", "CustomResource deletion is in progress", &crd));
        }
        let ty = Arc::new(ty.clone());
        store.types.retain(|t| !(t.group == ty.group && t.plural == ty.plural));
        store.types.push(ty);
    }
    let mut stored_versions: Vec<Value> = crd.pointer("/status/storedVersions").and_then(Value::as_array).cloned().unwrap_or_default();
    if !stored_versions.contains(&json!(ty.versions[0])) {
        stored_versions.push(json!(ty.versions[0]));
    }
    let status = json!({"conditions": conditions, "acceptedNames": if kind_taken { json!({"plural": "", "kind": ""}) } else { names }, "storedVersions": stored_versions});
    if crd.get("status") == Some(&status) {
        return;
    }
    let mut new = crd.clone();
    new["status"] = status;
    let Some(crd_type) = store.types.iter().find(|t| t.special == Special::Crd).cloned() else {
        return;
    };
    let mut entries = managed::decode(&crd).unwrap_or_default();
    let lk = |p: &[String]| crd_type.list_kind(p);
    let w = Write { manager: "kube-apiserver", subresource: "status", api_version: "apiextensions.k8s.io/v1", part: Part::Status };
    managed::record_update(&mut entries, &crd, &new, &w, &lk);
    meta_mut(&mut new).insert("managedFields".into(), managed::encode(&entries));
    store.put(&crd_key(), key, new, EventType::Modified);
}

/// Deletes the custom resources of a terminating CRD; true once none is left (the type is
/// then no longer served).
pub fn cleanup(store: &mut Store, crd: &Value) -> (bool, Vec<(String, String)>) {
    let Ok(ty) = from_crd(crd) else {
        return (true, Vec::new());
    };
    let Some(served) = store.types.iter().find(|t| t.group == ty.group && t.plural == ty.plural).cloned() else {
        return (true, Vec::new());
    };
    let sk = storage_key(&served);
    let instances: Vec<(String, String)> = store.all(&sk).map(|(k, _)| k.clone()).collect();
    if instances.is_empty() {
        store.types.retain(|t| !(t.group == ty.group && t.plural == ty.plural));
        return (true, Vec::new());
    }
    (false, instances)
}
