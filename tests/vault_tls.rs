//! Vault over TLS: OpenBao in `-dev-tls` mode (its own throwaway CA and a certificate for
//! 127.0.0.1). `VAULT_CACERT`, `VAULT_CAPATH` and `VAULT_SKIP_VERIFY` as the Vault CLI reads
//! them, an untrusted certificate refused before any request, and sops 3.11 reading a
//! Transit file gitseal wrote through the same HTTPS endpoint. Then a listener that requires
//! TLS client certificates (`VAULT_CLIENT_CERT`, `VAULT_CLIENT_KEY`), with CAs and
//! certificates made by the real `openssl`.

mod common;
mod vault_support;

use common::{assert_success, stderr, utf8, Fixture};
use serde_json::json;
use vault_support::openbao::{MutualTls, OpenBao};

const MANIFEST: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: hook\nstringData:\n    token: <path:secret/data/flux/webhook#token>\n";

fn setup() -> (OpenBao, Fixture) {
    let bao = OpenBao::start_tls();
    assert!(bao.addr().starts_with("https://127.0.0.1:"), "{}", bao.addr());
    bao.kv2_put("secret", "flux/webhook", json!({"token": "tls-token"}));
    bao.create_transit_key("gitops");
    let f = Fixture::new();
    f.write("hook.yaml", MANIFEST);
    (bao, f)
}

#[test]
fn vault_cacert_and_capath_are_trusted() {
    let (bao, f) = setup();
    let out = f
        .gitseal()
        .env("VAULT_ADDR", bao.addr())
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_CACERT", bao.ca_file())
        .args(["render", "hook.yaml"])
        .output()
        .unwrap();
    assert_success("render over TLS with VAULT_CACERT", &out);
    assert_eq!(utf8(&out.stdout), MANIFEST.replace("<path:secret/data/flux/webhook#token>", "tls-token"));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    let capath = f.path("cas");
    std::fs::create_dir(&capath).unwrap();
    std::fs::copy(bao.ca_file(), capath.join("vault-ca.pem")).unwrap();
    let out = f
        .gitseal()
        .env("VAULT_ADDR", bao.addr())
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_CAPATH", &capath)
        .args(["render", "hook.yaml"])
        .output()
        .unwrap();
    assert_success("render over TLS with VAULT_CAPATH", &out);
    assert_eq!(utf8(&out.stdout), MANIFEST.replace("<path:secret/data/flux/webhook#token>", "tls-token"));
}

