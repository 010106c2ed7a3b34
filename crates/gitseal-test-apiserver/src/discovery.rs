//! `/version`, API discovery (`/api`, `/apis`, group and group-version documents, in the
//! unaggregated form: kubectl falls back to it when the answer is plain JSON) and the
//! OpenAPI v3 documents kubectl reads to learn that the server validates fields itself
//! (`fieldValidation` on each PATCH operation).

use crate::json::to_sorted_string;
use crate::resources::ResourceType;
use crate::store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// A resource served without a store: a POST answers and keeps nothing (TokenReview).
struct Unstored {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
}

/// The resources served without a store: only `create`, cluster-scoped.
const UNSTORED: &[Unstored] = &[Unstored { group: "authentication.k8s.io", version: "v1", plural: "tokenreviews", kind: "TokenReview" }];

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z",
        "goVersion": "go1.23.3",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`.
pub fn core_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

/// Groups (other than core) and their versions, in registration order.
fn groups(store: &Store) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for t in store.types.iter().filter(|t| !t.group.is_empty()) {
        let entry = match out.iter_mut().position(|(g, _)| *g == t.group) {
            Some(i) => &mut out[i],
            None => {
                out.push((t.group.clone(), Vec::new()));
                out.last_mut().expect("just pushed")
            }
        };
        for v in &t.versions {
            if !entry.1.contains(v) {
                entry.1.push(v.clone());
            }
        }
        entry.1.sort_by(|a, b| version_priority(b).cmp(&version_priority(a)).then_with(|| a.cmp(b)));
    }
    for u in UNSTORED {
        match out.iter_mut().find(|(g, _)| g == u.group) {
            Some((_, vs)) if !vs.iter().any(|v| v == u.version) => vs.push(u.version.to_owned()),
            Some(_) => {}
            None => out.push((u.group.to_owned(), vec![u.version.to_owned()])),
        }
    }
    out
}

/// Kubernetes version priority: GA over beta over alpha, higher numbers first, versions of
/// another form last (the preferred version of a group is the first).
fn version_priority(v: &str) -> (u8, u64, u64) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let Ok(major) = rest[..digits].parse::<u64>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits..];
    let level = |prefix: &str, rank: u8| tail.strip_prefix(prefix).and_then(|n| n.parse::<u64>().ok()).map(|n| (rank, major, n));
    match tail {
        "" => (3, major, 0),
        _ => level("beta", 2).or_else(|| level("alpha", 1)).unwrap_or((0, 0, 0)),
    }
}

fn group_object(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
    json!({"name": group, "versions": vs, "preferredVersion": vs[0]})
}

/// `/apis`.
pub fn group_list(store: &Store) -> Value {
    let gs: Vec<Value> = groups(store).iter().map(|(g, vs)| group_object(g, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
}

/// `/apis/{group}`.
pub fn group(store: &Store, name: &str) -> Option<Value> {
    let (g, vs) = groups(store).into_iter().find(|(g, _)| g == name)?;
    let mut v = group_object(&g, &vs);
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    Some(v)
}

fn types_of<'a>(store: &'a Store, group: &'a str, version: &'a str) -> impl Iterator<Item = &'a Arc<ResourceType>> {
    store.types.iter().filter(move |t| t.group == group && t.serves(version))
}

/// `/api/v1` or `/apis/{group}/{version}`.
pub fn resource_list(store: &Store, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for t in types_of(store, group, version) {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": VERBS,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        if t.status_subresource {
            resources.push(json!({"name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}));
        }
    }
    for u in UNSTORED.iter().filter(|u| u.group == group && u.version == version) {
        resources.push(json!({"name": u.plural, "singularName": u.kind.to_lowercase(), "namespaced": false, "kind": u.kind, "verbs": ["create"]}));
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn hash(text: &str) -> String {
    // FNV-1a, 64 bits, twice with different offsets: enough to tell documents apart.
    let fnv = |seed: u64| text.bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{:016X}{:016X}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4))
}

/// `/openapi/v3`: one path per group-version, each with the hash of its document.
pub fn openapi_root(store: &Store) -> Value {
    let mut paths = BTreeMap::new();
    let mut gvs: Vec<(String, String)> = vec![(String::new(), "v1".into())];
    for (g, vs) in groups(store) {
        for v in vs {
            gvs.push((g.clone(), v));
        }
    }
    for (g, v) in gvs {
        if let Some(doc) = openapi_group_version(store, &g, &v) {
            let p = gv_path(&g, &v);
            paths.insert(p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash(&to_sorted_string(&doc)))}));
        }
    }
    json!({"paths": paths})
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`: the operations of each
/// resource with their GroupVersionKind and query parameters, and the CRD schemas.
pub fn openapi_group_version(store: &Store, group: &str, version: &str) -> Option<Value> {
    let mut paths = BTreeMap::new();
    let mut schemas = BTreeMap::new();
    let params =
        |names: &[&str]| -> Vec<Value> { names.iter().map(|n| json!({"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": true}})).collect() };
    for t in types_of(store, group, version) {
        let gvk = json!({"group": t.group, "version": version, "kind": t.kind});
        let base = format!("/{}", gv_path(group, version));
        let item = if t.namespaced { format!("{base}/namespaces/{{namespace}}/{}/{{name}}", t.plural) } else { format!("{base}/{}/{{name}}", t.plural) };
        let collection = item.trim_end_matches("/{name}").to_string();
        let op = |id: &str, query: &[&str]| json!({"operationId": format!("{id}{}", t.kind), "x-kubernetes-group-version-kind": gvk, "parameters": params(query), "responses": {"200": {"description": "OK"}}});
        paths.insert(
            item.clone(),
            json!({
                "get": op("read", &["pretty"]),
                "put": op("replace", &["dryRun", "fieldManager", "fieldValidation"]),
                "patch": op("patch", &["dryRun", "fieldManager", "fieldValidation", "force"]),
                "delete": op("delete", &["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            }),
        );
        paths.insert(
            collection,
            json!({
                "get": op("list", &["allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch"]),
                "post": op("create", &["dryRun", "fieldManager", "fieldValidation"]),
                "delete": op("deletecollection", &["dryRun", "fieldSelector", "labelSelector", "propagationPolicy"]),
            }),
        );
        if t.status_subresource {
            paths.insert(
                format!("{item}/status"),
                json!({"get": op("read", &["pretty"]) , "put": op("replaceStatus", &["dryRun", "fieldManager", "fieldValidation"]), "patch": op("patchStatus", &["dryRun", "fieldManager", "fieldValidation", "force"])}),
            );
        }
        if let Some(schema) = t.schemas.get(version) {
            let mut s = schema.clone();
            s["x-kubernetes-group-version-kind"] = json!([gvk]);
            let reversed: Vec<&str> = group.split('.').rev().collect();
            schemas.insert(format!("{}.{version}.{}", reversed.join("."), t.kind), s);
        }
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas}
    }))
}

#[cfg(test)]
mod tests {
    use super::version_priority;

    #[test]
    fn versions_sort_as_kubernetes_sorts_them() {
        let mut vs = vec!["v1alpha1", "v2beta1", "v1", "foo", "v1beta2", "v2", "v10alpha3"];
        vs.sort_by(|a, b| version_priority(b).cmp(&version_priority(a)).then_with(|| a.cmp(b)));
        assert_eq!(vs, ["v2", "v1", "v2beta1", "v1beta2", "v10alpha3", "v1alpha1", "foo"]);
    }
}
