//! An in-process Vault server for the tests, following Vault's HTTP API: token auth with
//! per-token policies, `X-Vault-Namespace`, Transit (real AES-256-GCM per key version,
//! `vault:vN:base64(nonce||ciphertext)`), KV v2, KV v1, token lookup-self, AppRole and
//! Kubernetes logins, `sys/mounts`, `sys/health`; plus fault injection (failing or
//! dropping the next requests) and a log of every request for assertions.
//!
//! HTTP/1.1 is spoken directly on a `TcpListener` (keep-alive, Content-Length and chunked
//! request bodies) so that a fault can close a connection without any answer.
#![allow(dead_code)]

pub mod openbao;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The root token of every test server.
pub const ROOT_TOKEN: &str = "hvs.test-root-token";

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub method: String,
    /// Path as sent (percent-encoding kept), without the query.
    pub path: String,
    pub query: Option<String>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status answered, or `None` when the connection was dropped.
    pub status: Option<u16>,
}

impl LoggedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

/// What to do to a request instead of answering it.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and a Vault error body.
    Status(u16),
    /// Close the connection without answering.
    Drop,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 307 with this `Location` (as a Vault standby node without request
    /// forwarding does).
    Redirect(String),
}

/// Capabilities on a path pattern (`secret/data/app`, `secret/data/*`, `transit/+/k`).
#[derive(Clone, Debug, Default)]
pub struct Policy {
    rules: Vec<(String, Vec<String>)>,
}

impl Policy {
    pub fn new() -> Self {
        Policy::default()
    }

    /// Allows `caps` (`read`, `create`, `update`, `delete`, `list`, `sudo`, or `deny`) on
    /// paths matching `pattern` (Vault glob: a trailing `*` matches any suffix, a `+`
    /// segment matches one segment; the most specific matching pattern wins).
    pub fn allow(mut self, pattern: &str, caps: &[&str]) -> Self {
        self.rules.push((pattern.to_owned(), caps.iter().map(|c| c.to_string()).collect()));
        self
    }

    fn caps_for(&self, path: &str) -> Vec<String> {
        let mut best: Option<(bool, usize, &Vec<String>)> = None;
        for (pattern, caps) in &self.rules {
            if glob_match(pattern, path) {
                let key = (!pattern.contains(['*', '+']), pattern.len());
                if best.is_none_or(|(e, l, _)| key > (e, l)) {
                    best = Some((key.0, key.1, caps));
                }
            }
        }
        best.map(|(_, _, c)| c.clone()).unwrap_or_default()
    }
}

fn glob_match(pattern: &str, path: &str) -> bool {
    let mut re = String::from("^");
    let (body, prefix) = match pattern.strip_suffix('*') {
        Some(b) => (b, true),
        None => (pattern, false),
    };
    for (i, seg) in body.split('/').enumerate() {
        if i > 0 {
            re.push('/');
        }
        if seg == "+" {
            re.push_str("[^/]+");
        } else {
            re.push_str(&regex::escape(seg));
        }
    }
    if prefix {
        re.push_str(".*");
    }
    re.push('$');
    regex::Regex::new(&re).unwrap().is_match(path)
}

#[derive(Clone)]
struct TokenInfo {
    policy: Option<Policy>, // None: root
    policies: Vec<String>,
    namespace: String,
    expires: Option<Instant>,
    path: String,
}

struct TransitKey {
    versions: Vec<([u8; 32], u64)>, // (key, creation unix time)
    min_decryption_version: u64,
}

