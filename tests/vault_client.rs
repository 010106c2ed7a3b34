//! The Vault client library against the in-process Vault API server: authentication
//! methods, namespaces, retries and Vault's error texts, secrets kept out of messages.

mod vault_support;

use gitseal_vault::blocking::VaultClient;
use gitseal_vault::VaultConfig;
use vault_support::{Fault, Policy, VaultServer, ROOT_TOKEN};

fn config(server: &VaultServer, vars: &[(&str, &str)]) -> VaultConfig {
    let addr = server.addr();
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    VaultConfig::from_lookup(move |name| {
        if name == "VAULT_ADDR" {
            return Some(addr.clone());
        }
        if name == "HOME" {
            return Some("/nonexistent-home".into());
        }
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap()
}

fn client(server: &VaultServer, vars: &[(&str, &str)]) -> VaultClient {
    VaultClient::new(&config(server, vars), &server.addr()).unwrap()
}

#[test]
fn retries_two_503s_then_succeeds() {
    let server = VaultServer::start();
    server.create_transit_key("transit", "k");
    let c = client(&server, &[("VAULT_TOKEN", ROOT_TOKEN)]);
    let ct = c.transit_encrypt("transit", "k", b"data key").unwrap();
    server.clear_requests();
    server.fail_next(2, Fault::Status(503));
    let pt = c.transit_decrypt("transit", "k", &ct);
    eprintln!("{:?}", server.requests().iter().map(|r| (r.path.clone(), r.status)).collect::<Vec<_>>());
    assert_eq!(pt.unwrap().as_slice(), b"data key");
}

#[test]
fn token_file_in_home_is_used_when_vault_token_is_unset() {
    let server = VaultServer::start();
    server.kv1_put("kv", "app", serde_json::json!({"password": "p"}));
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".vault-token"), format!("{ROOT_TOKEN}\n")).unwrap();
    let (addr, home_str) = (server.addr(), home.path().to_str().unwrap().to_owned());
    let cfg = VaultConfig::from_lookup(|name| match name {
        "VAULT_ADDR" => Some(addr.clone()),
        "HOME" => Some(home_str.clone()),
        _ => None,
    })
    .unwrap();
    let c = VaultClient::new(&cfg, &server.addr()).unwrap();
    assert_eq!(c.kv_read("kv/app", None).unwrap().get("password"), Some("p"));
    assert_eq!(server.requests()[0].header("x-vault-token"), Some(ROOT_TOKEN));
    assert!(!format!("{cfg:?}").contains(ROOT_TOKEN), "Debug shows the token: {cfg:?}");
}

#[test]
fn client_errors_carry_vault_text_but_never_the_token() {
    let server = VaultServer::start();
    let token = "hvs.read-nothing";
    server.add_token(token, Policy::new());
    let c = client(&server, &[("VAULT_TOKEN", token)]);
    let e = c.kv_read("secret/data/app", None).unwrap_err();
    assert!(e.is_permission_denied(), "{e}");
    assert_eq!(e.status(), Some(403));
    let text = e.to_string();
    assert!(text.contains("permission denied") && text.contains("secret/data/app"), "{text}");
    assert!(!text.contains(token), "{text}");
    assert_eq!(server.requests().len(), 1, "4xx are final");

    // Not found is its own case (render names the path), and reported at once.
    server.clear_requests();
    let e = client(&server, &[("VAULT_TOKEN", ROOT_TOKEN)]).kv_read("secret/data/nothing", None).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    let server = VaultServer::start();
    server.kv1_put("kv", "app", serde_json::json!({"password": "p"}));
    server.fail_next(1, Fault::Delay(std::time::Duration::from_secs(3)));
    let c = client(&server, &[("VAULT_TOKEN", ROOT_TOKEN), ("VAULT_CLIENT_TIMEOUT", "1s")]);
    assert_eq!(c.kv_read("kv/app", None).unwrap().get("password"), Some("p"));
    // The server logs a request when it answers: the retry first, the slow one later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.requests().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(server.requests().iter().filter(|r| r.path == "/v1/kv/app").count(), 2, "the slow request, then the retry: {:?}", server.requests());

    server.fail_next(2, Fault::Delay(std::time::Duration::from_secs(3)));
    let c = client(&server, &[("VAULT_TOKEN", ROOT_TOKEN), ("VAULT_CLIENT_TIMEOUT", "1"), ("VAULT_MAX_RETRIES", "1")]);
    let e = c.kv_read("kv/app", None).unwrap_err().to_string();
    assert!(e.contains("timed out") && e.contains("2 attempts"), "{e}");
}

#[test]
fn login_tokens_are_renewed_before_their_lease_ends() {
    let server = VaultServer::start();
    server.kv1_put("kv", "app", serde_json::json!({"password": "p"}));
    server.add_approle("approle", "r", "role", "sec", Policy::new().allow("kv/*", &["read"]));
    server.set_login_lease_seconds(2);
    let c = client(&server, &[("VAULT_ROLE_ID", "role"), ("VAULT_SECRET_ID", "sec")]);
    c.kv_read("kv/app", None).unwrap();
    c.kv_read("kv/app", None).unwrap();
    let logins = || server.requests().iter().filter(|r| r.path == "/v1/auth/approle/login").count();
    assert_eq!(logins(), 1, "the token is reused while its lease lasts");
    // Past half of the lease the client logs in again instead of sending a token that
    // is about to expire (the server rejects it after 2 s).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(c.kv_read("kv/app", None).unwrap().get("password"), Some("p"));
    assert_eq!(logins(), 2);
}

#[test]
fn concurrent_callers_share_one_login() {
    let server = VaultServer::start();
    server.kv1_put("kv", "app", serde_json::json!({"password": "p"}));
    server.add_approle("approle", "r", "role", "sec", Policy::new().allow("kv/*", &["read"]));
    let c = std::sync::Arc::new(client(&server, &[("VAULT_ROLE_ID", "role"), ("VAULT_SECRET_ID", "sec")]));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = std::sync::Arc::clone(&c);
            std::thread::spawn(move || c.kv_read("kv/app", None).map(|s| s.get("password").map(str::to_owned)))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap().as_deref(), Some("p"));
    }
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|r| r.path == "/v1/auth/approle/login").count(), 1, "one login for all callers: {requests:?}");
    assert_eq!(requests.iter().filter(|r| r.path == "/v1/kv/app").count(), 8);
}

#[test]
fn redirects_are_not_followed_and_the_token_stays_with_the_configured_server() {
    let server = VaultServer::start();
    let elsewhere = VaultServer::start();
    elsewhere.kv1_put("kv", "app", serde_json::json!({"password": "p"}));
    let c = client(&server, &[("VAULT_TOKEN", ROOT_TOKEN)]);
    for (what, call) in [("GET", 0), ("POST", 1)] {
        server.clear_requests();
        server.fail_next(1, Fault::Redirect(format!("{}/v1/kv/app", elsewhere.addr())));
        let e = if call == 0 { c.kv_read("kv/app", None).unwrap_err() } else { c.transit_encrypt("transit", "k", b"data key").unwrap_err() };
        assert_eq!(e.status(), Some(307), "{what}: {e}");
        assert!(!e.is_transient(), "{what}: {e}");
        assert_eq!(server.requests().len(), 1, "{what}: {:?}", server.requests());
    }
    assert!(elsewhere.requests().is_empty(), "the redirect target got {:?}", elsewhere.requests());
}
