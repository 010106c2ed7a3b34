//! gitseal-krm driven by the real kustomize of `kubectl` 1.32 (kustomize 5.5) as a
//! legacy exec plugin (`kubectl kustomize --enable-alpha-plugins`; kubectl has no
//! `--enable-exec`, so it cannot run exec KRM functions), and as an exec KRM function fed
//! the `ResourceList` kustomize 5.5 sends. Secrets are encrypted by the real `sops` 3.11
//! and by gitseal-core for the demo key; Vault references resolve against a real OpenBao.
//! A missing peer fails the test (interop tests never skip).

#[path = "../../../tests/vault_support/openbao.rs"]
#[allow(dead_code)]
mod openbao;
mod support;

use std::path::Path;
use std::process::Output;

use gitseal_core::document::yaml::value::{parse_documents, YamlNode};
use openbao::OpenBao;
use serde_json::json;
use support::{by_name, demo_recipient, field, generator, utf8, Kustomization, REPO};

const SOPS_SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  password: sops-wrote-this-password\n  port: \"5432\"\n";
const GITSEAL_SECRET: &str = "kind: Secret\napiVersion: v1\nmetadata:\n  name: api\n# rotated yearly\ndata:\n  token: Z2l0c2VhbC13cm90ZS10aGlzLXRva2Vu\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n";

fn app_with_two_secrets(k: &Kustomization) {
    k.sops_encrypt("secrets/db.yaml", SOPS_SECRET);
    k.gitseal_encrypt("secrets/api.yaml", GITSEAL_SECRET);
    k.write("secret-generator.yaml", generator(&["secrets/db.yaml", "secrets/api.yaml"]));
    k.write("deployment.yaml", DEPLOYMENT);
    k.write("kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: prod\nnamePrefix: prod-\nresources:\n  - deployment.yaml\ngenerators:\n  - secret-generator.yaml\n");
}

#[test]
fn kubectl_kustomize_renders_secrets_encrypted_by_sops_and_by_gitseal_core() {
    let k = Kustomization::new();
    app_with_two_secrets(&k);
    let out = k.kubectl(None, None);
    assert!(out.status.success(), "kubectl kustomize failed: {}", utf8(&out.stderr));
    let built = utf8(&out.stdout);
    assert!(!built.contains("sops:") && !built.contains("ENC["), "no sops metadata reaches the output:\n{built}");
    let docs = by_name(&built);
    let names: Vec<&str> = docs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Secret/prod-api", "Secret/prod-db", "Deployment/prod-web"], "kustomize's order, its name prefix on generated resources");
    let db = &docs[1].1;
    assert_eq!(field(db, &["stringData", "password"]), Some("sops-wrote-this-password"));
    assert_eq!(field(db, &["stringData", "port"]), Some("5432"));
    assert_eq!(field(db, &["metadata", "namespace"]), Some("prod"), "kustomize transforms generated resources");
    let api = &docs[0].1;
    assert_eq!(field(api, &["data", "token"]), Some("Z2l0c2VhbC13cm90ZS10aGlzLXRva2Vu"));
    let YamlNode::Scalar(port) = db.get("stringData").and_then(|s| s.get("port")).expect("port") else { panic!("port is a scalar") };
    assert!(!port.plain, "the quoted port stays a string");
}

