//! End to end: the real `gitseal-controller` binary against the workspace's test API
//! server, driven with the real kubectl 1.32. Every test also checks that no plaintext
//! value (nor its base64) appears in the controller's output, the Events or the status.

mod support;

use std::time::Duration;

use gitseal_core::encrypted_secret::Scope;
use serde_json::Value;
use support::cluster::Cluster;
use support::objects::{b64, decoded, keys_secret_yaml, new_key, ready_condition, seal, wait_reason, Key, WAIT};
use support::peers::kubectl;

/// Plaintext values of the test Secrets: none may show up anywhere but in the Secret.
const USERNAME: &str = "admin-Qx7wq";
const PASSWORD: &str = "pw-Zq8v1-plaintext";
const TOKEN: &str = "tok-Lm3p9-plaintext";
const NEW_PASSWORD: &str = "pw2-Hh4k0-rotated";

fn secret_yaml(namespace: &str, name: &str, password: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels:\n    app: db\n  annotations:\n    team: payments\ntype: kubernetes.io/basic-auth\nstringData:\n  username: {USERNAME}\n  password: {password}\ndata:\n  token: {}\n",
        b64(TOKEN)
    )
}

/// A cluster with the namespace `apps`, the keys Secret holding `key`, and the controller running.
fn cluster_with(key: &Key) -> Option<Cluster> {
    let mut cluster = Cluster::start(kubectl()?);
    cluster.ok(&["create", "namespace", "apps"]);
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", key)]));
    cluster.start_controller(&[]);
    Some(cluster)
}

fn wait_ready(cluster: &Cluster, namespace: &str, name: &str) {
    cluster.ok(&["wait", "-n", namespace, "--for=condition=Ready", &format!("encryptedsecret/{name}"), "--timeout=60s"]);
}

/// No plaintext value nor its base64 in the controller's output, the Events or any EncryptedSecret.
fn assert_no_plaintext_leaked(cluster: &Cluster) {
    let events = cluster.ok(&["get", "events.events.k8s.io", "-A", "-o", "json"]);
    let objects = cluster.ok(&["get", "encryptedsecrets", "-A", "-o", "json"]);
    let output = cluster.controller_output();
    let log_lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(log_lines.len() >= 2, "the controller logged: {output}");
    for line in &log_lines {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(entry["level"].is_string() && entry["message"].is_string(), "{line}");
        assert_ne!(entry["message"], "watch failed", "{line}");
    }
    for (what, text) in [("controller output", &output), ("events", &events), ("encryptedsecrets", &objects)] {
        for value in [USERNAME, PASSWORD, TOKEN, NEW_PASSWORD] {
            assert!(!text.contains(value), "{what} holds a plaintext value");
            assert!(!text.contains(&b64(value)), "{what} holds a plaintext value in base64");
        }
    }
}

fn events_for(cluster: &Cluster, namespace: &str, name: &str) -> Vec<Value> {
    let events: Value = serde_json::from_str(&cluster.ok(&["get", "events.events.k8s.io", "-n", namespace, "-o", "json"])).unwrap();
    events["items"].as_array().unwrap().iter().filter(|e| e["regarding"]["name"] == name && e["regarding"]["kind"] == "EncryptedSecret").cloned().collect()
}

