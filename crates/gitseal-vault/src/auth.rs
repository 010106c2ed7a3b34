//! AppRole and Kubernetes logins (`POST /v1/auth/{mount}/login`), as the Vault CLI and
//! the Vault Agent perform them: the request is built and the answer read here, the
//! client sends it (so this module knows nothing of HTTP). The returned
//! `auth.client_token` is cached by the client until shortly before
//! `auth.lease_duration` runs out.

use std::path::Path;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use ureq::http::HeaderValue;
use zeroize::Zeroizing;

use super::config::VaultAuth;
use super::error::VaultError;

/// A login token is renewed by logging in again this long before its lease ends.
const LOGIN_EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// The token in use and when to replace it.
pub(crate) struct CachedToken {
    pub(crate) token: SecretString,
    /// When a login token should be replaced by a new login; `None` for tokens given
    /// directly and for login tokens without a lease.
    pub(crate) renew_at: Option<Instant>,
}

impl CachedToken {
    /// A token given directly, kept for the client's life.
    pub(crate) fn given(token: SecretString) -> Self {
        CachedToken { token, renew_at: None }
    }

    /// Whether the token may still be sent.
    pub(crate) fn is_fresh(&self) -> bool {
        self.renew_at.is_none_or(|at| Instant::now() < at)
    }

    /// A token a login returned, to be replaced shortly before its lease ends.
    fn from_login(token: SecretString, lease_seconds: u64) -> Result<Self, VaultError> {
        HeaderValue::from_str(token.expose_secret())
            .map_err(|_| VaultError::Config("the token returned by the Vault login contains characters not allowed in an HTTP header".into()))?;
        let renew_at = (lease_seconds > 0).then(|| {
            let lease = Duration::from_secs(lease_seconds);
            Instant::now() + lease.saturating_sub(LOGIN_EXPIRY_MARGIN.min(lease / 2))
        });
        Ok(CachedToken { token, renew_at })
    }
}

/// A login to perform: `POST /v1/{path}` with `body`, without a token.
pub(crate) struct LoginRequest {
    pub(crate) path: String,
    pub(crate) body: Zeroizing<Vec<u8>>,
}

/// The login request for `auth`, or `None` for methods that do not log in (a token given
/// directly, or none). For Kubernetes the JWT is read from its file now (kubelet rotates
/// projected service account tokens).
pub(crate) fn login_request(auth: &VaultAuth) -> Result<Option<LoginRequest>, VaultError> {
    let (mount, body) = match auth {
        VaultAuth::Token(_) | VaultAuth::None => return Ok(None),
        VaultAuth::AppRole { mount, role_id, secret_id } => (mount, json_body(&[("role_id", role_id), ("secret_id", secret_id.expose_secret())])),
        VaultAuth::Kubernetes { mount, role, jwt_path } => (mount, json_body(&[("role", role), ("jwt", &read_jwt(jwt_path)?)])),
    };
    let mount = mount.trim_matches('/');
    if mount.is_empty() {
        return Err(VaultError::Config("empty Vault auth mount".into()));
    }
    Ok(Some(LoginRequest { path: format!("auth/{mount}/login"), body }))
}

fn read_jwt(jwt_path: &Path) -> Result<Zeroizing<String>, VaultError> {
    let raw = Zeroizing::new(std::fs::read(jwt_path).map_err(|source| VaultError::Io { path: jwt_path.to_owned(), source })?);
    let jwt = std::str::from_utf8(&raw).map_err(|_| VaultError::Config(format!("{} is not a JWT (not UTF-8 text)", jwt_path.display())))?.trim();
    if jwt.is_empty() {
        return Err(VaultError::Config(format!("{} is empty (expected the service account JWT)", jwt_path.display())));
    }
    Ok(Zeroizing::new(jwt.to_owned()))
}

/// The token of a login answer (`auth.client_token`, renewed before `auth.lease_duration`
/// runs out). The answer is scrubbed.
pub(crate) fn login_token(path: &str, mut json: serde_json::Value) -> Result<CachedToken, VaultError> {
    let invalid = |reason: &str| VaultError::InvalidResponse { method: "POST".into(), path: path.to_owned(), reason: reason.to_owned() };
    let auth = json.get_mut("auth").filter(|a| a.is_object()).ok_or_else(|| invalid("no \"auth\" object in the login response"))?;
    let lease = auth.get("lease_duration").and_then(|v| v.as_u64()).unwrap_or(0);
    let token = match auth.get_mut("client_token") {
        Some(serde_json::Value::String(t)) if !t.is_empty() => SecretString::from(std::mem::take(t)),
        _ => return Err(invalid("no auth.client_token in the login response")),
    };
    super::scrub(&mut json);
    CachedToken::from_login(token, lease)
}

/// A flat JSON object of string fields, built in a buffer that is zeroized on drop.
pub(crate) fn json_body(fields: &[(&str, &str)]) -> Zeroizing<Vec<u8>> {
    let mut map = serde_json::Map::new();
    for (k, v) in fields {
        map.insert((*k).to_owned(), serde_json::Value::String((*v).to_owned()));
    }
    let mut value = serde_json::Value::Object(map);
    // Sized up front (worst case: every byte escaped as \u00XX) so the buffer never
    // reallocates and leaves a copy behind.
    let capacity = 2 + fields.iter().map(|(k, v)| 6 * (k.len() + v.len()) + 6).sum::<usize>();
    let mut body = Zeroizing::new(Vec::with_capacity(capacity));
    serde_json::to_writer(&mut *body, &value).expect("a map of strings serializes");
    super::scrub(&mut value);
    body
}
