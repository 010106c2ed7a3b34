//! `gitseal render` against RustyVault (`rvault`), a real server implementing Vault's HTTP
//! API: initialized and unsealed over the API, token auth, a KV v1 mount (`secret/`).
//! Transit, KV v2 and the login methods RustyVault lacks are covered by the in-process
//! server (tests/vault_support).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{assert_success, require_peer, stderr, utf8, Fixture};
use serde_json::{json, Value};

/// A RustyVault server on a free port with file storage in a temporary directory,
/// initialized (one unseal key) and unsealed; killed on drop.
struct RustyVault {
    child: Child,
    port: u16,
    root_token: String,
    _dir: tempfile::TempDir,
}

impl RustyVault {
    fn start() -> Self {
        let bin = require_peer("rvault");
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = dir.path().join("config.hcl");
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(
            &config,
            format!(
                "storage \"file\" {{\n  path = \"{data}\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}\napi_addr = \"http://127.0.0.1:{port}\"\nlog_level = \"warn\"\npid_file = \"{pid}\"\n",
                data = dir.path().join("data").display(),
                pid = dir.path().join("rvault.pid").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(bin).arg("server").arg("--config").arg(&config).stdout(log.try_clone().unwrap()).stderr(log).spawn().expect("start rvault");
        let mut server = RustyVault { child, port, root_token: String::new(), _dir: dir };

        let deadline = Instant::now() + Duration::from_secs(30);
        while server.http("GET", "sys/seal-status", None, None).is_none() {
            assert!(Instant::now() < deadline, "rvault did not start listening on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let (status, init) = server.http("PUT", "sys/init", None, Some(&json!({"secret_shares": 1, "secret_threshold": 1}))).unwrap();
        assert_eq!(status, 200, "init: {init}");
        let key = init["keys"][0].as_str().expect("unseal key").to_owned();
        server.root_token = init["root_token"].as_str().expect("root token").to_owned();
        let (status, unseal) = server.http("PUT", "sys/unseal", None, Some(&json!({"key": key}))).unwrap();
        assert_eq!((status, &unseal["sealed"]), (200, &json!(false)), "unseal: {unseal}");
        server
    }

    fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request with `Connection: close`; `None` when nothing listens yet.
    fn http(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Option<(u16, Value)> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let token = token.map(|t| format!("X-Vault-Token: {t}\r\n")).unwrap_or_default();
        write!(
            conn,
            "{method} /v1/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{token}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .ok()?;
        let mut raw = String::new();
        conn.read_to_string(&mut raw).ok()?;
        let status = raw.split(' ').nth(1)?.parse().ok()?;
        let json = raw.split_once("\r\n\r\n").map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null)).unwrap_or(Value::Null);
        Some((status, json))
    }

    fn write(&self, path: &str, data: Value) {
        let (status, answer) = self.http("POST", path, Some(&self.root_token), Some(&data)).unwrap();
        assert!(status == 200 || status == 204, "write {path}: {status} {answer}");
    }
}

impl Drop for RustyVault {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MANIFEST: &str = "apiVersion: v1
kind: Secret
metadata:
  name: webhook-token
  namespace: flux-system
stringData:
  token: <path:secret/flux/webhook#token>
data:
  password: <path:secret/flux/webhook#password>
";

#[test]
fn render_resolves_kv_v1_references_from_rustyvault() {
    let vault = RustyVault::start();
    vault.write("secret/flux/webhook", json!({"token": "rv-token-1", "password": "rv-pass"}));
    let f = Fixture::new();
    f.write("hook.yaml", MANIFEST);

    // VAULT_TOKEN.
    let out = f.gitseal().env("VAULT_ADDR", vault.addr()).env("VAULT_TOKEN", &vault.root_token).args(["render", "hook.yaml"]).output().unwrap();
    assert_success("render against rvault", &out);
    let expected = MANIFEST.replace("<path:secret/flux/webhook#token>", "rv-token-1").replace("<path:secret/flux/webhook#password>", "cnYtcGFzcw==");
    assert_eq!(utf8(&out.stdout), expected);

    // ~/.vault-token, as `vault login` leaves it (HOME is the fixture directory).
    f.write(".vault-token", format!("{}\n", vault.root_token));
    let out = f.gitseal().env("VAULT_ADDR", vault.addr()).args(["render", "hook.yaml"]).output().unwrap();
    assert_success("render with ~/.vault-token", &out);
    assert_eq!(utf8(&out.stdout), expected);
}

#[test]
fn rustyvault_refusals_fail_render_with_the_servers_reason() {
    let vault = RustyVault::start();
    vault.write("secret/flux/webhook", json!({"token": "rv-token-1"}));
    let f = Fixture::new();
    f.write("hook.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/flux/webhook#token>\n");
    f.write("missing.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/flux/nothing#token>\n");
    f.write("key.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/flux/webhook#tokn>\n");

    let run = |token: &str, file: &str| f.gitseal().env("VAULT_ADDR", vault.addr()).env("VAULT_TOKEN", token).args(["render", file]).output().unwrap();

    let out = run("not-a-token", "hook.yaml");
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("Permission denied") && stderr(&out).contains("hook.yaml:6"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not-a-token"), "{}", stderr(&out));

    let out = run(&vault.root_token, "missing.yaml");
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("secret/flux/nothing"), "{}", stderr(&out));

    let out = run(&vault.root_token, "key.yaml");
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("no key \"tokn\"") && stderr(&out).contains("keys there: token"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("rv-token-1"), "{}", stderr(&out));
}
