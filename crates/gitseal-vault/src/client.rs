//! The async Vault client: one HTTP stack (`reqwest` on rustls with the `ring` crypto
//! provider, configured from the TLS settings), bounded retries, lazy login. It runs on
//! the caller's tokio runtime; [`crate::blocking::VaultClient`] wraps it for threads
//! that have none.
//!
//! Requests are raw Vault HTTP API calls rather than a typed Vault SDK, because the client
//! must send exactly the bodies sops sends (`{"plaintext": ...}` and nothing else), tell
//! KV v1 from KV v2 by the response envelope, read 404 bodies (deleted KV v2 versions), and
//! retry by HTTP status. The token is added per request from a `SecretString`, so no
//! long-lived plain copy of it sits in a middleware.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::auth::{self, CachedToken};
use super::config::{VaultAuth, VaultConfig};
use super::error::VaultError;

/// First backoff step; doubled per retry, capped at [`MAX_BACKOFF`], with jitter.
const BASE_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(3);

/// An async client for one Vault server. `Send + Sync`: share it (for example in an
/// `Arc`) between tasks. Its futures need a tokio runtime with timers enabled.
pub struct VaultClient {
    http: reqwest::Client,
    /// Server address without a trailing slash (may carry a path prefix).
    address: String,
    namespace: Option<HeaderValue>,
    auth: VaultAuth,
    max_retries: u32,
    /// Token in use: the configured one, or the one a login returned. An async lock,
    /// held across a login so that concurrent requests wait for one login.
    token: tokio::sync::Mutex<Option<CachedToken>>,
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

impl VaultClient {
    /// A client for the server at `addr` (`http://` or `https://`, as in `VAULT_ADDR`),
    /// with TLS, namespace, auth, timeout and retries from `cfg` (`cfg.addr` is not used).
    /// No request is made until the first call.
    pub fn new(cfg: &VaultConfig, addr: &str) -> Result<Self, VaultError> {
        let address = addr.trim().trim_end_matches('/').to_owned();
        let url = url::Url::parse(&address).map_err(|e| VaultError::Config(format!("invalid Vault address {address:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(VaultError::Config(format!("invalid Vault address {address:?}: expected http://HOST[:PORT] or https://HOST[:PORT]")));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(VaultError::Config(format!("invalid Vault address {address:?}: it must not have a query or fragment")));
        }

        let http = http_client(cfg, url.scheme() == "https")?;

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

        Ok(VaultClient { http, address, namespace, auth: cfg.auth.clone(), max_retries: cfg.max_retries, token: tokio::sync::Mutex::new(token) })
    }

    /// The server address this client talks to (no trailing slash).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The token to send, logging in first (once, then again when the login lease runs
    /// out) for AppRole and Kubernetes auth.
    async fn current_token(&self) -> Result<Option<SecretString>, VaultError> {
        let mut cached = self.token.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.is_fresh()) {
            return Ok(Some(c.token.clone()));
        }
        let login = match (&self.auth, auth::login_request(&self.auth)?) {
            (VaultAuth::Token(t), _) => CachedToken::given(t.clone()),
            (_, None) => return Ok(None),
            (_, Some(request)) => {
                // A login is a request without a token, so it never comes back here; the
                // box only breaks the cycle in the futures' types.
                let (json, _raw) = Box::pin(self.post_json(&request.path, request.body, false)).await?;
                auth::login_token(&request.path, json)?
            }
        };
        let token = login.token.clone();
        *cached = Some(login);
        Ok(Some(token))
    }
}

impl VaultClient {
    /// Sends `method /v1/{path}[?query]` with the client token (unless `authenticated` is
    /// false, as for logins), retrying as configured. 2xx answers are returned; so is 404
    /// when `accept_404`; any other status becomes [`VaultError::Api`] with Vault's errors.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<Bytes>,
        authenticated: bool,
        accept_404: bool,
    ) -> Result<RawResponse, VaultError> {
        let token = if authenticated { self.current_token().await? } else { None };
        let url = self.url(path, query);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(&method, &url, token.as_ref(), body.clone()).await;
            let retry_after = match outcome {
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
                Err(e) => {
                    if attempt > self.max_retries || e.is_builder() {
                        return Err(VaultError::Transport {
                            method: method.to_string(),
                            path: path.to_owned(),
                            message: transport_message(&e),
                            attempts: attempt,
                        });
                    }
                    None
                }
            };
            tokio::time::sleep(backoff(attempt, retry_after)).await;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        token: Option<&SecretString>,
        body: Option<Bytes>,
    ) -> Result<(RawResponse, Option<Duration>), reqwest::Error> {
        let mut req = self.http.request(method.clone(), url).header("X-Vault-Request", "true");
        if let Some(token) = token {
            // Checked to be a valid header value when the token was stored.
            let mut value = HeaderValue::from_str(token.expose_secret()).expect("token checked when stored");
            value.set_sensitive(true);
            req = req.header("X-Vault-Token", value);
        }
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns.clone());
        }
        if let Some(body) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        }
        let mut resp = req.send().await?;
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
        let mut body = Zeroizing::new(Vec::new());
        while let Some(chunk) = resp.chunk().await? {
            body.extend_from_slice(&chunk);
        }
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

    /// `POST /v1/{path}` with a JSON body; returns the answer's JSON.
    pub(crate) async fn post_json(&self, path: &str, body: Zeroizing<Vec<u8>>, authenticated: bool) -> Result<(serde_json::Value, RawResponse), VaultError> {
        let resp = self.send(Method::POST, path, None, Some(secret_bytes(body)), authenticated, false).await?;
        let json = resp.json(&Method::POST, path)?;
        Ok((json, resp))
    }
}

