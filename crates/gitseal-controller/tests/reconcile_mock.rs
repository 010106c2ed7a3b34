//! The reconcile against a mocked API server (kube's tower-test pattern): which requests it
//! makes, in which order, and when it decrypts. The end-to-end tests run the binary against
//! the test API server; these pin down the request sequence and the decrypt counter.

use std::sync::Arc;
use std::time::Duration;

use gitseal_controller::keys::{load_from_secret, KeyState};
use gitseal_controller::reconcile::{reconcile, Context};
use gitseal_controller::resource::EncryptedSecret;
use gitseal_core::document::yaml::json;
use gitseal_core::document::yaml::value::parse_documents;
use gitseal_core::encrypted_secret::{encrypt_secret_manifest, Scope};
use gitseal_core::keys::AgeRecipient;
use gitseal_core::Recipients;
use http::{Request, Response};
use k8s_openapi::ByteString;
use kube::client::Body;
use kube::runtime::events::{Recorder, Reporter};
use kube::Client;
use serde_json::{json, Value};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\ntype: Opaque\nstringData:\n  password: pw-Zq8v1-plaintext\n";
const UID: &str = "6f1c0f0e-0000-4000-8000-000000000001";

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

struct Key {
    identity: String,
    recipient: String,
}

fn key() -> Key {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    Key { identity: id.to_string().expose_secret().to_owned(), recipient: id.to_public().to_string() }
}

fn sealed_object(recipient: &str) -> EncryptedSecret {
    let recipients = Recipients { age: vec![AgeRecipient::parse(recipient).unwrap()], ..Recipients::default() };
    let yaml = encrypt_secret_manifest("db.yaml", SECRET.as_bytes(), Scope::Strict, &recipients).unwrap().into_string();
    let mut obj: EncryptedSecret = serde_json::from_value(json::to_json(&parse_documents(&yaml).unwrap()[0])).unwrap();
    obj.metadata.uid = Some(UID.into());
    obj.metadata.generation = Some(1);
    obj.metadata.resource_version = Some("10".into());
    obj
}

fn context(keys_of: &[&Key]) -> (Arc<Context>, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let mut data = keys_of.iter().enumerate().map(|(i, k)| (format!("k{i}.agekey"), ByteString(k.identity.clone().into_bytes()))).collect();
    let keys = KeyState::missing("gitseal-system/gitseal-keys").updated(Some(load_from_secret("gitseal-system/gitseal-keys", &mut data))).unwrap();
    let recorder = Recorder::new(client.clone(), Reporter { controller: "gitseal-controller".into(), instance: None });
    (Arc::new(Context::new(client, recorder, keys)), handle)
}

/// Answers the next request, which must be `method` on `path` (its query must hold each of
/// `query`), with what `respond` makes of the request's body; returns that body.
async fn answer(handle: &mut Handle, method: &str, path: &str, query: &[&str], respond: impl FnOnce(&Value) -> (u16, Value)) -> Value {
    let (request, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await.expect("a request in time").expect("a request");
    let uri = request.uri().clone();
    assert_eq!((request.method().as_str(), uri.path()), (method, path), "{uri}");
    for q in query {
        assert!(uri.query().unwrap_or_default().split('&').any(|p| p == *q), "{uri} has no {q}");
    }
    let sent = request.into_body().collect_bytes().await.unwrap();
    let sent: Value = if sent.is_empty() { Value::Null } else { serde_json::from_slice(&sent).unwrap() };
    let (code, body) = respond(&sent);
    send.send_response(Response::builder().status(code).body(Body::from(serde_json::to_vec(&body).unwrap())).unwrap());
    sent
}

async fn no_more_requests(handle: &mut Handle) {
    if let Ok(Some((request, _))) = tokio::time::timeout(Duration::from_millis(200), handle.next_request()).await {
        panic!("unexpected request {} {}", request.method(), request.uri());
    }
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "secrets \"db\" not found"})
}

/// The Secret as the API server would return it after `applied` (the apply body), at `rv`.
fn stored_secret(applied: &Value, rv: &str) -> Value {
    let mut s = applied.clone();
    s["metadata"]["resourceVersion"] = rv.into();
    s["metadata"]["uid"] = "5ec2e7".into();
    s
}

const SECRET_PATH: &str = "/api/v1/namespaces/apps/secrets/db";
const STATUS_PATH: &str = "/apis/gitseal.dev/v1alpha1/namespaces/apps/encryptedsecrets/db/status";
const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/apps/events";

fn status_of(obj: &EncryptedSecret, patch: &Value) -> EncryptedSecret {
    let mut next = obj.clone();
    next.status = Some(serde_json::from_value(patch["status"].clone()).unwrap());
    next.metadata.resource_version = Some("11".into());
    next
}

fn echo_status(obj: &EncryptedSecret) -> impl FnOnce(&Value) -> (u16, Value) + '_ {
    move |patch| (200, serde_json::to_value(status_of(obj, patch)).unwrap())
}

