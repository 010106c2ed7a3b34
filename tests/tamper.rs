//! Decrypt checks the MAC and the per-value authentication: tampering is refused.

mod common;
use common::{stderr, Fixture};

const TWO_DOCS: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: first
  namespace: prod
stringData:
  username: admin
  password: correct-horse-battery
---
apiVersion: v1
kind: Secret
metadata:
  name: second
stringData:
  token: abcdef
";

fn encrypted(fx: &Fixture) -> String {
    let p = fx.write("s.yaml", TWO_DOCS);
    String::from_utf8(fx.encrypt(&p)).unwrap()
}

fn decrypt_text(fx: &Fixture, text: &str) -> std::process::Output {
    let p = fx.write("t.yaml", text);
    fx.gitseal().arg("decrypt").arg(&p).output().unwrap()
}

fn line_value<'a>(text: &'a str, key: &str) -> &'a str {
    let l = text.lines().find(|l| l.trim_start().starts_with(&format!("{key}: ENC["))).unwrap();
    l.split_once(": ").unwrap().1
}

#[test]
fn untouched_file_decrypts() {
    let fx = Fixture::new();
    let out = decrypt_text(&fx, &encrypted(&fx));
    common::assert_success("decrypt", &out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), TWO_DOCS);
}

#[test]
fn swapped_values_are_refused() {
    let fx = Fixture::new();
    let enc = encrypted(&fx);
    let (u, p) = (line_value(&enc, "username").to_owned(), line_value(&enc, "password").to_owned());
    let swapped = enc.replace(&u, "@U@").replace(&p, &u).replace("@U@", &p);
    let out = decrypt_text(&fx, &swapped);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(stderr(&out).contains("t.yaml:7:"), "{}", stderr(&out));
}

#[test]
fn edited_plaintext_metadata_breaks_the_mac() {
    let fx = Fixture::new();
    let enc = encrypted(&fx).replace("namespace: prod", "namespace: attacker");
    let out = decrypt_text(&fx, &enc);
    assert_eq!(out.status.code(), Some(51), "{}", stderr(&out));
    assert!(stderr(&out).contains("MAC mismatch"));
}

#[test]
fn dropped_document_breaks_the_mac() {
    let fx = Fixture::new();
    let enc = encrypted(&fx);
    let first = enc.split("\n---\n").next().unwrap().to_owned() + "\n";
    let out = decrypt_text(&fx, &first);
    assert_eq!(out.status.code(), Some(51), "{}", stderr(&out));
}

#[test]
fn removed_value_breaks_the_mac() {
    let fx = Fixture::new();
    let enc = encrypted(&fx);
    let without: String = enc.lines().filter(|l| !l.trim_start().starts_with("username:")).map(|l| format!("{l}\n")).collect();
    let out = decrypt_text(&fx, &without);
    assert_eq!(out.status.code(), Some(51), "{}", stderr(&out));
}

#[test]
fn flipped_ciphertext_byte_is_refused() {
    let fx = Fixture::new();
    let enc = encrypted(&fx);
    let v = line_value(&enc, "token").to_owned();
    let data_start = v.find("data:").unwrap() + 5;
    let mut bytes = v.clone().into_bytes();
    bytes[data_start] = if bytes[data_start] == b'A' { b'B' } else { b'A' };
    let out = decrypt_text(&fx, &enc.replace(&v, std::str::from_utf8(&bytes).unwrap()));
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
}

#[test]
fn plaintext_value_slipped_into_encrypted_area_is_refused() {
    let fx = Fixture::new();
    let enc = encrypted(&fx);
    let v = line_value(&enc, "token").to_owned();
    let out = decrypt_text(&fx, &enc.replace(&v, "injected"));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("plaintext"), "{}", stderr(&out));
}

#[test]
fn ignore_mac_warns_loudly_and_decrypts() {
    let fx = Fixture::new();
    let enc = encrypted(&fx).replace("namespace: prod", "namespace: other");
    let p = fx.write("t.yaml", &enc);
    let out = fx.gitseal().args(["decrypt", "--ignore-mac"]).arg(&p).output().unwrap();
    common::assert_success("decrypt --ignore-mac", &out);
    assert!(stderr(&out).contains("WARNING"), "{}", stderr(&out));
    assert!(String::from_utf8(out.stdout).unwrap().contains("password: correct-horse-battery"));
}

#[test]
fn secrets_never_appear_in_error_messages() {
    let fx = Fixture::new();
    let enc = encrypted(&fx).replace("namespace: prod", "namespace: x");
    let out = decrypt_text(&fx, &enc);
    let err = stderr(&out);
    for secret in ["correct-horse-battery", "abcdef", "admin"] {
        assert!(!err.contains(secret), "secret {secret} leaked: {err}");
    }
}