struct Kv2Version {
    data: Option<Map<String, Value>>,
    created: String,
    deletion_time: String,
    destroyed: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum MountKind {
    Transit,
    Kv1,
    Kv2,
    AppRole,
    Kubernetes,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, TokenInfo>,
    mounts: BTreeMap<String, MountKind>,
    transit: HashMap<(String, String), TransitKey>,
    kv2: HashMap<(String, String), Vec<Kv2Version>>,
    kv1: HashMap<(String, String), Map<String, Value>>,
    /// (mount, role_id) → (secret_id, role name, policy)
    approles: HashMap<(String, String), (String, String, Policy)>,
    /// (mount, role) → (jwt, policy)
    k8s_roles: HashMap<(String, String), (String, Policy)>,
    login_lease_seconds: u64,
    faults: Vec<Fault>,
    log: Vec<LoggedRequest>,
    issued: u64,
}

/// A running test server; stops when dropped.
pub struct VaultServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl VaultServer {
    /// Starts a server on 127.0.0.1 (random port) with the root token [`ROOT_TOKEN`] and
    /// mounts `transit/` and `sops/` (Transit), `secret/` (KV v2), `kv/` (KV v1),
    /// `auth/approle/`, `auth/kubernetes/`.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let mut st = State { login_lease_seconds: 3600, ..State::default() };
        st.tokens.insert(
            ROOT_TOKEN.into(),
            TokenInfo { policy: None, policies: vec!["root".into()], namespace: String::new(), expires: None, path: "auth/token/root".into() },
        );
        for (m, k) in [
            ("transit", MountKind::Transit),
            ("sops", MountKind::Transit),
            ("secret", MountKind::Kv2),
            ("kv", MountKind::Kv1),
            ("auth/approle", MountKind::AppRole),
            ("auth/kubernetes", MountKind::Kubernetes),
        ] {
            st.mounts.insert(m.into(), k);
        }
        let state = Arc::new(Mutex::new(st));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (Arc::clone(&state), Arc::clone(&stop));
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (s3, stop3) = (Arc::clone(&s2), Arc::clone(&stop2));
                std::thread::spawn(move || serve_connection(conn, s3, stop3));
            }
        });
        VaultServer { addr, state, stop, accept: Some(accept) }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Mounts an engine at `path` (`ns/path` for a namespace).
    pub fn mount_transit(&self, path: &str) {
        self.state().mounts.insert(path.trim_matches('/').into(), MountKind::Transit);
    }
    pub fn mount_kv2(&self, path: &str) {
        self.state().mounts.insert(path.trim_matches('/').into(), MountKind::Kv2);
    }
    pub fn mount_kv1(&self, path: &str) {
        self.state().mounts.insert(path.trim_matches('/').into(), MountKind::Kv1);
    }
    pub fn mount_approle(&self, path: &str) {
        self.state().mounts.insert(format!("auth/{}", path.trim_matches('/')), MountKind::AppRole);
    }
    pub fn mount_kubernetes(&self, path: &str) {
        self.state().mounts.insert(format!("auth/{}", path.trim_matches('/')), MountKind::Kubernetes);
    }

    /// Registers a token with `policy`, valid in the root namespace and all namespaces.
    pub fn add_token(&self, token: &str, policy: Policy) {
        self.add_token_in_namespace(token, "", policy);
    }

    /// Registers a token created in namespace `ns` (valid there and in its children).
    pub fn add_token_in_namespace(&self, token: &str, ns: &str, policy: Policy) {
        let info = TokenInfo {
            policy: Some(policy),
            policies: vec!["default".into(), "test".into()],
            namespace: ns.trim_matches('/').into(),
            expires: None,
            path: "auth/token/create".into(),
        };
        self.state().tokens.insert(token.into(), info);
    }

    pub fn add_approle(&self, mount: &str, role_name: &str, role_id: &str, secret_id: &str, policy: Policy) {
        self.state().approles.insert((format!("auth/{}", mount.trim_matches('/')), role_id.into()), (secret_id.into(), role_name.into(), policy));
    }

    pub fn add_k8s_role(&self, mount: &str, role: &str, jwt: &str, policy: Policy) {
        self.state().k8s_roles.insert((format!("auth/{}", mount.trim_matches('/')), role.into()), (jwt.into(), policy));
    }

    /// Lease (TTL) of the tokens logins issue from now on; the server rejects them after.
    pub fn set_login_lease_seconds(&self, secs: u64) {
        self.state().login_lease_seconds = secs;
    }

    pub fn create_transit_key(&self, mount: &str, name: &str) {
        let mut st = self.state();
        st.transit.entry((mount.trim_matches('/').into(), name.into())).or_insert_with(new_transit_key);
    }

    pub fn rotate_transit_key(&self, mount: &str, name: &str) {
        let mut st = self.state();
        let key = st.transit.get_mut(&(mount.trim_matches('/').into(), name.into())).expect("transit key exists");
        key.versions.push((random_key(), unix_now()));
    }

    pub fn set_min_decryption_version(&self, mount: &str, name: &str, version: u64) {
        let mut st = self.state();
        st.transit.get_mut(&(mount.trim_matches('/').into(), name.into())).expect("transit key exists").min_decryption_version = version;
    }

    pub fn transit_latest_version(&self, mount: &str, name: &str) -> u64 {
        self.state().transit.get(&(mount.trim_matches('/').into(), name.into())).map(|k| k.versions.len() as u64).unwrap_or(0)
    }

    /// Writes a new KV v2 version of `path` under `mount`; returns its number.
    pub fn kv2_put(&self, mount: &str, path: &str, data: Value) -> u64 {
        let mut st = self.state();
        let versions = st.kv2.entry((mount.trim_matches('/').into(), path.trim_matches('/').into())).or_default();
        versions.push(Kv2Version {
            data: Some(data.as_object().expect("object").clone()),
            created: rfc3339_now(),
            deletion_time: String::new(),
            destroyed: false,
        });
        versions.len() as u64
    }

    pub fn kv2_delete_version(&self, mount: &str, path: &str, version: u64) {
        let mut st = self.state();
        let v = &mut st.kv2.get_mut(&(mount.trim_matches('/').into(), path.trim_matches('/').into())).expect("secret exists")[version as usize - 1];
        v.deletion_time = rfc3339_now();
    }

    pub fn kv2_destroy_version(&self, mount: &str, path: &str, version: u64) {
        let mut st = self.state();
        let v = &mut st.kv2.get_mut(&(mount.trim_matches('/').into(), path.trim_matches('/').into())).expect("secret exists")[version as usize - 1];
        v.destroyed = true;
        v.data = None;
    }

    pub fn kv1_put(&self, mount: &str, path: &str, data: Value) {
        self.state().kv1.insert((mount.trim_matches('/').into(), path.trim_matches('/').into()), data.as_object().expect("object").clone());
    }

    /// The next requests get these faults, one each, in order.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut st = self.state();
        for _ in 0..n {
            st.faults.push(fault.clone());
        }
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    pub fn clear_requests(&self) {
        self.state().log.clear();
    }

    /// Sends one request with a plain HTTP/1.1 client; returns the status and JSON body
    /// (`Null` when empty).
    pub fn raw(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
        self.raw_with_headers(method, path, token, body, &[])
    }

    pub fn raw_with_headers(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n", self.addr, body.len());
        if let Some(t) = token {
            req.push_str(&format!("X-Vault-Token: {t}\r\n"));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let json = if body.trim().is_empty() { Value::Null } else { serde_json::from_str(body).unwrap() };
        (status, json)
    }
}

