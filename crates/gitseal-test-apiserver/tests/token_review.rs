//! Service account tokens and the TokenReview API over raw HTTP, as Vault's (and
//! OpenBao's) Kubernetes auth method uses them: the claims of a minted token, reviews
//! that authenticate it (user, uid, groups, audiences) and reviews that do not (another
//! server's token, a wrong audience, an expired token, a deleted or recreated
//! ServiceAccount), the token as a bearer that may only create TokenReviews, and discovery.

mod support;

use gitseal_test_apiserver::{TestApiServer, TokenRequest};
use serde_json::{json, Value};
use std::time::Duration;

const REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
const AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// One request with `bearer` (none when empty); the status code and the JSON body.
fn request(server: &TestApiServer, bearer: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let answer = support::send(server, method, path, Some(bearer).filter(|b| !b.is_empty()), "application/json", body, &[]);
    (answer.code, answer.body)
}

fn admin(server: &TestApiServer, method: &str, path: &str, body: &str) -> (u16, Value) {
    request(server, server.token(), method, path, body)
}

/// A server with the namespace `gitseal-system` and the ServiceAccount `gitseal-controller` in it.
fn server_with_service_account() -> TestApiServer {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let (code, ns) = admin(&server, "POST", "/api/v1/namespaces", r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"gitseal-system"}}"#);
    assert_eq!(code, 201, "{ns}");
    create_service_account(&server, "gitseal-controller");
    server
}

fn create_service_account(server: &TestApiServer, name: &str) -> String {
    let body = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}).to_string();
    let (code, sa) = admin(server, "POST", "/api/v1/namespaces/gitseal-system/serviceaccounts", &body);
    assert_eq!(code, 201, "{sa}");
    sa["metadata"]["uid"].as_str().unwrap().to_owned()
}

/// The review of `token` asking for `audiences` (no `spec.audiences` when empty), sent as
/// OpenBao sends it: no apiVersion or kind, the server's own token as the bearer.
fn review(server: &TestApiServer, token: &str, audiences: &[&str]) -> Value {
    let mut spec = json!({"token": token});
    if !audiences.is_empty() {
        spec["audiences"] = json!(audiences);
    }
    let (code, answer) = admin(server, "POST", REVIEWS, &json!({"metadata": {"creationTimestamp": null}, "spec": spec, "status": {"user": {}}}).to_string());
    assert_eq!(code, 201, "{answer}");
    assert_eq!((answer["kind"].as_str(), answer["apiVersion"].as_str()), (Some("TokenReview"), Some("authentication.k8s.io/v1")), "{answer}");
    answer
}

/// The error of a review that did not authenticate (`authenticated` left out, as Go's
/// `omitempty` writes false).
fn refusal(answer: &Value) -> String {
    let status = &answer["status"];
    assert!(status.get("authenticated").is_none(), "{answer}");
    assert_eq!(status["user"], json!({}), "{answer}");
    status["error"].as_str().unwrap_or_else(|| panic!("no status.error in {answer}")).to_owned()
}

