//! Deletion as the API server and its garbage collector carry it out: finalizers keep an
//! object (with `deletionTimestamp` set) until they are removed; `orphan` and
//! `foregroundDeletion` are the collector's own finalizers; dependents whose owners are all
//! gone are deleted in the background; terminating namespaces and CRDs lose their content
//! first.
//!
//! The collector runs synchronously after each write that can concern it, to a fixpoint.

use crate::api::storage_key;
use crate::clock;
use crate::crd;
use crate::json::{meta_mut, meta_str};
use crate::resources::{ResourceType, Special};
use crate::store::{EventType, ObjectKey, StorageKey, Store};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Outcome of a DELETE.
pub enum Deletion {
    /// Gone at once.
    Removed(Value),
    /// Kept until finalizers are removed (deletionTimestamp set).
    Pending(Value),
}

const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

fn type_of(store: &Store, sk: &StorageKey) -> Option<Arc<ResourceType>> {
    store.types.iter().find(|t| (t.group.is_empty() || t.special != Special::Event) && storage_key(t) == *sk).cloned()
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers").and_then(Value::as_array).map(|a| a.iter().filter_map(|f| f.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn set_finalizers(obj: &mut Value, f: &[String]) {
    let meta = meta_mut(obj);
    if f.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), json!(f));
    }
}

/// Starts deleting an object with a propagation policy, then runs the collector.
pub fn start_deletion(store: &mut Store, ty: &ResourceType, key: &ObjectKey, propagation: &str) -> Deletion {
    let sk = storage_key(ty);
    let before = store.get(&sk, key).cloned().unwrap_or(Value::Null);
    mark_deleting(store, &sk, ty, key, propagation);
    sweep(store);
    match store.get(&sk, key) {
        Some(obj) if meta_str(obj, "uid") == meta_str(&before, "uid") => Deletion::Pending(obj.clone()),
        _ => {
            let mut gone = before;
            meta_mut(&mut gone).insert("resourceVersion".into(), json!(store.rv().to_string()));
            Deletion::Removed(gone)
        }
    }
}

/// Marks one object as being deleted (or removes it when nothing holds it); true when
/// something changed.
fn mark_deleting(store: &mut Store, sk: &StorageKey, ty: &ResourceType, key: &ObjectKey, propagation: &str) -> bool {
    let Some(mut obj) = store.get(sk, key).cloned() else {
        return false;
    };
    let mut fins = finalizers(&obj);
    let wanted = match propagation {
        "Orphan" => Some(ORPHAN),
        "Foreground" => Some(FOREGROUND),
        _ => None,
    };
    let already = obj.pointer("/metadata/deletionTimestamp").is_some();
    if let Some(f) = wanted {
        if !fins.iter().any(|x| x == f) {
            fins.push(f.to_string());
        }
    }
    if already {
        if fins != finalizers(&obj) {
            set_finalizers(&mut obj, &fins);
            store.put(sk, key.clone(), obj, EventType::Modified);
            return true;
        }
        return false;
    }
    if fins.is_empty() && ty.special != Special::Namespace {
        store.remove(sk, key);
        return true;
    }
    set_finalizers(&mut obj, &fins);
    let meta = meta_mut(&mut obj);
    meta.insert("deletionTimestamp".into(), json!(clock::now_rfc3339()));
    meta.insert("deletionGracePeriodSeconds".into(), json!(0));
    if ty.has_generation {
        let g = meta.get("generation").and_then(Value::as_i64).unwrap_or(0) + 1;
        meta.insert("generation".into(), json!(g));
    }
    if ty.special == Special::Namespace {
        obj["status"]["phase"] = json!("Terminating");
    }
    store.put(sk, key.clone(), obj, EventType::Modified);
    true
}

/// Checks a written object: owners that do not exist make it go, a deletion in progress runs
/// the collector.
pub fn after_write(store: &mut Store, sk: &StorageKey, key: &ObjectKey) {
    let Some(obj) = store.get(sk, key) else {
        return;
    };
    let refs = owner_refs(obj);
    let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
    if deleting || refs.iter().any(|r| !owner_present(store, r, &key.0)) {
        sweep(store);
    }
}

/// Whether the owner a reference names exists (same uid, and in the dependent's namespace
/// unless cluster-scoped).
fn owner_present(store: &Store, r: &Value, namespace: &str) -> bool {
    let uid = r.get("uid").and_then(Value::as_str).unwrap_or("");
    store.storage_keys().iter().any(|sk| store.all(sk).any(|(k, o)| meta_str(o, "uid") == uid && (k.0.is_empty() || k.0 == namespace)))
}

struct Located {
    sk: StorageKey,
    key: ObjectKey,
    obj: Value,
}

fn everything(store: &Store) -> Vec<Located> {
    let mut out = Vec::new();
    for sk in store.storage_keys() {
        for (key, obj) in store.all(&sk) {
            out.push(Located { sk: sk.clone(), key: key.clone(), obj: obj.clone() });
        }
    }
    out
}

fn owner_refs(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/ownerReferences").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn refers_to(r: &Value, uid: &str) -> bool {
    r.get("uid").and_then(Value::as_str) == Some(uid)
}

/// Runs the collector until nothing changes.
pub fn sweep(store: &mut Store) {
    for _ in 0..10_000 {
        if !sweep_once(store) {
            return;
        }
    }
}