impl Drop for VaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// HTTP/1.1

struct HttpRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn serve_connection(conn: TcpStream, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Some(req) = read_request(&mut reader) else { return };
        let close = req.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let (path, query) = match req.target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (req.target.clone(), None),
        };
        let fault = {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            if st.faults.is_empty() {
                None
            } else {
                Some(st.faults.remove(0))
            }
        };
        let mut logged = LoggedRequest {
            method: req.method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            status: None,
        };
        let mut location = None;
        let response = match fault {
            Some(Fault::Drop) => {
                state.lock().unwrap_or_else(|p| p.into_inner()).log.push(logged);
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::Status(code)) => {
                let msg = if code == 503 { "Vault is sealed" } else { "injected failure" };
                (code, json!({ "errors": [msg] }))
            }
            Some(Fault::Delay(d)) => {
                std::thread::sleep(d);
                handle(&state, &req, &path, query.as_deref())
            }
            Some(Fault::Redirect(to)) => {
                location = Some(to);
                (307, Value::Null)
            }
            None => handle(&state, &req, &path, query.as_deref()),
        };
        logged.status = Some(response.0);
        state.lock().unwrap_or_else(|p| p.into_inner()).log.push(logged);
        if write_response(&mut writer, response.0, &response.1, location.as_deref()).is_err() || close {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(len) = get("content-length") {
        let mut buf = vec![0; len.parse().ok()?];
        reader.read_exact(&mut buf).ok()?;
        body = buf;
    }
    Some(HttpRequest { method, target, headers, body })
}

