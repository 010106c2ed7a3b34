//! Vault's Kubernetes auth method, end to end: the real `gitseal-controller` binary logs in
//! to a real OpenBao server with a service account token the test API server minted, and
//! OpenBao reviews that token with the test API server's TokenReview API (plain HTTP, the
//! token under review as the bearer). An EncryptedSecret's `<path:...>` reference is read
//! with the login's token; a token of a service account the role does not bind, and a
//! token of a deleted and recreated account, fail the login (Ready=False, VaultError,
//! naming the login, never the token); a token written to the file afterwards is read at
//! the next login, as the kubelet rotates the projected token; a role with an `audience`
//! needs tokens minted for it, and a reviewer token in OpenBao to have them reviewed.

mod support;

#[path = "../../../tests/vault_support/openbao.rs"]
#[allow(dead_code)]
mod openbao;

use std::path::Path;

use base64::Engine;
use gitseal_core::encrypted_secret::Scope;
use gitseal_test_apiserver::TokenRequest;
use openbao::OpenBao;
use serde_json::json;
use support::cluster::Cluster;
use support::objects::{b64, keys_secret_yaml, new_key, ready_condition, seal, wait_reason, with_refresh, Key, WAIT};
use support::peers::kubectl;

/// Plaintext values: none may show up anywhere but in the Secrets.
const KV_VALUE: &str = "kv-k8s-auth-Hq4w8";
const KV_OTHER: &str = "kv-k8s-auth-Lm3c6";

/// What the role's tokens may read.
const POLICY: &str = r#"path "secret/data/apps/*" { capabilities = ["read"] }"#;

/// The controller's service account, as deploy/serviceaccount.yaml names it.
const NAMESPACE: &str = "gitseal-system";
const SERVICE_ACCOUNT: &str = "gitseal-controller";

/// An EncryptedSecret `apps/NAME` whose entry `k` is the reference `reference`, sealed to
/// `key`, read again every `refresh` when given.
fn sealed_reference(name: &str, reference: &str, key: &Key, refresh: Option<&str>) -> String {
    let yaml = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: apps\ntype: Opaque\nstringData:\n  k: {reference:?}\n");
    let sealed = seal(&yaml, Scope::Strict, &key.recipient);
    match refresh {
        Some(interval) => with_refresh(&sealed, interval),
        None => sealed,
    }
}

fn secret_value(cluster: &Cluster, name: &str) -> Option<String> {
    let secret = cluster.get("apps", &format!("secret/{name}"))?;
    let text = secret["data"]["k"].as_str().unwrap_or_else(|| panic!("no data.k in {secret}"));
    Some(String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap())
}

/// Writes the token file the controller reads at each login (VAULT_K8S_TOKEN_PATH), as
/// the kubelet writes the projected token: mode 0600, replaced whole.
fn write_token(path: &Path, token: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let staged = path.with_extension("new");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&staged).unwrap();
    std::io::Write::write_all(&mut f, token.as_bytes()).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// The Kubernetes logins OpenBao answered, in order (its audit log): `NAMESPACE/NAME UID`
/// of the service account a login authenticated, or OpenBao's error.
fn logins(bao: &OpenBao) -> Vec<Result<String, String>> {
    bao.responses_to("auth/kubernetes/login")
        .iter()
        .map(|e| {
            let meta = &e["response"]["auth"]["metadata"];
            match (meta["service_account_namespace"].as_str(), meta["service_account_name"].as_str(), meta["service_account_uid"].as_str()) {
                (Some(ns), Some(name), Some(uid)) => Ok(format!("{ns}/{name} {uid}")),
                _ => Err(e["error"].as_str().unwrap_or("").to_owned()),
            }
        })
        .collect()
}

fn service_account_uid(cluster: &Cluster, name: &str) -> String {
    cluster.ok(&["get", "serviceaccount", name, "-n", NAMESPACE, "-o", "jsonpath={.metadata.uid}"])
}

