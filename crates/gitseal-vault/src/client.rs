//! The Vault client: a small blocking HTTP/1.1 stack (`ureq` on rustls with the `ring`
//! crypto provider, configured from the TLS settings), bounded retries, lazy login.
//!
//! Requests are raw Vault HTTP API calls rather than a typed Vault SDK, because the client
//! must send exactly the bodies sops sends (`{"plaintext": ...}` and nothing else), tell
//! KV v1 from KV v2 by the response envelope, read 404 bodies (deleted KV v2 versions), and
//! retry by HTTP status. The token is added per request from a `SecretString`, so no
//! long-lived plain copy of it sits in a middleware.
//!
//! The client blocks the calling thread. Async code (a controller on tokio) calls it from
//! `tokio::task::spawn_blocking`, so that a slow Vault never stalls the runtime's workers.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use ureq::http::{HeaderValue, Method, Request};
use ureq::tls::{Certificate, ClientCert, PemItem, RootCerts, TlsConfig, TlsProvider};
use zeroize::{Zeroize, Zeroizing};

use super::auth::{self, CachedToken};
use super::config::{ClientCertFiles, VaultAuth, VaultConfig};
use super::error::VaultError;

/// First backoff step; doubled per retry, capped at [`MAX_BACKOFF`], with jitter.
const BASE_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(3);
/// Largest response body read: Vault's answers are a few kilobytes; a server streaming
/// without end is cut off instead of filling memory.
const MAX_BODY: usize = 32 << 20;

/// A client for one Vault server. `Send + Sync`: share it (for example in an `Arc`)
/// between threads; its connection pool and its login are shared too. Every call blocks
/// the calling thread until Vault answers or the retries are spent.
pub struct VaultClient {
    http: ureq::Agent,
    /// Server address without a trailing slash (may carry a path prefix).
    address: String,
    namespace: Option<HeaderValue>,
    auth: VaultAuth,
    max_retries: u32,
    /// Token in use: the configured one, or the one a login returned. Held across a login,
    /// so that concurrent callers wait for one login instead of each logging in.
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultClient")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("auth", &self.auth)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

/// A 2xx (or accepted 404) answer. The body is zeroized when dropped: it can hold
/// plaintexts and tokens.
pub(crate) struct RawResponse {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
}

impl RawResponse {
    /// The body as JSON (`Null` for an empty body, as a 204 has).
    pub fn json(&self, method: &Method, path: &str) -> Result<serde_json::Value, VaultError> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| VaultError::InvalidResponse {
            method: method.to_string(),
            path: path.to_owned(),
            // The position only: serde_json's message never quotes the input, but be sure.
            reason: format!("body is not JSON (line {}, column {})", e.line(), e.column()),
        })
    }
}

/// Why one attempt got no usable HTTP answer.
struct AttemptFailure {
    message: String,
    /// Trying again cannot help (a request this client cannot build or send as given).
    is_final: bool,
}

impl VaultClient {
    /// A client for the server at `addr` (`http://` or `https://`, as in `VAULT_ADDR`),
    /// with TLS, namespace, auth, timeout and retries from `cfg` (`cfg.addr` is not used).
    /// No request is made until the first call.
    pub fn new(cfg: &VaultConfig, addr: &str) -> Result<Self, VaultError> {
        let address = addr.trim().trim_end_matches('/').to_owned();
        let https = check_address(&address)?;
        let http = http_agent(cfg, https)?;

        let namespace = match cfg.namespace.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(ns) => Some(HeaderValue::from_str(ns).map_err(|_| VaultError::Config(format!("invalid VAULT_NAMESPACE {ns:?}")))?),
            None => None,
        };
        let token = match &cfg.auth {
            VaultAuth::Token(t) => {
                // Rejected here rather than at the first request, with no echo of the value.
                HeaderValue::from_str(t.expose_secret())
                    .map_err(|_| VaultError::Config("the Vault token contains characters not allowed in an HTTP header".into()))?;
                Some(CachedToken::given(t.clone()))
            }
            _ => None,
        };