fn write_response(w: &mut TcpStream, status: u16, body: &Value, location: Option<&str>) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        307 => "Temporary Redirect",
        _ => "Status",
    };
    let text = if status == 204 || body.is_null() { String::new() } else { body.to_string() };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nCache-Control: no-store\r\nContent-Length: {}\r\n", text.len());
    if !text.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(to) = location {
        head.push_str(&format!("Location: {to}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(text.as_bytes())?;
    w.flush()
}

// ---------------------------------------------------------------------------------------
// Vault API

type Answer = (u16, Value);

fn err(status: u16, msg: &str) -> Answer {
    (status, json!({ "errors": if msg.is_empty() { vec![] } else { vec![msg.to_owned()] } }))
}

fn denied() -> Answer {
    err(403, "permission denied")
}

fn unsupported() -> Answer {
    err(405, "1 error occurred:\n\t* unsupported operation\n\n")
}

fn envelope(data: Value) -> Answer {
    (
        200,
        json!({ "request_id": request_id(), "lease_id": "", "renewable": false, "lease_duration": 0, "data": data, "wrap_info": null, "warnings": null, "auth": null }),
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn handle(state: &Arc<Mutex<State>>, req: &HttpRequest, raw_path: &str, query: Option<&str>) -> Answer {
    let Some(rel) = raw_path.strip_prefix("/v1/") else {
        return err(404, "");
    };
    let rel = percent_decode(rel);
    let namespace = req.header("x-vault-namespace").unwrap_or("").trim_matches('/').to_owned();
    let full = if namespace.is_empty() { rel.trim_matches('/').to_owned() } else { format!("{namespace}/{}", rel.trim_matches('/')) };
    let params: HashMap<String, String> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).unwrap_or((p.to_owned(), String::new())))
        .collect();
    let method = if req.method == "GET" && params.get("list").is_some_and(|v| v == "true") { "LIST".to_owned() } else { req.method.clone() };
    let body: Value = if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return err(400, "failed to parse JSON input: request body must be a JSON object"),
            Err(e) => return err(400, &format!("failed to parse JSON input: {e}")),
        }
    };
    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());

    // Unauthenticated endpoints.
    if full == "sys/health" || full == "sys/seal-status" {
        return (200, json!({ "initialized": true, "sealed": false, "standby": false, "version": "1.17.0-test", "cluster_name": "vault-test" }));
    }
    let ns_prefix = if namespace.is_empty() { String::new() } else { format!("{namespace}/") };
    let local = full.strip_prefix(&ns_prefix).unwrap_or(&full).to_owned();
    if let Some(login_mount) = local.strip_prefix("auth/").and_then(|r| r.strip_suffix("/login")) {
        let mount_key = format!("{ns_prefix}auth/{login_mount}");
        let Some(kind) = st.mounts.get(&mount_key).cloned() else {
            return err(404, &format!("no handler for route \"{full}\". route entry not found."));
        };
        if method != "POST" && method != "PUT" {
            return unsupported();
        }
        return login(&mut st, &kind, &mount_key, &namespace, &body);
    }

    // Token check.
    let Some(token) = req.header("x-vault-token").map(str::to_owned) else {
        return denied();
    };
    let Some(info) = st.tokens.get(&token).cloned() else {
        return denied();
    };
    if info.expires.is_some_and(|e| Instant::now() >= e) {
        return denied();
    }
    if !(info.namespace.is_empty() || namespace == info.namespace || namespace.starts_with(&format!("{}/", info.namespace))) {
        return denied();
    }
    let allowed = |cap: &str| -> bool {
        match &info.policy {
            None => true,
            Some(p) => {
                let caps = p.caps_for(&full);
                !caps.iter().any(|c| c == "deny") && caps.iter().any(|c| c == cap)
            }
        }
    };

    if local == "auth/token/lookup-self" {
        if method != "GET" {
            return unsupported();
        }
        return envelope(json!({
            "accessor": format!("accessor-{}", &token.len()), "creation_time": unix_now(), "creation_ttl": 0, "display_name": "token",
            "entity_id": "", "expire_time": null, "explicit_max_ttl": 0, "id": token, "issue_time": rfc3339_now(), "meta": null,
            "num_uses": 0, "orphan": true, "path": info.path, "policies": info.policies, "renewable": false, "ttl": 0, "type": "service",
            "namespace_path": ns_prefix,
        }));
    }
    if local == "sys/mounts" {
        if method != "GET" {
            return unsupported();
        }
        if !allowed("read") {
            return denied();
        }
        let mut out = Map::new();
        for (m, k) in st.mounts.iter() {
            if let Some(m) = m.strip_prefix(&ns_prefix).filter(|m| !m.starts_with("auth/")) {
                let (ty, opts) = match k {
                    MountKind::Transit => ("transit", Value::Null),
                    MountKind::Kv1 => ("kv", json!({"version": "1"})),
                    MountKind::Kv2 => ("kv", json!({"version": "2"})),
                    _ => continue,
                };
                out.insert(format!("{m}/"), json!({ "type": ty, "options": opts, "description": "", "config": {} }));
            }
        }
        return envelope(Value::Object(out));
    }

    // Longest mount that prefixes the full path.
    let mount =
        st.mounts.iter().filter(|(m, _)| full == **m || full.starts_with(&format!("{m}/"))).max_by_key(|(m, _)| m.len()).map(|(m, k)| (m.clone(), k.clone()));
    let Some((mount, kind)) = mount else {
        return err(404, &format!("no handler for route \"{full}\". route entry not found."));
    };
    let sub = full[mount.len()..].trim_start_matches('/').to_owned();
    match kind {
        MountKind::Transit => transit(&mut st, &mount, &sub, &method, &body, &allowed),
        MountKind::Kv2 => kv2(&mut st, &mount, &sub, &method, &params, &body, &allowed),
        MountKind::Kv1 => kv1(&mut st, &mount, &sub, &method, &body, &allowed),
        MountKind::AppRole | MountKind::Kubernetes => err(404, &format!("no handler for route \"{full}\". route entry not found.")),
    }
}