fn assert_nothing_leaked(cluster: &Cluster, tokens: &[&str]) {
    let events = cluster.ok(&["get", "events.events.k8s.io", "-A", "-o", "json"]);
    let objects = cluster.ok(&["get", "encryptedsecrets", "-A", "-o", "json"]);
    let output = cluster.controller_output();
    for (what, text) in [("controller output", &output), ("events", &events), ("encryptedsecrets", &objects)] {
        for value in [KV_VALUE, KV_OTHER] {
            assert!(!text.contains(value) && !text.contains(&b64(value)), "{what} holds a plaintext value");
        }
        for token in tokens {
            // The signature alone is random, unlike the header and the claims.
            let signature = token.rsplit('.').next().unwrap();
            assert!(!text.contains(token) && !text.contains(signature), "{what} holds a service account token");
        }
    }
}

#[test]
fn the_controller_logs_in_with_its_service_account_token_and_other_accounts_are_refused() {
    let Some(kubectl) = kubectl() else { return };
    let bao = OpenBao::start();
    bao.kv2_put("secret", "apps/x", json!({"k": KV_VALUE}));
    bao.kv2_put("secret", "apps/y", json!({"k": KV_OTHER}));

    let mut cluster = Cluster::start(kubectl);
    let key = new_key();
    cluster.ok(&["create", "namespace", "apps"]);
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", &key)]));
    for account in [SERVICE_ACCOUNT, "gitseal-other"] {
        cluster.ok(&["create", "serviceaccount", account, "-n", NAMESPACE]);
    }

    // OpenBao reviews tokens with the test API server, over plain HTTP.
    bao.enable_kubernetes_auth(cluster.server().url());
    bao.put_policy("gitseal-kv", POLICY);
    bao.write(
        "auth/kubernetes/role/gitseal",
        json!({"bound_service_account_names": [SERVICE_ACCOUNT], "bound_service_account_namespaces": [NAMESPACE], "token_policies": ["gitseal-kv"], "token_ttl": 3600}),
    );
    let config = bao.read("auth/kubernetes/config");
    assert_eq!(config["data"]["kubernetes_host"], cluster.server().url());

    let token_file = cluster.path().join("sa-token");
    let token = cluster.server().service_account_token(NAMESPACE, SERVICE_ACCOUNT).unwrap();
    write_token(&token_file, &token);
    let args = ["--vault-addr", &bao.addr(), "--vault-k8s-role", "gitseal", "--vault-kv-prefix", "secret/data/{namespace}/", "--min-refresh-interval", "1s"];
    let env = [("VAULT_K8S_TOKEN_PATH", token_file.to_str().unwrap())];
    cluster.start_controller_with_env(&args, &env);

    cluster.apply("kv-x.yaml", &sealed_reference("kv-x", "<path:secret/data/apps/x#k>", &key, None));
    let message = wait_reason(&cluster, "apps", "kv-x", "Decrypted");
    assert!(message.contains("from Vault"), "{message}");
    assert_eq!(secret_value(&cluster, "kv-x").as_deref(), Some(KV_VALUE));
    let first_uid = service_account_uid(&cluster, SERVICE_ACCOUNT);
    let as_bound = |uid: &str| Ok(format!("{NAMESPACE}/{SERVICE_ACCOUNT} {uid}"));
    assert_eq!(logins(&bao), [as_bound(&first_uid)], "one login, as the bound service account");

    // A token of another service account in the same namespace: the role does not bind it.
    assert!(cluster.stop_controller());
    let other = cluster.server().service_account_token(NAMESPACE, "gitseal-other").unwrap();
    write_token(&token_file, &other);
    cluster.start_controller_with_env(&args, &env);
    cluster.apply("kv-y.yaml", &sealed_reference("kv-y", "<path:secret/data/apps/y#k>", &key, None));
    let refused = wait_reason(&cluster, "apps", "kv-y", "VaultError");
    assert!(refused.contains("auth/kubernetes/login") && refused.contains("service account name not authorized"), "{refused}");
    assert!(cluster.get("apps", "secret/kv-y").is_none(), "no Secret without a login");
    assert_eq!(secret_value(&cluster, "kv-x").as_deref(), Some(KV_VALUE), "the last good Secret is kept");

    // The bound account deleted and created again (a new uid): its old token names the
    // right account, but the TokenReview refuses it, and so does OpenBao.
    assert!(cluster.stop_controller());
    cluster.ok(&["delete", "serviceaccount", SERVICE_ACCOUNT, "-n", NAMESPACE]);
    cluster.ok(&["create", "serviceaccount", SERVICE_ACCOUNT, "-n", NAMESPACE]);
    let second_uid = service_account_uid(&cluster, SERVICE_ACCOUNT);
    assert_ne!(first_uid, second_uid);
    write_token(&token_file, &token);
    cluster.start_controller_with_env(&args, &env);
    cluster.apply("kv-z.yaml", &sealed_reference("kv-z", "<path:secret/data/apps/y#k>", &key, Some("2s")));
    let reviewed = wait_reason(&cluster, "apps", "kv-z", "VaultError");
    assert!(reviewed.contains("auth/kubernetes/login") && reviewed.contains("permission denied"), "{reviewed}");
    assert!(cluster.get("apps", "secret/kv-z").is_none());

    // A new token in the file (as the kubelet rotates it) is read at the next login.
    let renewed = cluster.server().service_account_token(NAMESPACE, SERVICE_ACCOUNT).unwrap();
    write_token(&token_file, &renewed);
    wait_reason(&cluster, "apps", "kv-z", "Decrypted");
    assert_eq!(secret_value(&cluster, "kv-z").as_deref(), Some(KV_OTHER));

    let logins = logins(&bao);
    assert_eq!(logins.first(), Some(&as_bound(&first_uid)), "{logins:?}");
    assert_eq!(logins.last(), Some(&as_bound(&second_uid)), "the recreated account: {logins:?}");
    assert_eq!(logins.iter().filter(|l| l.is_ok()).count(), 2, "{logins:?}");
    for error in ["service account name not authorized", "permission denied"] {
        assert!(logins.contains(&Err(error.to_owned())), "the refused logins reached OpenBao: {logins:?}");
    }
    let (_, metrics) = Cluster::http_get(&cluster.metrics_addr(), "/metrics");
    assert!(metrics.contains("gitseal_reconcile_errors_total{reason=\"VaultError\"}"), "{metrics}");
    assert_nothing_leaked(&cluster, &[&token, &other, &renewed]);
}

