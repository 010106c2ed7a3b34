//! The commit gate (`check`), the git integration (`install-hooks`, the `textconv` diff
//! driver) and `status`, driven through the real binary, the real `git`, `sops` and the
//! pre-commit framework in temporary repositories.

mod common;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_success, require_peer, stderr, Fixture};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2-plaintext\n";
const SECRET_PASSWORD_LINE: u32 = 6;

/// Multi-document YAML: a ConfigMap, a Secret with a plaintext `data` and an empty
/// value, a Secret whose only value is already ciphertext-shaped.
const MULTI_DOC: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
data:
  user: YWRtaW4=
  empty: \"\"
stringData:
  token: s3cr3t-token-value
---
apiVersion: v1
kind: Secret
metadata:
  name: sealed
stringData:
  ok: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]
---
apiVersion: v1
kind: Secret
metadata:
  name: nothing
data: {}
";

const JSON_SECRET: &str = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\"name\": \"j\"},\n  \"stringData\": {\n    \"api-key\": \"json-plaintext-key\"\n  }\n}\n";

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lines(out: &Output) -> Vec<String> {
    stdout(out).lines().map(str::to_owned).collect()
}

/// Runs `cmd` with git isolated from the user's configuration.
fn isolate_git<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .env("GIT_CEILING_DIRECTORIES", home.parent().unwrap_or(home))
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .env_remove("GIT_NAMESPACE")
}

/// gitseal in the fixture directory, with its key and an isolated git.
fn gitseal(fx: &Fixture) -> Command {
    let mut c = fx.gitseal();
    isolate_git(&mut c, fx.dir.path());
    c
}

fn gitseal_without_key(fx: &Fixture) -> Command {
    let mut c = fx.gitseal_without_key();
    isolate_git(&mut c, fx.dir.path());
    c
}

