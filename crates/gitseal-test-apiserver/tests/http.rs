//! The API conventions kubectl does not exercise, checked over raw HTTP as kube-rs and other
//! clients use them: watch history, 410 Expired, bookmarks, timeouts, streaming lists,
//! selectors entering and leaving, apply with JSON and YAML bodies, Status errors, paging,
//! the two Event APIs over one store, tokens.

mod support;

use gitseal_test_apiserver::{Options, TestApiServer};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::Response;

fn request(server: &TestApiServer, method: &str, path: &str, content_type: &str, body: &str) -> Response {
    request_with(server, method, path, content_type, body, &[])
}

fn request_with(server: &TestApiServer, method: &str, path: &str, content_type: &str, body: &str, extra: &[(&str, &str)]) -> Response {
    support::send(server, method, path, Some(server.token()), content_type, body, extra)
}

/// A watch: events are read one line at a time from the chunked stream.
struct Watch {
    reader: BufReader<TcpStream>,
}

impl Watch {
    fn open(server: &TestApiServer, path: &str) -> Watch {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nAuthorization: Bearer {}\r\n\r\n", server.addr(), server.token());
        s.write_all(head.as_bytes()).unwrap();
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
        }
        Watch { reader }
    }

    /// The next event, or None when the stream ends.
    fn next(&mut self) -> Option<Value> {
        let mut size = String::new();
        loop {
            size.clear();
            if self.reader.read_line(&mut size).ok()? == 0 {
                return None;
            }
            if !size.trim().is_empty() {
                break;
            }
        }
        let n = usize::from_str_radix(size.trim(), 16).ok()?;
        if n == 0 {
            return None;
        }
        let mut chunk = vec![0u8; n + 2];
        self.reader.read_exact(&mut chunk).ok()?;
        serde_json::from_slice(&chunk[..n]).ok()
    }
}

fn configmap(name: &str, labels: Value) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}).to_string()
}

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()
}

#[test]
fn watch_from_a_compacted_resource_version_gets_410_expired() {
    let server = TestApiServer::start_with("127.0.0.1:0".parse().unwrap(), Options { watch_history: 5, ..Options::default() }).unwrap();
    let first = request(&server, "POST", CMS, "application/json", &configmap("c0", json!({})));
    assert_eq!(first.code, 201);
    for i in 1..10 {
        assert_eq!(request(&server, "POST", CMS, "application/json", &configmap(&format!("c{i}"), json!({}))).code, 201);
    }
    let mut w = Watch::open(&server, &format!("{CMS}?watch=1&resourceVersion={}", rv(&first.body)));
    let e = w.next().expect("an ERROR event");
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");
    assert!(w.next().is_none(), "the stream ends after the error");
    // A list gives a fresh resourceVersion to watch from.
    let list = request(&server, "GET", CMS, "", "");
    let mut w = Watch::open(&server, &format!("{CMS}?watch=1&resourceVersion={}&timeoutSeconds=1", rv(&list.body)));
    assert!(w.next().is_none(), "nothing happened since the list; the watch times out");
}

