//! `gitseal render` resolving Vault KV references, against the in-process Vault API server
//! (KV v1 and v2 with versions, token, AppRole and Kubernetes logins, namespaces): inline
//! and annotation forms, references inside sops-encrypted values, one read per path, and
//! all-or-nothing failures (exit 11, nothing printed, no secret in the message).

mod common;
mod vault_support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{assert_success, stderr, utf8, Fixture};
use serde_json::json;
use vault_support::{Fault, Policy, VaultServer, ROOT_TOKEN};

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

fn server() -> VaultServer {
    let server = VaultServer::start();
    server.kv2_put("secret", "flux/webhook", json!({"token": "tok-v1"}));
    server.kv2_put("secret", "flux/webhook", json!({"token": "tok-v2", "other": "x"}));
    server.kv1_put("kv", "flux/legacy", json!({"password": "legacy-pass"}));
    server
}

fn render(f: &Fixture, server: &VaultServer, token: &str, args: &[&str]) -> Output {
    let mut c = f.gitseal();
    c.env("VAULT_ADDR", server.addr()).env("VAULT_TOKEN", token).arg("render").args(args);
    c.output().unwrap()
}

fn kv_reads(server: &VaultServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/secret/") || r.path.starts_with("/v1/kv/"))
        .map(|r| format!("{}{}", r.path, r.query.map(|q| format!("?{q}")).unwrap_or_default()))
        .collect()
}

#[test]
fn inline_references_resolve_from_kv_v2_and_v1() {
    let f = Fixture::new();
    let server = server();
    f.write("hook.yaml", INLINE);
    let out = render(&f, &server, ROOT_TOKEN, &["hook.yaml"]);
    assert_success("render", &out);
    let expected = INLINE
        .replace("token: <path:secret/data/flux/webhook#token>\n", "token: tok-v2\n")
        .replace("<path:secret/data/flux/webhook#token#1>", "tok-v1")
        .replace("https://hooks.example.com/<path:secret/data/flux/webhook#token>?v=1", "https://hooks.example.com/tok-v2?v=1")
        .replace("<path:kv/flux/legacy#password>", "legacy-pass")
        .replace("raw: <path:secret/data/flux/webhook#token>", &format!("raw: {}", B64.encode("tok-v2")));
    assert_eq!(utf8(&out.stdout), expected);

    // One read per path and version, each with the token.
    let mut reads = kv_reads(&server);
    reads.sort();
    assert_eq!(reads, ["/v1/kv/flux/legacy", "/v1/secret/data/flux/webhook", "/v1/secret/data/flux/webhook?version=1"]);
    assert!(server.requests().iter().all(|r| r.header("x-vault-token") == Some(ROOT_TOKEN)));
}

#[test]
fn annotation_form_resolves_placeholders_and_drops_the_annotations() {
    let f = Fixture::new();
    let server = server();
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
    let out = render(&f, &server, ROOT_TOKEN, &["argocd.yaml"]);
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
    assert_eq!(kv_reads(&server), ["/v1/secret/data/flux/webhook?version=1"]);
}

#[test]
fn reference_inside_an_encrypted_value_is_resolved_after_decryption() {
    let f = Fixture::new();
    let server = server();
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
    let out = render(&f, &server, ROOT_TOKEN, &["creds.yaml", other.to_str().unwrap()]);
    assert_success("render", &out);
    let expected = format!("{}---\n{}", src.replace("<path:secret/data/flux/webhook#token>", "tok-v2"), utf8(&f.read("plain.yaml")));
    assert_eq!(utf8(&out.stdout), expected);

    // Standard input works the same way.
    let mut child = f
        .gitseal()
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", ROOT_TOKEN)
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
    let server = server();
    server.kv2_put("secret", "flux/webhook", json!({"token": "tok-v3"}));
    server.kv2_delete_version("secret", "flux/webhook", 2);
    server.kv2_destroy_version("secret", "flux/webhook", 1);
    let limited = "hvs.flux-only";
    server.add_token(limited, Policy::new().allow("secret/data/flux/*", &["read"]).allow("kv/flux/*", &["read"]));
    f.write("good.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: good\nstringData:\n  token: <path:secret/data/flux/webhook#token>\n");

    let cases = [
        ("<path:secret/data/flux/webhook#tokn>", "no key \"tokn\""),
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
        let out = render(&f, &server, limited, &["good.yaml", bad.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(11), "{reference}: {err}");
        assert!(out.stdout.is_empty(), "{reference}: printed {}", utf8(&out.stdout));
        assert!(err.contains("bad.yaml:7") && err.contains("Secret \"hook\""), "{reference}: {err}");
        assert!(err.contains(why), "{reference}: expected {why:?} in {err}");
        for secret in ["tok-v1", "tok-v2", "tok-v3", "legacy-pass", limited] {
            assert!(!err.contains(secret), "{reference}: {secret} leaked into {err}");
        }
    }

    // Vault unreachable: the same all-or-nothing failure.
    let out = f
        .gitseal()
        .env("VAULT_ADDR", "http://127.0.0.1:9")
        .env("VAULT_TOKEN", ROOT_TOKEN)
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
    let server = server();
    server.add_approle("approle", "gitops", "role-1234", "secret-5678", Policy::new().allow("secret/data/flux/*", &["read"]));
    for name in ["a", "b"] {
        f.write(
            &format!("{name}.yaml"),
            format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n  t: <path:secret/data/flux/webhook#token>\n"),
        );
    }
    let approle = |secret_id: &str| {
        let mut c = f.gitseal();
        c.env("VAULT_ADDR", server.addr()).env("VAULT_ROLE_ID", "role-1234").env("VAULT_SECRET_ID", secret_id);
        c
    };
    let out = approle("secret-5678").args(["render", "a.yaml", "b.yaml"]).output().unwrap();
    assert_success("render with AppRole", &out);
    assert_eq!(utf8(&out.stdout), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  t: tok-v2\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\nstringData:\n  t: tok-v2\n");
    let log = server.requests();
    let logins: Vec<_> = log.iter().filter(|r| r.path == "/v1/auth/approle/login").collect();
    assert_eq!(logins.len(), 1, "{log:?}");
    let body: serde_json::Value = serde_json::from_slice(&logins[0].body).unwrap();
    assert_eq!(body, json!({"role_id": "role-1234", "secret_id": "secret-5678"}));
    assert_eq!(kv_reads(&server).len(), 1, "one read for one path");

    // A wrong secret id: Vault's 4xx text, not the secret id.
    let out = approle("wrong-secret-id").args(["render", "a.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(!stderr(&out).contains("wrong-secret-id"), "{}", stderr(&out));
    assert!(stderr(&out).contains("auth/approle/login"), "{}", stderr(&out));
}

#[test]
fn vault_namespace_is_sent_on_every_request() {
    let f = Fixture::new();
    let server = server();
    server.mount_kv2("team-a/secret");
    server.kv2_put("team-a/secret", "app", json!({"token": "ns-token"}));
    f.write("a.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  t: <path:secret/data/app#token>\n");
    let out = f
        .gitseal()
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_NAMESPACE", "team-a")
        .args(["render", "a.yaml"])
        .output()
        .unwrap();
    assert_success("render in a namespace", &out);
    assert!(utf8(&out.stdout).contains("t: ns-token"), "{}", utf8(&out.stdout));
    let log = server.requests();
    assert!(!log.is_empty() && log.iter().all(|r| r.header("x-vault-namespace") == Some("team-a")), "{log:?}");
}

#[test]
fn kubernetes_login_reads_the_service_account_token_file() {
    let f = Fixture::new();
    let server = server();
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