/// git in the fixture directory, with the fixture's key (for the hook and textconv).
fn git(fx: &Fixture) -> Command {
    let mut c = Command::new(require_peer("git"));
    c.current_dir(fx.dir.path())
        .env("SOPS_AGE_KEY_FILE", &fx.key_file)
        .env("XDG_CONFIG_HOME", fx.path(".config"))
        .env_remove("SOPS_AGE_KEY")
        .env_remove("GITSEAL_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .env_remove("SOPS_CONFIG");
    isolate_git(&mut c, fx.dir.path());
    c
}

fn git_ok(fx: &Fixture, args: &[&str]) -> String {
    let out = git(fx).args(args).output().unwrap();
    assert_success(&format!("git {}", args.join(" ")), &out);
    stdout(&out)
}

fn init_repo(fx: &Fixture) {
    git_ok(fx, &["init", "-q", "-b", "main"]);
    git_ok(fx, &["config", "user.name", "Test"]);
    git_ok(fx, &["config", "user.email", "test@example.com"]);
}

fn encrypt_in_place(fx: &Fixture, name: &str) {
    let out = gitseal(fx).args(["encrypt", "-i", "--age", &fx.recipient, name]).output().unwrap();
    assert_success("gitseal encrypt -i", &out);
}

fn check(fx: &Fixture, args: &[&str]) -> Output {
    gitseal(fx).arg("check").args(args).output().unwrap()
}

fn assert_findings(out: &Output, expected: &[&str]) {
    assert_eq!(out.status.code(), Some(10), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    let got = lines(out);
    assert_eq!(got.len(), expected.len(), "findings: {got:#?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(g.starts_with(e), "expected a finding starting with {e:?}, got {g:?}\nall: {got:#?}");
    }
}

fn assert_clean(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "stdout: {}\nstderr: {}", stdout(out), stderr(out));
    assert_eq!(stdout(out), "");
    assert!(stderr(out).contains("no problems"), "{}", stderr(out));
}

// ---------------------------------------------------------------------------------------
// check

#[test]
fn check_names_each_plaintext_secret_value_by_file_line_and_key() {
    let fx = Fixture::new();
    fx.write("multi.yaml", MULTI_DOC);
    fx.write("j.json", JSON_SECRET);
    fx.write("deploy/app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n");
    let out = check(&fx, &[]);
    assert_findings(
        &out,
        &[
            "j.json:6: Secret \"j\": [\"stringData\"][\"api-key\"] is plaintext",
            "multi.yaml:14: Secret \"creds\": [\"data\"][\"user\"] is plaintext",
            "multi.yaml:17: Secret \"creds\": [\"stringData\"][\"token\"] is plaintext",
        ],
    );
    let all = format!("{}{}", stdout(&out), stderr(&out));
    for value in ["YWRtaW4=", "s3cr3t-token-value", "json-plaintext-key"] {
        assert!(!all.contains(value), "a secret value reached the output: {all}");
    }
    assert!(stderr(&out).contains("3 problems in 2 files"), "{}", stderr(&out));

    // Named files only; directories are walked.
    let out = check(&fx, &["j.json"]);
    assert_findings(&out, &["j.json:6:"]);
    assert!(stderr(&out).contains("1 problem in 1 file"), "{}", stderr(&out));
    assert_clean(&check(&fx, &["deploy"]));
}

#[test]
fn check_passes_encrypted_secrets_with_or_without_a_key() {
    let fx = Fixture::new();
    fx.write("multi.yaml", MULTI_DOC.replace("ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]", "plain"));
    fx.write("j.json", JSON_SECRET);
    encrypt_in_place(&fx, "multi.yaml");
    encrypt_in_place(&fx, "j.json");
    assert_clean(&check(&fx, &[]));
    let out = gitseal_without_key(&fx).arg("check").output().unwrap();
    assert_clean(&out);
}

#[test]
fn check_catches_a_plaintext_value_added_to_an_encrypted_file() {
    let fx = Fixture::new();
    fx.write("s.yaml", SECRET);
    encrypt_in_place(&fx, "s.yaml");
    let enc = String::from_utf8(fx.read("s.yaml")).unwrap();
    let added = enc.replacen("stringData:\n", "stringData:\n  extra: added-later-in-plaintext\n", 1);
    fx.write("s.yaml", &added);
    let out = check(&fx, &["s.yaml"]);
    assert_findings(&out, &["s.yaml:6: Secret \"db\": [\"stringData\"][\"extra\"] is plaintext in an encrypted file"]);
    assert!(!stdout(&out).contains("added-later"), "{}", stdout(&out));
    // Without a key too: no decryption is needed to see it.
    let out = gitseal_without_key(&fx).args(["check", "s.yaml"]).output().unwrap();
    assert_findings(&out, &["s.yaml:6:"]);
    // gitseal encrypt -i encrypts it, keeping the rest.
    encrypt_in_place(&fx, "s.yaml");
    assert_clean(&check(&fx, &["s.yaml"]));
}

#[test]
fn check_format_json_reports_findings_as_one_object_with_the_same_exit_code() {
    let fx = Fixture::new();
    fx.write("multi.yaml", MULTI_DOC);
    fx.write("deploy/app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n");
    let text = check(&fx, &[]);
    let out = check(&fx, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("not JSON: {e}: {}", stdout(&out)));
    assert_eq!(report["files_checked"], 2);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{report}");
    assert_eq!(findings[0]["file"], "multi.yaml");
    assert_eq!(findings[0]["line"], 14);
    assert_eq!(findings[0]["kind"], "plaintext-secret-value");
    assert_eq!(findings[1]["line"], 17);
    // The same findings as the text form, field for field.
    for (f, line) in findings.iter().zip(lines(&text)) {
        assert_eq!(format!("{}:{}: {}", f["file"].as_str().unwrap(), f["line"], f["message"].as_str().unwrap()), line);
    }
    assert!(!stdout(&out).contains("s3cr3t-token-value") && !stdout(&out).contains("YWRtaW4="), "{}", stdout(&out));

    let clean = check(&fx, &["--format", "json", "deploy"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    let report: serde_json::Value = serde_json::from_str(&stdout(&clean)).unwrap();
    assert_eq!(report, serde_json::json!({"findings": [], "files_checked": 1}));
}

#[test]
fn check_text_prints_rule_regexes_as_written_not_escaped() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: ^secrets/.*\\.ya?ml$\n    age: {}\n", fx.recipient));
    fx.write("secrets/app.yaml", "database:\n  password: pw-plaintext\n");
    let out = check(&fx, &[]);
    assert_findings(&out, &[r"secrets/app.yaml:1: not encrypted, but creation_rules[0] of .sops.yaml (path_regex: ^secrets/.*\.ya?ml$) covers it"]);
}

#[test]
fn check_reports_files_a_creation_rule_covers_that_are_not_encrypted() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: ^secrets/\n    age: {}\n", fx.recipient));
    fx.write("secrets/app.yaml", "database:\n  password: pw-plaintext\n");
    fx.write("secrets/app.env", "TOKEN=env-plaintext\n");
    fx.write("secrets/key.pem", "-----BEGIN PRIVATE KEY-----\nxyz\n-----END PRIVATE KEY-----\n");
    // A Kubernetes object with nothing the default rule encrypts is fine.
    fx.write("secrets/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n");
    fx.write("config/app.yaml", "database:\n  password: not-covered\n");
    let out = check(&fx, &[]);
    assert_findings(
        &out,
        &[
            "secrets/app.env:1: not encrypted, but creation_rules[0] of .sops.yaml (path_regex: ^secrets/) covers it",
            "secrets/app.yaml:1: not encrypted, but creation_rules[0]",
            "secrets/key.pem:1: not encrypted, but creation_rules[0]",
        ],
    );
    let text = stdout(&out);
    assert!(!text.contains("pw-plaintext") && !text.contains("env-plaintext"), "{text}");

    for f in ["secrets/app.yaml", "secrets/app.env", "secrets/key.pem"] {
        let out = gitseal(&fx).args(["encrypt", "-i", f]).output().unwrap();
        assert_success("encrypt through the rule", &out);
    }
    assert_clean(&check(&fx, &[]));
}

#[test]
fn check_reports_a_tampered_mac_only_with_a_key_at_hand() {
    let fx = Fixture::new();
    fx.write("s.yaml", SECRET);
    encrypt_in_place(&fx, "s.yaml");
    let enc = String::from_utf8(fx.read("s.yaml")).unwrap();
    let tampered = enc.replacen("name: db", "name: prod-db", 1);
    fx.write("s.yaml", &tampered);
    let mac_line = tampered.lines().position(|l| l.trim_start().starts_with("mac: ENC[")).unwrap() + 1;

    let out = check(&fx, &[]);
    assert_findings(&out, &[&format!("s.yaml:{mac_line}: MAC mismatch")]);

    let out = gitseal_without_key(&fx).arg("check").output().unwrap();
    assert_clean(&out);

    let out = gitseal_without_key(&fx).args(["check", "--require-decrypt"]).output().unwrap();
    assert_findings(&out, &["s.yaml:7: no identity at hand opens this file"]);
}

#[test]
fn check_reports_a_swapped_ciphertext_with_its_line() {
    let fx = Fixture::new();
    fx.write("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  a: first\n  b: second\n");
    encrypt_in_place(&fx, "s.yaml");
    let enc = String::from_utf8(fx.read("s.yaml")).unwrap();
    let value = |k: &str| enc.lines().find(|l| l.starts_with(&format!("  {k}: "))).unwrap().split_once(": ").unwrap().1.to_owned();
    let (a, b) = (value("a"), value("b"));
    fx.write("s.yaml", enc.replace(&a, "@A@").replace(&b, &a).replace("@A@", &b));
    assert_findings(&check(&fx, &[]), &["s.yaml:6: encrypted value does not decrypt"]);
}

#[test]
fn check_reports_recipients_the_rule_no_longer_names_until_updatekeys() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: \\.yaml$\n    age: {}\n", fx.recipient));
    fx.write("s.yaml", SECRET);
    assert_success("encrypt", &gitseal(&fx).args(["encrypt", "-i", "s.yaml"]).output().unwrap());
    assert_clean(&check(&fx, &[]));

    let (_, second) = gitseal_core::keys::age::generate_identity();
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: \\.yaml$\n    age: {},{second}\n", fx.recipient));
    let out = check(&fx, &[]);
    assert_findings(&out, &["s.yaml:7: recipients differ from creation_rules[0] of .sops.yaml"]);
    let text = stdout(&out);
    assert!(text.contains(&format!("missing: age:{second}")) && text.contains("gitseal updatekeys -y s.yaml"), "{text}");

    assert_success("updatekeys", &gitseal(&fx).args(["updatekeys", "-y", "s.yaml"]).output().unwrap());
    assert_clean(&check(&fx, &[]));

    // Key groups: the layout counts, not only the list of recipients.
    fx.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - age: [{second}]\n",
            fx.recipient
        ),
    );
    let out = check(&fx, &[]);
    assert_findings(&out, &["s.yaml:7: recipients differ"]);
    assert!(stdout(&out).contains("key groups: the file has 1, the rule names 2"), "{}", stdout(&out));
    assert_success("updatekeys", &gitseal(&fx).args(["updatekeys", "-y", "s.yaml"]).output().unwrap());
    assert_clean(&check(&fx, &[]));
}