fn login(st: &mut State, kind: &MountKind, mount: &str, namespace: &str, body: &Value) -> Answer {
    let field = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let (policy, metadata, role_name) = match kind {
        MountKind::AppRole => {
            let (role_id, secret_id) = (field("role_id"), field("secret_id"));
            if role_id.is_empty() {
                return err(400, "missing role_id");
            }
            match st.approles.get(&(mount.to_owned(), role_id)) {
                Some((want, name, policy)) if *want == secret_id => (policy.clone(), json!({ "role_name": name }), name.clone()),
                _ => return err(400, "invalid role or secret ID"),
            }
        }
        MountKind::Kubernetes => {
            let (role, jwt) = (field("role"), field("jwt"));
            if role.is_empty() {
                return err(400, "missing role");
            }
            if jwt.is_empty() {
                return err(400, "missing jwt");
            }
            match st.k8s_roles.get(&(mount.to_owned(), role.clone())) {
                Some((want, policy)) if *want == jwt => {
                    (policy.clone(), json!({ "role": role, "service_account_name": "default", "service_account_namespace": "default" }), role.clone())
                }
                Some(_) => return denied(),
                None => return err(400, &format!("invalid role name \"{role}\"")),
            }
        }
        _ => return err(404, "unsupported path"),
    };
    st.issued += 1;
    let token = format!("hvs.login-{}-{}", st.issued, request_id());
    let lease = st.login_lease_seconds;
    st.tokens.insert(
        token.clone(),
        TokenInfo {
            policy: Some(policy),
            policies: vec!["default".into(), role_name.clone()],
            namespace: namespace.to_owned(),
            expires: (lease > 0).then(|| Instant::now() + Duration::from_secs(lease)),
            path: format!("{mount}/login"),
        },
    );
    (
        200,
        json!({
            "request_id": request_id(), "lease_id": "", "renewable": false, "lease_duration": 0, "data": null, "wrap_info": null, "warnings": null,
            "auth": {
                "client_token": token, "accessor": format!("accessor-{}", st.issued), "policies": ["default", role_name], "token_policies": ["default", role_name],
                "metadata": metadata, "lease_duration": lease, "renewable": true, "entity_id": format!("entity-{}", st.issued), "token_type": "service",
                "orphan": true, "mfa_requirement": null, "num_uses": 0,
            },
            "mount_type": if *kind == MountKind::AppRole { "approle" } else { "kubernetes" },
        }),
    )
}

