//! Every bad input gets a clear error naming the file and line, a documented non-zero
//! exit code, and leaves the file untouched.

mod common;
use common::{stderr, Fixture};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: hunter2-secret-value\n";

/// Runs `gitseal encrypt -i` on `content` and returns (exit code, stderr), asserting the
/// file was not modified.
fn encrypt_in_place_fails(fx: &Fixture, name: &str, content: &str) -> (i32, String) {
    let p = fx.write(name, content);
    let out = fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&p).output().unwrap();
    assert!(!out.status.success(), "expected failure for {name}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), content, "{name} was modified");
    (out.status.code().unwrap(), stderr(&out))
}

#[test]
fn invalid_yaml_names_file_and_line() {
    let fx = Fixture::new();
    let (code, err) = encrypt_in_place_fails(&fx, "bad.yaml", "a: b\nc: [unclosed\nd: e\n");
    assert_eq!(code, 3);
    assert!(err.contains("bad.yaml:"), "{err}");
}

#[test]
fn duplicate_keys_are_refused() {
    let fx = Fixture::new();
    let (code, err) = encrypt_in_place_fails(&fx, "dup.yaml", "a: 1\nb: 2\na: 3\n");
    assert_eq!(code, 3);
    assert!(err.contains("dup.yaml:3:"), "{err}");
    assert!(err.contains("duplicate key"), "{err}");
}

#[test]
fn bad_base64_in_secret_data_is_refused_with_line() {
    let fx = Fixture::new();
    let content = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  good: aGVsbG8=\n  bad: not base64!\n";
    let (code, err) = encrypt_in_place_fails(&fx, "b64.yaml", content);
    assert_eq!(code, 3);
    assert!(err.contains("b64.yaml:7:"), "{err}");
    assert!(err.contains("base64"), "{err}");
    assert!(!err.contains("not base64!"), "the value leaked into the message: {err}");
}

#[test]
fn no_recipients_is_an_error() {
    let fx = Fixture::new();
    let p = fx.write("s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("no recipients"));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), SECRET);
}

#[test]
fn no_matching_identity_names_the_recipients() {
    let fx = Fixture::new();
    let p = fx.write("s.yaml", SECRET);
    let enc = fx.encrypt(&p);
    let e = fx.write("s.enc.yaml", &enc);
    let out = fx.gitseal_without_key().arg("decrypt").arg(&e).output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    let err = stderr(&out);
    assert!(err.contains(&fx.recipient), "{err}");
    assert!(err.contains("s.enc.yaml"), "{err}");
}

#[test]
fn decrypting_a_plaintext_file_is_an_error() {
    let fx = Fixture::new();
    let p = fx.write("plain.yaml", SECRET);
    let out = fx.gitseal().arg("decrypt").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("plain.yaml: not encrypted"), "{}", stderr(&out));
}

#[test]
fn truncated_enc_value_is_reported_with_line() {
    let fx = Fixture::new();
    let p = fx.write("s.yaml", SECRET);
    let enc = String::from_utf8(fx.encrypt(&p)).unwrap();
    let line = enc.lines().find(|l| l.contains("token: ENC[")).unwrap();
    let cut = &line[..line.len() - 20];
    let broken = enc.replace(line, cut);
    let e = fx.write("t.yaml", &broken);
    let out = fx.gitseal().arg("decrypt").arg(&e).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("t.yaml:6:"), "{}", stderr(&out));
    assert!(stderr(&out).contains("malformed"), "{}", stderr(&out));
}

#[test]
fn unwritable_target_fails_and_keeps_the_original() {
    let fx = Fixture::new();
    let p = fx.write("s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-o"]).arg(fx.path("missing-dir/out.yaml")).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), SECRET);
}

#[test]
fn several_files_without_in_place_is_a_usage_error() {
    let fx = Fixture::new();
    let a = fx.write("a.yaml", SECRET);
    let b = fx.write("b.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&a).arg(&b).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn one_bad_file_in_a_batch_does_not_stop_the_others() {
    let fx = Fixture::new();
    let good = fx.write("dir/good.yaml", SECRET);
    let bad = fx.write("dir/bad.yaml", "a: 1\na: 2\n");
    let out = fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(fx.path("dir")).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(std::fs::read_to_string(&good).unwrap().contains("sops:"));
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "a: 1\na: 2\n");
}

#[cfg(unix)]
#[test]
fn in_place_write_keeps_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new();
    let p = fx.write("s.yaml", SECRET);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&p).output().unwrap();
    common::assert_success("encrypt -i", &out);
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
    let leftovers: Vec<_> =
        std::fs::read_dir(fx.dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with(".gitseal-")).collect();
    assert!(leftovers.is_empty());
}