#[test]
fn watch_replays_history_then_sends_bookmarks() {
    let server =
        TestApiServer::start_with("127.0.0.1:0".parse().unwrap(), Options { bookmark_interval: Duration::from_millis(200), ..Options::default() }).unwrap();
    let created = request(&server, "POST", CMS, "application/json", &configmap("a", json!({})));
    let patched = request(&server, "PATCH", &format!("{CMS}/a"), "application/merge-patch+json", r#"{"data":{"k":"w"}}"#);
    assert_eq!(patched.code, 200);
    assert!(rv(&patched.body) > rv(&created.body));
    let deleted = request(&server, "DELETE", &format!("{CMS}/a"), "", "");
    assert_eq!(deleted.body["status"], "Success");
    let mut w = Watch::open(&server, &format!("{CMS}?watch=true&allowWatchBookmarks=true&resourceVersion={}", rv(&created.body)));
    let m = w.next().unwrap();
    assert_eq!((m["type"].as_str(), m["object"]["data"]["k"].as_str()), (Some("MODIFIED"), Some("w")));
    let d = w.next().unwrap();
    assert_eq!(d["type"], "DELETED");
    assert!(rv(&d["object"]) > rv(&patched.body), "a deletion has its own resourceVersion");
    let b = w.next().unwrap();
    assert_eq!(b["type"], "BOOKMARK");
    assert_eq!(b["object"]["kind"], "ConfigMap");
    assert!(rv(&b["object"]) >= rv(&d["object"]));
}

#[test]
fn streaming_list_sends_initial_events_then_an_annotated_bookmark() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    request(&server, "POST", CMS, "application/json", &configmap("x", json!({})));
    let refused = request(&server, "GET", &format!("{CMS}?watch=1&sendInitialEvents=true"), "", "");
    assert_eq!(refused.code, 422);
    let mut w = Watch::open(&server, &format!("{CMS}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"));
    let a = w.next().unwrap();
    assert_eq!((a["type"].as_str(), a["object"]["metadata"]["name"].as_str()), (Some("ADDED"), Some("x")));
    let b = w.next().unwrap();
    assert_eq!(b["type"], "BOOKMARK");
    assert_eq!(b["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
}

#[test]
fn a_label_selected_watch_sees_objects_enter_and_leave() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    request(&server, "POST", CMS, "application/json", &configmap("c", json!({})));
    let mut w = Watch::open(&server, &format!("{CMS}?watch=1&labelSelector=app%3Dweb&resourceVersion=0"));
    request(&server, "PATCH", &format!("{CMS}/c"), "application/merge-patch+json", r#"{"metadata":{"labels":{"app":"web"}}}"#);
    assert_eq!(w.next().unwrap()["type"], "ADDED");
    request(&server, "PATCH", &format!("{CMS}/c"), "application/merge-patch+json", r#"{"data":{"k":"2"}}"#);
    assert_eq!(w.next().unwrap()["type"], "MODIFIED");
    request(&server, "PATCH", &format!("{CMS}/c"), "application/json-patch+json", r#"[{"op":"remove","path":"/metadata/labels/app"}]"#);
    assert_eq!(w.next().unwrap()["type"], "DELETED");
}

#[test]
fn apply_with_json_and_yaml_bodies_tracks_managers_and_conflicts() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let path = "/api/v1/namespaces/default/secrets/gen";
    let apply = |manager: &str, force: bool, body: &str| {
        request(&server, "PATCH", &format!("{path}?fieldManager={manager}&force={force}"), "application/apply-patch+yaml", body)
    };
    let body = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gen", "labels": {"gitseal.dev/managed": "true"}}, "data": {"a": "MQ=="}})
        .to_string();
    let created = apply("gitseal", true, &body);
    assert_eq!(created.code, 201, "{}", created.body);
    assert_eq!(created.body["data"]["a"], "MQ==");
    let mf = &created.body["metadata"]["managedFields"][0];
    assert_eq!((mf["manager"].as_str(), mf["operation"].as_str()), (Some("gitseal"), Some("Apply")));
    let yaml = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gen\ndata:\n  a: Mg==\n";
    let conflict = apply("someone-else", false, yaml);
    assert_eq!(conflict.code, 409);
    assert_eq!(conflict.body["reason"], "Conflict");
    assert_eq!(conflict.body["details"]["causes"][0]["field"], ".data.a");
    assert!(conflict.body["message"].as_str().unwrap().contains("conflict with \"gitseal\""));
    let missing_manager = request(&server, "PATCH", path, "application/apply-patch+yaml", yaml);
    assert_eq!(missing_manager.code, 422);
    let stale = apply("gitseal", true, &yaml.replace("  name: gen\n", "  name: gen\n  resourceVersion: \"1\"\n"));
    assert_eq!((stale.code, stale.body["reason"].as_str()), (409, Some("Conflict")), "a resourceVersion in an apply is a precondition");
    let with_managed = apply("gitseal", true, &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gen", "managedFields": []}}).to_string());
    assert_eq!(with_managed.code, 400);
    // An Update by another manager takes the fields it changes.
    let edited = request(&server, "PATCH", &format!("{path}?fieldManager=kubectl-edit"), "application/merge-patch+json", r#"{"data":{"a":"Mw=="}}"#);
    assert_eq!(edited.code, 200);
    let managers: Vec<&str> = edited.body["metadata"]["managedFields"].as_array().unwrap().iter().map(|m| m["manager"].as_str().unwrap()).collect();
    assert_eq!(managers, ["gitseal", "kubectl-edit"]);
    let restored = apply("gitseal", true, &body);
    assert_eq!(restored.body["data"]["a"], "MQ==");
    let managers: Vec<&str> = restored.body["metadata"]["managedFields"].as_array().unwrap().iter().map(|m| m["manager"].as_str().unwrap()).collect();
    assert_eq!(managers, ["gitseal"], "a forced apply takes the field back");
    // The same apply again writes nothing.
    let again = apply("gitseal", true, &body);
    assert_eq!(again.body["metadata"]["resourceVersion"], restored.body["metadata"]["resourceVersion"]);
}

#[test]
fn errors_are_status_objects_with_reason_and_code() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let missing = request(&server, "GET", &format!("{CMS}/nope"), "", "");
    assert_eq!((missing.code, missing.body["reason"].as_str()), (404, Some("NotFound")));
    assert_eq!(missing.body["message"], "configmaps \"nope\" not found");
    assert_eq!(missing.body["details"], json!({"name": "nope", "kind": "configmaps"}));
    assert_eq!(request(&server, "PUT", CMS, "application/json", "{}").body["reason"], "MethodNotAllowed");
    let bad_type = request(&server, "PATCH", &format!("{CMS}/nope"), "text/plain", "x");
    assert_eq!((bad_type.code, bad_type.body["reason"].as_str()), (415, Some("UnsupportedMediaType")));
    let bad_name = request(&server, "POST", CMS, "application/json", &configmap("Not_Valid", json!({})));
    assert_eq!((bad_name.code, bad_name.body["reason"].as_str()), (422, Some("Invalid")));
    assert_eq!(bad_name.body["details"]["causes"][0]["field"], "metadata.name");
    request(&server, "POST", CMS, "application/json", &configmap("c", json!({})));
    let dup = request(&server, "POST", CMS, "application/json", &configmap("c", json!({})));
    assert_eq!((dup.code, dup.body["reason"].as_str()), (409, Some("AlreadyExists")));
    let stale = request(
        &server,
        "PUT",
        &format!("{CMS}/c"),
        "application/json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "1"}}).to_string(),
    );
    assert_eq!((stale.code, stale.body["reason"].as_str()), (409, Some("Conflict")));
    let failed_test = request(&server, "PATCH", &format!("{CMS}/c"), "application/json-patch+json", r#"[{"op":"test","path":"/data/k","value":"other"}]"#);
    assert_eq!(failed_test.code, 422);
    let unknown = request(&server, "GET", "/apis/nowhere.example.com/v1/things", "", "");
    assert_eq!(unknown.code, 404);
    let strict = request(
        &server,
        "POST",
        &format!("{CMS}?fieldValidation=Strict"),
        "application/json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s"},"extra":1}"#,
    );
    assert_eq!((strict.code, strict.body["message"].as_str()), (400, Some("strict decoding error: unknown field \"extra\"")));
    let warned = request(&server, "POST", CMS, "application/json", r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"extra":1}"#);
    assert_eq!(warned.code, 201);
    assert!(warned.headers.iter().any(|(k, v)| k == "warning" && v.contains("unknown field")), "{:?}", warned.headers);
}

#[test]
fn a_wrong_token_is_refused() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.write_all(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer wrong\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
}

#[test]
fn lists_page_with_limit_and_continue() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    for i in 0..5 {
        request(&server, "POST", CMS, "application/json", &configmap(&format!("c{i}"), json!({"n": i.to_string()})));
    }
    let first = request(&server, "GET", &format!("{CMS}?limit=2"), "", "");
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["metadata"]["remainingItemCount"], 3);
    let token = first.body["metadata"]["continue"].as_str().unwrap();
    let rest = request(&server, "GET", &format!("{CMS}?limit=10&continue={token}"), "", "");
    let names: Vec<&str> = rest.body["items"].as_array().unwrap().iter().map(|i| i["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["c2", "c3", "c4"]);
    assert!(rest.body["metadata"].get("continue").is_none());
    let selected = request(&server, "GET", &format!("{CMS}?labelSelector=n%20in%20(1%2C3)"), "", "");
    assert_eq!(selected.body["items"].as_array().unwrap().len(), 2);
    let by_name = request(&server, "GET", &format!("{CMS}?fieldSelector=metadata.name%3Dc4"), "", "");
    assert_eq!(by_name.body["items"][0]["metadata"]["name"], "c4");
}

#[test]
fn events_are_one_store_through_both_event_apis() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "e1"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reason": "MacMismatch", "note": "integrity check failed", "type": "Warning",
        "action": "Decrypt", "reportingController": "gitseal.dev/controller", "reportingInstance": "pod-a",
        "regarding": {"apiVersion": "gitseal.dev/v1alpha1", "kind": "EncryptedSecret", "name": "s", "namespace": "default"}
    });
    let created = request(&server, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", "application/json", &event.to_string());
    assert_eq!(created.code, 201, "{}", created.body);
    let core = request(&server, "GET", "/api/v1/namespaces/default/events/e1", "", "");
    assert_eq!(core.body["message"], "integrity check failed");
    assert_eq!(core.body["involvedObject"]["kind"], "EncryptedSecret");
    assert_eq!(core.body["reportingComponent"], "gitseal.dev/controller");
    let back = request(&server, "GET", "/apis/events.k8s.io/v1/namespaces/default/events/e1", "", "");
    assert_eq!(back.body["note"], "integrity check failed");
    assert_eq!(back.body["apiVersion"], "events.k8s.io/v1");
}

#[test]
fn sorted_keys_on_every_answer() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut s = TcpStream::connect(server.addr()).unwrap();
    let body = r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"z","labels":{"b":"1","a":"2"}},"data":{"y":"1","x":"2"}}"#;
    let req = format!("POST {CMS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let json = out.split_once("\r\n\r\n").unwrap().1;
    let json = if json.starts_with('{') { json.to_string() } else { support::dechunk(json) };
    assert!(json.starts_with(r#"{"apiVersion":"v1","data":{"x":"2","y":"1"},"kind":"ConfigMap","metadata":{"#), "{json}");
    assert!(json.contains(r#""labels":{"a":"2","b":"1"}"#), "{json}");
}

#[test]
fn dependents_of_missing_owners_are_collected_and_dangling_references_dropped() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let owner = request(&server, "POST", CMS, "application/json", &configmap("owner", json!({})));
    let owner_uid = owner.body["metadata"]["uid"].as_str().unwrap().to_string();
    let reference = |uid: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid});
    let orphan = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "orphan", "ownerReferences": [reference("0000-missing")]}});
    assert_eq!(request(&server, "POST", CMS, "application/json", &orphan.to_string()).code, 201);
    assert_eq!(request(&server, "GET", &format!("{CMS}/orphan"), "", "").code, 404, "no owner exists: collected");
    let shared =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "ownerReferences": [reference(&owner_uid), reference("0000-missing")]}});
    request(&server, "POST", CMS, "application/json", &shared.to_string());
    let kept = request(&server, "GET", &format!("{CMS}/shared"), "", "");
    assert_eq!(kept.code, 200);
    assert_eq!(kept.body["metadata"]["ownerReferences"], json!([reference(&owner_uid)]), "the dangling reference goes");
    request(&server, "DELETE", &format!("{CMS}/owner"), "application/json", r#"{"propagationPolicy":"Background"}"#);
    assert_eq!(request(&server, "GET", &format!("{CMS}/shared"), "", "").code, 404, "its last owner gone: collected");
}

