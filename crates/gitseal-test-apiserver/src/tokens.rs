//! Service account tokens and the TokenReview API (`authentication.k8s.io/v1`), as a Vault
//! or OpenBao Kubernetes auth method uses them: tokens are minted for an existing
//! ServiceAccount with the claims of a bound token (what the kubelet mounts into a pod),
//! and `POST /apis/authentication.k8s.io/v1/tokenreviews` tells whether one is valid.
//!
//! The signature part of a token is random bytes: the server knows its tokens by heart and
//! validates them by looking them up, then checks what the real API server checks of a
//! bound token (expiry, audiences, the ServiceAccount still existing with the same uid).

use crate::api::{new_uid, parse_body, storage_key, Outcome};
use crate::clock::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::store::Store;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// The issuer and default audience of the tokens, as a cluster's API server names itself
/// (`--service-account-issuer`, and `--api-audiences` defaulting to it).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// The claim a TokenReview's `user.extra` carries the token's id under (Kubernetes 1.29+).
const CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

/// What a minted token stands for.
#[derive(Debug, Clone)]
struct Issued {
    namespace: String,
    name: String,
    /// The ServiceAccount's uid when the token was minted.
    uid: String,
    audiences: Vec<String>,
    expires: i64,
    jti: String,
}

impl Issued {
    fn username(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// The tokens a server minted.
pub struct Tokens {
    /// `kid` of the tokens' header, one per server as one signing key per cluster.
    key_id: String,
    issued: HashMap<String, Issued>,
}

/// A service account a valid token authenticates as.
pub struct ServiceAccountUser {
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub username: String,
}

impl Tokens {
    /// No tokens yet.
    pub fn new() -> Self {
        Tokens { key_id: base64url(&random_bytes(32)), issued: HashMap::new() }
    }
}

/// Mints a token for the ServiceAccount `namespace/name` (which must exist) valid for
/// `audiences` during `expiration`.
pub fn mint(store: &Store, tokens: &mut Tokens, namespace: &str, name: &str, audiences: &[String], expiration: Duration) -> ApiResult<String> {
    if audiences.is_empty() {
        return Err(ApiError::bad_request("a service account token needs at least one audience"));
    }
    let uid =
        service_account_uid(store, namespace, name).ok_or_else(|| ApiError::not_found(&crate::error::Target { group: "", plural: "serviceaccounts", name }))?;
    let now = now_secs();
    let issued = Issued {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        uid,
        audiences: audiences.to_vec(),
        expires: now + i64::try_from(expiration.as_secs()).unwrap_or(i64::MAX / 2),
        jti: new_uid(),
    };
    let header = json!({"alg": "RS256", "kid": tokens.key_id});
    let claims = json!({
        "aud": issued.audiences,
        "exp": issued.expires,
        "iat": now,
        "iss": ISSUER,
        "jti": issued.jti,
        "kubernetes.io": {"namespace": issued.namespace, "serviceaccount": {"name": issued.name, "uid": issued.uid}},
        "nbf": now,
        "sub": issued.username(),
    });
    // An RSA-2048 signature is 256 bytes.
    let token = format!(
        "{}.{}.{}",
        base64url(crate::json::to_sorted_string(&header).as_bytes()),
        base64url(crate::json::to_sorted_string(&claims).as_bytes()),
        base64url(&random_bytes(256))
    );
    tokens.issued.insert(token.clone(), issued);
    Ok(token)
}

fn service_account_uid(store: &Store, namespace: &str, name: &str) -> Option<String> {
    let ty = store.find_type("", "v1", "serviceaccounts")?;
    let obj = store.get(&storage_key(&ty), &(namespace.to_owned(), name.to_owned()))?;
    Some(crate::json::meta_str(obj, "uid").to_owned()).filter(|u| !u.is_empty())
}

/// Why a token does not authenticate, worded as the API server's authenticators word it.
fn check(store: &Store, tokens: &Tokens, token: &str, wanted: &[String]) -> Result<(Issued, Vec<String>), String> {
    let issued = tokens.issued.get(token).ok_or("token lookup failed")?.clone();
    if now_secs() >= issued.expires {
        return Err("service account token has expired".into());
    }
    let audiences: Vec<String> = wanted.iter().filter(|a| issued.audiences.contains(a)).cloned().collect();
    if audiences.is_empty() {
        return Err(format!("token audiences {} is invalid for the target audiences {}", go_quoted(&issued.audiences), go_quoted(wanted)));
    }
    match service_account_uid(store, &issued.namespace, &issued.name) {
        None => Err(format!("serviceaccounts \"{}\" not found", issued.name)),
        Some(uid) if uid != issued.uid => Err(format!("service account UID ({uid}) does not match claim ({})", issued.uid)),
        Some(_) => Ok((issued, audiences)),
    }
}

/// The service account a bearer token authenticates as (for the API server's own audience).
pub fn authenticate(store: &Store, tokens: &Tokens, token: &str) -> Option<ServiceAccountUser> {
    check(store, tokens, token, &[ISSUER.to_owned()]).ok().map(|(issued, _)| ServiceAccountUser { username: issued.username() })
}

/// `POST /apis/authentication.k8s.io/v1/tokenreviews`: 201 with the review's `status`. The
/// answer never repeats the token.
pub fn review(store: &Store, tokens: &Tokens, content_type: &str, body: &[u8]) -> ApiResult<Outcome> {
    let request = parse_body(content_type, body)?;
    if !request.is_object() {
        return Err(ApiError::bad_request("the body of the request must be a TokenReview object"));
    }
    match request.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != "authentication.k8s.io/v1" => {
            return Err(ApiError::bad_request(format!("the API version in the data ({v}) does not match the expected API version (authentication.k8s.io/v1)")))
        }
        _ => {}
    }
    match request.get("kind").and_then(Value::as_str) {
        Some(k) if k != "TokenReview" => {
            return Err(ApiError::bad_request(format!("the kind in the data ({k}) does not match the expected kind (TokenReview)")))
        }
        _ => {}
    }
    let token = request.pointer("/spec/token").and_then(Value::as_str).unwrap_or("");
    if token.is_empty() {
        return Err(ApiError::bad_request("token is required for TokenReview in authentication"));
    }
    let asked: Vec<String> = request
        .pointer("/spec/audiences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    // No audiences asked for: the API server's own.
    let wanted = if asked.is_empty() { vec![ISSUER.to_owned()] } else { asked.clone() };
    let status = match check(store, tokens, token, &wanted) {
        Ok((issued, audiences)) => json!({
            "authenticated": true,
            "audiences": audiences,
            "user": {
                "username": issued.username(),
                "uid": issued.uid,
                "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{}", issued.namespace), "system:authenticated"],
                "extra": {CREDENTIAL_ID: [format!("JTI={}", issued.jti)]},
            },
        }),
        // `authenticated` is omitted when false, as Go's `omitempty` writes it.
        Err(why) => json!({"user": {}, "error": format!("[invalid bearer token, {why}]")}),
    };
    let mut metadata = request.get("metadata").filter(|m| m.is_object()).cloned().unwrap_or_else(|| json!({}));
    if metadata.get("creationTimestamp").is_none() {
        metadata["creationTimestamp"] = Value::Null;
    }
    let mut spec = json!({});
    if !asked.is_empty() {
        spec["audiences"] = json!(asked);
    }
    let body = json!({"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": metadata, "spec": spec, "status": status});
    Ok(Outcome { code: 201, body, warnings: Vec::new() })
}

/// A list of strings as Go's `%q` prints a `[]string`: `["a" "b"]`.
fn go_quoted(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| Value::String(s.clone()).to_string()).collect();
    format!("[{}]", quoted.join(" "))
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    b
}

/// Base64url without padding (RFC 7515's encoding of JWT parts).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_test_vectors_without_padding() {
        let cases = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64url(plain.as_bytes()), encoded);
        }
        assert_eq!(base64url(&[0xfb, 0xff, 0xfe]), "-__-");
    }

    #[test]
    fn audiences_are_quoted_as_go_prints_them() {
        assert_eq!(go_quoted(&["a".into(), "b\"c".into()]), r#"["a" "b\"c"]"#);
    }
}