fn key_info(name: &str, k: &TransitKey) -> Value {
    let keys: Map<String, Value> = k.versions.iter().enumerate().map(|(i, (_, t))| ((i + 1).to_string(), json!(t))).collect();
    json!({
        "name": name, "type": "aes256-gcm96", "keys": keys, "latest_version": k.versions.len(), "min_available_version": 0,
        "min_decryption_version": k.min_decryption_version, "min_encryption_version": 0, "deletion_allowed": false, "derived": false,
        "exportable": false, "allow_plaintext_backup": false, "supports_encryption": true, "supports_decryption": true,
        "supports_derivation": true, "supports_signing": false, "auto_rotate_period": 0, "imported_key": false,
    })
}

fn transit(st: &mut State, mount: &str, sub: &str, method: &str, body: &Value, allowed: &dyn Fn(&str) -> bool) -> Answer {
    let segs: Vec<&str> = sub.split('/').collect();
    let str_field = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    match (method, segs.as_slice()) {
        ("POST" | "PUT", ["keys", name]) => {
            if !allowed("update") {
                return denied();
            }
            if let Some(t) = str_field("type") {
                if t != "aes256-gcm96" {
                    return err(400, &format!("unsupported key type {t} in this test server"));
                }
            }
            let k = st.transit.entry((mount.into(), name.to_string())).or_insert_with(new_transit_key);
            envelope(key_info(name, k))
        }
        ("GET", ["keys", name]) => {
            if !allowed("read") {
                return denied();
            }
            match st.transit.get(&(mount.into(), name.to_string())) {
                Some(k) => envelope(key_info(name, k)),
                None => err(404, ""),
            }
        }
        ("POST" | "PUT", ["keys", name, "rotate"]) => {
            if !allowed("update") {
                return denied();
            }
            match st.transit.get_mut(&(mount.into(), name.to_string())) {
                Some(k) => {
                    k.versions.push((random_key(), unix_now()));
                    envelope(key_info(name, k))
                }
                None => err(400, "encryption key not found"),
            }
        }
        ("POST" | "PUT", ["keys", name, "config"]) => {
            if !allowed("update") {
                return denied();
            }
            let Some(k) = st.transit.get_mut(&(mount.into(), name.to_string())) else {
                return err(400, "encryption key not found");
            };
            if let Some(v) = body.get("min_decryption_version") {
                let Some(v) = v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) else {
                    return err(400, "min_decryption_version must be a number");
                };
                if v > k.versions.len() as u64 {
                    return err(400, "cannot set min decryption version to a version greater than the latest version");
                }
                k.min_decryption_version = v.max(1);
            }
            envelope(key_info(name, k))
        }
        ("POST" | "PUT", ["encrypt", name]) => {
            let exists = st.transit.contains_key(&(mount.into(), name.to_string()));
            if !allowed(if exists { "update" } else { "create" }) {
                return denied();
            }
            let Some(pt) = str_field("plaintext") else {
                return err(400, "missing plaintext to encrypt");
            };
            let Ok(pt) = STANDARD.decode(pt.as_bytes()) else {
                return err(400, "failed to base64-decode plaintext");
            };
            let k = st.transit.entry((mount.into(), name.to_string())).or_insert_with(new_transit_key);
            let version = k.versions.len() as u64;
            let ct = seal(&k.versions[version as usize - 1].0, &pt);
            envelope(json!({ "ciphertext": format!("vault:v{version}:{ct}"), "key_version": version }))
        }
        ("POST" | "PUT", ["decrypt", name]) => {
            if !allowed("update") {
                return denied();
            }
            let Some(k) = st.transit.get(&(mount.into(), name.to_string())) else {
                return err(400, "encryption key not found");
            };
            let Some(ct) = str_field("ciphertext") else {
                return err(400, "missing ciphertext to decrypt");
            };
            match open(k, &ct) {
                Ok(pt) => envelope(json!({ "plaintext": STANDARD.encode(pt) })),
                Err(e) => err(400, &e),
            }
        }
        ("POST" | "PUT", ["rewrap", name]) => {
            if !allowed("update") {
                return denied();
            }
            let Some(k) = st.transit.get(&(mount.into(), name.to_string())) else {
                return err(400, "encryption key not found");
            };
            let Some(ct) = str_field("ciphertext") else {
                return err(400, "missing ciphertext to decrypt");
            };
            match open(k, &ct) {
                Ok(pt) => {
                    let version = k.versions.len() as u64;
                    let new = seal(&k.versions[version as usize - 1].0, &pt);
                    envelope(json!({ "ciphertext": format!("vault:v{version}:{new}"), "key_version": version }))
                }
                Err(e) => err(400, &e),
            }
        }
        (_, ["keys", _] | ["keys", _, "rotate" | "config"] | ["encrypt" | "decrypt" | "rewrap", _]) => unsupported(),
        _ => err(404, "unsupported path"),
    }
}