#[test]
fn a_tampered_file_makes_kustomize_fail_with_the_generators_message() {
    let k = Kustomization::new();
    app_with_two_secrets(&k);
    // Two encrypted values swapped between keys: each value is bound to its path.
    let db = k.app().join("secrets/db.yaml");
    let text = std::fs::read_to_string(&db).expect("read");
    let password_line = text.lines().find(|l| l.trim_start().starts_with("password: ENC[")).expect("password line").to_owned();
    let port_line = text.lines().find(|l| l.trim_start().starts_with("port: ENC[")).expect("port line").to_owned();
    let swapped = text
        .replace(&password_line, "\u{0}")
        .replace(&port_line, &password_line.replace("password:", "port:"))
        .replace('\u{0}', &port_line.replace("port:", "password:"));
    assert_ne!(swapped, text);
    std::fs::write(&db, swapped).expect("write");
    let out = k.kubectl(None, None);
    assert!(!out.status.success(), "a tampered file must fail the build");
    let err = utf8(&out.stderr);
    assert!(err.contains("secrets/db.yaml"), "the message names the file: {err}");
    assert!(!err.contains("sops-wrote-this-password") && !err.contains("5432"), "no value in the message: {err}");
    assert!(out.stdout.is_empty(), "nothing is built: {}", utf8(&out.stdout));

    // A MAC that no longer matches values that each still open (metadata edited).
    let k = Kustomization::new();
    app_with_two_secrets(&k);
    let api = k.app().join("secrets/api.yaml");
    let text = std::fs::read_to_string(&api).expect("read");
    let mac_line = text.lines().find(|l| l.trim_start().starts_with("mac: ENC[")).expect("mac line").to_owned();
    let db_text = std::fs::read_to_string(k.app().join("secrets/db.yaml")).expect("read");
    let other_mac = db_text.lines().find(|l| l.trim_start().starts_with("mac: ENC[")).expect("mac line").to_owned();
    std::fs::write(&api, text.replace(&mac_line, &other_mac)).expect("write");
    let out = k.kubectl(None, None);
    assert!(!out.status.success(), "a foreign MAC must fail the build");
    let err = utf8(&out.stderr);
    assert!(err.contains("secrets/api.yaml") && err.to_lowercase().contains("mac"), "{err}");
}

#[test]
fn a_vault_reference_in_an_encrypted_secret_resolves_against_openbao() {
    let server = OpenBao::start();
    server.kv2_put("secret", "app/webhook", json!({"token": "vault-held-token"}));
    let k = Kustomization::new();
    k.sops_encrypt(
        "secrets/hook.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/data/app/webhook#token>\ndata:\n  url: PHBhdGg6c2VjcmV0L2RhdGEvYXBwL3dlYmhvb2sjdG9rZW4+\n",
    );
    k.write("secret-generator.yaml", generator(&["secrets/hook.yaml"]));
    k.write("kustomization.yaml", "generators:\n  - secret-generator.yaml\n");
    let out = k.kubectl(None, Some(&server));
    assert!(out.status.success(), "kubectl kustomize failed: {}", utf8(&out.stderr));
    let docs = by_name(&utf8(&out.stdout));
    assert_eq!(field(&docs[0].1, &["stringData", "token"]), Some("vault-held-token"));

    // A reference to a key Vault does not hold fails the build, naming file and line.
    server.kv2_put("secret", "app/webhook", json!({"other": "x"}));
    let out = k.kubectl(None, Some(&server));
    assert!(!out.status.success());
    let err = utf8(&out.stderr);
    assert!(err.contains("secrets/hook.yaml:") && err.contains("no key \"token\""), "{err}");
}

#[test]
fn a_data_key_wrapped_by_vault_transit_opens_through_openbao() {
    let server = OpenBao::start();
    server.create_transit_key("gitops");
    let k = Kustomization::new();
    k.sops_encrypt_with("secrets/db.yaml", SOPS_SECRET, &["--hc-vault-transit", &server.transit_uri("gitops")], Some(&server));
    assert!(std::fs::read_to_string(k.app().join("secrets/db.yaml")).expect("read").contains("hc_vault:"));
    k.write("secret-generator.yaml", generator(&["secrets/db.yaml"]));
    k.write("kustomization.yaml", "generators:\n  - secret-generator.yaml\n");
    let out = k.kubectl(None, Some(&server));
    assert!(out.status.success(), "kubectl kustomize failed: {}", utf8(&out.stderr));
    let docs = by_name(&utf8(&out.stdout));
    assert_eq!(field(&docs[0].1, &["stringData", "password"]), Some("sops-wrote-this-password"));
    assert_eq!(server.transit_decrypts("gitops"), 1, "one Transit decrypt for the file");

    // Without Vault settings the data key cannot be opened: the build fails, naming the file.
    let out = k.kubectl(None, None);
    assert!(!out.status.success());
    assert!(utf8(&out.stderr).contains("secrets/db.yaml"), "{}", utf8(&out.stderr));
}