        Ok(VaultClient { http, address, namespace, auth: cfg.auth.clone(), max_retries: cfg.max_retries, token: Mutex::new(token) })
    }

    /// The server address this client talks to (no trailing slash).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The token to send, logging in first (once, then again when the login lease runs
    /// out) for AppRole and Kubernetes auth.
    fn current_token(&self) -> Result<Option<SecretString>, VaultError> {
        // A panic elsewhere while holding the lock leaves at worst no cached token, which
        // only means one more login.
        let mut cached = self.token.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(c) = cached.as_ref().filter(|c| c.is_fresh()) {
            return Ok(Some(c.token.clone()));
        }
        let login = match (&self.auth, auth::login_request(&self.auth)?) {
            (VaultAuth::Token(t), _) => CachedToken::given(t.clone()),
            (_, None) => return Ok(None),
            // A login is a request without a token, so it never takes this lock again.
            (_, Some(request)) => {
                let (json, _raw) = self.post_json(&request.path, request.body, false)?;
                auth::login_token(&request.path, json)?
            }
        };
        let token = login.token.clone();
        *cached = Some(login);
        Ok(Some(token))
    }

    /// Sends `method /v1/{path}[?query]` with the client token (unless `authenticated` is
    /// false, as for logins), retrying as configured. 2xx answers are returned; so is 404
    /// when `accept_404`; any other status becomes [`VaultError::Api`] with Vault's errors.
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<&[u8]>,
        authenticated: bool,
        accept_404: bool,
    ) -> Result<RawResponse, VaultError> {
        match self.send_with_token(&method, path, query, body, authenticated, accept_404) {
            // A login token the server no longer knows (revoked, or the server was rebuilt
            // since the login): log in again, once, instead of failing until its lease ends.
            Err(VaultError::Api { status: 403, .. }) if authenticated && self.logs_in() && self.forget_token() => {
                self.send_with_token(&method, path, query, body, authenticated, accept_404)
            }
            other => other,
        }
    }

    /// Whether the token comes from a login (AppRole, Kubernetes) rather than being given.
    fn logs_in(&self) -> bool {
        matches!(self.auth, VaultAuth::AppRole { .. } | VaultAuth::Kubernetes { .. })
    }

    /// Drops the cached login token; returns whether there was one.
    fn forget_token(&self) -> bool {
        self.token.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take().is_some()
    }

    fn send_with_token(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: Option<&[u8]>,
        authenticated: bool,
        accept_404: bool,
    ) -> Result<RawResponse, VaultError> {
        let token = if authenticated { self.current_token()? } else { None };
        let url = self.url(path, query);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let retry_after = match self.send_once(method, &url, token.as_ref(), body) {
                Ok((resp, _)) if (200..300).contains(&resp.status) || (accept_404 && resp.status == 404) => return Ok(resp),
                Ok((resp, retry_after)) => {
                    if !is_retryable_status(resp.status) || attempt > self.max_retries {
                        return Err(VaultError::Api {
                            method: method.to_string(),
                            path: path.to_owned(),
                            status: resp.status,
                            errors: vault_errors(&resp.body),
                            attempts: attempt,
                        });
                    }
                    retry_after
                }
                Err(failure) => {
                    if attempt > self.max_retries || failure.is_final {
                        return Err(VaultError::Transport { method: method.to_string(), path: path.to_owned(), message: failure.message, attempts: attempt });
                    }
                    None
                }
            };
            std::thread::sleep(backoff(attempt, retry_after));
        }
    }

    fn send_once(
        &self,
        method: &Method,
        url: &str,
        token: Option<&SecretString>,
        body: Option<&[u8]>,
    ) -> Result<(RawResponse, Option<Duration>), AttemptFailure> {
        let mut req = Request::builder().method(method.clone()).uri(url).header("X-Vault-Request", "true");
        if let Some(token) = token {
            // Checked to be a valid header value when the token was stored.
            let mut value = HeaderValue::from_str(token.expose_secret()).expect("token checked when stored");
            value.set_sensitive(true);
            req = req.header("X-Vault-Token", value);
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns.clone());
        }
        let sent = match body {
            Some(body) => {
                let req = req.header("Content-Type", "application/json").body(body).map_err(|e| build_failure(&e))?;
                self.http.run(req)
            }
            None => {
                let req = req.body(()).map_err(|e| build_failure(&e))?;
                self.http.run(req)
            }
        };
        let resp = sent.map_err(|e| transport_failure(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
        let body = read_body(resp.into_body().into_reader())?;
        Ok((RawResponse { status, body }, retry_after))
    }

    fn url(&self, path: &str, query: Option<&str>) -> String {
        let mut url = format!("{}/v1/{}", self.address, encode_path(path.trim_matches('/')));
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        url
    }

    /// `POST /v1/{path}` with a JSON body; returns the answer's JSON. The body buffer is
    /// zeroized when this returns (after the last retry).
    pub(crate) fn post_json(&self, path: &str, body: Zeroizing<Vec<u8>>, authenticated: bool) -> Result<(serde_json::Value, RawResponse), VaultError> {
        let resp = self.send(Method::POST, path, None, Some(&body), authenticated, false)?;
        let json = resp.json(&Method::POST, path)?;
        Ok((json, resp))
    }
}