/// Base64url without padding, decoded (the test's own decoder, for the JWT parts).
fn base64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap_or_else(|| panic!("{c:?} is not base64url")) as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn a_minted_token_is_a_jwt_with_the_claims_of_a_bound_service_account_token() {
    let server = server_with_service_account();
    let (_, sa) = admin(&server, "GET", "/api/v1/namespaces/gitseal-system/serviceaccounts/gitseal-controller", "");
    let token = server.service_account_token("gitseal-system", "gitseal-controller").unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "header.payload.signature");
    let header: Value = serde_json::from_slice(&base64url_decode(parts[0])).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()), "{header}");
    let claims: Value = serde_json::from_slice(&base64url_decode(parts[1])).unwrap();
    assert_eq!(claims["iss"], AUDIENCE);
    assert_eq!(claims["sub"], "system:serviceaccount:gitseal-system:gitseal-controller");
    assert_eq!(claims["aud"], json!([AUDIENCE]));
    assert_eq!(claims["kubernetes.io"], json!({"namespace": "gitseal-system", "serviceaccount": {"name": "gitseal-controller", "uid": sa["metadata"]["uid"]}}));
    let (iat, nbf, exp) = (claims["iat"].as_i64().unwrap(), claims["nbf"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert!(iat <= now() && iat >= now() - 60 && nbf == iat, "{claims}");
    assert_eq!(exp - iat, 3600, "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() == 36), "{claims}");
    assert_eq!(base64url_decode(parts[2]).len(), 256, "an RS256 signature's length");

    let other = server.service_account_token("gitseal-system", "gitseal-controller").unwrap();
    assert_ne!(token, other, "every token is new");
    let missing = server.service_account_token("gitseal-system", "nobody").unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    assert!(missing.to_string().contains("serviceaccounts \"nobody\" not found"), "{missing}");
}

#[test]
fn a_review_of_a_minted_token_authenticates_its_service_account() {
    let server = server_with_service_account();
    let uid = {
        let (_, sa) = admin(&server, "GET", "/api/v1/namespaces/gitseal-system/serviceaccounts/gitseal-controller", "");
        sa["metadata"]["uid"].as_str().unwrap().to_owned()
    };
    let token = server.service_account_token("gitseal-system", "gitseal-controller").unwrap();
    let jti = {
        let claims: Value = serde_json::from_slice(&base64url_decode(token.split('.').nth(1).unwrap())).unwrap();
        claims["jti"].as_str().unwrap().to_owned()
    };
    for asked in [&[][..], &[AUDIENCE][..], &["vault", AUDIENCE][..]] {
        let answer = review(&server, &token, asked);
        let status = &answer["status"];
        assert_eq!(status["authenticated"], true, "{answer}");
        assert_eq!(status["audiences"], json!([AUDIENCE]), "the audiences both the review and the token name: {answer}");
        assert_eq!(status["user"]["username"], "system:serviceaccount:gitseal-system:gitseal-controller");
        assert_eq!(status["user"]["uid"], uid.as_str());
        assert_eq!(status["user"]["groups"], json!(["system:serviceaccounts", "system:serviceaccounts:gitseal-system", "system:authenticated"]));
        assert_eq!(status["user"]["extra"]["authentication.kubernetes.io/credential-id"], json!([format!("JTI={jti}")]));
        assert!(status.get("error").is_none(), "{answer}");
        assert!(!answer.to_string().contains(&token), "the answer never repeats the token");
    }

    // A token minted for other audiences: reviewed for one of them.
    let for_vault = TokenRequest { audiences: vec!["vault".into(), "other".into()], ..TokenRequest::default() };
    let vault_token = server.service_account_token_with("gitseal-system", "gitseal-controller", &for_vault).unwrap();
    let answer = review(&server, &vault_token, &["vault"]);
    assert_eq!((answer["status"]["authenticated"].as_bool(), &answer["status"]["audiences"]), (Some(true), &json!(["vault"])), "{answer}");
}

#[test]
fn reviews_of_other_tokens_wrong_audiences_expired_tokens_and_deleted_accounts_do_not_authenticate() {
    let server = server_with_service_account();
    let token = server.service_account_token("gitseal-system", "gitseal-controller").unwrap();

    // A token of another server (same shape, same claims) is unknown here.
    let elsewhere = server_with_service_account().service_account_token("gitseal-system", "gitseal-controller").unwrap();
    assert_eq!(refusal(&review(&server, &elsewhere, &[])), "[invalid bearer token, token lookup failed]");
    assert_eq!(refusal(&review(&server, "not-a-jwt", &[])), "[invalid bearer token, token lookup failed]");
    let mut tampered = token.clone();
    tampered.push('A');
    assert_eq!(refusal(&review(&server, &tampered, &[])), "[invalid bearer token, token lookup failed]");

    let error = refusal(&review(&server, &token, &["vault"]));
    assert_eq!(error, format!("[invalid bearer token, token audiences [\"{AUDIENCE}\"] is invalid for the target audiences [\"vault\"]]"));
    let for_vault = TokenRequest { audiences: vec!["vault".into()], ..TokenRequest::default() };
    let vault_token = server.service_account_token_with("gitseal-system", "gitseal-controller", &for_vault).unwrap();
    assert!(refusal(&review(&server, &vault_token, &[])).contains("is invalid for the target audiences"), "no audiences asked: the API server's own");

    let short = TokenRequest { expiration: Duration::from_secs(1), ..TokenRequest::default() };
    let expiring = server.service_account_token_with("gitseal-system", "gitseal-controller", &short).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(refusal(&review(&server, &expiring, &[])), "[invalid bearer token, service account token has expired]");

    // Deleted, then created again under the same name (a new uid): the old token stays refused.
    let (code, _) = admin(&server, "DELETE", "/api/v1/namespaces/gitseal-system/serviceaccounts/gitseal-controller", "");
    assert_eq!(code, 200);
    assert_eq!(refusal(&review(&server, &token, &[])), "[invalid bearer token, serviceaccounts \"gitseal-controller\" not found]");
    let new_uid = create_service_account(&server, "gitseal-controller");
    let error = refusal(&review(&server, &token, &[]));
    assert!(error.starts_with(&format!("[invalid bearer token, service account UID ({new_uid}) does not match claim (")), "{error}");
    let fresh = server.service_account_token("gitseal-system", "gitseal-controller").unwrap();
    assert_eq!(review(&server, &fresh, &[])["status"]["user"]["uid"], new_uid.as_str());

    // No token, or a body that is not a TokenReview: 400.
    let (code, answer) = admin(&server, "POST", REVIEWS, r#"{"spec":{}}"#);
    assert_eq!((code, answer["message"].as_str()), (400, Some("token is required for TokenReview in authentication")), "{answer}");
    let (code, answer) = admin(&server, "POST", REVIEWS, r#"{"apiVersion":"v1","kind":"Secret","spec":{"token":"x"}}"#);
    assert_eq!(code, 400, "{answer}");
    // Nothing is stored: no list, get or delete.
    for method in ["GET", "DELETE", "PUT"] {
        assert_eq!(admin(&server, method, REVIEWS, "").0, 405, "{method}");
    }
    assert_eq!(admin(&server, "GET", &format!("{REVIEWS}/x"), "").0, 404);
}

#[test]
fn a_service_account_token_as_bearer_may_create_token_reviews_only() {
    let server = server_with_service_account();
    let token = server.service_account_token("gitseal-system", "gitseal-controller").unwrap();
    // As Vault sends it without a reviewer token: the token under review is the bearer.
    let body = json!({"spec": {"token": token, "audiences": [AUDIENCE]}}).to_string();
    let (code, answer) = request(&server, &token, "POST", REVIEWS, &body);
    assert_eq!((code, answer["status"]["authenticated"].as_bool()), (201, Some(true)), "{answer}");

    let (code, answer) = request(&server, &token, "GET", "/api/v1/namespaces/gitseal-system/secrets", "");
    assert_eq!((code, answer["reason"].as_str()), (403, Some("Forbidden")), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("User \"system:serviceaccount:gitseal-system:gitseal-controller\" cannot get"), "{answer}");

    // A token the server does not know, or one whose account is gone, is no credential (401).
    let elsewhere = server_with_service_account().service_account_token("gitseal-system", "gitseal-controller").unwrap();
    assert_eq!(request(&server, &elsewhere, "POST", REVIEWS, &body).0, 401);
    let (code, _) = admin(&server, "DELETE", "/api/v1/namespaces/gitseal-system/serviceaccounts/gitseal-controller", "");
    assert_eq!(code, 200);
    assert_eq!(request(&server, &token, "POST", REVIEWS, &body).0, 401);
}

#[test]
fn discovery_lists_the_authentication_group_with_token_reviews() {
    let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let (_, groups) = admin(&server, "GET", "/apis", "");
    let group = groups["groups"].as_array().unwrap().iter().find(|g| g["name"] == "authentication.k8s.io").cloned();
    assert_eq!(group.map(|g| g["preferredVersion"].clone()), Some(json!({"groupVersion": "authentication.k8s.io/v1", "version": "v1"})), "{groups}");
    let (code, group) = admin(&server, "GET", "/apis/authentication.k8s.io", "");
    assert_eq!((code, group["kind"].as_str()), (200, Some("APIGroup")), "{group}");
    let (code, list) = admin(&server, "GET", "/apis/authentication.k8s.io/v1", "");
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["groupVersion"], "authentication.k8s.io/v1");
    assert_eq!(
        list["resources"],
        json!([{"name": "tokenreviews", "singularName": "tokenreview", "namespaced": false, "kind": "TokenReview", "verbs": ["create"]}])
    );
}
