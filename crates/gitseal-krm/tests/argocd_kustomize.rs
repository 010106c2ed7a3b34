//! The Argo CD config management plugin for kustomize applications
//! (examples/argocd-cmp/plugin-kustomize.yaml): its `generate` script run as Argo CD runs
//! it (`sh -c` in the application's directory of a private copy of the repository), with
//! `kustomize` being the kustomize of the real `kubectl` 1.32, gitseal-krm installed as
//! the `SecretGenerator` plugin, and an OpenBao server for Vault references.

#[path = "../../../tests/vault_support/openbao.rs"]
#[allow(dead_code)]
mod openbao;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gitseal_core::document::yaml::value::{parse_documents, YamlNode};
use openbao::OpenBao;
use serde_json::json;
use support::{by_name, field, generator, require_peer, utf8, Kustomization, REPO};

/// The `spec.generate` script of the plugin, checked to be run by `sh -c`.
fn generate_script() -> String {
    let text = std::fs::read_to_string(Path::new(REPO).join("examples/argocd-cmp/plugin-kustomize.yaml")).expect("plugin-kustomize.yaml");
    let docs = parse_documents(&text).expect("the plugin parses");
    let generate = docs[0].get("spec").and_then(|s| s.get("generate")).expect("spec.generate");
    let YamlNode::Seq { items: command, .. } = generate.get("command").expect("command") else { panic!("command is a list") };
    let command: Vec<&str> = command.iter().filter_map(YamlNode::as_str).collect();
    assert_eq!(command, ["sh", "-c"]);
    let YamlNode::Seq { items: args, .. } = generate.get("args").expect("args") else { panic!("args is a list") };
    args[0].as_str().expect("the script").to_owned()
}

/// A repository (the fixture's app directory) with a base whose Secret is encrypted and
/// generated, and a prod overlay whose own generated Secret holds a Vault reference.
fn repository(k: &Kustomization) -> PathBuf {
    k.write(
        "apps/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\ngenerators:\n  - secret-generator.yaml\n",
    );
    k.write("apps/base/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n");
    // Keys out of kustomize's order, a comment and quoting: kustomize rewrites all of it.
    k.gitseal_encrypt(
        "apps/base/db-secret.yaml",
        "kind: Secret\napiVersion: v1\nmetadata:\n  name: db\n# rotated yearly\nstringData:\n  user: 'app'\n  password: hunter2-long-enough\n",
    );
    k.write("apps/base/secret-generator.yaml", generator(&["db-secret.yaml"]));
    k.write(
        "apps/overlays/prod/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: prod\nnamePrefix: prod-\nresources:\n  - ../../base\ngenerators:\n  - secret-generator.yaml\n",
    );
    k.sops_encrypt(
        "apps/overlays/prod/hook-secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/data/flux/webhook#token>\n",
    );
    k.write("apps/overlays/prod/secret-generator.yaml", generator(&["hook-secret.yaml"]).replace("app-secrets", "hook-secrets"));
    k.app()
}

/// A copy of `repo` at `to`, as Argo CD hands the repository to the sidecar.
fn copy_tree(repo: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for e in std::fs::read_dir(repo).expect("read dir") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

/// Runs the plugin's script in `app_dir` with `kustomize` on PATH being kubectl's.
fn run_plugin(k: &Kustomization, app_dir: &Path, server: &OpenBao) -> Output {
    let kubectl = require_peer("kubectl");
    let bin = k.home.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let shim = bin.join("kustomize");
    std::fs::write(&shim, format!("#!/bin/sh\n[ \"$1\" = build ] || exit 2\nshift\nexec {} kustomize \"$@\"\n", kubectl.display())).expect("shim");
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let mut c = Command::new("sh");
    k.isolate(&mut c);
    c.arg("-c")
        .arg(generate_script())
        .current_dir(app_dir)
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", server.root_token());
    c.output().expect("run the plugin script")
}

#[test]
fn kustomize_plugin_generates_decrypted_secrets_in_every_overlay_and_resolves_vault() {
    let server = OpenBao::start();
    server.kv2_put("secret", "flux/webhook", json!({"token": "from-vault"}));
    let k = Kustomization::new();
    let repo = repository(&k);
    let before = std::fs::read(repo.join("apps/base/db-secret.yaml")).expect("read");
    for (app, prefix) in [("apps/overlays/prod", "prod-"), ("apps/base", "")] {
        let copy = k.home.path().join(format!("cmp-{}", app.replace('/', "-")));
        copy_tree(&repo, &copy);
        let out = run_plugin(&k, &copy.join(app), &server);
        assert!(out.status.success(), "generate {app}: {}", utf8(&out.stderr));
        let built = utf8(&out.stdout);
        assert!(!built.contains("sops:") && !built.contains("ENC["), "no sops metadata reaches the cluster:\n{built}");
        let docs = by_name(&built);
        let db = docs.iter().find(|(n, _)| *n == format!("Secret/{prefix}db")).map(|(_, d)| d).unwrap_or_else(|| panic!("{prefix}db in:\n{built}"));
        assert_eq!(field(db, &["stringData", "password"]), Some("hunter2-long-enough"));
        assert!(docs.iter().any(|(n, _)| *n == format!("Deployment/{prefix}web")), "{built}");
        if app.ends_with("prod") {
            let hook = docs.iter().find(|(n, _)| n == "Secret/prod-hook").map(|(_, d)| d).expect("prod-hook");
            assert_eq!(field(hook, &["stringData", "token"]), Some("from-vault"));
            assert_eq!(field(hook, &["metadata", "namespace"]), Some("prod"));
        }
    }
    assert_eq!(std::fs::read(repo.join("apps/base/db-secret.yaml")).expect("read"), before, "the repository is untouched");
}

#[test]
fn kustomize_plugin_fails_with_nothing_printed_on_a_tampered_file() {
    let server = OpenBao::start();
    server.kv2_put("secret", "flux/webhook", json!({"token": "from-vault"}));
    let k = Kustomization::new();
    let repo = repository(&k);
    let secret = repo.join("apps/base/db-secret.yaml");
    let text = std::fs::read_to_string(&secret).expect("read").replace("name: db", "name: db2");
    std::fs::write(&secret, text).expect("write");
    let out = run_plugin(&k, &repo.join("apps/overlays/prod"), &server);
    assert!(!out.status.success(), "a tampered file must fail the generation");
    assert!(out.stdout.is_empty(), "{}", utf8(&out.stdout));
    assert!(utf8(&out.stderr).contains("db-secret.yaml"), "{}", utf8(&out.stderr));
}

#[test]
fn kustomize_plugin_refuses_an_encrypted_file_listed_as_a_resource() {
    let server = OpenBao::start();
    let k = Kustomization::new();
    let repo = repository(&k);
    k.write(
        "apps/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - db-secret.yaml\n",
    );
    let out = run_plugin(&k, &repo.join("apps/base"), &server);
    assert_eq!(out.status.code(), Some(1), "{}", utf8(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(utf8(&out.stderr).contains("list encrypted files in a SecretGenerator"), "{}", utf8(&out.stderr));
}
