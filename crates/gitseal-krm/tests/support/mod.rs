//! Shared fixtures of the gitseal-krm tests: a kustomization directory in a temporary
//! home with gitseal-krm installed as kustomize's `SecretGenerator` plugin, the demo
//! key, and files encrypted by the real `sops` 3.11 and by gitseal-core.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use gitseal_core::document::yaml::value::{parse_documents, YamlNode};
use gitseal_core::document::Format;
use gitseal_core::keys::AgeRecipient;
use gitseal_core::{EncryptRequest, Identities, Recipients};

use crate::openbao::OpenBao;

pub const KRM: &str = env!("CARGO_BIN_EXE_gitseal-krm");
pub const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

pub fn demo_key_file() -> PathBuf {
    Path::new(REPO).join("keys-example/demo.agekey")
}

pub fn demo_recipient() -> String {
    std::fs::read_to_string(Path::new(REPO).join("keys-example/demo.agekey.pub")).expect("demo recipient").trim().to_owned()
}

/// `name` on PATH, or a failure: CI installs every peer (scripts/install-peers.sh).
pub fn require_peer(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed; run scripts/install-peers.sh (interop tests never skip)"))
}

pub fn utf8(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A kustomization directory in a temporary home, with gitseal-krm installed as the
/// `gitseal.dev/v1alpha1` `SecretGenerator` plugin.
pub struct Kustomization {
    pub home: tempfile::TempDir,
}

impl Kustomization {
    pub fn new() -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        let plugin_dir = home.path().join("plugins/gitseal.dev/v1alpha1/secretgenerator");
        std::fs::create_dir_all(&plugin_dir).expect("plugin dir");
        std::os::unix::fs::symlink(KRM, plugin_dir.join("SecretGenerator")).expect("install the plugin");
        std::fs::create_dir_all(home.path().join("app")).expect("app dir");
        Kustomization { home }
    }

    pub fn app(&self) -> PathBuf {
        self.home.path().join("app")
    }

    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.app().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dirs");
        std::fs::write(&p, text).expect("write");
        p
    }

    /// An environment holding only the demo key (nothing from the user's HOME).
    pub fn isolate(&self, c: &mut Command) {
        for var in ["SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "GITSEAL_AGE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE"]
        {
            c.env_remove(var);
        }
        c.env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("KUSTOMIZE_PLUGIN_HOME", self.home.path().join("plugins"))
            .env("SOPS_AGE_KEY_FILE", demo_key_file());
    }

    /// `kubectl kustomize --enable-alpha-plugins` on `dir` (the app when `None`).
    pub fn kubectl(&self, dir: Option<&Path>, vault: Option<&OpenBao>) -> Output {
        let mut c = Command::new(require_peer("kubectl"));
        c.arg("kustomize").arg("--enable-alpha-plugins").arg(dir.map(Path::to_path_buf).unwrap_or_else(|| self.app()));
        self.isolate(&mut c);
        if let Some(server) = vault {
            c.env("VAULT_ADDR", server.addr()).env("VAULT_TOKEN", server.root_token());
        }
        c.output().expect("run kubectl")
    }

    /// gitseal-krm as an exec KRM function in the app directory, `input` on stdin.
    pub fn function(&self, input: &str, key: bool) -> Output {
        let mut c = Command::new(KRM);
        self.isolate(&mut c);
        if !key {
            c.env_remove("SOPS_AGE_KEY_FILE");
        }
        c.current_dir(self.app()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("run gitseal-krm");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// `src` encrypted by the real sops 3.11 for the demo key, as kustomize users' files are.
    pub fn sops_encrypt(&self, name: &str, src: &str) -> PathBuf {
        self.sops_encrypt_with(name, src, &["--age", &demo_recipient()], None)
    }

    /// `src` encrypted by the real sops 3.11 with the key flags `keys` (and Vault's
    /// address and token when `vault` is given).
    pub fn sops_encrypt_with(&self, name: &str, src: &str, keys: &[&str], vault: Option<&OpenBao>) -> PathBuf {
        let plain = self.write(&format!("{name}.plain.yaml"), src);
        let mut c = Command::new(require_peer("sops"));
        self.isolate(&mut c);
        if let Some(server) = vault {
            c.env("VAULT_ADDR", server.addr()).env("VAULT_TOKEN", server.root_token());
        }
        let out = c
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .arg("--encrypt")
            .args(keys)
            .args(["--encrypted-regex", "^(data|stringData)$", "--input-type", "yaml", "--output-type", "yaml"])
            .arg(&plain)
            .output()
            .expect("run sops");
        assert!(out.status.success(), "sops: {}", utf8(&out.stderr));
        std::fs::remove_file(plain).expect("remove the plaintext");
        self.write(name, out.stdout)
    }

    /// `src` encrypted by gitseal-core for the demo key, with the Kubernetes default selection.
    pub fn gitseal_encrypt(&self, name: &str, src: &str) -> PathBuf {
        let recipients = Recipients { age: vec![AgeRecipient::parse(&demo_recipient()).expect("recipient")], ..Recipients::default() };
        let ids = Identities::default();
        let req = EncryptRequest {
            file: name,
            format: Format::from_path(Path::new(name)),
            src: src.as_bytes(),
            recipients: &recipients,
            selection: None,
            mac_only_encrypted: false,
            identities: &ids,
            previous: None,
            check: Some(gitseal_core::k8s::check_secret_data),
        };
        let out = gitseal_core::encrypt(&req).expect("gitseal-core encrypts");
        self.write(name, out.output.as_bytes())
    }
}

/// The documents of a YAML stream, by `kind/name`.
pub fn by_name(stream: &str) -> Vec<(String, YamlNode)> {
    parse_documents(stream)
        .expect("kustomize output parses")
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|d| {
            let kind = d.get("kind").and_then(YamlNode::as_str).unwrap_or("").to_owned();
            let name = d.get("metadata").and_then(|m| m.get("name")).and_then(YamlNode::as_str).unwrap_or("").to_owned();
            (format!("{kind}/{name}"), d)
        })
        .collect()
}

/// The scalar at `path` under `doc`.
pub fn field<'a>(doc: &'a YamlNode, path: &[&str]) -> Option<&'a str> {
    let mut node = doc;
    for key in path {
        node = node.get(key)?;
    }
    node.as_str()
}

/// A `SecretGenerator` config (plugin form) named `app-secrets` listing `files`.
pub fn generator(files: &[&str]) -> String {
    let list: String = files.iter().map(|f| format!("  - {f}\n")).collect();
    format!("apiVersion: gitseal.dev/v1alpha1\nkind: SecretGenerator\nmetadata:\n  name: app-secrets\nfiles:\n{list}")
}
