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

#[test]
fn raw_nul_byte_in_yaml_is_refused_naming_the_line() {
    let fx = Fixture::new();
    // sops refuses it too ("control characters are not allowed"); it must never produce a
    // file with the metadata inserted at the NUL and later values left in plaintext.
    let content = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: x\0y\n  b: later-secret\n";
    let (code, err) = encrypt_in_place_fails(&fx, "nul.yaml", content);
    assert_eq!(code, 3);
    assert!(err.contains("nul.yaml:6:"), "{err}");
    assert!(err.contains("NUL"), "{err}");
    let sops = fx.sops().args(["encrypt", "--age", &fx.recipient]).arg(fx.path("nul.yaml")).output().unwrap();
    assert!(!sops.status.success(), "sops accepted a NUL byte");
}

#[test]
fn control_characters_and_yaml11_line_separators_are_refused_naming_the_line() {
    let fx = Fixture::new();
    for (i, c) in ["\u{1}", "\u{7f}", "\u{9b}", "\u{85}", "\u{2028}", "\u{fffe}"].iter().enumerate() {
        let name = format!("ctl{i}.yaml");
        let (code, err) = encrypt_in_place_fails(&fx, &name, &format!("a: b\nc: x{c}y\n"));
        assert_eq!(code, 3, "{c:?}: {err}");
        assert!(err.contains(&format!("{name}:2:")), "{c:?}: {err}");
    }
    // Escaped in double quotes they are fine.
    let p = fx.write("escaped.yaml", "a: \"x\\0y\\u2028\"\n");
    let enc = fx.write("escaped.enc.yaml", fx.encrypt(&p));
    assert_eq!(fx.decrypt(&enc), std::fs::read(&p).unwrap());
}

#[test]
fn yaml_tags_that_sops_cannot_read_on_ciphertext_are_refused_naming_the_line() {
    let fx = Fixture::new();
    for (name, content, line) in [
        ("int.yaml", "a: b\nc: !!int \"forty-two\"\n", 2),
        ("ts.yaml", "a: !!timestamp 2026-01-01\n", 1),
        ("seq.yaml", "a: b\nc: !!seq x\n", 2),
        ("block.yaml", "a: !!int |\n  42\n", 1),
    ] {
        let (code, err) = encrypt_in_place_fails(&fx, name, content);
        assert_eq!(code, 3, "{name}: {err}");
        assert!(err.contains(&format!("{name}:{line}:")), "{name}: {err}");
        assert!(err.contains("tag"), "{name}: {err}");
    }
}

#[test]
fn yaml_directive_other_than_1_1_is_refused_as_sops_cannot_read_it() {
    let fx = Fixture::new();
    let content = "%YAML 1.2\n---\na: b\n";
    let (code, err) = encrypt_in_place_fails(&fx, "dir.yaml", content);
    assert_eq!(code, 3);
    assert!(err.contains("dir.yaml:1:") && err.contains("%YAML 1.2"), "{err}");
    let sops = fx.sops().args(["encrypt", "--age", &fx.recipient]).arg(fx.path("dir.yaml")).output().unwrap();
    assert!(!sops.status.success(), "sops now reads %YAML 1.2: the refusal can go");
}

#[test]
fn json_number_beyond_float_range_is_refused_naming_the_line() {
    let fx = Fixture::new();
    let content = "{\n  \"a\": 1,\n  \"b\": 1e400\n}\n";
    let (code, err) = encrypt_in_place_fails(&fx, "big.json", content);
    assert_eq!(code, 3);
    assert!(err.contains("big.json:3:"), "{err}");
    let sops = fx.sops().args(["encrypt", "--age", &fx.recipient]).arg(fx.path("big.json")).output().unwrap();
    assert!(!sops.status.success(), "sops now reads 1e400: the refusal can go");
}

/// A block mapping nested `levels` collections deep (the root counts as one).
fn nested_yaml(levels: usize) -> String {
    let mut content = String::new();
    for i in 0..levels - 1 {
        content.push_str(&" ".repeat(i));
        content.push_str("k:\n");
    }
    content.push_str(&" ".repeat(levels - 1));
    content.push_str("k: v\n");
    content
}

#[test]
fn yaml_nested_beyond_the_depth_limit_is_refused_naming_the_line() {
    let fx = Fixture::new();
    let max = gitseal_core::document::yaml::MAX_DEPTH;
    let (code, err) = encrypt_in_place_fails(&fx, "deep.yaml", &nested_yaml(max + 1));
    assert_eq!(code, 3);
    assert!(err.contains(&format!("deep.yaml:{}:", max + 1)), "{err}");
    assert!(err.contains("nested more than"), "{err}");
    let ok = nested_yaml(max);
    let p = fx.write("deep-ok.yaml", &ok);
    let enc = fx.write("deep-ok.enc.yaml", fx.encrypt(&p));
    assert_eq!(fx.decrypt(&enc), ok.as_bytes());
}
