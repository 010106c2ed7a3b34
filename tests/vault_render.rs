//! `gitseal render` resolving Vault KV references against a real OpenBao server (KV v1 and
//! v2 with versions, deleted and destroyed versions, token and `~/.vault-token`, AppRole,
//! policies, namespaces): inline and annotation forms, references inside sops-encrypted
//! values, one read per path (counted in OpenBao's audit log), and all-or-nothing failures
//! (exit 11, nothing printed, no secret in the message). Kubernetes auth, which needs a
//! Kubernetes API server to review the service account token, runs against the in-process
//! server.

mod common;
mod vault_support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{assert_success, stderr, utf8, Fixture};
use serde_json::json;
use vault_support::openbao::OpenBao;
use vault_support::{Fault, Policy, VaultServer};

const INLINE: &str = "# webhook token for the Flux Receiver
apiVersion: v1
kind: Secret
metadata:
  name: webhook-token
  namespace: flux-system
type: Opaque
stringData:
  token: <path:secret/data/flux/webhook#token>
  previous: <path:secret/data/flux/webhook#token#1>
  url: https://hooks.example.com/<path:secret/data/flux/webhook#token>?v=1
  legacy: <path:kv/flux/legacy#password>
data:
  raw: <path:secret/data/flux/webhook#token>
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-secret
data:
  note: <path:secret/data/flux/webhook#token>   # not resolved outside Secrets
";

/// OpenBao with `secret/flux/webhook` (KV v2, versions 1 and 2) and `kv/flux/legacy` (KV v1).
fn bao() -> OpenBao {
    let bao = OpenBao::start();
    bao.kv2_put("secret", "flux/webhook", json!({"token": "tok-v1"}));
    bao.kv2_put("secret", "flux/webhook", json!({"token": "tok-v2", "other": "x"}));
    bao.kv1_put("kv", "flux/legacy", json!({"password": "legacy-pass"}));
    bao
}

fn render(f: &Fixture, bao: &OpenBao, token: &str, args: &[&str]) -> Output {
    let mut c = f.gitseal();
    c.env("VAULT_ADDR", bao.addr()).env("VAULT_TOKEN", token).arg("render").args(args);
    c.output().unwrap()
}

/// The KV responses (`secret/...`, `kv/...`) OpenBao logged after its first `from` audit
/// entries, sorted by path.
fn kv_reads_since(bao: &OpenBao, from: usize) -> Vec<serde_json::Value> {
    let mut reads: Vec<_> = bao
        .audit_entries()
        .into_iter()
        .skip(from)
        .filter(|e| e["type"] == "response")
        .filter(|e| e["request"]["path"].as_str().is_some_and(|p| p.starts_with("secret/") || p.starts_with("kv/")))
        .collect();
    reads.sort_by_key(|e| e["request"]["path"].as_str().unwrap().to_owned());
    reads
}

fn paths(entries: &[serde_json::Value]) -> Vec<&str> {
    entries.iter().map(|e| e["request"]["path"].as_str().unwrap()).collect()
}

#[test]
fn inline_references_resolve_from_kv_v2_and_v1() {
    let f = Fixture::new();
    let bao = bao();
    f.write("hook.yaml", INLINE);
    let from = bao.audit_entries().len();
    let out = render(&f, &bao, bao.root_token(), &["hook.yaml"]);
    assert_success("render", &out);
    let expected = INLINE
        .replace("token: <path:secret/data/flux/webhook#token>\n", "token: tok-v2\n")
        .replace("<path:secret/data/flux/webhook#token#1>", "tok-v1")
        .replace("https://hooks.example.com/<path:secret/data/flux/webhook#token>?v=1", "https://hooks.example.com/tok-v2?v=1")
        .replace("<path:kv/flux/legacy#password>", "legacy-pass")
        .replace("raw: <path:secret/data/flux/webhook#token>", &format!("raw: {}", B64.encode("tok-v2")));
    assert_eq!(utf8(&out.stdout), expected);

    // One read per path and version (the latest and version 1), each with the token.
    let reads = kv_reads_since(&bao, from);
    assert_eq!(paths(&reads), ["kv/flux/legacy", "secret/data/flux/webhook", "secret/data/flux/webhook"]);
    assert!(reads.iter().all(|e| e["auth"]["policies"] == json!(["root"]) && e.get("error").is_none()), "{reads:?}");
}

#[test]
fn vault_token_file_in_home_is_used_when_vault_token_is_unset() {
    let f = Fixture::new();
    let bao = bao();
    f.write("hook.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:kv/flux/legacy#password>\n");
    // What `vault login` leaves behind (HOME is the fixture directory).
    f.write(".vault-token", format!("{}\n", bao.root_token()));
    let out = f.gitseal().env("VAULT_ADDR", bao.addr()).args(["render", "hook.yaml"]).output().unwrap();
    assert_success("render with ~/.vault-token", &out);
    assert!(utf8(&out.stdout).contains("  token: legacy-pass\n"), "{}", utf8(&out.stdout));
}

