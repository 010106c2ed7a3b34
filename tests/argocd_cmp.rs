//! The Argo CD config management plugin in examples/argocd-cmp/plugin.yaml: its
//! `discover` and `generate` commands run as Argo CD runs them (`sh -c` in the
//! application directory), with gitseal on PATH and the test Vault server.

mod common;
mod vault_support;

use std::path::Path;
use std::process::Command;

use common::{assert_success, stderr, utf8, Fixture};
use gitseal::config::parse_tree;
use serde_json::json;
use vault_support::{VaultServer, ROOT_TOKEN};

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

fn run_like_argocd(f: &Fixture, app: &Path, section: &[&str], server: &VaultServer) -> std::process::Output {
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
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .output()
        .unwrap()
}

#[test]
fn plugin_discovers_and_renders_an_application() {
    let f = Fixture::new();
    let server = VaultServer::start();
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