#[test]
fn updatekeys_moves_a_recipient_between_key_groups() {
    let fx = Fixture::new();
    let (s2, r2) = gitseal_core::keys::age::generate_identity();
    let (s3, r3) = gitseal_core::keys::age::generate_identity();
    let all = fx.write("all.txt", format!("{}{}\n{}\n", std::fs::read_to_string(&fx.key_file).unwrap(), &*s2, &*s3));
    let rule = |g1: &str, g2: &str| format!("creation_rules:\n  - path_regex: \\.yaml$\n    key_groups:\n      - age: [{g1}]\n      - age: [{g2}]\n");
    fx.write(".sops.yaml", rule(&format!("{}, {r2}", fx.recipient), &r3));
    fx.write("s.yaml", SECRET);
    let with_all = |args: &[&str]| gitseal(&fx).env("SOPS_AGE_KEY_FILE", &all).args(args).output().unwrap();
    assert_success("encrypt", &with_all(&["encrypt", "-i", "s.yaml"]));
    assert_clean(&with_all(&["check"]));

    // The same three recipients, split differently: r2 now belongs with r3.
    fx.write(".sops.yaml", rule(&fx.recipient, &format!("{r2}, {r3}")));
    let out = with_all(&["check"]);
    assert_findings(&out, &["s.yaml:7: recipients differ"]);
    assert!(stdout(&out).contains("split into key groups differently"), "{}", stdout(&out));
    assert_success("updatekeys", &with_all(&["updatekeys", "-y", "s.yaml"]));
    assert_clean(&with_all(&["check"]));
    // sops agrees: the first group's key and r3 (second group) open it; r2 and r3 alone
    // are one group and do not.
    let k13 = fx.write("k13.txt", format!("{}{}\n", std::fs::read_to_string(&fx.key_file).unwrap(), &*s3));
    let k23 = fx.write("k23.txt", format!("{}\n{}\n", &*s2, &*s3));
    assert_success("sops decrypt", &fx.sops().env("SOPS_AGE_KEY_FILE", &k13).args(["decrypt", "s.yaml"]).output().unwrap());
    assert!(!fx.sops().env("SOPS_AGE_KEY_FILE", &k23).args(["decrypt", "s.yaml"]).output().unwrap().status.success());
}

