//! AppRole and Kubernetes logins (`POST /v1/auth/{mount}/login`), as the Vault CLI and
//! the Vault Agent perform them. The returned `auth.client_token` is cached by the
//! client until shortly before `auth.lease_duration` runs out.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::client::{CachedToken, VaultClient};
use super::error::VaultError;

/// `POST /v1/auth/{mount}/login` with `{"role_id", "secret_id"}`.
pub(crate) async fn login_approle(client: &VaultClient, mount: &str, role_id: &str, secret_id: &SecretString) -> Result<CachedToken, VaultError> {
    let body = json_body(&[("role_id", role_id), ("secret_id", secret_id.expose_secret())]);
    login(client, mount, body).await
}

/// `POST /v1/auth/{mount}/login` with `{"role", "jwt"}`, the JWT read from `jwt_path`
/// now (kubelet rotates projected service account tokens).
pub(crate) async fn login_kubernetes(client: &VaultClient, mount: &str, role: &str, jwt_path: &Path) -> Result<CachedToken, VaultError> {
    let raw = Zeroizing::new(std::fs::read(jwt_path).map_err(|source| VaultError::Io { path: jwt_path.to_owned(), source })?);
    let jwt = std::str::from_utf8(&raw).map_err(|_| VaultError::Config(format!("{} is not a JWT (not UTF-8 text)", jwt_path.display())))?.trim();
    if jwt.is_empty() {
        return Err(VaultError::Config(format!("{} is empty (expected the service account JWT)", jwt_path.display())));
    }
    let body = json_body(&[("role", role), ("jwt", jwt)]);
    login(client, mount, body).await
}

async fn login(client: &VaultClient, mount: &str, body: Zeroizing<Vec<u8>>) -> Result<CachedToken, VaultError> {
    let mount = mount.trim_matches('/');
    if mount.is_empty() {
        return Err(VaultError::Config("empty Vault auth mount".into()));
    }
    let path = format!("auth/{mount}/login");
    let (mut json, _raw) = client.post_json(&path, body, false).await?;
    let invalid = |reason: &str| VaultError::InvalidResponse { method: "POST".into(), path: path.clone(), reason: reason.to_owned() };
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
