//! Vault in the cluster, end to end: the real `gitseal-controller` binary against the test
//! API server (through kubectl 1.32) and a real OpenBao server. Transit-wrapped objects,
//! `<path:...>` references with `spec.refreshInterval`, paths outside the namespace's
//! prefix or denied by Vault, an `hc_vault` key naming another server, OpenBao stopped and
//! started again, and settings from a ConfigMap (which may not hold a credential).

mod support;

#[path = "../../../tests/vault_support/openbao.rs"]
#[allow(dead_code)]
mod openbao;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gitseal_core::encrypted_secret::{self, Scope};
use gitseal_core::keys::{TransitKey, TransitRecipient};
use gitseal_core::Recipients;
use gitseal_vault::backend::LazyVault;
use gitseal_vault::{VaultAuth, VaultConfig};
use openbao::OpenBao;
use serde_json::json;
use support::cluster::Cluster;
use support::objects::{b64, decoded, keys_secret_yaml, new_key, seal, wait_reason, with_refresh, WAIT};
use support::peers::kubectl;

/// Plaintext values: none may show up anywhere but in the Secrets.
const TRANSIT_VALUE: &str = "transit-Wq8e2-plaintext";
const KV_FIRST: &str = "kv-first-Rt5y7";
const KV_SECOND: &str = "kv-second-Uh3j9";
const KV_THIRD: &str = "kv-third-Pz6x1";
const KV_USER: &str = "kv-user-Nb2m4";

const POLICY: &str = r#"
path "transit/decrypt/cluster" { capabilities = ["update"] }
path "secret/data/apps/*" { capabilities = ["read"] }
path "secret/data/apps/forbidden" { capabilities = ["deny"] }
"#;

fn secret_yaml(name: &str, annotations: &[(&str, &str)], string_data: &[(&str, &str)]) -> String {
    let mut yaml = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: apps\n");
    if !annotations.is_empty() {
        yaml.push_str("  annotations:\n");
        for (k, v) in annotations {
            yaml.push_str(&format!("    {k}: {v:?}\n"));
        }
    }
    yaml.push_str("type: Opaque\nstringData:\n");
    for (k, v) in string_data {
        yaml.push_str(&format!("  {k}: {v:?}\n"));
    }
    yaml
}

/// Seals with the Transit key at `uri` only (no age recipient), encrypting with the root token.
fn seal_transit(yaml: &str, uri: &str, bao: &OpenBao) -> String {
    let (addr, token) = (bao.addr(), bao.root_token().to_owned());
    let backend = Arc::new(LazyVault::new(
        move || Ok(VaultConfig { addr: Some(addr.clone()), auth: VaultAuth::Token(token.clone().into()), ..VaultConfig::default() }),
        Box::new(|_| {}),
    ));
    let key = TransitRecipient::new(TransitKey::parse(uri).unwrap(), backend);
    let recipients = Recipients { hc_vault: vec![key], ..Recipients::default() };
    encrypted_secret::encrypt_secret_manifest("secret.yaml", yaml.as_bytes(), Scope::Strict, &recipients).unwrap().into_string()
}