#[test]
fn check_compares_vault_transit_keys_with_the_rule() {
    let fx = Fixture::new();
    let vault = |key: &str| format!("https://vault.example.com:8200/v1/sops/keys/{key}");
    let rule = |key: &str| format!("creation_rules:\n  - path_regex: \\.yaml$\n    age: {}\n    hc_vault_transit_uri: {}\n", fx.recipient, vault(key));
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: \\.yaml$\n    age: {}\n", fx.recipient));
    fx.write("s.yaml", SECRET);
    assert_success("encrypt", &gitseal(&fx).args(["encrypt", "-i", "s.yaml"]).output().unwrap());
    let age_only = String::from_utf8(fx.read("s.yaml")).unwrap();

    // The rule adds a Vault key the file is not wrapped for.
    fx.write(".sops.yaml", rule("firstkey"));
    let out = check(&fx, &[]);
    assert_findings(&out, &["s.yaml:7: recipients differ from creation_rules[0] of .sops.yaml"]);
    let text = stdout(&out);
    assert!(text.contains(&format!("missing: hc_vault:{}", vault("firstkey"))) && text.contains("sops updatekeys"), "{text}");

    // The file wrapped for that Vault key too, as sops writes it (the MAC covers the
    // values only, so it still verifies with the age key at hand).
    let stanza = "sops:\n    hc_vault:\n        - vault_address: https://vault.example.com:8200\n          engine_path: sops\n          key_name: firstkey\n          created_at: \"2024-01-01T00:00:00Z\"\n          enc: vault:v1:abc\n";
    fx.write("s.yaml", age_only.replacen("sops:\n", stanza, 1));
    assert_clean(&check(&fx, &[]));

    // The rule moves to another Vault key: the file's is no longer named.
    fx.write(".sops.yaml", rule("secondkey"));
    let out = check(&fx, &[]);
    assert_findings(&out, &["s.yaml:7: recipients differ"]);
    let text = stdout(&out);
    assert!(text.contains(&format!("missing: hc_vault:{}", vault("secondkey"))), "{text}");
    assert!(text.contains(&format!("not in the rule: hc_vault:{}", vault("firstkey"))), "{text}");
    // No identity needed to see it.
    assert_findings(&gitseal_without_key(&fx).arg("check").output().unwrap(), &["s.yaml:7: recipients differ"]);
}

#[test]
fn check_reports_unparseable_yaml_that_looks_like_a_secret() {
    let fx = Fixture::new();
    fx.write("broken.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  a: [unclosed\n");
    fx.write("other.yaml", "not: [a secret\n");
    let out = check(&fx, &[]);
    assert_findings(&out, &["broken.yaml:7: cannot parse as yaml: invalid YAML"]);
}

#[test]
fn check_skips_git_internals_sops_config_and_big_files_but_checks_named_hidden_files() {
    let fx = Fixture::new();
    init_repo(&fx);
    fx.write(".hidden/s.yaml", SECRET);
    fx.write(".git/s.yaml", SECRET);
    fx.write("big.yaml", SECRET.repeat(20).replace("---", ""));
    fx.write("ignored.yaml", SECRET);
    fx.write(".gitignore", "ignored.yaml\n");
    // git lists .hidden/s.yaml (untracked, not ignored); the big file is skipped.
    let out = check(&fx, &["--max-size", "200"]);
    assert_findings(&out, &[".hidden/s.yaml:6:"]);
    assert!(stderr(&out).contains("big.yaml: skipped"), "{}", stderr(&out));
    // Named explicitly, an ignored file is checked.
    assert_findings(&check(&fx, &["ignored.yaml"]), &[&format!("ignored.yaml:{SECRET_PASSWORD_LINE}:")]);

    // Outside a work tree, directories are walked and hidden ones skipped.
    let plain = Fixture::new();
    plain.write(".hidden/s.yaml", SECRET);
    plain.write("visible/s.yaml", SECRET);
    let out = check(&plain, &[]);
    assert_findings(&out, &["visible/s.yaml:6:"]);
    assert_findings(&check(&plain, &[".hidden/s.yaml"]), &[".hidden/s.yaml:6:"]);
}

