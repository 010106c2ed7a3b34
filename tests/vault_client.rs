//! The Vault client library against the in-process Vault API server: authentication
//! methods, namespaces, retries and Vault's error texts, secrets kept out of messages.

mod vault_support;

use gitseal::vault::{VaultClient, VaultConfig};
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