/// The status of condition `type_` of `apps/name`, when it has one.
fn condition(cluster: &Cluster, name: &str, type_: &str) -> Option<String> {
    let obj = cluster.get("apps", &format!("encryptedsecret/{name}"))?;
    obj["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_).and_then(|c| c["status"].as_str()).map(str::to_owned)
}

fn secret_value(cluster: &Cluster, name: &str, entry: &str) -> Option<String> {
    cluster.get("apps", &format!("secret/{name}")).map(|s| decoded(&s, entry))
}

fn wait_value(cluster: &Cluster, name: &str, entry: &str, expected: &str, timeout: Duration) {
    cluster.eventually(&format!("secret apps/{name} {entry} to be updated"), timeout, || {
        (secret_value(cluster, name, entry).as_deref() == Some(expected)).then_some(())
    });
}

/// KV v2 reads of `path` (no `/v1/`) the server answered so far.
fn kv_reads(bao: &OpenBao, path: &str) -> usize {
    bao.responses_to(path).iter().filter(|e| e["request"]["operation"] == "read").count()
}

/// The AppRole `gitseal` with fixed ids, so a rebuilt server accepts the same credentials.
fn write_approle(bao: &OpenBao, role_id: &str, secret_id: &str) {
    bao.put_policy("gitseal", POLICY);
    bao.write("auth/approle/role/gitseal", json!({"token_policies": ["gitseal"], "token_ttl": 3600, "role_id": role_id}));
    bao.write("auth/approle/role/gitseal/custom-secret-id", json!({"secret_id": secret_id}));
}

fn assert_no_plaintext_leaked(cluster: &Cluster) {
    let events = cluster.ok(&["get", "events.events.k8s.io", "-A", "-o", "json"]);
    let objects = cluster.ok(&["get", "encryptedsecrets", "-A", "-o", "json"]);
    let output = cluster.controller_output();
    for (what, text) in [("controller output", &output), ("events", &events), ("encryptedsecrets", &objects)] {
        for value in [TRANSIT_VALUE, KV_FIRST, KV_SECOND, KV_THIRD, KV_USER] {
            assert!(!text.contains(value) && !text.contains(&b64(value)), "{what} holds a plaintext value");
        }
    }
}

#[test]
fn transit_objects_kv_references_refresh_denials_and_an_openbao_restart() {
    let Some(kubectl) = kubectl() else { return };
    let mut bao = OpenBao::start();
    bao.create_transit_key("cluster");
    let (role_id, secret_id) = ("gitseal-role-0b1c", "gitseal-secret-5d7e-9f21");
    write_approle(&bao, role_id, secret_id);
    bao.kv2_put("secret", "apps/db", json!({"password": KV_FIRST, "user": KV_USER}));

    let mut cluster = Cluster::start(kubectl);
    let key = new_key();
    cluster.ok(&["create", "namespace", "apps"]);
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", &key)]));
    // The address and the prefix from a ConfigMap, the AppRole credentials from the environment.
    cluster.apply(
        "vault-settings.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gitseal-vault\n  namespace: gitseal-system\ndata:\n  VAULT_ADDR: {}\n  GITSEAL_VAULT_KV_PREFIXES: secret/data/{{namespace}}/\n",
            bao.addr()
        ),
    );
    cluster.start_controller_with_env(
        &["--vault-config", "gitseal-vault", "--min-refresh-interval", "1s"],
        &[("VAULT_ROLE_ID", role_id), ("VAULT_SECRET_ID", secret_id)],
    );

    let uri = bao.transit_uri("cluster");
    cluster.apply("transit.yaml", &seal_transit(&secret_yaml("transit-db", &[], &[("password", TRANSIT_VALUE)]), &uri, &bao));
    // Four objects read the same path every 2 s: one read per round serves them all.
    for name in ["kv-db", "kv-db-2", "kv-db-3", "kv-db-4"] {
        let yaml = secret_yaml(name, &[], &[("password", "<path:secret/data/apps/db#password>"), ("url", "postgres://<path:secret/data/apps/db#user>@db")]);
        cluster.apply(&format!("{name}.yaml"), &with_refresh(&seal(&yaml, Scope::Strict, &key.recipient), "2s"));
    }
    let annotated = secret_yaml("kv-annotated", &[("gitseal.dev/vault-path", "secret/data/apps/db"), ("team", "payments")], &[("user", "<user>")]);
    cluster.apply("kv-annotated.yaml", &seal(&annotated, Scope::Strict, &key.recipient));
    cluster.apply("kv-outside.yaml", &seal(&secret_yaml("kv-outside", &[], &[("k", "<path:secret/data/other/x#k>")]), Scope::Strict, &key.recipient));
    cluster.apply("kv-denied.yaml", &seal(&secret_yaml("kv-denied", &[], &[("k", "<path:secret/data/apps/forbidden#k>")]), Scope::Strict, &key.recipient));
    let elsewhere = uri.replace("127.0.0.1", "localhost");
    cluster.apply("transit-elsewhere.yaml", &seal_transit(&secret_yaml("transit-elsewhere", &[], &[("password", TRANSIT_VALUE)]), &elsewhere, &bao));

    wait_reason(&cluster, "apps", "transit-db", "Decrypted");
    assert_eq!(secret_value(&cluster, "transit-db", "password").as_deref(), Some(TRANSIT_VALUE));
    assert_eq!(bao.transit_decrypts("cluster"), 1, "one Transit decrypt for the one Transit object");
    for name in ["kv-db", "kv-db-2", "kv-db-3", "kv-db-4"] {
        let message = wait_reason(&cluster, "apps", name, "Decrypted");
        assert!(message.contains("2 from Vault, read again every 2s"), "{message}");
        assert_eq!(secret_value(&cluster, name, "password").as_deref(), Some(KV_FIRST));
        assert_eq!(secret_value(&cluster, name, "url"), Some(format!("postgres://{KV_USER}@db")));
    }
    wait_reason(&cluster, "apps", "kv-annotated", "Decrypted");
    let annotated_secret = cluster.get("apps", "secret/kv-annotated").unwrap();
    assert_eq!(decoded(&annotated_secret, "user"), KV_USER);
    assert_eq!(annotated_secret["metadata"]["annotations"]["team"], "payments");
    assert!(annotated_secret["metadata"]["annotations"].get("gitseal.dev/vault-path").is_none(), "{annotated_secret}");

    let outside = wait_reason(&cluster, "apps", "kv-outside", "VaultError");
    assert!(outside.contains("secret/data/other/x is outside what objects in namespace apps may read (secret/data/apps/)"), "{outside}");
    let denied = wait_reason(&cluster, "apps", "kv-denied", "VaultError");
    assert!(denied.contains("secret/data/apps/forbidden") && denied.contains("permission denied"), "{denied}");
    assert_eq!(condition(&cluster, "kv-denied", "Stalled").as_deref(), Some("True"), "a refusal waits for a change: kstatus reads it as failed");
    assert_eq!(condition(&cluster, "kv-denied", "Reconciling"), None);
    let refused = wait_reason(&cluster, "apps", "transit-elsewhere", "VaultError");
    assert!(refused.contains("localhost") && refused.contains("talks only to"), "{refused}");
    assert_eq!(bao.transit_decrypts("cluster"), 1, "nothing was sent for the key naming another server");
    for name in ["kv-outside", "kv-denied", "transit-elsewhere"] {
        assert!(cluster.get("apps", &format!("secret/{name}")).is_none(), "no Secret for {name}");
    }
    assert_eq!(kv_reads(&bao, "secret/data/other/x"), 0, "a path outside the prefix is never asked for");

    // One read per round across the four refreshed objects (four reads per round otherwise).
    let before = kv_reads(&bao, "secret/data/apps/db");
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(8));
    let reads = kv_reads(&bao, "secret/data/apps/db") - before;
    let rounds = window.elapsed().as_secs() / 2 + 1;
    assert!(reads as u64 <= rounds, "{reads} reads of secret/data/apps/db in {} rounds", rounds - 1);
    assert!(reads >= 2, "the values are read again every round: {reads}");

    // A value changed in OpenBao reaches the Secrets within a round.
    bao.kv2_put("secret", "apps/db", json!({"password": KV_SECOND, "user": KV_USER}));
    for name in ["kv-db", "kv-db-2", "kv-db-3", "kv-db-4"] {
        wait_value(&cluster, name, "password", KV_SECOND, Duration::from_secs(10));
    }
    wait_reason(&cluster, "apps", "kv-db", "Decrypted");

    // OpenBao down: the last good Secret stays, Ready=False with VaultError.
    bao.stop();
    let message = wait_reason(&cluster, "apps", "kv-db", "VaultError");
    assert!(message.contains("secret/data/apps/db"), "{message}");
    assert_eq!(secret_value(&cluster, "kv-db", "password").as_deref(), Some(KV_SECOND), "the last good Secret is kept");
    assert_eq!(condition(&cluster, "kv-db", "Reconciling").as_deref(), Some("True"), "an outage is retried: kstatus reads it as in progress");
    assert_eq!(secret_value(&cluster, "transit-db", "password").as_deref(), Some(TRANSIT_VALUE));

    // OpenBao back (rebuilt: dev mode stores nothing): the controller logs in again and catches up.
    bao.start_again();
    write_approle(&bao, role_id, secret_id);
    bao.kv2_put("secret", "apps/db", json!({"password": KV_THIRD, "user": KV_USER}));
    wait_value(&cluster, "kv-db", "password", KV_THIRD, WAIT);
    wait_reason(&cluster, "apps", "kv-db", "Decrypted");
    assert_eq!((condition(&cluster, "kv-db", "Reconciling"), condition(&cluster, "kv-db", "Stalled")), (None, None));

    let (_, metrics) = Cluster::http_get(&cluster.metrics_addr(), "/metrics");
    let count = |line: &str| metrics.lines().find_map(|l| l.strip_prefix(line)).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
    assert_eq!(count("gitseal_vault_requests_total{operation=\"transit_decrypt\",result=\"ok\"}"), 1, "{metrics}");
    assert!(count("gitseal_vault_requests_total{operation=\"kv_read\",result=\"ok\"}") >= 4, "{metrics}");
    assert!(count("gitseal_vault_requests_total{operation=\"kv_read\",result=\"error\"}") >= 1, "{metrics}");
    assert!(count("gitseal_reconcile_errors_total{reason=\"VaultError\"}") >= 1, "{metrics}");
    assert_no_plaintext_leaked(&cluster);
}

