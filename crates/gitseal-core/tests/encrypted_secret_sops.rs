//! EncryptedSecret files stay sops files: the real sops 3.11 opens what gitseal seals,
//! verifying the MAC (`mac_only_encrypted`), and refuses it once a value is changed.

use std::path::PathBuf;
use std::process::Command;

use gitseal_core::encrypted_secret::{self, Scope};
use gitseal_core::keys::AgeRecipient;
use gitseal_core::{Format, Identities, Recipients};

fn demo_key() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../keys-example/demo.agekey"))
}

fn sops() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("sops"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("sops is not installed; run scripts/install-peers.sh (interop tests never skip)"))
        .display()
        .to_string()
}

fn demo_recipients() -> Recipients {
    let public = std::fs::read_to_string(demo_key().with_extension("agekey.pub")).unwrap();
    Recipients { age: vec![AgeRecipient::parse(public.trim()).unwrap()], ..Recipients::default() }
}

const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
  name: receiver-token
  namespace: flux-system
  labels:
    app.kubernetes.io/part-of: flux
type: Opaque
stringData:
  token: 9f2c1e7a-receiver-token
data:
  extra: aGVsbG8gd29ybGQ=
";

#[test]
fn sops_decrypts_an_encrypted_secret_and_refuses_an_edited_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receiver.yaml");
    let sealed = encrypted_secret::encrypt_secret_manifest("receiver.yaml", SECRET.as_bytes(), Scope::Strict, &demo_recipients()).unwrap();
    std::fs::write(&file, sealed.as_bytes()).unwrap();

    let out = Command::new(sops())
        .args(["--decrypt", "--input-type", "yaml", "--output-type", "yaml"])
        .arg(&file)
        .env("SOPS_AGE_KEY_FILE", demo_key())
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "sops failed: {}", String::from_utf8_lossy(&out.stderr));
    let plain = String::from_utf8(out.stdout).unwrap();
    assert!(plain.contains("token: 9f2c1e7a-receiver-token"), "{plain}");
    assert!(plain.contains("extra: aGVsbG8gd29ybGQ="), "{plain}");
    assert!(plain.contains("\"scope\":\"strict\""), "the binding decrypts to its record: {plain}");

    // gitseal opens the same file the same way.
    let mut ids = Identities::default();
    ids.add_text("demo.agekey", &std::fs::read_to_string(demo_key()).unwrap()).unwrap();
    let opened = encrypted_secret::open_file("receiver.yaml", Format::Yaml, sealed.as_bytes(), &ids).unwrap();
    assert_eq!(opened.data["token"].as_slice(), b"9f2c1e7a-receiver-token");

    // One ciphertext swapped for another of the same file: sops refuses it too.
    let text = sealed.as_str();
    let ciphertext_of = |key: &str| {
        let line = text.lines().find(|l| l.trim_start().starts_with(&format!("{key}: "))).unwrap();
        let start = line.find("ENC[").unwrap();
        (line, &line[start..=start + line[start..].find(']').unwrap()])
    };
    let (token_line, token_ct) = ciphertext_of("token");
    let (_, extra_ct) = ciphertext_of("extra");
    let edited = text.replace(token_line, &token_line.replace(token_ct, extra_ct));
    std::fs::write(&file, &edited).unwrap();
    let out = Command::new(sops()).args(["--decrypt"]).arg(&file).env("SOPS_AGE_KEY_FILE", demo_key()).env("SOPS_DISABLE_VERSION_CHECK", "1").output().unwrap();
    assert!(!out.status.success(), "sops accepted a moved ciphertext");
    assert!(encrypted_secret::open_file("receiver.yaml", Format::Yaml, edited.as_bytes(), &ids).is_err());
}

#[test]
fn a_file_sops_encrypted_with_the_same_rule_opens_in_the_cluster_view() {
    // sops itself can write an EncryptedSecret when given gitseal's rule and a plaintext in
    // sorted order: the format is sops's, not gitseal's alone.
    let dir = tempfile::tempdir().unwrap();
    let sealed = encrypted_secret::encrypt_secret_manifest("r.yaml", SECRET.as_bytes(), Scope::Namespace, &demo_recipients()).unwrap();
    let mut ids = Identities::default();
    ids.add_text("demo.agekey", &std::fs::read_to_string(demo_key()).unwrap()).unwrap();
    // Decrypt with sops, re-encrypt with sops (new data key, sops's own writer).
    let file = dir.path().join("r.yaml");
    std::fs::write(&file, sealed.as_bytes()).unwrap();
    let plain =
        Command::new(sops()).args(["--decrypt"]).arg(&file).env("SOPS_AGE_KEY_FILE", demo_key()).env("SOPS_DISABLE_VERSION_CHECK", "1").output().unwrap();
    assert!(plain.status.success(), "{}", String::from_utf8_lossy(&plain.stderr));
    let plain_file = dir.path().join("plain.yaml");
    std::fs::write(&plain_file, &plain.stdout).unwrap();
    let public = std::fs::read_to_string(demo_key().with_extension("agekey.pub")).unwrap();
    let out = Command::new(sops())
        .args(["--encrypt", "--encrypted-regex", encrypted_secret::ENCRYPTED_REGEX, "--mac-only-encrypted", "--age", public.trim()])
        .arg(&plain_file)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let by_sops = String::from_utf8(out.stdout).unwrap();
    let opened = encrypted_secret::open_file("r.yaml", Format::Yaml, by_sops.as_bytes(), &ids).unwrap();
    assert_eq!(opened.data["extra"].as_slice(), b"hello world");
}