#[tokio::test]
async fn a_new_object_is_applied_once_and_a_resync_decrypts_nothing() {
    let k = key();
    let (ctx, mut api) = context(&[&k]);
    let obj = sealed_object(&k.recipient);

    let run = tokio::spawn(reconcile(Arc::new(obj.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (404, not_found())).await;
    let applied = answer(&mut api, "PATCH", SECRET_PATH, &["fieldManager=gitseal", "force=true"], |body| (200, stored_secret(body, "20"))).await;
    let status_patch = answer(&mut api, "PATCH", STATUS_PATH, &[], echo_status(&obj)).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(ctx.decrypts(), 1);
    assert_eq!(applied["data"]["password"], "cHctWnE4djEtcGxhaW50ZXh0", "base64 of the value");
    assert_eq!(applied["metadata"]["ownerReferences"][0]["uid"], UID);
    assert_eq!(status_patch["status"]["conditions"][0]["reason"], "Decrypted");
    assert_eq!(status_patch["status"]["observedGeneration"], 1);

    // The status write and the Secret apply come back as watch events: nothing to do but look at the Secret.
    let ready = status_of(&obj, &status_patch);
    let run = tokio::spawn(reconcile(Arc::new(ready.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (200, stored_secret(&applied, "20"))).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(ctx.decrypts(), 1, "a resync decrypts nothing");

    // The Secret was edited (a new resourceVersion): decrypt and apply again; the status already says Ready.
    let run = tokio::spawn(reconcile(Arc::new(ready.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (200, stored_secret(&applied, "21"))).await;
    answer(&mut api, "PATCH", SECRET_PATH, &["fieldManager=gitseal", "force=true"], |body| (200, stored_secret(body, "22"))).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(ctx.decrypts(), 2);

    // A new generation decrypts again; it gives the same Secret, which is still in place:
    // only the status moves to the new generation.
    let mut changed = ready.clone();
    changed.metadata.generation = Some(2);
    let run = tokio::spawn(reconcile(Arc::new(changed.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (200, stored_secret(&applied, "22"))).await;
    let patch = answer(&mut api, "PATCH", STATUS_PATH, &[], echo_status(&changed)).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(patch["status"]["observedGeneration"], 2);
    assert_eq!(ctx.decrypts(), 3);
}

#[tokio::test]
async fn a_secret_someone_else_made_is_not_overwritten_and_nothing_is_decrypted() {
    let k = key();
    let (ctx, mut api) = context(&[&k]);
    let obj = sealed_object(&k.recipient);
    let theirs = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "apps", "resourceVersion": "3"}, "data": {"x": "eA=="}});
    let run = tokio::spawn(reconcile(Arc::new(obj.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], move |_| (200, theirs)).await;
    let patch = answer(&mut api, "PATCH", STATUS_PATH, &[], echo_status(&obj)).await;
    let event = answer(&mut api, "POST", EVENTS_PATH, &[], |e| (201, e.clone())).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(patch["status"]["conditions"][0]["reason"], "SecretExists");
    assert_eq!(patch["status"]["conditions"][0]["status"], "False");
    assert_eq!((event["reason"].as_str(), event["type"].as_str()), (Some("SecretExists"), Some("Warning")));
    assert_eq!(ctx.decrypts(), 0);
}

#[tokio::test]
async fn a_failure_is_reported_once_and_not_decrypted_again_until_something_changes() {
    let (cluster_key, other) = (key(), key());
    let (ctx, mut api) = context(&[&cluster_key]);
    let obj = sealed_object(&other.recipient);
    let run = tokio::spawn(reconcile(Arc::new(obj.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (404, not_found())).await;
    let patch = answer(&mut api, "PATCH", STATUS_PATH, &[], echo_status(&obj)).await;
    let event = answer(&mut api, "POST", EVENTS_PATH, &[], |e| (201, e.clone())).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    let message = patch["status"]["conditions"][0]["message"].as_str().unwrap();
    assert_eq!(patch["status"]["conditions"][0]["reason"], "NoMatchingKey");
    assert!(message.contains(&other.recipient[..16]), "the message names the file's recipient: {message}");
    assert_eq!(event["reason"], "NoMatchingKey");
    assert!(!event.to_string().contains("pw-Zq8v1"));
    assert_eq!(ctx.decrypts(), 1);

    // The status write comes back: no decrypt, no second Event.
    let failed = status_of(&obj, &patch);
    let run = tokio::spawn(reconcile(Arc::new(failed.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (404, not_found())).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(ctx.decrypts(), 1);

    // The right key arrives: the same object decrypts and becomes Ready.
    let mut data = [("team.agekey".to_string(), ByteString(other.identity.clone().into_bytes()))].into();
    ctx.set_keys(ctx.keys().updated(Some(load_from_secret("gitseal-system/gitseal-keys", &mut data))).unwrap());
    let run = tokio::spawn(reconcile(Arc::new(failed.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (404, not_found())).await;
    answer(&mut api, "PATCH", SECRET_PATH, &["fieldManager=gitseal", "force=true"], |body| (200, stored_secret(body, "30"))).await;
    let patch = answer(&mut api, "PATCH", STATUS_PATH, &[], echo_status(&failed)).await;
    run.await.unwrap().unwrap();
    assert_eq!(patch["status"]["conditions"][0]["reason"], "Decrypted");
    assert_eq!(ctx.decrypts(), 2);
}

#[tokio::test]
async fn a_conflict_from_the_api_server_is_a_transient_error() {
    let k = key();
    let (ctx, mut api) = context(&[&k]);
    let obj = sealed_object(&k.recipient);
    let run = tokio::spawn(reconcile(Arc::new(obj.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (404, not_found())).await;
    let conflict =
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409, "message": "the object has been modified"});
    answer(&mut api, "PATCH", SECRET_PATH, &["fieldManager=gitseal"], move |_| (409, conflict)).await;
    let err = run.await.unwrap().unwrap_err();
    assert!(err.is_transient(), "{err}");
    no_more_requests(&mut api).await;
}

#[tokio::test]
async fn an_entry_someone_added_to_the_secret_is_removed_after_the_apply() {
    let k = key();
    let (ctx, mut api) = context(&[&k]);
    let obj = sealed_object(&k.recipient);
    let run = tokio::spawn(reconcile(Arc::new(obj.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (404, not_found())).await;
    // The apply leaves an entry another field manager owns in place: the answer still has it.
    answer(&mut api, "PATCH", SECRET_PATH, &["fieldManager=gitseal", "force=true"], |body| {
        let mut s = stored_secret(body, "40");
        s["data"]["injected"] = "eA==".into();
        (200, s)
    })
    .await;
    let removal = answer(&mut api, "PATCH", SECRET_PATH, &[], |_| {
        (200, json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "resourceVersion": "41"}}))
    })
    .await;
    answer(&mut api, "PATCH", STATUS_PATH, &[], echo_status(&obj)).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(removal, json!({"data": {"injected": null}}));
}

#[tokio::test]
async fn an_immutable_secret_whose_content_changed_is_created_again() {
    let k = key();
    let (ctx, mut api) = context(&[&k]);
    let obj = sealed_object(&k.recipient);
    let run = tokio::spawn(reconcile(Arc::new(obj.clone()), ctx.clone()));
    let owned = json!({"apiVersion": "v1", "kind": "Secret", "immutable": true, "metadata": {"name": "db", "namespace": "apps", "resourceVersion": "50",
        "ownerReferences": [{"apiVersion": "gitseal.dev/v1alpha1", "kind": "EncryptedSecret", "name": "db", "uid": UID, "controller": true}]}});
    answer(&mut api, "GET", SECRET_PATH, &[], move |_| (200, owned)).await;
    let invalid = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422, "message": "Secret \"db\" is invalid: data: Forbidden: field is immutable when `immutable` is set"});
    answer(&mut api, "PATCH", SECRET_PATH, &["fieldManager=gitseal"], move |_| (422, invalid)).await;
    answer(&mut api, "DELETE", SECRET_PATH, &[], |_| (200, json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}))).await;
    answer(&mut api, "PATCH", SECRET_PATH, &["fieldManager=gitseal", "force=true"], |body| (200, stored_secret(body, "52"))).await;
    let status = answer(&mut api, "PATCH", STATUS_PATH, &[], echo_status(&obj)).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(status["status"]["conditions"][0]["reason"], "Decrypted");
}

#[tokio::test]
async fn new_keys_decrypt_again_but_an_unchanged_secret_is_not_written() {
    let k = key();
    let (ctx, mut api) = context(&[&k]);
    let obj = sealed_object(&k.recipient);
    let run = tokio::spawn(reconcile(Arc::new(obj.clone()), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (404, not_found())).await;
    let applied = answer(&mut api, "PATCH", SECRET_PATH, &["fieldManager=gitseal", "force=true"], |body| (200, stored_secret(body, "60"))).await;
    let patch = answer(&mut api, "PATCH", STATUS_PATH, &[], echo_status(&obj)).await;
    run.await.unwrap().unwrap();
    let ready = status_of(&obj, &patch);

    // A key is added: the keys version changes, the object is decrypted again, and the Secret it gives is the one in place.
    let added = key();
    let mut data =
        [("a.agekey".to_string(), ByteString(k.identity.clone().into_bytes())), ("b.agekey".to_string(), ByteString(added.identity.clone().into_bytes()))]
            .into();
    ctx.set_keys(ctx.keys().updated(Some(load_from_secret("gitseal-system/gitseal-keys", &mut data))).unwrap());
    let run = tokio::spawn(reconcile(Arc::new(ready), ctx.clone()));
    answer(&mut api, "GET", SECRET_PATH, &[], |_| (200, stored_secret(&applied, "60"))).await;
    run.await.unwrap().unwrap();
    no_more_requests(&mut api).await;
    assert_eq!(ctx.decrypts(), 2);
}