#[test]
fn create_update_drift_restore_and_deletion() {
    let key = new_key();
    let Some(mut cluster) = cluster_with(&key) else { return };
    cluster.apply("db.yaml", &seal(&secret_yaml("apps", "db", PASSWORD), Scope::Strict, &key.recipient));
    wait_ready(&cluster, "apps", "db");

    // create: the Secret has the data, type, labels, annotations and owner.
    let secret = cluster.get("apps", "secret/db").expect("the Secret exists");
    assert_eq!(decoded(&secret, "username"), USERNAME);
    assert_eq!(decoded(&secret, "password"), PASSWORD);
    assert_eq!(decoded(&secret, "token"), TOKEN);
    assert_eq!(secret["type"], "kubernetes.io/basic-auth");
    assert_eq!(secret["metadata"]["labels"]["app"], "db");
    assert_eq!(secret["metadata"]["labels"]["gitseal.dev/encrypted-secret"], "true");
    assert_eq!(secret["metadata"]["annotations"]["team"], "payments");
    let esec = cluster.get("apps", "encryptedsecret/db").unwrap();
    let owner = &secret["metadata"]["ownerReferences"][0];
    assert_eq!((owner["kind"].as_str(), owner["name"].as_str(), owner["controller"].as_bool()), (Some("EncryptedSecret"), Some("db"), Some(true)));
    assert_eq!(owner["uid"], esec["metadata"]["uid"]);
    assert_eq!(esec["status"]["observedGeneration"], esec["metadata"]["generation"]);
    assert_eq!(esec["status"]["secretName"], "db");
    let with_fields: Value = serde_json::from_str(&cluster.ok(&["get", "-n", "apps", "secret/db", "-o", "json", "--show-managed-fields"])).unwrap();
    let managers: Vec<&str> = with_fields["metadata"]["managedFields"].as_array().unwrap().iter().filter_map(|m| m["manager"].as_str()).collect();
    assert!(managers.contains(&"gitseal"), "field managers: {managers:?}");

    // A change of metadata only (no new generation) decrypts nothing.
    let before = cluster.decrypts();
    assert!(before >= 1);
    cluster.ok(&["label", "-n", "apps", "encryptedsecret/db", "tier=backend"]);
    cluster.ok(&["annotate", "-n", "apps", "encryptedsecret/db", "note=x"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(cluster.decrypts(), before, "a label or annotation change must not decrypt again");

    // update: a new value reaches the Secret.
    cluster.apply("db.yaml", &seal(&secret_yaml("apps", "db", NEW_PASSWORD), Scope::Strict, &key.recipient));
    cluster.eventually("the new password in the Secret", WAIT, || cluster.get("apps", "secret/db").filter(|s| decoded(s, "password") == NEW_PASSWORD));
    wait_ready(&cluster, "apps", "db");

    // drift: an edited value and an added entry are undone.
    cluster.ok(&[
        "patch",
        "-n",
        "apps",
        "secret/db",
        "--type",
        "merge",
        "-p",
        &format!("{{\"data\":{{\"password\":\"{}\",\"extra\":\"eA==\"}}}}", b64("edited")),
    ]);
    cluster.eventually("the edited Secret restored", WAIT, || {
        cluster.get("apps", "secret/db").filter(|s| decoded(s, "password") == NEW_PASSWORD && s["data"].get("extra").is_none())
    });
    // drift: a deleted Secret is created again.
    cluster.ok(&["delete", "-n", "apps", "secret/db"]);
    cluster.eventually("the deleted Secret recreated", WAIT, || cluster.get("apps", "secret/db").filter(|s| decoded(s, "password") == NEW_PASSWORD));

    // deletion: the Secret goes with its owner.
    cluster.ok(&["delete", "-n", "apps", "encryptedsecret/db"]);
    cluster.eventually("the Secret deleted with its owner", WAIT, || cluster.get("apps", "secret/db").is_none().then_some(()));

    assert_no_plaintext_leaked(&cluster);
    assert!(cluster.stop_controller(), "the controller exits cleanly on SIGTERM");
}

#[test]
fn a_tampered_object_gets_no_secret_and_reports_mac_mismatch() {
    let key = new_key();
    let Some(cluster) = cluster_with(&key) else { return };
    let sealed = seal(&secret_yaml("apps", "swapped", PASSWORD), Scope::Strict, &key.recipient);
    // Swap the ciphertexts of two values.
    let value_of = |field: &str| sealed.lines().find(|l| l.trim_start().starts_with(&format!("{field}: ENC["))).unwrap().split_once(": ").unwrap().1.to_owned();
    let (user, pass) = (value_of("username"), value_of("password"));
    let swapped: String = sealed.replace(&user, "@@USER@@").replace(&pass, &user).replace("@@USER@@", &pass);
    cluster.apply("swapped.yaml", &swapped);
    let message = wait_reason(&cluster, "apps", "swapped", "MacMismatch");
    assert!(!message.is_empty());
    assert!(cluster.get("apps", "secret/swapped").is_none(), "no Secret for a tampered object");
    let events = events_for(&cluster, "apps", "swapped");
    assert!(events.iter().any(|e| e["reason"] == "MacMismatch" && e["type"] == "Warning"), "{events:?}");

    // One character of a ciphertext edited.
    let sealed = seal(&secret_yaml("apps", "edited", PASSWORD), Scope::Strict, &key.recipient);
    let pass = sealed.lines().find(|l| l.trim_start().starts_with("password: ENC[")).unwrap().split_once(": ").unwrap().1.to_owned();
    let at = pass.find("data:").unwrap() + 6;
    let mut edited_value = pass.clone();
    let flipped = if &pass[at..at + 1] == "A" { "B" } else { "A" };
    edited_value.replace_range(at..at + 1, flipped);
    cluster.apply("edited.yaml", &sealed.replace(&pass, &edited_value));
    wait_reason(&cluster, "apps", "edited", "MacMismatch");
    assert!(cluster.get("apps", "secret/edited").is_none());
    assert_no_plaintext_leaked(&cluster);
}

#[test]
fn a_wrong_key_reports_no_matching_key_until_the_key_is_added() {
    let cluster_key = new_key();
    let other_key = new_key();
    let Some(cluster) = cluster_with(&cluster_key) else { return };
    cluster.apply("other.yaml", &seal(&secret_yaml("apps", "other", PASSWORD), Scope::Strict, &other_key.recipient));
    let message = wait_reason(&cluster, "apps", "other", "NoMatchingKey");
    assert!(message.contains(&other_key.recipient[..12]), "the message names the recipient: {message}");
    assert!(cluster.get("apps", "secret/other").is_none());
    assert!(events_for(&cluster, "apps", "other").iter().any(|e| e["reason"] == "NoMatchingKey"));

    // The key is added to the keys Secret: the object becomes Ready without a restart.
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", &cluster_key), ("team.agekey", &other_key)]));
    wait_ready(&cluster, "apps", "other");
    assert_eq!(decoded(&cluster.get("apps", "secret/other").unwrap(), "password"), PASSWORD);
    assert_no_plaintext_leaked(&cluster);
}

#[test]
fn a_missing_keys_secret_fails_every_object_until_it_appears() {
    let key = new_key();
    let Some(mut cluster) = kubectl().map(Cluster::start) else { return };
    cluster.ok(&["create", "namespace", "apps"]);
    cluster.start_controller(&[]);
    cluster.apply("db.yaml", &seal(&secret_yaml("apps", "db", PASSWORD), Scope::Strict, &key.recipient));
    wait_reason(&cluster, "apps", "db", "NoMatchingKey");
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", &key)]));
    wait_ready(&cluster, "apps", "db");
    assert_no_plaintext_leaked(&cluster);
}

#[test]
fn an_object_copied_to_another_namespace_reports_scope_violation() {
    let key = new_key();
    let Some(cluster) = cluster_with(&key) else { return };
    cluster.ok(&["create", "namespace", "elsewhere"]);
    let sealed = seal(&secret_yaml("apps", "db", PASSWORD), Scope::Strict, &key.recipient);
    assert!(sealed.contains("namespace: apps"));
    cluster.apply("copied.yaml", &sealed.replace("namespace: apps", "namespace: elsewhere"));
    wait_reason(&cluster, "elsewhere", "db", "ScopeViolation");
    assert!(cluster.get("elsewhere", "secret/db").is_none(), "no Secret outside the sealed scope");
    assert!(events_for(&cluster, "elsewhere", "db").iter().any(|e| e["reason"] == "ScopeViolation"));
    assert_no_plaintext_leaked(&cluster);
}

#[test]
fn a_secret_the_controller_did_not_make_is_left_alone() {
    let key = new_key();
    let Some(cluster) = cluster_with(&key) else { return };
    cluster.ok(&["create", "secret", "generic", "-n", "apps", "db", "--from-literal=owner=someone-else"]);
    cluster.apply("db.yaml", &seal(&secret_yaml("apps", "db", PASSWORD), Scope::Strict, &key.recipient));
    wait_reason(&cluster, "apps", "db", "SecretExists");
    let secret = cluster.get("apps", "secret/db").unwrap();
    assert_eq!(decoded(&secret, "owner"), "someone-else");
    assert!(secret["data"].get("password").is_none(), "the existing Secret is not overwritten");
    assert_no_plaintext_leaked(&cluster);
}

#[test]
fn namespace_and_selector_flags_limit_what_the_controller_reconciles() {
    let key = new_key();
    let Some(mut cluster) = kubectl().map(Cluster::start) else { return };
    for ns in ["apps", "other"] {
        cluster.ok(&["create", "namespace", ns]);
    }
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", &key)]));
    cluster.start_controller(&["--namespace", "apps", "--selector", "shard=a"]);
    let with_label = |yaml: String, shard: &str| yaml.replacen("metadata:\n", &format!("metadata:\n  labels:\n    shard: {shard}\n"), 1);
    cluster.apply("a.yaml", &with_label(seal(&secret_yaml("apps", "a", PASSWORD), Scope::Strict, &key.recipient), "a"));
    cluster.apply("b.yaml", &with_label(seal(&secret_yaml("apps", "b", PASSWORD), Scope::Strict, &key.recipient), "b"));
    cluster.apply("c.yaml", &with_label(seal(&secret_yaml("other", "c", PASSWORD), Scope::Strict, &key.recipient), "a"));
    wait_ready(&cluster, "apps", "a");
    // Give the controller time to (wrongly) pick up the others.
    std::thread::sleep(Duration::from_secs(2));
    assert!(cluster.get("apps", "secret/b").is_none(), "another shard's object is left alone");
    assert!(cluster.get("apps", "encryptedsecret/b").unwrap()["status"].is_null());
    assert!(cluster.get("other", "secret/c").is_none(), "an unwatched namespace is left alone");
    assert!(cluster.get("other", "encryptedsecret/c").unwrap()["status"].is_null());
    assert_no_plaintext_leaked(&cluster);
}

/// The value of one sample line (`name{labels} value`) of a Prometheus text scrape.
fn sample(scrape: &str, series: &str) -> f64 {
    let line = scrape.lines().find(|l| l.rsplit_once(' ').is_some_and(|(name, _)| name == series)).unwrap_or_else(|| panic!("no {series} in:\n{scrape}"));
    line.rsplit_once(' ').unwrap().1.parse().unwrap()
}

#[test]
fn metrics_count_reconciles_failures_by_reason_decrypts_and_managed_secrets() {
    let key = new_key();
    let Some(cluster) = cluster_with(&key) else { return };
    let addr = cluster.metrics_addr();
    let (code, scrape) = Cluster::http_get(&addr, "/metrics");
    assert_eq!(code, 200);
    assert_eq!(sample(&scrape, "gitseal_decrypts_total"), 0.0);

    cluster.apply("good.yaml", &seal(&secret_yaml("apps", "good", PASSWORD), Scope::Strict, &key.recipient));
    wait_ready(&cluster, "apps", "good");
    let sealed = seal(&secret_yaml("apps", "tampered", PASSWORD), Scope::Strict, &key.recipient);
    let pass = sealed.lines().find(|l| l.trim_start().starts_with("password: ENC[")).unwrap().split_once(": ").unwrap().1.to_owned();
    let at = pass.find("data:").unwrap() + 6;
    let mut edited = pass.clone();
    edited.replace_range(at..at + 1, if &pass[at..at + 1] == "A" { "B" } else { "A" });
    cluster.apply("tampered.yaml", &sealed.replace(&pass, &edited));
    wait_reason(&cluster, "apps", "tampered", "MacMismatch");

    let scrape = cluster.eventually("the MacMismatch failure in /metrics", WAIT, || {
        let (_, scrape) = Cluster::http_get(&addr, "/metrics");
        (sample(&scrape, "gitseal_reconcile_errors_total{reason=\"MacMismatch\"}") >= 1.0).then_some(scrape)
    });
    assert_eq!(sample(&scrape, "gitseal_reconcile_errors_total{reason=\"MacMismatch\"}"), 1.0, "{scrape}");
    assert_eq!(sample(&scrape, "gitseal_reconcile_errors_total{reason=\"NoMatchingKey\"}"), 0.0, "{scrape}");
    assert_eq!(sample(&scrape, "gitseal_decrypts_total"), 2.0, "{scrape}");
    assert_eq!(sample(&scrape, "gitseal_decrypts_total"), cluster.decrypts() as f64, "{scrape}");
    assert_eq!(sample(&scrape, "gitseal_managed_secrets"), 1.0, "{scrape}");
    assert!(sample(&scrape, "gitseal_reconciles_total") >= 2.0, "{scrape}");
    assert_eq!(sample(&scrape, "gitseal_decrypt_duration_seconds_count"), 2.0, "{scrape}");
    assert_eq!(sample(&scrape, "gitseal_decrypt_duration_seconds_bucket{le=\"+Inf\"}"), 2.0, "{scrape}");
    assert_eq!(sample(&scrape, "gitseal_reconcile_duration_seconds_count"), sample(&scrape, "gitseal_reconciles_total"), "{scrape}");
    for value in [USERNAME, PASSWORD, TOKEN] {
        assert!(!scrape.contains(value) && !scrape.contains(&b64(value)), "the scrape holds a plaintext value");
    }
    assert_eq!(Cluster::http_get(&addr, "/healthz").0, 200);
    assert_eq!(Cluster::http_get(&addr, "/readyz").0, 200);

    // Deleting the good object takes its Secret off the gauge.
    cluster.ok(&["delete", "-n", "apps", "encryptedsecret/good"]);
    cluster.eventually("gitseal_managed_secrets to drop to 0", WAIT, || {
        (sample(&Cluster::http_get(&addr, "/metrics").1, "gitseal_managed_secrets") == 0.0).then_some(())
    });
    assert_no_plaintext_leaked(&cluster);
}

fn lease_holder(cluster: &Cluster) -> Option<String> {
    let lease = cluster.get("gitseal-system", "lease.coordination.k8s.io/gitseal-controller")?;
    lease["spec"]["holderIdentity"].as_str().filter(|h| !h.is_empty()).map(str::to_owned)
}

#[test]
fn of_two_replicas_one_reconciles_and_the_other_takes_over_when_it_is_killed() {
    const LEASE: Duration = Duration::from_secs(4);
    let key = new_key();
    let Some(kubectl) = kubectl() else { return };
    let mut cluster = Cluster::start(kubectl);
    cluster.ok(&["create", "namespace", "apps"]);
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", &key)]));
    let args = ["--leader-elect", "--lease-duration", "4s"];
    cluster.start_replica("replica-a", &args);
    cluster.start_replica("replica-b", &args);
    let leader = cluster.eventually("a replica to take the Lease", WAIT, || lease_holder(&cluster));
    assert!(leader == "replica-a" || leader == "replica-b", "{leader}");
    let standby = if leader == "replica-a" { "replica-b" } else { "replica-a" };

    cluster.apply("first.yaml", &seal(&secret_yaml("apps", "first", PASSWORD), Scope::Strict, &key.recipient));
    wait_ready(&cluster, "apps", "first");
    // A few renewal periods: the standby never reconciles while the leader renews.
    std::thread::sleep(LEASE);
    assert_eq!(cluster.replica_decrypts(&leader), 1, "{}", cluster.replica_output(&leader));
    assert_eq!(cluster.replica_decrypts(standby), 0, "{}", cluster.replica_output(standby));
    assert_eq!(lease_holder(&cluster).as_deref(), Some(leader.as_str()));
    for name in [&leader[..], standby] {
        let output = cluster.replica_output(name);
        let addr = output.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find_map(|l| l["metrics_addr"].as_str().map(str::to_owned)).unwrap();
        assert_eq!(Cluster::http_get(&addr, "/healthz").0, 200, "{name}");
        assert_eq!(Cluster::http_get(&addr, "/readyz").0, 200, "{name}");
    }

    // The leader dies without releasing the Lease: the standby takes over once it expires.
    assert!(!cluster.signal_replica(&leader, "KILL"));
    let killed_at = std::time::Instant::now();
    cluster.apply("second.yaml", &seal(&secret_yaml("apps", "second", PASSWORD), Scope::Strict, &key.recipient));
    cluster.eventually("the standby to make the new object Ready", LEASE * 2 + Duration::from_secs(10), || {
        ready_condition(&cluster, "apps", "second").filter(|(status, _, _)| status == "True")
    });
    assert!(killed_at.elapsed() < LEASE * 2 + Duration::from_secs(10));
    assert_eq!(lease_holder(&cluster).as_deref(), Some(standby));
    assert!(cluster.replica_decrypts(standby) >= 1);
    assert_eq!(decoded(&cluster.get("apps", "secret/second").unwrap(), "password"), PASSWORD);

    // Stopped with SIGTERM, the new leader releases the Lease by clearing its holder.
    assert!(cluster.signal_replica(standby, "TERM"), "{}", cluster.replica_output(standby));
    assert_eq!(lease_holder(&cluster), None);
    assert!(cluster.replica_output(standby).contains("released the Lease"));
}

fn published_recipients(cluster: &Cluster) -> Option<String> {
    cluster.get("gitseal-system", "configmap/gitseal-recipients")?["data"]["recipients.txt"].as_str().map(str::to_owned)
}

/// The identity line of a keys Secret entry and its recipient.
fn identity_in(keys: &Value, entry: &str) -> (String, String) {
    let text = decoded(keys, entry);
    let line = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-1")).unwrap_or_else(|| panic!("no identity in {entry}")).to_owned();
    let recipient = line.parse::<age::x25519::Identity>().unwrap().to_public().to_string();
    (line, recipient)
}

#[test]
fn generate_key_creates_one_identity_never_replaces_it_and_publishes_its_recipient() {
    let Some(kubectl) = kubectl() else { return };
    let mut cluster = Cluster::start(kubectl);
    cluster.ok(&["create", "namespace", "apps"]);
    cluster.start_controller(&["--generate-key"]);
    let published = cluster.eventually("the recipients ConfigMap", WAIT, || published_recipients(&cluster));
    let keys = cluster.get("gitseal-system", "secret/gitseal-keys").expect("the keys Secret was created");
    let (identity, recipient) = identity_in(&keys, "cluster.agekey");
    assert_eq!(published, format!("{recipient}\n"));
    let out = cluster.controller_command(&["recipients", "--controller-namespace", "gitseal-system"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), published);

    // Files encrypted for the published recipient open in the cluster.
    cluster.apply("db.yaml", &seal(&secret_yaml("apps", "db", PASSWORD), Scope::Strict, &recipient));
    wait_ready(&cluster, "apps", "db");
    assert_eq!(decoded(&cluster.get("apps", "secret/db").unwrap(), "password"), PASSWORD);

    // Started again, it keeps the identity it made.
    assert!(cluster.stop_controller());
    cluster.start_controller(&["--generate-key"]);
    cluster.eventually("the restarted controller to find the identity", WAIT, || cluster.controller_output().contains("none generated").then_some(()));
    assert_eq!(identity_in(&cluster.get("gitseal-system", "secret/gitseal-keys").unwrap(), "cluster.agekey").0, identity);

    // A key added to the keys Secret is published next to the first.
    let added = new_key();
    let patch = format!("{{\"data\":{{\"added.agekey\":\"{}\"}}}}", b64(&added.identity));
    cluster.ok(&["patch", "-n", "gitseal-system", "secret/gitseal-keys", "--type", "merge", "-p", &patch]);
    let mut both = [recipient.clone(), added.recipient.clone()];
    both.sort();
    let expected = format!("{}\n{}\n", both[0], both[1]);
    cluster.eventually("both recipients published", WAIT, || (published_recipients(&cluster).as_deref() == Some(expected.as_str())).then_some(()));

    let configmap = cluster.ok(&["get", "-n", "gitseal-system", "configmap/gitseal-recipients", "-o", "yaml"]);
    let output = cluster.controller_output();
    for private in [&identity, added.identity.trim()] {
        assert!(!configmap.contains(private) && !output.contains(private), "a private key was published or logged");
    }
    assert_no_plaintext_leaked(&cluster);
}

#[test]
fn generate_key_adds_an_identity_to_a_keys_secret_without_one_and_keeps_its_other_entries() {
    let Some(kubectl) = kubectl() else { return };
    let mut cluster = Cluster::start(kubectl);
    let note = b64("rotate yearly");
    cluster.apply("keys.yaml", &format!("{}  README: {note}\n", keys_secret_yaml(&[])));
    cluster.start_controller(&["--generate-key"]);
    let published = cluster.eventually("the recipients ConfigMap", WAIT, || published_recipients(&cluster));
    let keys = cluster.get("gitseal-system", "secret/gitseal-keys").unwrap();
    assert_eq!(keys["data"]["README"], note.as_str());
    assert_eq!(published, format!("{}\n", identity_in(&keys, "cluster.agekey").1));
}

#[test]
fn recipients_of_a_missing_keys_secret_is_an_error_naming_it() {
    let Some(kubectl) = kubectl() else { return };
    let cluster = Cluster::start(kubectl);
    let out = cluster.controller_command(&["recipients", "--controller-namespace", "gitseal-system"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("gitseal-system/gitseal-keys") && stderr.contains("does not exist"), "{stderr}");
}