/// The login failure names the file when the token file is missing, and nothing is sent.
#[test]
fn a_missing_token_file_is_a_vault_error_naming_the_file() {
    let Some(kubectl) = kubectl() else { return };
    let bao = OpenBao::start();
    let mut cluster = Cluster::start(kubectl);
    let key = new_key();
    cluster.ok(&["create", "namespace", "apps"]);
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", &key)]));
    bao.enable_kubernetes_auth(cluster.server().url());
    let missing = cluster.path().join("no-such-token");
    let args = ["--vault-addr", &bao.addr(), "--vault-k8s-role", "gitseal", "--vault-kv-prefix", "secret/data/{namespace}/"];
    cluster.start_controller_with_env(&args, &[("VAULT_K8S_TOKEN_PATH", missing.to_str().unwrap())]);
    cluster.apply("kv-x.yaml", &sealed_reference("kv-x", "<path:secret/data/apps/x#k>", &key, None));
    let message = wait_reason(&cluster, "apps", "kv-x", "VaultError");
    assert!(message.contains(missing.to_str().unwrap()), "{message}");
    assert!(logins(&bao).is_empty(), "no login without a token");
}

/// A role naming an audience (as with a projected token for Vault): a token for the API
/// server's audience is refused by OpenBao's own JWT check; a token for the role's audience
/// passes it but, sent as the bearer of its own TokenReview, is no credential for the API
/// server (which takes its own audience only), so the review fails; with a reviewer token
/// configured in OpenBao, the review is made and the login succeeds.
#[test]
fn a_role_with_an_audience_takes_tokens_minted_for_it_reviewed_with_a_reviewer_token() {
    let Some(kubectl) = kubectl() else { return };
    let bao = OpenBao::start();
    bao.kv2_put("secret", "apps/x", json!({"k": KV_VALUE}));
    let mut cluster = Cluster::start(kubectl);
    let key = new_key();
    cluster.ok(&["create", "namespace", "apps"]);
    cluster.apply("keys.yaml", &keys_secret_yaml(&[("cluster.agekey", &key)]));
    cluster.ok(&["create", "serviceaccount", SERVICE_ACCOUNT, "-n", NAMESPACE]);
    cluster.ok(&["create", "serviceaccount", "openbao-token-reviewer", "-n", "kube-system"]);
    bao.enable_kubernetes_auth(cluster.server().url());
    bao.put_policy("gitseal-kv", POLICY);
    bao.write(
        "auth/kubernetes/role/gitseal",
        json!({"bound_service_account_names": [SERVICE_ACCOUNT], "bound_service_account_namespaces": [NAMESPACE], "audience": "vault", "token_policies": ["gitseal-kv"]}),
    );

    let token_file = cluster.path().join("sa-token");
    let default_audience = cluster.server().service_account_token(NAMESPACE, SERVICE_ACCOUNT).unwrap();
    write_token(&token_file, &default_audience);
    let args = ["--vault-addr", &bao.addr(), "--vault-k8s-role", "gitseal", "--vault-kv-prefix", "secret/data/{namespace}/", "--min-refresh-interval", "1s"];
    cluster.start_controller_with_env(&args, &[("VAULT_K8S_TOKEN_PATH", token_file.to_str().unwrap())]);
    cluster.apply("kv-x.yaml", &sealed_reference("kv-x", "<path:secret/data/apps/x#k>", &key, Some("2s")));
    let refused = wait_reason(&cluster, "apps", "kv-x", "VaultError");
    assert!(refused.contains("auth/kubernetes/login: HTTP 403: invalid audience (aud) claim"), "{refused}");

    let for_vault = TokenRequest { audiences: vec!["vault".into()], ..TokenRequest::default() };
    let vault_token = cluster.server().service_account_token_with(NAMESPACE, SERVICE_ACCOUNT, &for_vault).unwrap();
    write_token(&token_file, &vault_token);
    let unreviewed = cluster.eventually("the login to be refused at the review", WAIT, || {
        ready_condition(&cluster, "apps", "kv-x")
            .filter(|(status, reason, m)| status == "False" && reason == "VaultError" && m.contains("permission denied"))
            .map(|(_, _, m)| m)
    });
    assert!(unreviewed.contains("auth/kubernetes/login: HTTP 403: permission denied"), "{unreviewed}");
    assert!(logins(&bao).contains(&Err("permission denied".to_owned())));

    let reviewer = cluster.server().service_account_token("kube-system", "openbao-token-reviewer").unwrap();
    bao.configure_kubernetes_auth(cluster.server().url(), Some(&reviewer));
    wait_reason(&cluster, "apps", "kv-x", "Decrypted");
    assert_eq!(secret_value(&cluster, "kv-x").as_deref(), Some(KV_VALUE));
    let uid = service_account_uid(&cluster, SERVICE_ACCOUNT);
    assert_eq!(logins(&bao).last(), Some(&Ok(format!("{NAMESPACE}/{SERVICE_ACCOUNT} {uid}"))));
    assert_nothing_leaked(&cluster, &[&default_audience, &vault_token, &reviewer]);
}
