//! `-` for standard input (encrypt, decrypt), and the messages that point at a mistake:
//! unknown `.sops.yaml` keys, `set` on a new or misspelt path, `--extract` of a missing
//! path, `set` in a multi-document file.

mod common;

use common::{assert_success, output_with_stdin as with_stdin, stderr, Fixture};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2-but-longer\n  username: app\n";

fn encrypted(f: &Fixture, name: &str, plain: &str) -> std::path::PathBuf {
    let p = f.write(name, plain);
    let out = f.gitseal().args(["encrypt", "-i", "--age", &f.recipient]).arg(&p).output().unwrap();
    assert_success("encrypt -i", &out);
    p
}

#[test]
fn stdin_without_a_type_is_refused_rather_than_taken_for_binary() {
    let f = Fixture::new();
    let mut c = f.gitseal();
    c.args(["encrypt", "--age", &f.recipient, "-"]);
    let out = with_stdin(c, SECRET.as_bytes());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--input-type") && stderr(&out).contains("--filename-override"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    // sops refuses standard input without --filename-override too.
    let mut s = f.sops();
    s.args(["encrypt", "--age", &f.recipient]);
    let sops = with_stdin(s, SECRET.as_bytes());
    assert!(!sops.status.success(), "sops accepted stdin without a name");
    assert!(stderr(&sops).contains("--filename-override"), "{}", stderr(&sops));
}

#[test]
fn stdin_with_filename_override_takes_its_format_and_creation_rule_as_sops_does() {
    let f = Fixture::new();
    f.write(".sops.yaml", format!("creation_rules:\n  - path_regex: ^secrets/\n    encrypted_regex: ^password$\n    age: {}\n", f.recipient));
    let mut c = f.gitseal();
    c.args(["encrypt", "--filename-override", "secrets/db.yaml", "-"]);
    let out = with_stdin(c, SECRET.as_bytes());
    assert_success("encrypt - --filename-override", &out);
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.contains("password: ENC[AES256_GCM,") && text.contains("username: app\n"), "the rule's encrypted_regex applies:\n{text}");
    assert!(text.contains("encrypted_regex: ^password$"), "{text}");
    let enc = f.write("db.enc.yaml", &out.stdout);
    assert!(String::from_utf8(f.sops_decrypt(&enc)).unwrap().contains("hunter2-but-longer"), "sops decrypts it");
    assert_eq!(f.decrypt(&enc), SECRET.as_bytes());

    // sops with the same override selects the same value.
    let mut s = f.sops();
    s.args(["encrypt", "--filename-override", "secrets/db.yaml"]);
    let sops = with_stdin(s, SECRET.as_bytes());
    assert_success("sops encrypt --filename-override", &sops);
    let sops_text = String::from_utf8(sops.stdout).unwrap();
    assert!(sops_text.contains("password: ENC[") && sops_text.contains("username: app"), "{sops_text}");

    // A path no rule matches: named in the error.
    let mut c = f.gitseal();
    c.args(["encrypt", "--filename-override", "other/db.yaml", "-"]);
    let out = with_stdin(c, SECRET.as_bytes());
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("\"other/db.yaml\"") && stderr(&out).contains(".sops.yaml"), "{}", stderr(&out));
}

