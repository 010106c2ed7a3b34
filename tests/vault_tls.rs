//! Vault over TLS: the in-process server behind a real TLS front (rustls, certificates made
//! by the `openssl` CLI). `VAULT_CACERT`, `VAULT_CAPATH` and `VAULT_SKIP_VERIFY` as the
//! Vault CLI reads them, an untrusted certificate refused, and sops 3.11 reading a
//! Transit file gitseal wrote through the same TLS endpoint.

mod common;
mod vault_support;

use common::{assert_success, require_peer, stderr, utf8, Fixture};
use serde_json::json;
use vault_support::tls::TlsFront;
use vault_support::{VaultServer, ROOT_TOKEN};

const MANIFEST: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: hook\nstringData:\n    token: <path:secret/data/flux/webhook#token>\n";

fn setup() -> (VaultServer, TlsFront, Fixture) {
    require_peer("openssl");
    let server = VaultServer::start();
    server.kv2_put("secret", "flux/webhook", json!({"token": "tls-token"}));
    server.create_transit_key("transit", "gitops");
    let tls = TlsFront::start(server.port());
    let f = Fixture::new();
    f.write("hook.yaml", MANIFEST);
    (server, tls, f)
}

#[test]
fn vault_cacert_and_capath_are_trusted() {
    let (_server, tls, f) = setup();
    let out = f
        .gitseal()
        .env("VAULT_ADDR", tls.addr())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_CACERT", tls.ca_file())
        .args(["render", "hook.yaml"])
        .output()
        .unwrap();
    assert_success("render over TLS with VAULT_CACERT", &out);
    assert_eq!(utf8(&out.stdout), MANIFEST.replace("<path:secret/data/flux/webhook#token>", "tls-token"));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    let capath = f.path("cas");
    std::fs::create_dir(&capath).unwrap();
    std::fs::copy(tls.ca_file(), capath.join("vault-ca.pem")).unwrap();
    let out =
        f.gitseal().env("VAULT_ADDR", tls.addr()).env("VAULT_TOKEN", ROOT_TOKEN).env("VAULT_CAPATH", &capath).args(["render", "hook.yaml"]).output().unwrap();
    assert_success("render over TLS with VAULT_CAPATH", &out);
}

#[test]
fn untrusted_certificate_is_refused_and_skip_verify_warns() {
    let (server, tls, f) = setup();
    let out =
        f.gitseal().env("VAULT_ADDR", tls.addr()).env("VAULT_TOKEN", ROOT_TOKEN).env("VAULT_MAX_RETRIES", "0").args(["render", "hook.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).to_lowercase().contains("certificate"), "the error should say why: {}", stderr(&out));
    assert!(server.requests().is_empty(), "nothing may reach Vault over an unverified connection");

    let out = f
        .gitseal()
        .env("VAULT_ADDR", tls.addr())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_SKIP_VERIFY", "true")
        .args(["render", "hook.yaml"])
        .output()
        .unwrap();
    assert_success("render with VAULT_SKIP_VERIFY", &out);
    assert!(stderr(&out).contains("VAULT_SKIP_VERIFY") && stderr(&out).contains("not verified"), "{}", stderr(&out));

    let out = f
        .gitseal()
        .env("VAULT_ADDR", tls.addr())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_SKIP_VERIFY", "maybe")
        .args(["render", "hook.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("VAULT_SKIP_VERIFY"), "{}", stderr(&out));
}

#[test]
fn transit_over_tls_interoperates_with_sops() {
    let (_server, tls, f) = setup();
    let file = f.write("secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n    name: s\nstringData:\n    token: abc\n");
    let uri = format!("{}/v1/transit/keys/gitops", tls.addr());
    let out = f
        .gitseal_without_key()
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("VAULT_CACERT", tls.ca_file())
        .args(["encrypt", "-i", "--hc-vault-transit", &uri])
        .arg(&file)
        .output()
        .unwrap();
    assert_success("encrypt with Transit over TLS", &out);
    assert!(utf8(&f.read("secret.yaml")).contains(&format!("vault_address: {}", tls.addr())));

    let mut sops = f.sops();
    let out =
        sops.env_remove("SOPS_AGE_KEY_FILE").env("VAULT_TOKEN", ROOT_TOKEN).env("VAULT_CACERT", tls.ca_file()).arg("decrypt").arg(&file).output().unwrap();
    assert_success("sops decrypt over TLS", &out);
    assert!(utf8(&out.stdout).contains("token: abc"));
}