#[test]
fn foreground_deletion_waits_for_blocking_dependents() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let owner = request(&server, "POST", CMS, "application/json", &configmap("owner", json!({})));
    let uid = owner.body["metadata"]["uid"].as_str().unwrap().to_string();
    let dependent = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "dep", "finalizers": ["example.com/hold"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid, "blockOwnerDeletion": true}]
    }});
    assert_eq!(request(&server, "POST", CMS, "application/json", &dependent.to_string()).code, 201);
    let pending = request(
        &server,
        "DELETE",
        &format!("{CMS}/owner"),
        "application/json",
        r#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}"#,
    );
    assert_eq!(pending.code, 200);
    assert_eq!(pending.body["metadata"]["finalizers"], json!(["foregroundDeletion"]), "{}", pending.body);
    assert!(pending.body["metadata"]["deletionTimestamp"].is_string());
    let dep = request(&server, "GET", &format!("{CMS}/dep"), "", "");
    assert!(dep.body["metadata"]["deletionTimestamp"].is_string(), "the dependent is being deleted too");
    assert_eq!(request(&server, "GET", &format!("{CMS}/owner"), "", "").code, 200, "the owner waits for its blocking dependent");
    let released = request(&server, "PATCH", &format!("{CMS}/dep"), "application/merge-patch+json", r#"{"metadata":{"finalizers":null}}"#);
    assert_eq!(released.code, 200);
    assert_eq!(request(&server, "GET", &format!("{CMS}/dep"), "", "").code, 404);
    assert_eq!(request(&server, "GET", &format!("{CMS}/owner"), "", "").code, 404, "then the owner goes");
}