/// Reads a response body into a buffer that is zeroized when dropped. The buffer grows by
/// copying into a larger zeroizing buffer, so no freed allocation keeps a copy.
fn read_body(mut reader: impl Read) -> Result<Zeroizing<Vec<u8>>, AttemptFailure> {
    let mut body = Zeroizing::new(Vec::with_capacity(8 << 10));
    let mut chunk = Zeroizing::new([0u8; 8 << 10]);
    loop {
        let n = match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(body),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let message =
                    if e.kind() == std::io::ErrorKind::TimedOut { "request timed out".to_owned() } else { format!("reading the response failed: {e}") };
                return Err(AttemptFailure { message, is_final: false });
            }
        };
        if body.len() + n > MAX_BODY {
            return Err(AttemptFailure { message: format!("the response body is larger than {} MiB", MAX_BODY >> 20), is_final: true });
        }
        if body.len() + n > body.capacity() {
            let mut larger = Zeroizing::new(Vec::with_capacity((body.capacity() * 2).max(body.len() + n)));
            larger.extend_from_slice(&body);
            body = larger;
        }
        body.extend_from_slice(&chunk[..n]);
        chunk[..n].zeroize();
    }
}

/// The scheme and host of a Vault address, checked; true for `https`.
fn check_address(address: &str) -> Result<bool, VaultError> {
    let expected = || VaultError::Config(format!("invalid Vault address {address:?}: expected http://HOST[:PORT] or https://HOST[:PORT]"));
    let uri: ureq::http::Uri = address.parse().map_err(|_| expected())?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(expected()),
    };
    if uri.host().is_none_or(str::is_empty) {
        return Err(expected());
    }
    if uri.query().is_some() || address.contains('#') {
        return Err(VaultError::Config(format!("invalid Vault address {address:?}: it must not have a query or fragment")));
    }
    Ok(https)
}

/// As Vault's client (retryablehttp's policy plus 412 for eventual consistency): 5xx
/// except 501, 429 and 412 are retried; other statuses are final.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 412 || status == 429 || (status >= 500 && status != 501)
}

/// Exponential backoff with jitter: a random wait in [d/2, d] where d doubles per retry
/// from [`BASE_BACKOFF`] up to [`MAX_BACKOFF`]; a server's `Retry-After` raises the wait
/// (up to the same cap).
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = BASE_BACKOFF.saturating_mul(1u32 << (attempt - 1).min(16)).min(MAX_BACKOFF);
    let mut r = [0u8; 4];
    let frac = if getrandom::getrandom(&mut r).is_ok() { u32::from_le_bytes(r) as f64 / u32::MAX as f64 } else { 0.5 };
    let wait = exp.mul_f64(0.5 + frac / 2.0);
    match retry_after {
        Some(ra) => wait.max(ra.min(MAX_BACKOFF)),
        None => wait,
    }
}

/// Vault's `{"errors": [...]}` strings, or nothing when the body is something else (the
/// body itself is never reported).
fn vault_errors(body: &[u8]) -> Vec<String> {
    let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    match (obj.remove("errors"), obj.remove("error")) {
        (Some(serde_json::Value::Array(items)), _) => items.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        // RustyVault answers `{"error": "..."}`.
        (_, Some(serde_json::Value::String(one))) => vec![one],
        _ => Vec::new(),
    }
}

/// A request that could not be built (never retried). The error names no header value.
fn build_failure(e: &ureq::http::Error) -> AttemptFailure {
    AttemptFailure { message: format!("request could not be built: {e}"), is_final: true }
}

