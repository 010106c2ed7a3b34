//! `.sops.yaml` is found and applied as sops finds and applies it.

mod common;
use common::{assert_success, stderr, Fixture};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: t0ps3cret\n";

#[test]
fn creation_rule_recipients_and_path_regex_are_used() {
    let fx = Fixture::new();
    let (_, other) = gitseal_core::keys::age::generate_identity();
    fx.write(
        ".sops.yaml",
        format!("creation_rules:\n  - path_regex: ^prod/.*\\.yaml$\n    age: {}\n  - path_regex: .*\\.yaml$\n    age: '{}'\n", fx.recipient, other),
    );
    let prod = fx.write("prod/s.yaml", SECRET);
    let dev = fx.write("dev/s.yaml", SECRET);
    // Run from a subdirectory: the config is found by walking up.
    let out = fx.gitseal().current_dir(fx.path("prod")).args(["encrypt", "-i", "s.yaml"]).output().unwrap();
    assert_success("encrypt prod", &out);
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&dev).output().unwrap();
    assert_success("encrypt dev", &out);
    let prod_text = std::fs::read_to_string(&prod).unwrap();
    let dev_text = std::fs::read_to_string(&dev).unwrap();
    assert!(prod_text.contains(&fx.recipient));
    assert!(dev_text.contains(&other) && !dev_text.contains(&fx.recipient));
    // The fixture key opens prod but not dev.
    assert_eq!(fx.decrypt(&prod), SECRET.as_bytes());
    let out = fx.gitseal().arg("decrypt").arg(&dev).output().unwrap();
    assert_eq!(out.status.code(), Some(8));
}

#[test]
fn rule_selection_field_wins_over_the_kubernetes_default() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - encrypted_regex: ^token$\n    age: {}\n", fx.recipient));
    let p = fx.write("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: a\n  other: b\n");
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_success("encrypt", &out);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains("  other: b\n"), "{text}");
    assert!(text.contains("  token: ENC["), "{text}");
    assert!(text.contains("encrypted_regex: ^token$"), "{text}");
}

#[test]
fn explicit_config_flag_and_invalid_rule_is_named() {
    let fx = Fixture::new();
    let cfg = fx.write("conf/rules.yaml", "creation_rules:\n  - path_regex: '['\n    age: x\n");
    let p = fx.write("s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "-i", "--config"]).arg(&cfg).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("rules.yaml") && err.contains("creation_rules[0].path_regex"), "{err}");
}

#[test]
fn no_rule_matching_means_no_recipients() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: \\.json$\n    age: {}\n", fx.recipient));
    let p = fx.write("s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
}

#[test]
fn sops_decrypts_a_file_encrypted_through_the_config() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: .*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {}\n", fx.recipient));
    let p = fx.write("apps/s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "-i", "apps"]).output().unwrap();
    assert_success("encrypt dir", &out);
    let out = fx.sops().args(["decrypt", "--extract", "[\"stringData\"][\"token\"]"]).arg(&p).output().unwrap();
    assert_success("sops decrypt", &out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "t0ps3cret");
}