#[test]
fn a_vault_configmap_holding_a_credential_stops_the_controller_with_a_message() {
    let Some(kubectl) = kubectl() else { return };
    let mut cluster = Cluster::start(kubectl);
    cluster.apply(
        "vault-settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gitseal-vault\n  namespace: gitseal-system\ndata:\n  VAULT_ADDR: http://127.0.0.1:1\n  VAULT_TOKEN: s.plaintext-token-Vb7\n",
    );
    cluster.start_controller(&["--vault-config", "gitseal-vault"]);
    let code = cluster.controller_exit_code(Duration::from_secs(30));
    assert!(matches!(code, Some(c) if c != 0), "exit code {code:?}");
    let output = cluster.controller_output();
    assert!(output.contains("ConfigMap gitseal-system/gitseal-vault: VAULT_TOKEN is a credential"), "{output}");
    assert!(!output.contains("s.plaintext-token-Vb7"), "{output}");

    cluster.start_controller(&["--vault-config", "missing"]);
    let code = cluster.controller_exit_code(Duration::from_secs(30));
    assert!(matches!(code, Some(c) if c != 0), "exit code {code:?}");
    assert!(cluster.controller_output().contains("gitseal-system/missing (--vault-config) does not exist"), "{}", cluster.controller_output());
}