/// What went wrong on the wire, without the URL or any request data (ureq's errors carry
/// neither), and whether another attempt may help.
fn transport_failure(e: &ureq::Error) -> AttemptFailure {
    use ureq::Error as E;
    let (kind, is_final) = match e {
        E::Timeout(_) => ("request timed out", false),
        E::HostNotFound | E::ConnectionFailed => ("cannot connect", false),
        E::Io(io) if matches!(io.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::NotConnected) => {
            ("cannot connect", false)
        }
        E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => ("request timed out", false),
        E::Rustls(_) | E::Tls(_) | E::Pem(_) => ("TLS connection failed", false),
        E::BadUri(_) | E::Http(_) | E::InvalidProxyUrl | E::BodyExceedsLimit(_) => ("request could not be sent", true),
        _ => ("request failed", false),
    };
    let detail = error_chain(e);
    let message = if matches!(e, E::Timeout(_) | E::HostNotFound | E::ConnectionFailed) { kind.to_owned() } else { format!("{kind}: {detail}") };
    AttemptFailure { message, is_final }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Percent-encodes a request path as Go's `url.URL.EscapedPath` does (the Vault CLI's
/// encoding): unreserved characters and `$&+,/:;=@` stay, everything else is `%XX`.
pub(crate) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The HTTP agent: rustls with the `ring` provider; for `https` servers the platform's
/// roots (rustls-platform-verifier), or only the certificates of `VAULT_CACERT` and
/// `VAULT_CAPATH` when either is set (as the Vault CLI trusts them: instead of the system
/// roots), or no certificate check with `VAULT_SKIP_VERIFY`; the client certificate of
/// `VAULT_CLIENT_CERT`/`VAULT_CLIENT_KEY` for a server that asks. Redirects are not followed,
/// so the token goes to the configured address only; a 3xx is reported as Vault's answer.
fn http_agent(cfg: &VaultConfig, https: bool) -> Result<ureq::Agent, VaultError> {
    // Checked even for a plain-HTTP server, so a wrong VAULT_CACERT is reported either way.
    let ca_files = ca_cert_files(cfg)?;
    let mut tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .disable_verification(cfg.skip_verify)
        .root_certs(RootCerts::PlatformVerifier);
    if https && !ca_files.is_empty() {
        tls = tls.root_certs(RootCerts::Specific(Arc::new(read_ca_certs(&ca_files, cfg)?)));
    }
    // Read for a plain-HTTP server too, so a wrong file is reported before it matters.
    if let Some(files) = &cfg.client_cert {
        tls = tls.client_cert(Some(read_client_cert(files)?));
    }
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_global(Some(cfg.timeout))
        .tls_config(tls.build())
        .build();
    Ok(config.new_agent())
}

/// The certificates of the CA files, in order; at least one, since trusting an empty set
/// would refuse every server with a less helpful message.
fn read_ca_certs(files: &[std::path::PathBuf], cfg: &VaultConfig) -> Result<Vec<Certificate<'static>>, VaultError> {
    let mut certs = Vec::new();
    for path in files {
        certs.extend(pem_certificates(path, || format!("CA certificates from {}", path.display()))?);
    }
    if certs.is_empty() {
        let named: Vec<String> = cfg
            .ca_cert
            .iter()
            .map(|p| format!("VAULT_CACERT={}", p.display()))
            .chain(cfg.ca_path.iter().map(|p| format!("VAULT_CAPATH={}", p.display())))
            .collect();
        return Err(VaultError::Config(format!("no PEM certificate found in {}", named.join(" or "))));
    }
    Ok(certs)
}

/// The certificate chain of `VAULT_CLIENT_CERT` and the key of `VAULT_CLIENT_KEY`. The key
/// file's bytes are wiped after parsing; the parsed key lives in the TLS configuration
/// for the client's lifetime.
fn read_client_cert(files: &ClientCertFiles) -> Result<ClientCert, VaultError> {
    let chain = pem_certificates(&files.cert, || format!("the client certificate VAULT_CLIENT_CERT={}", files.cert.display()))?;
    if chain.is_empty() {
        return Err(VaultError::Config(format!("no PEM certificate found in VAULT_CLIENT_CERT={}", files.cert.display())));
    }
    let key_pem = Zeroizing::new(std::fs::read(&files.key).map_err(|source| VaultError::Io { path: files.key.clone(), source })?);
    let mut key = None;
    for item in ureq::tls::parse_pem(&key_pem) {
        match item {
            Ok(PemItem::PrivateKey(k)) => {
                key = Some(k.to_owned());
                break;
            }
            Ok(_) => {}
            // The parser's message names the PEM section, never the key's bytes.
            Err(e) => return Err(VaultError::Config(format!("cannot read the client key VAULT_CLIENT_KEY={}: {}", files.key.display(), error_chain(&e)))),
        }
    }
    let key = key.ok_or_else(|| VaultError::Config(format!("no PEM private key (PKCS#8, RSA or EC) found in VAULT_CLIENT_KEY={}", files.key.display())))?;
    Ok(ClientCert::new_with_certs(&chain, key))
}