fn seal(key: &[u8; 32], pt: &[u8]) -> String {
    let mut nonce = [0u8; 12];
    getrandom::getrandom(&mut nonce).unwrap();
    let ct = Aes256Gcm::new(key.into()).encrypt(Nonce::from_slice(&nonce), pt).unwrap();
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    STANDARD.encode(out)
}

fn open(k: &TransitKey, ciphertext: &str) -> Result<Vec<u8>, String> {
    let rest = ciphertext.strip_prefix("vault:").ok_or("invalid ciphertext: no prefix")?;
    let (ver, b64) = rest.split_once(':').ok_or("invalid ciphertext: wrong number of fields")?;
    let version: u64 = ver.strip_prefix('v').and_then(|v| v.parse().ok()).ok_or("invalid ciphertext: version number could not be decoded")?;
    if version == 0 || version > k.versions.len() as u64 {
        return Err("invalid key version".into());
    }
    if version < k.min_decryption_version {
        return Err("ciphertext or signature version is disallowed by policy (too old)".into());
    }
    let raw = STANDARD.decode(b64).map_err(|_| "invalid ciphertext: could not decode base64".to_owned())?;
    if raw.len() < 12 + 16 {
        return Err("invalid ciphertext: too short".into());
    }
    let (nonce, ct) = raw.split_at(12);
    Aes256Gcm::new((&k.versions[version as usize - 1].0).into())
        .decrypt(Nonce::from_slice(nonce), ct)
        .map_err(|_| "cipher: message authentication failed".to_owned())
}

fn kv2_meta(v: &Kv2Version, n: usize) -> Value {
    json!({ "created_time": v.created, "custom_metadata": null, "deletion_time": v.deletion_time, "destroyed": v.destroyed, "version": n })
}