fn sweep_once(store: &mut Store) -> bool {
    let all = everything(store);
    // uid -> namespace ("" for cluster-scoped) of every existing object.
    let uids: HashMap<String, String> = all.iter().map(|l| (meta_str(&l.obj, "uid").to_string(), l.key.0.clone())).collect();
    for l in all.iter().filter(|l| l.obj.pointer("/metadata/deletionTimestamp").is_some()) {
        let Some(ty) = type_of(store, &l.sk) else { continue };
        let uid = meta_str(&l.obj, "uid").to_string();
        let mut fins = finalizers(&l.obj);
        let dependents: Vec<&Located> = all.iter().filter(|d| owner_refs(&d.obj).iter().any(|r| refers_to(r, &uid))).collect();
        if fins.iter().any(|f| f == ORPHAN) {
            for d in &dependents {
                let mut obj = d.obj.clone();
                let refs: Vec<Value> = owner_refs(&obj).into_iter().filter(|r| !refers_to(r, &uid)).collect();
                if refs.is_empty() {
                    meta_mut(&mut obj).remove("ownerReferences");
                } else {
                    meta_mut(&mut obj).insert("ownerReferences".into(), json!(refs));
                }
                store.put(&d.sk, d.key.clone(), obj, EventType::Modified);
            }
            fins.retain(|f| f != ORPHAN);
            let mut obj = l.obj.clone();
            set_finalizers(&mut obj, &fins);
            finish_or_put(store, l, obj, &ty);
            return true;
        }
        if fins.iter().any(|f| f == FOREGROUND) {
            let mut changed = false;
            for d in dependents.iter().filter(|d| d.obj.pointer("/metadata/deletionTimestamp").is_none()) {
                if let Some(dty) = type_of(store, &d.sk) {
                    changed |= mark_deleting(store, &d.sk, &dty, &d.key, "Foreground");
                }
            }
            if changed {
                return true;
            }
            let blocking =
                dependents.iter().any(|d| owner_refs(&d.obj).iter().any(|r| refers_to(r, &uid) && r.get("blockOwnerDeletion") == Some(&json!(true))));
            if !blocking {
                fins.retain(|f| f != FOREGROUND);
                let mut obj = l.obj.clone();
                set_finalizers(&mut obj, &fins);
                finish_or_put(store, l, obj, &ty);
                return true;
            }
            continue;
        }
        match ty.special {
            Special::Namespace => {
                let ns = &l.key.1;
                let mut changed = false;
                let mut left = false;
                for c in all.iter().filter(|c| c.key.0 == *ns && !c.key.0.is_empty()) {
                    left = true;
                    if c.obj.pointer("/metadata/deletionTimestamp").is_none() {
                        if let Some(cty) = type_of(store, &c.sk) {
                            changed |= mark_deleting(store, &c.sk, &cty, &c.key, "Background");
                        }
                    }
                }
                if changed {
                    return true;
                }
                if !left && fins.is_empty() {
                    store.remove(&l.sk, &l.key);
                    return true;
                }
            }
            Special::Crd if fins.iter().any(|f| f == crd::CLEANUP_FINALIZER) => {
                let (done, instances) = crd::cleanup(store, &l.obj);
                if done {
                    fins.retain(|f| f != crd::CLEANUP_FINALIZER);
                    let mut obj = l.obj.clone();
                    set_finalizers(&mut obj, &fins);
                    finish_or_put(store, l, obj, &ty);
                    return true;
                }
                let mut changed = false;
                if let Ok(cr) = crate::resources::from_crd(&l.obj) {
                    let sk = (cr.group.clone(), cr.plural.clone());
                    if let Some(cty) = type_of(store, &sk) {
                        for key in instances {
                            let deleting = store.get(&sk, &key).is_some_and(|o| o.pointer("/metadata/deletionTimestamp").is_some());
                            if !deleting {
                                changed |= mark_deleting(store, &sk, &cty, &key, "Background");
                            }
                        }
                    }
                }
                if changed {
                    return true;
                }
            }
            _ => {
                if fins.is_empty() {
                    store.remove(&l.sk, &l.key);
                    return true;
                }
            }
        }
    }
    // Dependents whose owners are gone, all in one pass.
    let mut changed = false;
    for d in all.iter().filter(|d| d.obj.pointer("/metadata/deletionTimestamp").is_none()) {
        let refs = owner_refs(&d.obj);
        if refs.is_empty() {
            continue;
        }
        let present = |r: &Value| -> bool {
            let uid = r.get("uid").and_then(Value::as_str).unwrap_or("");
            match uids.get(uid) {
                Some(owner_ns) => owner_ns.is_empty() || *owner_ns == d.key.0,
                None => false,
            }
        };
        let alive: Vec<Value> = refs.iter().filter(|r| present(r)).cloned().collect();
        if alive.is_empty() {
            if let Some(dty) = type_of(store, &d.sk) {
                changed |= mark_deleting(store, &d.sk, &dty, &d.key, "Background");
            }
        } else if alive.len() != refs.len() {
            let mut obj = d.obj.clone();
            meta_mut(&mut obj).insert("ownerReferences".into(), json!(alive));
            store.put(&d.sk, d.key.clone(), obj, EventType::Modified);
            changed = true;
        }
    }
    changed
}

fn finish_or_put(store: &mut Store, l: &Located, obj: Value, ty: &ResourceType) {
    if finalizers(&obj).is_empty() && ty.special != Special::Namespace {
        store.remove_as(&l.sk, &l.key, obj);
    } else {
        store.put(&l.sk, l.key.clone(), obj, EventType::Modified);
    }
}