#[test]
fn the_example_under_examples_krm_builds_with_kubectl_kustomize() {
    let k = Kustomization::new();
    let example = Path::new(REPO).join("examples/krm");
    let out = k.kubectl(Some(&example), None);
    assert!(out.status.success(), "kubectl kustomize examples/krm failed: {}", utf8(&out.stderr));
    let built = utf8(&out.stdout);
    assert!(!built.contains("ENC[") && !built.contains("sops:"), "{built}");
    let docs = by_name(&built);
    assert!(docs.iter().any(|(n, d)| n.starts_with("Secret/") && d.get("stringData").or_else(|| d.get("data")).is_some()), "{built}");
    assert!(docs.iter().any(|(n, _)| n.starts_with("Deployment/")), "{built}");
}

/// The `ResourceList` kustomize 5.5 sends an exec generator: no items, the config as
/// `functionConfig` with the annotations kustomize adds.
fn resource_list(items: &str, config: &str) -> String {
    let config: String = config.lines().map(|l| format!("  {l}\n")).collect();
    format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:{items}\nfunctionConfig:\n{config}")
}

fn function_config(files: &[&str]) -> String {
    let mut c = generator(files);
    c = c.replace(
        "  name: app-secrets\n",
        "  name: app-secrets\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./gitseal-krm\n    config.kubernetes.io/local-config: \"true\"\n",
    );
    c
}

#[test]
fn as_a_krm_function_input_items_are_kept_and_generated_ones_appended() {
    let k = Kustomization::new();
    k.sops_encrypt("db.yaml", SOPS_SECRET);
    let items = "\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: settings\n  data:\n    replicas: \"3\"\n    enabled: true\n";
    let out = k.function(&resource_list(items, &function_config(&["db.yaml"])), true);
    assert!(out.status.success(), "{}", utf8(&out.stderr));
    let text = utf8(&out.stdout);
    let docs = parse_documents(&text).expect("the output parses");
    assert_eq!(field(&docs[0], &["kind"]), Some("ResourceList"));
    let YamlNode::Seq { items, .. } = docs[0].get("items").expect("items") else { panic!("items is a list") };
    assert_eq!(items.len(), 2);
    assert_eq!(field(&items[0], &["metadata", "name"]), Some("settings"));
    let YamlNode::Scalar(replicas) = items[0].get("data").and_then(|d| d.get("replicas")).expect("replicas") else { panic!("scalar") };
    assert!(!replicas.plain, "a quoted number in an input item stays quoted");
    assert_eq!(field(&items[1], &["stringData", "password"]), Some("sops-wrote-this-password"));
    assert!(docs[0].get("results").is_none());
}

/// Runs the function on a config listing `files` and returns its single error result.
fn function_error(k: &Kustomization, files: &[&str], key: bool) -> (String, Output) {
    let out = k.function(&resource_list(" []", &function_config(files)), key);
    assert_eq!(out.status.code(), Some(1), "a failure exits non-zero: {}", utf8(&out.stdout));
    let docs = parse_documents(&utf8(&out.stdout)).expect("the output parses");
    let YamlNode::Seq { items: results, .. } = docs[0].get("results").expect("a results entry") else { panic!("results is a list") };
    assert_eq!(results.len(), 1);
    assert_eq!(field(&results[0], &["severity"]), Some("error"));
    let message = field(&results[0], &["message"]).expect("message").to_owned();
    assert!(utf8(&out.stderr).contains(&message), "the message also goes to stderr, which kustomize shows");
    (message, out)
}