/// Request body bytes that are zeroized when the HTTP stack drops them (after the last
/// retry), not left behind in freed memory.
pub(crate) fn secret_bytes(body: Zeroizing<Vec<u8>>) -> Bytes {
    Bytes::from_owner(ZeroizingOwner(body))
}

struct ZeroizingOwner(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for ZeroizingOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
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

/// What went wrong on the wire, without the URL (reqwest's own message repeats it).
fn transport_message(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "request timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = s.source();
    }
    if causes.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", causes.join(": "))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
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

/// The HTTP client: rustls with the `ring` provider; the system roots plus `VAULT_CACERT`
/// and `VAULT_CAPATH` for `https` servers, no certificate check with `VAULT_SKIP_VERIFY`.
fn http_client(cfg: &VaultConfig, https: bool) -> Result<reqwest::Client, VaultError> {
    // reqwest takes the process-wide rustls provider; installing fails only when one is
    // already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder().tls_backend_rustls().timeout(cfg.timeout).tls_danger_accept_invalid_certs(cfg.skip_verify);
    // Read even for a plain-HTTP server, so a wrong VAULT_CACERT is reported either way.
    let ca_files = ca_cert_files(cfg)?;
    if https {
        for path in ca_files {
            let pem = std::fs::read(&path).map_err(|source| VaultError::Io { path: path.clone(), source })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| VaultError::Config(format!("cannot read CA certificates from {}: {}", path.display(), error_chain(&e))))?;
            builder = builder.tls_certs_merge(certs);
        }
    } else {
        // A plain-HTTP server needs no trust store: skip loading the system roots.
        builder = builder.tls_certs_only(Vec::new());
    }
    builder.build().map_err(|e| VaultError::Config(format!("cannot set up the HTTP client: {}", error_chain(&e))))
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
        for bad in ["vault:8200", "ftp://vault", "not a url", "http://vault:8200?x=1"] {
            assert!(matches!(VaultClient::new(&cfg, bad), Err(VaultError::Config(_))), "{bad}");
        }
        let c = VaultClient::new(&cfg, "https://vault.example.com:8200/").unwrap();
        assert_eq!(c.address(), "https://vault.example.com:8200");
    }

    #[test]
    fn client_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<VaultClient>();
    }
}