#[test]
fn untrusted_certificate_is_refused_and_skip_verify_warns() {
    let (bao, f) = setup();
    let from = bao.audit_entries().len();
    let out = f
        .gitseal()
        .env("VAULT_ADDR", bao.addr())
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_MAX_RETRIES", "0")
        .args(["render", "hook.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).to_lowercase().contains("certificate"), "the error should say why: {}", stderr(&out));
    assert!(!stderr(&out).contains(bao.root_token()), "{}", stderr(&out));
    assert_eq!(bao.audit_entries().len(), from, "nothing may reach Vault over an unverified connection");

    let out = f
        .gitseal()
        .env("VAULT_ADDR", bao.addr())
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_SKIP_VERIFY", "true")
        .args(["render", "hook.yaml"])
        .output()
        .unwrap();
    assert_success("render with VAULT_SKIP_VERIFY", &out);
    assert!(stderr(&out).contains("VAULT_SKIP_VERIFY") && stderr(&out).contains("not verified"), "{}", stderr(&out));

    let out = f
        .gitseal()
        .env("VAULT_ADDR", bao.addr())
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_SKIP_VERIFY", "maybe")
        .args(["render", "hook.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("VAULT_SKIP_VERIFY"), "{}", stderr(&out));
}

#[test]
fn transit_over_tls_interoperates_with_sops() {
    let (bao, f) = setup();
    let file = f.write("secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n    name: s\nstringData:\n    token: abc\n");
    let out = f
        .gitseal_without_key()
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_CACERT", bao.ca_file())
        .args(["encrypt", "-i", "--hc-vault-transit", &bao.transit_uri("gitops")])
        .arg(&file)
        .output()
        .unwrap();
    assert_success("encrypt with Transit over TLS", &out);
    assert!(utf8(&f.read("secret.yaml")).contains(&format!("vault_address: {}", bao.addr())));
    assert_eq!(bao.responses_to("transit/encrypt/gitops").len(), 1);

    let mut sops = f.sops();
    let out = sops
        .env_remove("SOPS_AGE_KEY_FILE")
        .env("VAULT_TOKEN", bao.root_token())
        .env("VAULT_CACERT", bao.ca_file())
        .arg("decrypt")
        .arg(&file)
        .output()
        .unwrap();
    assert_success("sops decrypt over TLS", &out);
    assert!(utf8(&out.stdout).contains("token: abc"));
    assert_eq!(bao.transit_decrypts("gitops"), 1, "sops's decrypt reached OpenBao over HTTPS");
}

/// The system roots (here `SSL_CERT_FILE`, which the platform verifier reads on Linux)
/// are trusted when no CA is configured; `VAULT_CACERT` replaces them, as the Vault CLI
/// and sops read it, rather than adding to them.
#[test]
fn vault_cacert_replaces_the_system_roots() {
    let (bao, f) = setup();
    let render = |cacert: Option<&std::path::Path>| {
        let mut c = f.gitseal();
        c.env("VAULT_ADDR", bao.addr()).env("VAULT_TOKEN", bao.root_token()).env("VAULT_MAX_RETRIES", "0");
        c.env("SSL_CERT_FILE", bao.ca_file()).env_remove("SSL_CERT_DIR").env_remove("VAULT_CAPATH").env_remove("VAULT_CACERT");
        if let Some(path) = cacert {
            c.env("VAULT_CACERT", path);
        }
        c.args(["render", "hook.yaml"]).output().unwrap()
    };
    let out = render(None);
    assert_success("render trusting the system roots", &out);
    assert_eq!(utf8(&out.stdout), MANIFEST.replace("<path:secret/data/flux/webhook#token>", "tls-token"));

    openssl(
        f.dir.path(),
        &[
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-subj",
            "/CN=another CA",
            "-keyout",
            "other-ca.key",
            "-out",
            "other-ca.pem",
        ],
    );
    let from = bao.audit_entries().len();
    let out = render(Some(&f.path("other-ca.pem")));
    assert_eq!(out.status.code(), Some(11), "only the CA of VAULT_CACERT may be trusted: {}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).to_lowercase().contains("certificate"), "{}", stderr(&out));
    assert_eq!(bao.audit_entries().len(), from, "nothing may reach Vault over a connection VAULT_CACERT does not vouch for");
}

/// Runs `openssl` in `dir`; the command must succeed.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new(common::require_peer("openssl")).current_dir(dir).args(args).output().unwrap();
    assert_success(&format!("openssl {}", args.join(" ")), &out);
}

/// A CA (`NAME-ca.pem`, `NAME-ca.key`) and a certificate it signs (`NAME.pem`, `NAME.key`,
/// P-256, PKCS#8 key) with the given extensions.
fn ca_and_leaf(dir: &std::path::Path, name: &str, subject: &str, extensions: &str) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let (ca_pem, ca_key) = (format!("{name}-ca.pem"), format!("{name}-ca.key"));
    let ca_subj = format!("/CN={name} CA");
    let mut args = vec!["req", "-x509", "-nodes", "-days", "2"];
    args.extend(ec);
    args.extend(["-subj", &ca_subj, "-keyout", &ca_key, "-out", &ca_pem]);
    openssl(dir, &args);
    let (csr, key, pem, ext) = (format!("{name}.csr"), format!("{name}.key"), format!("{name}.pem"), format!("{name}.ext"));
    std::fs::write(dir.join(&ext), extensions).unwrap();
    let mut args = vec!["req", "-new", "-nodes"];
    args.extend(ec);
    args.extend(["-subj", subject, "-keyout", &key, "-out", &csr]);
    openssl(dir, &args);
    openssl(dir, &["x509", "-req", "-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-CAcreateserial", "-days", "2", "-out", &pem, "-extfile", &ext]);
}

/// `VAULT_CLIENT_CERT` and `VAULT_CLIENT_KEY` are presented to a listener that requires a
/// client certificate; without them, or with a certificate of another CA, OpenBao refuses
/// the connection and nothing is read; the two variables go together, and a key file
/// without a key is named in the error.
#[test]
fn client_certificate_is_presented_to_a_listener_that_requires_one() {
    let f = Fixture::new();
    let dir = f.dir.path();
    ca_and_leaf(dir, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n");
    ca_and_leaf(dir, "client", "/CN=gitseal", "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n");
    ca_and_leaf(dir, "stranger", "/CN=gitseal", "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n");
    let bao = OpenBao::start_mutual_tls(&MutualTls { cert: &f.path("server.pem"), key: &f.path("server.key"), client_ca: &f.path("client-ca.pem") });
    assert!(bao.addr().starts_with("https://127.0.0.1:"), "{}", bao.addr());
    bao.kv2_put("secret", "flux/webhook", json!({"token": "mtls-token"}));
    f.write("hook.yaml", MANIFEST);

    let render = |vars: &[(&str, std::path::PathBuf)]| {
        let mut c = f.gitseal();
        c.env("VAULT_ADDR", bao.addr()).env("VAULT_TOKEN", bao.root_token()).env("VAULT_MAX_RETRIES", "0").env("VAULT_CACERT", f.path("server-ca.pem"));
        for (name, value) in vars {
            c.env(name, value);
        }
        c.args(["render", "hook.yaml"]).output().unwrap()
    };

    let out = render(&[("VAULT_CLIENT_CERT", f.path("client.pem")), ("VAULT_CLIENT_KEY", f.path("client.key"))]);
    assert_success("render with a client certificate", &out);
    assert_eq!(utf8(&out.stdout), MANIFEST.replace("<path:secret/data/flux/webhook#token>", "mtls-token"));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    let from = bao.audit_entries().len();
    for (what, vars) in [
        ("no client certificate", vec![]),
        ("a client certificate of another CA", vec![("VAULT_CLIENT_CERT", f.path("stranger.pem")), ("VAULT_CLIENT_KEY", f.path("stranger.key"))]),
    ] {
        let out = render(&vars);
        assert_eq!(out.status.code(), Some(11), "{what}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{what}");
        assert!(!stderr(&out).contains(bao.root_token()), "{what}: {}", stderr(&out));
    }
    assert_eq!(bao.audit_entries().len(), from, "no request may be served without a trusted client certificate");

    let out = render(&[("VAULT_CLIENT_CERT", f.path("client.pem"))]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(stderr(&out).contains("VAULT_CLIENT_CERT is set but VAULT_CLIENT_KEY is not"), "{}", stderr(&out));

    let out = render(&[("VAULT_CLIENT_CERT", f.path("client.pem")), ("VAULT_CLIENT_KEY", f.path("client.pem"))]);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no PEM private key") && err.contains(&format!("VAULT_CLIENT_KEY={}", f.path("client.pem").display())), "{err}");

    // Not supported: said, not silently dropped; the address's host is still checked.
    let out =
        render(&[("VAULT_CLIENT_CERT", f.path("client.pem")), ("VAULT_CLIENT_KEY", f.path("client.key")), ("VAULT_TLS_SERVER_NAME", "vault.internal".into())]);
    assert_success("render with VAULT_TLS_SERVER_NAME", &out);
    assert!(stderr(&out).contains("VAULT_TLS_SERVER_NAME=vault.internal is not supported"), "{}", stderr(&out));
}