#[test]
fn as_a_krm_function_a_mac_mismatch_is_an_error_result() {
    let k = Kustomization::new();
    let path = k.gitseal_encrypt("api.yaml", GITSEAL_SECRET);
    let text = std::fs::read_to_string(&path).expect("read");
    let k2 = Kustomization::new();
    let other = std::fs::read_to_string(k2.gitseal_encrypt("api.yaml", GITSEAL_SECRET)).expect("read");
    let mac = |t: &str| t.lines().find(|l| l.trim_start().starts_with("mac: ")).expect("mac").to_owned();
    std::fs::write(&path, text.replace(&mac(&text), &mac(&other))).expect("write");
    let (message, out) = function_error(&k, &["api.yaml"], true);
    assert!(message.starts_with("api.yaml") && message.to_lowercase().contains("mac"), "{message}");
    assert!(!utf8(&out.stdout).contains("gitseal-wrote") && !utf8(&out.stdout).contains("Z2l0c2Vh"), "no value in the output");
}

#[test]
fn as_a_krm_function_a_missing_key_is_an_error_result() {
    let k = Kustomization::new();
    k.sops_encrypt("db.yaml", SOPS_SECRET);
    let (message, _) = function_error(&k, &["db.yaml"], false);
    assert!(message.starts_with("db.yaml:") && message.contains(&demo_recipient()[..20]), "names the file and the recipients it needs: {message}");
}

#[test]
fn as_a_krm_function_bad_paths_are_refused_like_the_load_restrictor() {
    let k = Kustomization::new();
    k.sops_encrypt("db.yaml", SOPS_SECRET);
    std::fs::copy(k.app().join("db.yaml"), k.home.path().join("outside.yaml")).expect("copy");
    for (bad, says) in [
        ("../outside.yaml", "leaves the kustomization directory"),
        ("/etc/hostname", "an absolute path"),
        ("missing.yaml", "missing.yaml:1: cannot read the file"),
    ] {
        let (message, _) = function_error(&k, &["db.yaml", bad], true);
        assert!(message.contains(says), "{bad}: {message}");
    }
}

#[test]
fn as_a_krm_function_a_plaintext_file_is_refused() {
    let k = Kustomization::new();
    k.write("plain.yaml", SOPS_SECRET);
    let (message, out) = function_error(&k, &["plain.yaml"], true);
    assert!(message.starts_with("plain.yaml:1:") && message.contains("is not sops-encrypted"), "{message}");
    assert!(!utf8(&out.stdout).contains("sops-wrote-this-password"));
    // A plaintext document next to an encrypted one is refused too, naming its line.
    let encrypted = std::fs::read_to_string(k.sops_encrypt("db.yaml", SOPS_SECRET)).expect("read");
    k.write("mixed.yaml", format!("{encrypted}---\n{DEPLOYMENT}"));
    let (message, _) = function_error(&k, &["mixed.yaml"], true);
    assert!(message.contains("mixed.yaml:") && message.contains("document 2 is not sops-encrypted"), "{message}");
}

#[test]
fn as_a_krm_function_a_config_error_names_the_field() {
    let k = Kustomization::new();
    let config = function_config(&["db.yaml"]).replace("files:", "file:");
    let out = k.function(&resource_list(" []", &config), true);
    assert_eq!(out.status.code(), Some(1));
    assert!(utf8(&out.stdout).contains("unknown field \\\"file\\\""), "{}", utf8(&out.stdout));
    let out = k.function("apiVersion: v1\nkind: List\n", true);
    assert_eq!(out.status.code(), Some(1));
    assert!(utf8(&out.stderr).contains("<stdin>:1: expected apiVersion config.kubernetes.io/v1"), "{}", utf8(&out.stderr));
}