#[allow(clippy::too_many_arguments)]
fn kv2(st: &mut State, mount: &str, sub: &str, method: &str, params: &HashMap<String, String>, body: &Value, allowed: &dyn Fn(&str) -> bool) -> Answer {
    let (op, path) = match sub.split_once('/') {
        Some((op, path)) if !path.is_empty() => (op, path.trim_end_matches('/').to_owned()),
        _ => return err(404, "unsupported path"),
    };
    let key = (mount.to_owned(), path.clone());
    let versions_field = || -> Option<Vec<usize>> { body.get("versions")?.as_array()?.iter().map(|v| v.as_u64().map(|n| n as usize)).collect() };
    match (op, method) {
        ("data", "GET") => {
            if !allowed("read") {
                return denied();
            }
            let version: usize = match params.get("version") {
                Some(v) => match v.parse() {
                    Ok(n) => n,
                    Err(_) => return err(400, &format!("error converting input {v} for field \"version\": strconv.ParseInt: parsing {v:?}: invalid syntax")),
                },
                None => 0,
            };
            let Some(versions) = st.kv2.get(&key) else {
                return err(404, "");
            };
            let n = if version == 0 { versions.len() } else { version };
            let Some(v) = versions.get(n.wrapping_sub(1)) else {
                return err(404, "");
            };
            if !v.deletion_time.is_empty() || v.destroyed {
                let mut resp = envelope(json!({ "data": null, "metadata": kv2_meta(v, n) }));
                resp.0 = 404;
                return resp;
            }
            envelope(json!({ "data": v.data.clone().map(Value::Object).unwrap_or(Value::Null), "metadata": kv2_meta(v, n) }))
        }
        ("data", "POST" | "PUT") => {
            let exists = st.kv2.contains_key(&key);
            if !allowed(if exists { "update" } else { "create" }) {
                return denied();
            }
            let Some(data) = body.get("data").and_then(|d| d.as_object()).cloned() else {
                return err(400, "no data provided");
            };
            let current = st.kv2.get(&key).map(|v| v.len()).unwrap_or(0);
            if let Some(cas) = body.get("options").and_then(|o| o.get("cas")).and_then(|c| c.as_u64()) {
                if cas as usize != current {
                    return err(400, "check-and-set parameter did not match the current version");
                }
            }
            let versions = st.kv2.entry(key).or_default();
            versions.push(Kv2Version { data: Some(data), created: rfc3339_now(), deletion_time: String::new(), destroyed: false });
            let n = versions.len();
            envelope(kv2_meta(&versions[n - 1], n))
        }
        ("data", "DELETE") => {
            if !allowed("delete") {
                return denied();
            }
            if let Some(v) = st.kv2.get_mut(&key).and_then(|v| v.last_mut()) {
                if v.deletion_time.is_empty() {
                    v.deletion_time = rfc3339_now();
                }
            }
            (204, Value::Null)
        }
        ("delete" | "undelete" | "destroy", "POST" | "PUT") => {
            if !allowed("update") {
                return denied();
            }
            let Some(list) = versions_field() else {
                return err(400, "no version number provided");
            };
            if let Some(versions) = st.kv2.get_mut(&key) {
                for n in list {
                    if let Some(v) = versions.get_mut(n.wrapping_sub(1)) {
                        match op {
                            "delete" if v.deletion_time.is_empty() => v.deletion_time = rfc3339_now(),
                            "undelete" if !v.destroyed => v.deletion_time.clear(),
                            "destroy" => {
                                v.destroyed = true;
                                v.data = None;
                            }
                            _ => {}
                        }
                    }
                }
            }
            (204, Value::Null)
        }
        ("metadata", "GET") => {
            if !allowed("read") {
                return denied();
            }
            let Some(versions) = st.kv2.get(&key) else {
                return err(404, "");
            };
            let vs: Map<String, Value> = versions
                .iter()
                .enumerate()
                .map(|(i, v)| ((i + 1).to_string(), json!({ "created_time": v.created, "deletion_time": v.deletion_time, "destroyed": v.destroyed })))
                .collect();
            envelope(json!({
                "cas_required": false, "created_time": versions[0].created, "current_version": versions.len(), "custom_metadata": null,
                "delete_version_after": "0s", "max_versions": 0, "oldest_version": 0, "updated_time": versions[versions.len() - 1].created, "versions": vs,
            }))
        }
        ("metadata", "DELETE") => {
            if !allowed("delete") {
                return denied();
            }
            st.kv2.remove(&key);
            (204, Value::Null)
        }
        ("data" | "metadata" | "delete" | "undelete" | "destroy", _) => unsupported(),
        _ => err(404, "unsupported path"),
    }
}

fn kv1(st: &mut State, mount: &str, sub: &str, method: &str, body: &Value, allowed: &dyn Fn(&str) -> bool) -> Answer {
    let path = sub.trim_end_matches('/').to_owned();
    if path.is_empty() {
        return err(404, "unsupported path");
    }
    let key = (mount.to_owned(), path);
    match method {
        "GET" => {
            if !allowed("read") {
                return denied();
            }
            match st.kv1.get(&key) {
                Some(data) => {
                    let mut a = envelope(Value::Object(data.clone()));
                    a.1["lease_duration"] = json!(2_764_800);
                    a
                }
                None => err(404, ""),
            }
        }
        "POST" | "PUT" => {
            let exists = st.kv1.contains_key(&key);
            if !allowed(if exists { "update" } else { "create" }) {
                return denied();
            }
            st.kv1.insert(key, body.as_object().cloned().unwrap_or_default());
            (204, Value::Null)
        }
        "DELETE" => {
            if !allowed("delete") {
                return denied();
            }
            st.kv1.remove(&key);
            (204, Value::Null)
        }
        _ => unsupported(),
    }
}

// ---------------------------------------------------------------------------------------

fn new_transit_key() -> TransitKey {
    TransitKey { versions: vec![(random_key(), unix_now())], min_decryption_version: 1 }
}

fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    getrandom::getrandom(&mut k).unwrap();
    k
}

fn request_id() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).unwrap();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Current UTC time as RFC 3339 with nanoseconds, as Vault writes `created_time`.
fn rfc3339_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z", rem / 3600, rem % 3600 / 60, rem % 60, now.subsec_nanos())
}