#[test]
fn check_usage_and_config_errors_have_their_own_exit_codes() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", "creation_rules:\n  - path_regex: '(unclosed'\n");
    fx.write("s.yaml", SECRET);
    let out = check(&fx, &[]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("path_regex"), "{}", stderr(&out));
    let out = check(&fx, &["--exclude", "("]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = check(&fx, &["--staged"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("git"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------
// install-hooks, the pre-commit hook, --staged

fn install_hooks(fx: &Fixture, extra: &[&str]) -> Output {
    gitseal(fx).arg("install-hooks").args(extra).output().unwrap()
}

#[test]
fn hook_refuses_a_plaintext_secret_and_accepts_it_encrypted() {
    let fx = Fixture::new();
    init_repo(&fx);
    assert_success("install-hooks", &install_hooks(&fx, &[]));
    fx.write("s.yaml", SECRET);
    git_ok(&fx, &["add", "s.yaml"]);
    let out = git(&fx).args(["commit", "-m", "plaintext"]).output().unwrap();
    assert!(!out.status.success(), "the commit went through: {}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains(&format!("s.yaml:{SECRET_PASSWORD_LINE}:")) && said.contains("commit blocked"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
    assert!(git(&fx).args(["rev-parse", "--verify", "HEAD"]).output().unwrap().status.code() != Some(0), "a commit exists");

    encrypt_in_place(&fx, "s.yaml");
    git_ok(&fx, &["add", "s.yaml", ".gitattributes"]);
    git_ok(&fx, &["commit", "-q", "-m", "encrypted"]);
    let committed = git_ok(&fx, &["show", "HEAD:s.yaml"]);
    assert!(committed.contains("ENC[AES256_GCM") && !committed.contains("hunter2"), "{committed}");
}

#[test]
fn staged_plaintext_encrypted_only_in_the_work_tree_is_still_caught() {
    let fx = Fixture::new();
    init_repo(&fx);
    fx.write("s.yaml", SECRET);
    git_ok(&fx, &["add", "s.yaml"]);
    encrypt_in_place(&fx, "s.yaml");
    // The work tree is fine; the index, which the commit records, is not.
    assert_clean(&check(&fx, &["s.yaml"]));
    let out = check(&fx, &["--staged"]);
    assert_findings(&out, &[&format!("s.yaml:{SECRET_PASSWORD_LINE}: Secret \"db\"")]);
    assert_success("install-hooks", &install_hooks(&fx, &[]));
    assert!(!git(&fx).args(["commit", "-m", "x"]).output().unwrap().status.success());

    git_ok(&fx, &["add", "s.yaml"]);
    assert_clean(&check(&fx, &["--staged"]));
    // Unstaged plaintext does not block: it is not in the commit.
    fx.write("s.yaml", SECRET);
    assert_clean(&check(&fx, &["--staged"]));
    git_ok(&fx, &["commit", "-q", "-m", "encrypted"]);

    // Renamed and in a subdirectory, run from the subdirectory: still found, by its path
    // from the top of the repository.
    git_ok(&fx, &["checkout", "-q", "--", "s.yaml"]);
    std::fs::create_dir_all(fx.path("sub")).unwrap();
    git_ok(&fx, &["mv", "s.yaml", "sub/moved.yaml"]);
    fx.write("sub/moved.yaml", SECRET);
    git_ok(&fx, &["add", "sub/moved.yaml"]);
    let out = gitseal(&fx).current_dir(fx.path("sub")).args(["check", "--staged"]).output().unwrap();
    assert_findings(&out, &["sub/moved.yaml:6:"]);
}

#[test]
fn install_hooks_is_idempotent() {
    let fx = Fixture::new();
    init_repo(&fx);
    fx.write(".gitattributes", "*.png binary\n");
    let first = install_hooks(&fx, &[]);
    assert_success("install-hooks", &first);
    let hook = fx.path(".git/hooks/pre-commit");
    let snapshot = || (std::fs::read(&hook).unwrap(), std::fs::read(fx.path(".gitattributes")).unwrap(), std::fs::read(fx.path(".git/config")).unwrap());
    let before = snapshot();
    let script = String::from_utf8(before.0.clone()).unwrap();
    let exe = std::fs::canonicalize(common::gitseal_bin()).unwrap();
    assert!(script.starts_with("#!/bin/sh\n# gitseal pre-commit hook"), "{script}");
    assert!(script.contains(&format!("gitseal='{}'", exe.display())) && script.contains("check --staged"), "{script}");
    assert!(script.contains("command -v gitseal"), "no PATH fallback: {script}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&hook).unwrap().permissions().mode() & 0o111, 0o111);
    }
    assert_eq!(git_ok(&fx, &["config", "--local", "diff.gitseal.textconv"]).trim(), format!("'{}' textconv", exe.display()));
    assert_eq!(git_ok(&fx, &["config", "--local", "diff.gitseal.cachetextconv"]).trim(), "false");
    let attrs = String::from_utf8(before.1.clone()).unwrap();
    assert!(attrs.starts_with("*.png binary\n"), "{attrs}");
    for p in ["*.yaml", "*.yml", "*.json", "*.env"] {
        assert_eq!(attrs.matches(&format!("\n{p} diff=gitseal\n")).count(), 1, "{attrs}");
    }
    assert_eq!(git_ok(&fx, &["check-attr", "diff", "--", "a/b.yml"]).trim(), "a/b.yml: diff: gitseal");

    let second = install_hooks(&fx, &[]);
    assert_success("install-hooks again", &second);
    assert_eq!(snapshot(), before, "running install-hooks twice changed something");
    assert!(stdout(&second).contains("already installed"), "{}", stdout(&second));
}

#[test]
fn install_hooks_refuses_a_foreign_hook_unless_forced_and_keeps_it() {
    let fx = Fixture::new();
    init_repo(&fx);
    let hook = fx.write(".git/hooks/pre-commit", "#!/bin/sh\necho my own hook\n");
    let out = install_hooks(&fx, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not written by gitseal") && stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), "#!/bin/sh\necho my own hook\n");
    assert!(git(&fx).args(["config", "--local", "diff.gitseal.textconv"]).output().unwrap().stdout.is_empty());

    assert_success("install-hooks --force", &install_hooks(&fx, &["--force"]));
    assert!(std::fs::read_to_string(&hook).unwrap().contains("# gitseal pre-commit hook"));
    assert_eq!(std::fs::read_to_string(fx.path(".git/hooks/pre-commit.before-gitseal")).unwrap(), "#!/bin/sh\necho my own hook\n");
}

#[test]
fn install_hooks_follows_core_hooks_path() {
    let fx = Fixture::new();
    init_repo(&fx);
    git_ok(&fx, &["config", "core.hooksPath", "tools/hooks"]);
    assert_success("install-hooks", &install_hooks(&fx, &[]));
    assert!(fx.path("tools/hooks/pre-commit").is_file());
    assert!(!fx.path(".git/hooks/pre-commit").exists());
    fx.write("s.yaml", SECRET);
    git_ok(&fx, &["add", "s.yaml"]);
    assert!(!git(&fx).args(["commit", "-m", "x"]).output().unwrap().status.success());
}

#[test]
fn install_hooks_outside_a_repository_is_a_usage_error() {
    let fx = Fixture::new();
    let out = install_hooks(&fx, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not inside a git work tree"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------
// textconv

#[test]
fn git_diff_and_log_show_decrypted_values_with_the_key_and_ciphertext_without() {
    let fx = Fixture::new();
    init_repo(&fx);
    assert_success("install-hooks", &install_hooks(&fx, &[]));
    fx.write("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: old-password-1\n  user: admin\n");
    encrypt_in_place(&fx, "s.yaml");
    git_ok(&fx, &["add", "s.yaml", ".gitattributes"]);
    git_ok(&fx, &["commit", "-q", "-m", "first"]);

    // Change one value, keeping the data key and the other ciphertexts.
    let plain = fx.write("plain.txt", String::from_utf8(fx.decrypt(&fx.path("s.yaml"))).unwrap().replace("old-password-1", "new-password-2"));
    let out = gitseal(&fx).args(["encrypt", "--input-type", "yaml", "-o", "s.yaml"]).arg(&plain).output().unwrap();
    assert_success("encrypt -o", &out);

    let diff = git_ok(&fx, &["diff"]);
    assert!(diff.contains("-  password: old-password-1\n+  password: new-password-2\n"), "{diff}");
    assert!(!diff.contains("ENC[AES256_GCM"), "{diff}");

    git_ok(&fx, &["commit", "-q", "-a", "-m", "second"]);
    let log = git_ok(&fx, &["log", "-p"]);
    assert!(log.contains("+  password: new-password-2") && log.contains("-  password: old-password-1"), "{log}");

    let without_key = git(&fx).env_remove("SOPS_AGE_KEY_FILE").args(["log", "-p"]).output().unwrap();
    assert_success("git log -p without key", &without_key);
    let log = stdout(&without_key);
    assert!(log.contains("+  password: ENC[AES256_GCM"), "{log}");
    assert!(!log.contains("new-password-2") && !log.contains("old-password-1"), "{log}");
    // The textconv cache would keep plaintext in refs/notes: it is off.
    assert!(git_ok(&fx, &["for-each-ref", "refs/notes/"]).is_empty());
}

#[test]
fn textconv_shows_files_it_cannot_verify_as_they_are() {
    let fx = Fixture::new();
    fx.write("s.yaml", SECRET);
    encrypt_in_place(&fx, "s.yaml");
    let enc = String::from_utf8(fx.read("s.yaml")).unwrap();
    let tampered = enc.replacen("name: db", "name: other", 1);
    fx.write("t.yaml", &tampered);
    let out = gitseal(&fx).args(["textconv", "t.yaml"]).output().unwrap();
    assert_success("textconv", &out);
    assert_eq!(stdout(&out), tampered);
    assert!(stderr(&out).contains("MAC mismatch") && stderr(&out).contains("warning"), "{}", stderr(&out));

    let out = gitseal(&fx).args(["textconv", "s.yaml"]).output().unwrap();
    assert_success("textconv", &out);
    assert_eq!(stdout(&out), SECRET);
    let out = gitseal_without_key(&fx).args(["textconv", "s.yaml"]).output().unwrap();
    assert_success("textconv without key", &out);
    assert_eq!(stdout(&out), enc);
    fx.write("plain.json", "{\"a\": 1}\n");
    assert_eq!(stdout(&gitseal(&fx).args(["textconv", "plain.json"]).output().unwrap()), "{\"a\": 1}\n");

    let out = gitseal(&fx).args(["textconv", "missing.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------
// status

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"))).collect()
}

#[test]
fn status_prints_one_json_object_per_file() {
    let fx = Fixture::new();
    fx.write("plain.yaml", SECRET);
    fx.write("enc.yaml", SECRET);
    encrypt_in_place(&fx, "enc.yaml");
    fx.write("broken.yaml", "a: [b\n");
    fx.write("app.env", "A=b\n");
    let out = gitseal_without_key(&fx).args(["status", "--format", "json", "plain.yaml", "broken.yaml", "enc.yaml", "app.env"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("broken.yaml:2:"), "{}", stderr(&out));
    let objs = json_lines(&out);
    assert_eq!(objs.len(), 3);
    assert_eq!(objs[0], serde_json::json!({"file": "plain.yaml", "encrypted": false, "format": "yaml"}));
    assert_eq!(objs[2], serde_json::json!({"file": "app.env", "encrypted": false, "format": "dotenv"}));
    let e = &objs[1];
    assert_eq!(e["file"], "enc.yaml");
    assert_eq!(e["encrypted"], true);
    assert_eq!(e["format"], "yaml");
    assert_eq!(e["mac_only_encrypted"], false);
    assert_eq!(e["key_groups"], 1);
    assert_eq!(e["shamir_threshold"], serde_json::Value::Null);
    assert_eq!(e["recipients"], serde_json::json!([{"type": "age", "recipient": fx.recipient, "group": 0}]));
    let lm = e["lastmodified"].as_str().unwrap();
    assert!(lm.len() == 20 && lm.ends_with('Z'), "{lm}");
    assert_eq!(e["selection"], serde_json::json!({"encrypted_regex": "^(data|stringData)$"}));
    // Key order is fixed: file first.
    assert!(stdout(&out).lines().all(|l| l.starts_with("{\"file\":")), "{}", stdout(&out));
}

#[test]
fn status_default_is_readable_lines_with_the_selection_regex_as_written() {
    let fx = Fixture::new();
    fx.write("plain.yaml", SECRET);
    fx.write("enc.yaml", SECRET);
    encrypt_in_place(&fx, "enc.yaml");
    let out = gitseal_without_key(&fx).args(["status", "plain.yaml", "enc.yaml"]).output().unwrap();
    assert_success("status", &out);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "plain.yaml: not encrypted (yaml)");
    assert_eq!(lines[1], "enc.yaml: encrypted (yaml), 1 recipient");
    assert_eq!(lines[2], format!("    age       {}", fx.recipient));
    assert_eq!(lines[3], "    selection encrypted_regex: ^(data|stringData)$");
    assert!(lines[4].starts_with("    sops version 3.11.0, last modified 20"), "{text}");
    assert_eq!(lines.len(), 5, "{text}");
    assert!(!text.contains('{'), "not JSON by default: {text}");
}

#[test]
fn status_text_escapes_control_characters_from_the_metadata() {
    let fx = Fixture::new();
    let vault = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: v\nstringData:\n  a: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\nsops:\n    hc_vault:\n        - vault_address: \"https://vault.example.com\\e[2J\"\n          engine_path: sops\n          key_name: firstkey\n          created_at: \"2024-01-01T00:00:00Z\"\n          enc: vault:v1:abc\n        - vault_address: https://vault2.example.com\n          engine_path: transit\n          key_name: k2\n          enc: vault:v1:def\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n    encrypted_regex: ^(data|stringData)$\n    version: 3.11.0\n";
    fx.write("v.yaml", vault);
    let out = gitseal_without_key(&fx).args(["status", "v.yaml"]).output().unwrap();
    assert_success("status", &out);
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("v.yaml: encrypted (yaml), 2 recipients\n"), "{text}");
    assert!(text.contains("    hc_vault  https://vault.example.com\\u{1b}[2J/v1/sops/keys/firstkey\n"), "{text}");
    assert!(text.contains("    hc_vault  https://vault2.example.com/v1/transit/keys/k2\n"), "{text}");
}

#[test]
fn status_reads_key_groups_and_vault_keys_written_by_sops() {
    let fx = Fixture::new();
    let (_, r2) = gitseal_core::keys::age::generate_identity();
    let (_, r3) = gitseal_core::keys::age::generate_identity();
    fx.write(".sops.yaml", format!("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}, {r2}]\n      - age: [{r3}]\n", fx.recipient));
    fx.write("s.json", "{\"token\": \"t\", \"n\": 1}\n");
    let out = fx.sops().args(["encrypt", "-i", "s.json"]).output().unwrap();
    assert_success("sops encrypt", &out);
    let out = gitseal_without_key(&fx).args(["status", "--format", "json", "s.json"]).output().unwrap();
    assert_success("status", &out);
    let s = &json_lines(&out)[0];
    assert_eq!(s["format"], "json");
    assert_eq!(s["encrypted"], true);
    assert_eq!(s["key_groups"], 2);
    assert_eq!(s["shamir_threshold"], 2);
    assert_eq!(s["version"], "3.11.0");
    assert_eq!(
        s["recipients"],
        serde_json::json!([
            {"type": "age", "recipient": fx.recipient, "group": 0},
            {"type": "age", "recipient": r2, "group": 0},
            {"type": "age", "recipient": r3, "group": 1},
        ])
    );

    let out = gitseal_without_key(&fx).args(["status", "s.json"]).output().unwrap();
    assert_success("status", &out);
    let text = stdout(&out);
    assert!(text.starts_with("s.json: encrypted (json), 3 recipients in 2 key groups, 2 needed\n"), "{text}");
    assert!(text.contains(&format!("    age       {r3}  (key group 2)\n")), "{text}");

    // A Vault Transit key, as sops writes it (gitseal cannot reach Vault; status only
    // reads the metadata).
    let vault = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: v\nstringData:\n  a: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\nsops:\n    hc_vault:\n        - vault_address: https://vault.example.com:8200\n          engine_path: sops\n          key_name: firstkey\n          created_at: \"2024-01-01T00:00:00Z\"\n          enc: vault:v1:abc\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n    encrypted_regex: ^(data|stringData)$\n    version: 3.11.0\n";
    fx.write("v.yaml", vault);
    let out = gitseal_without_key(&fx).args(["status", "--format", "json", "v.yaml"]).output().unwrap();
    assert_success("status", &out);
    assert_eq!(
        json_lines(&out)[0]["recipients"],
        serde_json::json!([{"type": "hc_vault", "vault_address": "https://vault.example.com:8200", "engine_path": "sops", "key_name": "firstkey", "group": 0}])
    );
}

// ---------------------------------------------------------------------------------------
// The pre-commit framework

/// A git repository holding this project's `.pre-commit-hooks.yaml`, as pre-commit
/// clones hook repositories; returns its path and commit.
fn hook_repository(fx: &Fixture) -> (PathBuf, String) {
    let repo = fx.path("hook-repo");
    std::fs::create_dir_all(&repo).unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    std::fs::copy(&manifest, repo.join(".pre-commit-hooks.yaml")).unwrap();
    let run = |args: &[&str]| {
        let out = git(fx).current_dir(&repo).args(args).output().unwrap();
        assert_success(&format!("git {}", args.join(" ")), &out);
        stdout(&out)
    };
    run(&["init", "-q", "-b", "main"]);
    run(&["add", ".pre-commit-hooks.yaml"]);
    run(&["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "-m", "hooks"]);
    let rev = run(&["rev-parse", "HEAD"]).trim().to_owned();
    (repo, rev)
}

#[test]
fn pre_commit_framework_runs_the_system_hook() {
    let fx = Fixture::new();
    let (hook_repo, rev) = hook_repository(&fx);
    let project = Fixture::new();
    init_repo(&project);
    project
        .write(".pre-commit-config.yaml", format!("repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: gitseal-check-system\n", hook_repo.display()));
    project.write("s.yaml", SECRET);
    project.write("notes.txt", "kind: Secret\n");
    git_ok(&project, &["add", ".pre-commit-config.yaml", "s.yaml", "notes.txt"]);

    let bin_dir = Path::new(common::gitseal_bin()).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))).unwrap();
    let pre_commit = |p: &Fixture| {
        let mut c = Command::new(require_peer("pre-commit"));
        c.current_dir(p.dir.path()).env("PATH", &path).env("PRE_COMMIT_HOME", fx.path("pre-commit-cache")).env("SOPS_AGE_KEY_FILE", &p.key_file).args([
            "run",
            "--all-files",
            "--color",
            "never",
        ]);
        isolate_git(&mut c, p.dir.path());
        c.output().unwrap()
    };
    let out = pre_commit(&project);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{said}\n{}", stderr(&out));
    assert!(said.contains("s.yaml:6: Secret \"db\"") && said.contains("Failed"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");

    encrypt_in_place(&project, "s.yaml");
    git_ok(&project, &["add", "s.yaml"]);
    let out = pre_commit(&project);
    assert_success("pre-commit run", &out);
    assert!(stdout(&out).contains("Passed"), "{}", stdout(&out));
}
