//! Where identities come from, and what gitseal says when they are missing or wrong.

mod common;

use common::{assert_success, stderr, Fixture};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: t\n";

fn encrypted(f: &Fixture) -> std::path::PathBuf {
    let p = f.write("s.yaml", SECRET);
    let enc = f.encrypt(&p);
    f.write("s.yaml", enc)
}

#[test]
fn missing_identity_file_exits_1_as_internal_error_no_more() {
    let f = Fixture::new();
    let file = encrypted(&f);
    let out = f.gitseal_without_key().args(["decrypt", "--identity", "nope.txt"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("nope.txt: cannot read the identity file"), "{e}");
}

#[test]
fn malformed_identity_file_is_bad_input_naming_file_and_line() {
    let f = Fixture::new();
    let file = encrypted(&f);
    f.write("bad.txt", "# a comment\nAGE-SECRET-KEY-1NOTAKEYATALL\n");
    let out = f.gitseal_without_key().args(["decrypt", "--identity", "bad.txt"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("bad.txt:2: identity file: malformed age identity"), "{e}");
    assert!(!e.contains("NOTAKEYATALL"), "the line's content is not shown: {e}");
}

#[test]
fn no_key_message_lists_places_searched_and_recipients() {
    let f = Fixture::new();
    let file = encrypted(&f);
    let out = f.gitseal_without_key().arg("decrypt").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains(&format!("encrypted to: age:{}", f.recipient)), "{e}");
    for place in [
        "GITSEAL_AGE_KEY_FILE (not set)",
        "SOPS_AGE_KEY_FILE (not set)",
        "SOPS_AGE_KEY (not set)",
        "SOPS_AGE_KEY_CMD (not set)",
        "sops/age/keys.txt (not found)",
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE (not set)",
        ".ssh/id_ed25519 (not found)",
        ".ssh/id_rsa (not found)",
    ] {
        assert!(e.contains(place), "{place} missing from: {e}");
    }
}

#[test]
fn sops_age_key_cmd_output_is_read_as_identities() {
    let f = Fixture::new();
    let file = encrypted(&f);
    // As sops: the command is split into words and run without a shell.
    let out = f.gitseal_without_key().env("SOPS_AGE_KEY_CMD", format!("cat '{}'", f.key_file.display())).arg("decrypt").arg(&file).output().unwrap();
    assert_success("decrypt with SOPS_AGE_KEY_CMD", &out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), SECRET);
    let out = f.gitseal_without_key().env("SOPS_AGE_KEY_CMD", "false").arg("decrypt").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("SOPS_AGE_KEY_CMD: \"false\" failed"), "{}", stderr(&out));
}

#[test]
fn sops_age_ssh_private_key_file_is_read_and_must_exist() {
    let f = Fixture::new();
    let file = encrypted(&f);
    let out = f.gitseal().env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", f.path("missing_key")).arg("decrypt").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "a named SSH key that is missing is an error: {}", stderr(&out));
    assert!(stderr(&out).contains("missing_key: cannot read the identity file"), "{}", stderr(&out));
}