#[test]
fn stdin_with_input_type_encrypts_and_decrypts() {
    let f = Fixture::new();
    let mut c = f.gitseal();
    c.args(["encrypt", "--input-type", "yaml", "--age", &f.recipient, "-"]);
    let out = with_stdin(c, SECRET.as_bytes());
    assert_success("encrypt --input-type yaml -", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("password: ENC[AES256_GCM,"));
    let mut d = f.gitseal();
    d.args(["decrypt", "--input-type", "yaml", "-"]);
    let plain = with_stdin(d, &out.stdout);
    assert_success("decrypt -", &plain);
    assert_eq!(plain.stdout, SECRET.as_bytes());
    let mut d = f.gitseal();
    d.args(["decrypt", "--filename-override", "x.yaml", "--extract", r#"["stringData"]["username"]"#, "-"]);
    let value = with_stdin(d, &out.stdout);
    assert_success("decrypt --extract -", &value);
    assert_eq!(value.stdout, b"app");
    // Without a type, decrypt refuses too; -i with - is refused.
    let mut d = f.gitseal();
    d.args(["decrypt", "-"]);
    let out2 = with_stdin(d, &out.stdout);
    assert_eq!(out2.status.code(), Some(2), "{}", stderr(&out2));
    let mut e = f.gitseal();
    e.args(["encrypt", "-i", "--input-type", "yaml", "--age", &f.recipient, "-"]);
    assert_eq!(with_stdin(e, SECRET.as_bytes()).status.code(), Some(2));
}

#[test]
fn misspelt_sops_yaml_keys_warn_with_file_and_line() {
    let f = Fixture::new();
    f.write(
        ".sops.yaml",
        format!("creation_rule:\n  - path_regex: \\.yaml$\n    age: {r}\ncreation_rules:\n  - path_regx: nothing-matches\n    age: {r}\n", r = f.recipient),
    );
    let file = f.write("s.yaml", SECRET);
    let out = f.gitseal().args(["encrypt", "-i"]).arg(&file).output().unwrap();
    let e = stderr(&out);
    assert!(e.contains(".sops.yaml:1: warning: unknown key `creation_rule` (did you mean `creation_rules`?)"), "{e}");
    assert!(e.contains(".sops.yaml:5: warning: unknown key `path_regx` (did you mean `path_regex`?)"), "{e}");
    // The rule without its path_regex matches everything: encrypted, but not silently.
    assert_success("encrypt -i", &out);
}

#[test]
fn set_adds_a_key_under_data_of_the_one_secret_beside_a_configmap_with_data() {
    let f = Fixture::new();
    let two = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  color: blue\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  user: YXBw\n";
    let p = encrypted(&f, "two.yaml", two);
    let out = f.gitseal().arg("set").arg(&p).args([r#"["data"]["password"]"#, "--base64", "s3cret-pass"]).output().unwrap();
    assert_success("set data.password", &out);
    let plain = String::from_utf8(f.decrypt(&p)).unwrap();
    assert!(plain.ends_with("data:\n  user: YXBw\n  password: czNjcmV0LXBhc3M=\n"), "{plain}");
    assert!(plain.starts_with("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  color: blue\n---"), "{plain}");
}

#[test]
fn set_with_a_misspelt_path_says_it_adds_a_new_key_and_names_the_nearest() {
    let f = Fixture::new();
    let p = encrypted(&f, "s.yaml", SECRET);
    let out = f.gitseal().arg("set").arg(&p).args([r#"["stringData"]["pasword"]"#, "new-value-1"]).output().unwrap();
    assert_success("set misspelt", &out);
    let e = stderr(&out);
    assert!(e.contains(r#"adds the new key ["stringData"]["pasword"] (nearest existing: ["stringData"]["password"]"#), "{e}");
    assert!(!e.contains("new-value-1"), "the value never reaches stderr");

    // A misspelt mapping: created, said so, and the value would stay plaintext: warned.
    let out = f.gitseal().arg("set").arg(&p).args([r#"["stringDta"]["token"]"#, "new-value-2"]).output().unwrap();
    assert_success("set misspelt mapping", &out);
    let e = stderr(&out);
    assert!(e.contains(r#"creates the mapping ["stringDta"] (nearest existing: ["stringData"]"#), "{e}");
    assert!(e.contains(r#"["stringDta"]["token"] is stored in plaintext"#), "{e}");

    // Replacing an existing value says nothing of the kind.
    let out = f.gitseal().arg("set").arg(&p).args([r#"["stringData"]["password"]"#, "new-value-3"]).output().unwrap();
    assert_success("set existing", &out);
    assert!(!stderr(&out).contains("new key") && !stderr(&out).contains("plaintext"), "{}", stderr(&out));
}

#[test]
fn extract_of_a_missing_path_suggests_the_nearest_paths() {
    let f = Fixture::new();
    let p = encrypted(&f, "s.yaml", SECRET);
    let out = f.gitseal().args(["decrypt", "--extract", r#"["stringData"]["pasword"]"#]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains(r#"nearest existing paths: ["stringData"]["password"]"#), "{e}");
    assert!(!e.contains("hunter2"), "values never reach stderr: {e}");
    assert!(out.stdout.is_empty());
}

/// Regression: `stdin_without_a_type_is_refused_rather_than_taken_for_binary` failed now
/// and then with "Broken pipe" when gitseal refused (as it should) before the test had
/// written all of its input. A command that exits without reading must give its output,
/// not fail the test's writer: here 1 MiB, more than a pipe holds, into `true`.
#[test]
fn regression_a_refusal_before_reading_stdin_is_not_a_broken_pipe_failure() {
    let out = with_stdin(std::process::Command::new("true"), &vec![b'x'; 1 << 20]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}