/// The certificates of one PEM file, in order (other sections skipped); `what` names the
/// file in a parse error.
fn pem_certificates(path: &std::path::Path, what: impl Fn() -> String) -> Result<Vec<Certificate<'static>>, VaultError> {
    let pem = std::fs::read(path).map_err(|source| VaultError::Io { path: path.to_owned(), source })?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => return Err(VaultError::Config(format!("cannot read {}: {}", what(), error_chain(&e)))),
        }
    }
    Ok(certs)
}

/// `VAULT_CACERT` and the regular files of `VAULT_CAPATH` (sorted).
fn ca_cert_files(cfg: &VaultConfig) -> Result<Vec<std::path::PathBuf>, VaultError> {
    let mut files = Vec::new();
    if let Some(p) = &cfg.ca_cert {
        std::fs::metadata(p).map_err(|source| VaultError::Io { path: p.clone(), source })?;
        files.push(p.clone());
    }
    if let Some(dir) = &cfg.ca_path {
        let entries = std::fs::read_dir(dir).map_err(|source| VaultError::Io { path: dir.clone(), source })?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| VaultError::Io { path: dir.clone(), source })?;
            let path = entry.path();
            if path.is_file() {
                found.push(path);
            }
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_like_go() {
        assert_eq!(encode_path("secret/data/flux/webhook"), "secret/data/flux/webhook");
        assert_eq!(encode_path("kv/a b/c?d#e%"), "kv/a%20b/c%3Fd%23e%25");
        assert_eq!(encode_path("kv/x:y@z,1;2=3&4+5$"), "kv/x:y@z,1;2=3&4+5$");
    }

    #[test]
    fn retry_policy_matches_vault() {
        for s in [412, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 405, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt, None);
            let exp = BASE_BACKOFF.saturating_mul(1u32 << (attempt - 1).min(16)).min(MAX_BACKOFF);
            assert!(d >= exp / 2 && d <= exp, "{attempt}: {d:?}");
        }
        assert!(backoff(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        assert!(backoff(1, Some(Duration::from_secs(100))) <= MAX_BACKOFF);
    }

    #[test]
    fn error_bodies_give_vault_errors_only() {
        assert_eq!(vault_errors(br#"{"errors":["permission denied"]}"#), vec!["permission denied"]);
        assert!(vault_errors(b"<html>secret</html>").is_empty());
    }

    #[test]
    fn bad_addresses_are_rejected() {
        let cfg = VaultConfig::default();
        for bad in ["vault:8200", "ftp://vault", "not a url", "http://vault:8200?x=1", "http://vault:8200#x", "http://", "https:///v1", "vault.example.com"] {
            assert!(matches!(VaultClient::new(&cfg, bad), Err(VaultError::Config(_))), "{bad}");
        }
        let c = VaultClient::new(&cfg, "https://vault.example.com:8200/").unwrap();
        assert_eq!(c.address(), "https://vault.example.com:8200");
        let c = VaultClient::new(&cfg, "http://127.0.0.1:8200/prefix/").unwrap();
        assert_eq!(c.url("secret/data/a b", Some("version=2")), "http://127.0.0.1:8200/prefix/v1/secret/data/a%20b?version=2");
    }

    #[test]
    fn vault_cacert_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("gitseal-vault-cacert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("empty.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let cfg = VaultConfig { ca_cert: Some(file.clone()), ..VaultConfig::default() };
        let e = VaultClient::new(&cfg, "https://vault.example.com:8200").unwrap_err().to_string();
        assert!(e.contains("no PEM certificate") && e.contains("VAULT_CACERT"), "{e}");
        // A plain-HTTP server needs no trust store: the file is only checked to exist.
        VaultClient::new(&cfg, "http://127.0.0.1:8200").unwrap();
        let missing = VaultConfig { ca_cert: Some(dir.join("missing.pem")), ..VaultConfig::default() };
        assert!(matches!(VaultClient::new(&missing, "http://127.0.0.1:8200"), Err(VaultError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bodies_are_read_whole_and_bounded() {
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        assert_eq!(read_body(&data[..]).ok().unwrap().as_slice(), &data[..]);
        let endless = std::io::repeat(b'x');
        let failure = read_body(endless).err().unwrap();
        assert!(failure.is_final && failure.message.contains("larger than"), "{}", failure.message);
    }

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<VaultClient>();
    }
}
