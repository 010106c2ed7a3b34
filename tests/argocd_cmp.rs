//! The Argo CD config management plugin in examples/argocd-cmp/plugin.yaml: its
//! `discover` and `generate` commands run as Argo CD runs them (`sh -c` in the
//! application directory), with gitseal on PATH and an OpenBao server. The kustomize
//! plugin (plugin-kustomize.yaml) runs gitseal-krm; crates/gitseal-krm/tests/
//! argocd_kustomize.rs tests it.

mod common;
mod vault_support;

use std::path::Path;
use std::process::Command;

use common::{assert_success, stderr, utf8, Fixture};
use gitseal_core::config::parse_tree;
use serde_json::json;
use vault_support::openbao::OpenBao;

/// `spec.<section>` command and first argument of the plugin configuration.
fn plugin_command(section: &[&str]) -> (Vec<String>, String) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/argocd-cmp/plugin.yaml")).unwrap();
    let tree = parse_tree(&text).expect("plugin.yaml parses");
    let mut node = tree.get("spec").expect("spec");
    for key in section {
        node = node.get(key).unwrap_or_else(|| panic!("spec.{key}"));
    }
    let command = node.get("command").expect("command").as_list().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    let arg = node.get("args").expect("args").as_list()[0].as_str().unwrap().to_owned();
    (command, arg)
}

fn run_like_argocd(f: &Fixture, app: &Path, section: &[&str], server: &OpenBao) -> std::process::Output {
    let (command, arg) = plugin_command(section);
    assert_eq!(command, ["sh", "-c"]);
    let bin_dir = Path::new(common::gitseal_bin()).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("sh")
        .arg("-c")
        .arg(arg)
        .current_dir(app)
        .env("PATH", path)
        .env("HOME", f.dir.path())
        .env("SOPS_AGE_KEY_FILE", &f.key_file)
        .env("VAULT_ADDR", server.addr())
        .env("VAULT_TOKEN", server.root_token())
        .output()
        .unwrap()
}

#[test]
fn plugin_discovers_and_renders_an_application() {
    let f = Fixture::new();
    let server = OpenBao::start();
    server.kv2_put("secret", "flux/webhook", json!({"token": "from-vault"}));

    let app = f.path("app");
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n";
    f.write("app/db.yaml", secret);
    assert_success("encrypt", &f.gitseal().args(["encrypt", "-i", "--age", &f.recipient, "app/db.yaml"]).output().unwrap());
    let hook = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/data/flux/webhook#token>\n";
    f.write("app/hook.yaml", hook);
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n";
    f.write("app/web.yaml", deployment);
    f.write("app/README.md", "not a manifest\n");

    let out = run_like_argocd(&f, &app, &["discover", "find"], &server);
    assert_success("discover", &out);
    assert!(!utf8(&out.stdout).trim().is_empty(), "the plugin must claim this application");

    let out = run_like_argocd(&f, &app, &["generate"], &server);
    assert_success("generate", &out);
    assert_eq!(utf8(&out.stdout), format!("{secret}---\n{}---\n{deployment}", hook.replace("<path:secret/data/flux/webhook#token>", "from-vault")));

    // A plain application is not claimed.
    let plain = f.path("plain");
    f.write("plain/web.yaml", deployment);
    let out = run_like_argocd(&f, &plain, &["discover", "find"], &server);
    assert!(utf8(&out.stdout).trim().is_empty(), "claimed a plain app: {}", utf8(&out.stdout));

    // A failing reference fails generation with nothing printed.
    f.write("app/hook.yaml", hook.replace("#token>", "#missing>"));
    let out = run_like_argocd(&f, &app, &["generate"], &server);
    assert_eq!(out.status.code(), Some(11), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

/// A directory holding `kustomize`, the kustomize that kubectl embeds (`kustomize build
/// DIR` as `kubectl kustomize DIR`), and gitseal's directory, for PATH.
fn kustomize_path(f: &Fixture) -> String {
    let kubectl = common::require_peer("kubectl");
    let shim = f.write("bin/kustomize", format!("#!/bin/sh\n[ \"$1\" = build ] || exit 2\nshift\nexec {kubectl} kustomize \"$@\"\n"));
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bin_dir = Path::new(common::gitseal_bin()).parent().unwrap().to_owned();
    format!("{}:{}:{}", shim.parent().unwrap().display(), bin_dir.display(), std::env::var("PATH").unwrap_or_default())
}

/// A repository with a base holding an encrypted Secret and an overlay holding a Vault
/// reference, encrypted with the README's rule; returns the repository's path.
fn kustomize_repo(f: &Fixture) -> std::path::PathBuf {
    f.write(
        "repo/apps/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - db-secret.yaml\n",
    );
    f.write("repo/apps/base/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx\n");
    // Keys out of kustomize's order, a comment and quoting: kustomize rewrites all of it.
    f.write(
        "repo/apps/base/db-secret.yaml",
        "kind: Secret\napiVersion: v1\nmetadata:\n  name: db\n# rotated yearly\nstringData:\n  user: 'app'\n  password: hunter2-long-enough\n",
    );
    f.write(
        "repo/apps/overlays/prod/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: prod\nnamePrefix: prod-\nresources:\n  - ../../base\n  - hook.yaml\n",
    );
    f.write(
        "repo/apps/overlays/prod/hook.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook\nstringData:\n  token: <path:secret/data/flux/webhook#token>\n",
    );
    f.write(
        ".sops.yaml",
        format!("creation_rules:\n  - path_regex: secret[^/]*\\.ya?ml$\n    encrypted_regex: ^(data|stringData)$\n    age: {}\n", f.recipient),
    );
    assert_success("encrypt -i repo", &f.gitseal().args(["encrypt", "-i", "repo"]).output().unwrap());
    assert!(std::fs::read_to_string(f.path("repo/apps/base/db-secret.yaml")).unwrap().contains("sops:"));
    f.path("repo")
}

#[test]
fn kustomize_build_piped_to_render_cannot_open_sops_files() {
    // Why kustomize applications need the gitseal-krm generator (docs/krm.md) rather than
    // `kustomize build . | gitseal render -`.
    let f = Fixture::new();
    let repo = kustomize_repo(&f);
    let out = Command::new("sh")
        .arg("-c")
        .arg("kustomize build . | gitseal render -")
        .current_dir(repo.join("apps/base"))
        .env("PATH", kustomize_path(&f))
        .env("HOME", f.dir.path())
        .env("SOPS_AGE_KEY_FILE", &f.key_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(51), "kustomize rewrites the sops document, so its MAC fails: {}", stderr(&out));
    assert!(out.stdout.is_empty());
}
