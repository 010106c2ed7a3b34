//! Shared fixtures for the integration tests: a temporary directory with a fresh age
//! key, and helpers to run gitseal and the real interop peers (`sops`, `age`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary directory holding an age identity (`key.txt`) and its recipient.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub recipient: String,
    pub key_file: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_file = dir.path().join("key.txt");
        let out = Command::new(gitseal_bin()).arg("keygen").arg("-o").arg(&key_file).output().expect("run gitseal keygen");
        assert!(out.status.success(), "keygen failed: {}", String::from_utf8_lossy(&out.stderr));
        let recipient = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(recipient.starts_with("age1"), "{recipient}");
        Fixture { dir, recipient, key_file }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `content` to `name` in the fixture directory and returns its path.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// A gitseal command running in the fixture directory with only this fixture's key
    /// reachable (no user keys from HOME leak in).
    pub fn gitseal(&self) -> Command {
        let mut c = Command::new(gitseal_bin());
        isolate(&mut c, self.dir.path());
        c.env("SOPS_AGE_KEY_FILE", &self.key_file);
        c
    }

    /// A gitseal command with no identity at all.
    pub fn gitseal_without_key(&self) -> Command {
        let mut c = Command::new(gitseal_bin());
        isolate(&mut c, self.dir.path());
        c
    }

    /// The real `sops` binary, with this fixture's key.
    pub fn sops(&self) -> Command {
        let mut c = Command::new(require_peer("sops"));
        isolate(&mut c, self.dir.path());
        c.env("SOPS_AGE_KEY_FILE", &self.key_file).env("SOPS_DISABLE_VERSION_CHECK", "1");
        c
    }

    /// `gitseal encrypt --age <fixture recipient> FILE` to stdout.
    pub fn encrypt(&self, file: &Path) -> Vec<u8> {
        let out = self.gitseal().args(["encrypt", "--age", &self.recipient]).arg(file).output().unwrap();
        assert_success("gitseal encrypt", &out);
        out.stdout
    }

    pub fn decrypt(&self, file: &Path) -> Vec<u8> {
        let out = self.gitseal().arg("decrypt").arg(file).output().unwrap();
        assert_success("gitseal decrypt", &out);
        out.stdout
    }

    pub fn sops_decrypt(&self, file: &Path) -> Vec<u8> {
        let out = self.sops().arg("decrypt").arg(file).output().unwrap();
        assert_success("sops decrypt", &out);
        out.stdout
    }

    pub fn sops_encrypt(&self, file: &Path, extra: &[&str]) -> Vec<u8> {
        let out = self.sops().args(["encrypt", "--age", &self.recipient]).args(extra).arg(file).output().unwrap();
        assert_success("sops encrypt", &out);
        out.stdout
    }
}

fn isolate(c: &mut Command, dir: &Path) {
    c.current_dir(dir)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("GITSEAL_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .env_remove("SOPS_CONFIG")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .stdin(Stdio::null());
}

pub fn gitseal_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gitseal")
}

/// Path of an interop peer. Missing peers fail the test: CI installs them, and a skipped
/// interop test would hide a broken setup.
pub fn require_peer(name: &str) -> String {
    match which(name) {
        Some(p) => p,
        None => panic!("{name} is not installed; run scripts/install-peers.sh (interop tests never skip)"),
    }
}

fn which(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()).map(|p| p.display().to_string())
}

pub fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