#[test]
fn annotation_form_resolves_placeholders_and_drops_the_annotations() {
    let f = Fixture::new();
    let bao = bao();
    let src = "apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  namespace: argocd
  annotations:
    gitseal.dev/vault-path: secret/data/flux/webhook
    gitseal.dev/vault-version: \"1\"
  labels:
    app.kubernetes.io/part-of: argocd
stringData:
  webhook.github.secret: <token>
data:
  webhook.gitlab.secret: <token>
";
    f.write("argocd.yaml", src);
    let from = bao.audit_entries().len();
    let out = render(&f, &bao, bao.root_token(), &["argocd.yaml"]);
    assert_success("render", &out);
    let expected = format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: argocd-secret
  namespace: argocd
  labels:
    app.kubernetes.io/part-of: argocd
stringData:
  webhook.github.secret: tok-v1
data:
  webhook.gitlab.secret: {}
",
        B64.encode("tok-v1")
    );
    assert_eq!(utf8(&out.stdout), expected);
    assert_eq!(paths(&kv_reads_since(&bao, from)), ["secret/data/flux/webhook"]);
}

#[test]
fn reference_inside_an_encrypted_value_is_resolved_after_decryption() {
    let f = Fixture::new();
    let bao = bao();
    let src = "apiVersion: v1
kind: Secret
metadata:
  name: repo-creds
  namespace: argocd
stringData:
  url: https://git.example.com/team/app.git
  password: <path:secret/data/flux/webhook#token>
  username: deploy
";
    let file = f.write("creds.yaml", src);
    assert_success("encrypt", &f.gitseal().args(["encrypt", "-i", "--age", &f.recipient]).arg(&file).output().unwrap());
    assert!(!utf8(&f.read("creds.yaml")).contains("<path:"), "the reference is encrypted too");

    let other = f.write("plain.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"1\"\n");
    let out = render(&f, &bao, bao.root_token(), &["creds.yaml", other.to_str().unwrap()]);
    assert_success("render", &out);
    let expected = format!("{}---\n{}", src.replace("<path:secret/data/flux/webhook#token>", "tok-v2"), utf8(&f.read("plain.yaml")));
    assert_eq!(utf8(&out.stdout), expected);

    // Standard input works the same way.
    let mut child = f
        .gitseal()
        .env("VAULT_ADDR", bao.addr())
        .env("VAULT_TOKEN", bao.root_token())
        .args(["render", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&f.read("creds.yaml")).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_success("render -", &out);
    assert_eq!(utf8(&out.stdout), src.replace("<path:secret/data/flux/webhook#token>", "tok-v2"));
}

/// Each failure: exit 11, nothing on stdout, a message naming the file, line, Secret and
/// reference, and never a secret value or the token.
#[test]
fn unresolvable_references_fail_the_whole_run_and_print_nothing() {
    let f = Fixture::new();
    let bao = bao();
    assert_eq!(bao.kv2_put("secret", "flux/webhook", json!({"token": "tok-v3"})), 3);
    bao.kv2_delete_version("secret", "flux/webhook", 2);
    bao.kv2_destroy_version("secret", "flux/webhook", 1);
    bao.put_policy("flux-only", "path \"secret/data/flux/*\" { capabilities = [\"read\"] }\npath \"kv/flux/*\" { capabilities = [\"read\"] }\n");
    let limited = bao.create_token(&["flux-only"]);
    f.write("good.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: good\nstringData:\n  token: <path:secret/data/flux/webhook#token>\n");

    let cases = [
        ("<path:secret/data/flux/webhook#tokn>", "no key \"tokn\""),
        ("<path:secret/data/flux/webhook#tokn>", "keys there: token"),
        ("<path:secret/data/flux/nothing#token>", "secret/data/flux/nothing"),
        ("<path:secret/data/flux/webhook#token#9>", "secret/data/flux/webhook"),
        ("<path:secret/data/flux/webhook#token#2>", "deleted"),
        ("<path:secret/data/flux/webhook#token#1>", "destroyed"),
        ("<path:secret/data/other/app#token>", "permission denied"),
        ("<path:kv/flux/legacy#password#2>", "KV v1"),
        ("<path:secret/data/flux/webhook>", "<path:secret/data/flux/webhook>"),
    ];
    for (reference, why) in cases {
        let bad = f.write("bad.yaml", format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  other: fine\n  token: {reference}\n"));
        let out = render(&f, &bao, &limited, &["good.yaml", bad.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(11), "{reference}: {err}");
        assert!(out.stdout.is_empty(), "{reference}: printed {}", utf8(&out.stdout));
        assert!(err.contains("bad.yaml:7") && err.contains("Secret \"hook\""), "{reference}: {err}");
        assert!(err.contains(why), "{reference}: expected {why:?} in {err}");
        for secret in ["tok-v1", "tok-v2", "tok-v3", "legacy-pass", limited.as_str()] {
            assert!(!err.contains(secret), "{reference}: {secret} leaked into {err}");
        }
    }

    // A token OpenBao does not know: its 403 text, the token not repeated.
    let out = render(&f, &bao, "not-a-token", &["good.yaml"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("permission denied") && stderr(&out).contains("good.yaml:6"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not-a-token"), "{}", stderr(&out));

    // Vault unreachable: the same all-or-nothing failure.
    let out = f
        .gitseal()
        .env("VAULT_ADDR", "http://127.0.0.1:9")
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_MAX_RETRIES", "0")
        .args(["render", "good.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn approle_login_once_per_run() {
    let f = Fixture::new();
    let bao = bao();
    bao.put_policy("flux-read", "path \"secret/data/flux/*\" { capabilities = [\"read\"] }\n");
    let (role_id, secret_id) = bao.create_approle("gitops", &["flux-read"], 3600);
    for name in ["a", "b"] {
        f.write(
            &format!("{name}.yaml"),
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  t: <path:secret/data/flux/webhook#token>\n"),
        );
    }
    let approle = |secret_id: &str| {
        let mut c = f.gitseal();
        c.env("VAULT_ADDR", bao.addr()).env("VAULT_ROLE_ID", &role_id).env("VAULT_SECRET_ID", secret_id);
        c
    };
    let from = bao.audit_entries().len();
    let out = approle(&secret_id).args(["render", "a.yaml", "b.yaml"]).output().unwrap();
    assert_success("render with AppRole", &out);
    assert_eq!(utf8(&out.stdout), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  t: tok-v2\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\nstringData:\n  t: tok-v2\n");
    let logins = bao.audit_entries().into_iter().skip(from).filter(|e| e["type"] == "response" && e["request"]["path"] == "auth/approle/login").count();
    assert_eq!(logins, 1, "one login per run");
    // The read used the login's token, which holds the role's policy.
    let reads = kv_reads_since(&bao, from);
    assert_eq!(paths(&reads), ["secret/data/flux/webhook"], "one read for one path");
    assert!(reads[0]["auth"]["token_policies"].as_array().unwrap().contains(&json!("flux-read")), "{}", reads[0]);

    // A wrong secret id: Vault's 4xx text, not the secret id.
    let out = approle("wrong-secret-id").args(["render", "a.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(!stderr(&out).contains("wrong-secret-id"), "{}", stderr(&out));
    assert!(stderr(&out).contains("auth/approle/login"), "{}", stderr(&out));
}

#[test]
fn vault_namespace_is_sent_on_every_request() {
    let f = Fixture::new();
    let bao = bao();
    bao.create_namespace_with_kv2("team-a");
    bao.kv2_put_in(Some("team-a"), "secret", "app", json!({"token": "ns-token"}));
    f.write("a.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  t: <path:secret/data/app#token>\n");
    let from = bao.audit_entries().len();
    let out = f
        .gitseal()
        .env("VAULT_ADDR", bao.addr())
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_NAMESPACE", "team-a")
        .args(["render", "a.yaml"])
        .output()
        .unwrap();
    assert_success("render in a namespace", &out);
    assert!(utf8(&out.stdout).contains("t: ns-token"), "{}", utf8(&out.stdout));
    let log: Vec<_> = bao.audit_entries().into_iter().skip(from).filter(|e| e["type"] == "response").collect();
    assert!(!log.is_empty() && log.iter().all(|e| e["request"]["namespace"]["path"] == "team-a/"), "{log:?}");

    // The root namespace has no `app` secret: without the header the read fails.
    let out = render(&f, &bao, bao.root_token(), &["a.yaml"]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
}

#[test]
fn kubernetes_login_reads_the_service_account_token_file() {
    let f = Fixture::new();
    let server = VaultServer::start();
    server.kv2_put("secret", "flux/webhook", json!({"token": "tok-v2"}));
    let jwt = "eyJhbGciOiJSUzI1NiJ9.test-service-account.sig";
    server.add_k8s_role("kubernetes", "gitseal", jwt, Policy::new().allow("secret/data/flux/*", &["read"]));
    let jwt_file = f.write("sa-token", jwt);
    f.write("a.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  t: <path:secret/data/flux/webhook#token>\n");
    let k8s = |c: &mut Command| {
        c.env("VAULT_ADDR", server.addr()).env("VAULT_K8S_ROLE", "gitseal").env("VAULT_K8S_TOKEN_PATH", &jwt_file);
    };
    let mut c = f.gitseal();
    k8s(&mut c);
    let out = c.args(["render", "a.yaml"]).output().unwrap();
    assert_success("render with Kubernetes auth", &out);
    assert!(utf8(&out.stdout).contains("t: tok-v2"));
    let login = server.requests().into_iter().find(|r| r.path == "/v1/auth/kubernetes/login").expect("a Kubernetes login");
    let body: serde_json::Value = serde_json::from_slice(&login.body).unwrap();
    assert_eq!(body, json!({"role": "gitseal", "jwt": jwt}));

    // A 503 on the login is retried; a read after it succeeds.
    server.fail_next(1, Fault::Status(503));
    let mut c = f.gitseal();
    k8s(&mut c);
    assert_success("render through a 503", &c.args(["render", "a.yaml"]).output().unwrap());
}
