//! Vault Transit as a data-key wrapper (sops `hc_vault`), against a real OpenBao server
//! (`vault_support::openbao`), with the real `sops` 3.11 on the other side: files gitseal
//! wraps with Transit decrypt with sops and the reverse, key versions, rotate, updatekeys,
//! rewrap, key groups, Vault's refusals, and how many Transit calls each command makes
//! (counted in OpenBao's audit log). Retries over 503s and dropped connections, which a
//! real server does not produce on demand, run against the in-process server.

mod common;
mod vault_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_success, stderr, utf8, Fixture};
use vault_support::openbao::OpenBao;
use vault_support::{Fault, Policy, VaultServer};

/// In the layout sops writes (4-space indentation), so that sops's output compares equal.
const SECRET: &str = "apiVersion: v1
kind: Secret
metadata:
    name: receiver-token
    namespace: flux-system
type: Opaque
stringData:
    # receiver token
    token: 5f0c1b7e9a
data:
    extra: c2VjcmV0
";

fn bao_with_key(key: &str) -> OpenBao {
    let bao = OpenBao::start();
    bao.create_transit_key(key);
    bao
}

fn with_vault<'a>(cmd: &'a mut Command, addr: &str, token: &str) -> &'a mut Command {
    cmd.env("VAULT_ADDR", addr).env("VAULT_TOKEN", token)
}

/// gitseal with Vault settings but no age identity at all: only Transit can open files.
fn gitseal_vault_only(f: &Fixture, bao: &OpenBao, token: &str) -> Command {
    let mut c = f.gitseal_without_key();
    with_vault(&mut c, &bao.addr(), token);
    c
}

fn sops_vault_only(f: &Fixture, bao: &OpenBao, token: &str) -> Command {
    let mut c = f.sops();
    c.env_remove("SOPS_AGE_KEY_FILE");
    with_vault(&mut c, &bao.addr(), token);
    c
}

fn encrypt_with_transit(f: &Fixture, bao: &OpenBao, key: &str, name: &str) -> String {
    let file = f.write(name, SECRET);
    let out = gitseal_vault_only(f, bao, bao.root_token()).args(["encrypt", "-i", "--hc-vault-transit", &bao.transit_uri(key)]).arg(&file).output().unwrap();
    assert_success("gitseal encrypt --hc-vault-transit", &out);
    String::from_utf8(f.read(name)).unwrap()
}

/// Request paths of the `transit/...` responses OpenBao logged after its first `from`
/// audit entries.
fn transit_calls_since(bao: &OpenBao, from: usize) -> Vec<String> {
    bao.audit_entries()
        .into_iter()
        .skip(from)
        .filter(|e| e["type"] == "response")
        .filter_map(|e| e["request"]["path"].as_str().map(str::to_owned))
        .filter(|p| p.starts_with("transit/"))
        .collect()
}

/// The value of `key:` in the file's `hc_vault` metadata entry number `index`.
fn hc_vault_field(text: &str, index: usize, key: &str) -> String {
    let section = text.split("hc_vault:").nth(1).expect("hc_vault metadata");
    let entry = section.split("- vault_address:").nth(index + 1).expect("hc_vault entry");
    let entry = format!("vault_address:{entry}");
    entry
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("{key} in {entry}"))
}

#[test]
fn gitseal_transit_file_decrypts_with_sops() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    let from = bao.audit_entries().len();
    let text = encrypt_with_transit(&f, &bao, "gitops", "secret.yaml");

    // The metadata entry is laid out as sops writes it.
    assert_eq!(hc_vault_field(&text, 0, "vault_address"), bao.addr());
    assert_eq!(hc_vault_field(&text, 0, "engine_path"), "transit");
    assert_eq!(hc_vault_field(&text, 0, "key_name"), "gitops");
    assert!(hc_vault_field(&text, 0, "enc").starts_with("vault:v1:"), "{text}");
    let stanza: Vec<&str> =
        text.lines().skip_while(|l| !l.contains("hc_vault:")).skip(1).take(5).map(|l| l.trim().trim_start_matches("- ").split(':').next().unwrap()).collect();
    assert_eq!(stanza, ["vault_address", "engine_path", "key_name", "created_at", "enc"], "{text}");
    assert!(!text.contains("5f0c1b7e9a"), "plaintext left in {text}");

    // Transit did the wrapping: one encrypt call, made with the token given, nothing else.
    assert_eq!(transit_calls_since(&bao, from), ["transit/encrypt/gitops"]);
    let encrypt = &bao.responses_to("transit/encrypt/gitops")[0];
    assert_eq!(encrypt["auth"]["policies"], serde_json::json!(["root"]), "{encrypt}");

    let out = sops_vault_only(&f, &bao, bao.root_token()).arg("decrypt").arg(f.path("secret.yaml")).output().unwrap();
    assert_success("sops decrypt of a gitseal Transit file", &out);
    assert_eq!(utf8(&out.stdout), SECRET);
}

#[test]
fn sops_transit_file_decrypts_with_gitseal() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    let file = f.write("secret.yaml", SECRET);
    let out = sops_vault_only(&f, &bao, bao.root_token())
        .args(["encrypt", "--encrypted-regex", "^(data|stringData)$", "--hc-vault-transit", &bao.transit_uri("gitops")])
        .arg(&file)
        .output()
        .unwrap();
    assert_success("sops encrypt --hc-vault-transit", &out);
    f.write("sops.yaml", &out.stdout);

    let before = bao.transit_decrypts("gitops");
    let out = gitseal_vault_only(&f, &bao, bao.root_token()).arg("decrypt").arg(f.path("sops.yaml")).output().unwrap();
    assert_success("gitseal decrypt of a sops Transit file", &out);
    assert_eq!(utf8(&out.stdout), SECRET);
    assert_eq!(bao.transit_decrypts("gitops") - before, 1, "one Transit decrypt for the data key");
}

#[test]
fn transit_key_version_2_decrypts_and_rewrap_moves_entries_to_the_newest_version() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    let root = bao.root_token();
    let before = encrypt_with_transit(&f, &bao, "gitops", "secret.yaml");
    assert!(hc_vault_field(&before, 0, "enc").starts_with("vault:v1:"));

    // After `vault write -f transit/keys/gitops/rotate`, sops wraps with version 2 and
    // gitseal reads that; the v1 file keeps decrypting too.
    assert_eq!(bao.rotate_transit_key("gitops"), 2);
    let file = f.write("v2.yaml", SECRET);
    let out = sops_vault_only(&f, &bao, root).args(["encrypt", "--hc-vault-transit", &bao.transit_uri("gitops")]).arg(&file).output().unwrap();
    assert_success("sops encrypt after rotation", &out);
    assert!(utf8(&out.stdout).contains("enc: vault:v2:"), "{}", utf8(&out.stdout));
    f.write("v2.yaml", &out.stdout);
    let out = gitseal_vault_only(&f, &bao, root).arg("decrypt").arg(f.path("v2.yaml")).output().unwrap();
    assert_success("gitseal decrypt of a vault:v2 entry", &out);
    assert_eq!(utf8(&out.stdout), SECRET);

    // rewrap: the entry moves to v2 through Vault's rewrap endpoint; nothing else changes.
    let from = bao.audit_entries().len();
    let out = gitseal_vault_only(&f, &bao, root).args(["rewrap"]).arg(f.path("secret.yaml")).output().unwrap();
    assert_success("gitseal rewrap", &out);
    let after = String::from_utf8(f.read("secret.yaml")).unwrap();
    assert!(hc_vault_field(&after, 0, "enc").starts_with("vault:v2:"), "{after}");
    let without_enc = |t: &str| t.lines().filter(|l| !l.trim_start().starts_with("enc: vault:")).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(without_enc(&before), without_enc(&after), "rewrap changed more than the Transit entry");
    // One decrypt, to check the file's MAC before rewriting it (a tampered file is never
    // rewritten), then the rewrap itself in Vault.
    assert_eq!(
        transit_calls_since(&bao, from),
        ["transit/decrypt/gitops", "transit/rewrap/gitops"],
        "rewrap verifies the MAC with one Transit decrypt, then re-wraps in Vault"
    );

    // Once every file is rewrapped, old versions can be retired.
    bao.set_min_decryption_version("gitops", 2);
    let out = sops_vault_only(&f, &bao, root).arg("decrypt").arg(f.path("secret.yaml")).output().unwrap();
    assert_success("sops decrypt after rewrap and min_decryption_version=2", &out);
    assert_eq!(utf8(&out.stdout), SECRET);

    // A file still on v1 no longer opens, and the error carries Vault's reason.
    f.write("old.yaml", &before);
    let out = gitseal_vault_only(&f, &bao, root).arg("decrypt").arg(f.path("old.yaml")).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("disallowed by policy"), "Vault's reason missing: {}", stderr(&out));
}

#[test]
fn rewrap_leaves_age_only_files_alone_and_reports_them() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    let file = f.write("age.yaml", SECRET);
    assert_success("encrypt", &f.gitseal().args(["encrypt", "-i", "--age", &f.recipient]).arg(&file).output().unwrap());
    let before = f.read("age.yaml");
    let from = bao.audit_entries().len();
    let mut cmd = f.gitseal();
    let out = with_vault(&mut cmd, &bao.addr(), bao.root_token()).arg("rewrap").arg(&file).output().unwrap();
    assert_success("rewrap of an age-only file", &out);
    assert_eq!(f.read("age.yaml"), before);
    assert_eq!(bao.audit_entries().len(), from, "an age-only file needs no Vault request");
}

#[test]
fn transit_and_age_key_groups_need_both_and_sops_agrees() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    f.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    shamir_threshold: 2\n    key_groups:\n      - hc_vault:\n          - {}\n      - age:\n          - {}\n",
            bao.transit_uri("gitops"),
            f.recipient
        ),
    );
    let file = f.write("groups.yaml", SECRET);
    let mut cmd = f.gitseal();
    assert_success("encrypt with key groups", &with_vault(&mut cmd, &bao.addr(), bao.root_token()).args(["encrypt", "-i"]).arg(&file).output().unwrap());
    let text = String::from_utf8(f.read("groups.yaml")).unwrap();
    assert!(text.contains("shamir_threshold: 2") && text.contains("hc_vault:") && text.contains("age:"), "{text}");

    let mut sops = f.sops();
    let out = with_vault(&mut sops, &bao.addr(), bao.root_token()).arg("decrypt").arg(&file).output().unwrap();
    assert_success("sops decrypt with age + Transit groups", &out);
    assert_eq!(utf8(&out.stdout), SECRET);

    // The age group alone is not enough, and the error says what Vault said.
    let denied = bao.create_token(&[]);
    let mut cmd = f.gitseal();
    let out = with_vault(&mut cmd, &bao.addr(), &denied).arg("decrypt").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("permission denied"), "{err}");
    assert!(!err.contains(&denied) && !err.contains("5f0c1b7e9a"), "a secret leaked into: {err}");
}

#[test]
fn rotate_and_updatekeys_with_transit_recipients_decrypt_with_sops() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    bao.create_transit_key("second");
    let root = bao.root_token();
    let text = encrypt_with_transit(&f, &bao, "gitops", "secret.yaml");
    let old_enc = hc_vault_field(&text, 0, "enc");

    // rotate: new data key, wrapped again by the same Transit key.
    let out = gitseal_vault_only(&f, &bao, root).args(["rotate", "-i"]).arg(f.path("secret.yaml")).output().unwrap();
    assert_success("rotate", &out);
    let rotated = String::from_utf8(f.read("secret.yaml")).unwrap();
    assert_ne!(hc_vault_field(&rotated, 0, "enc"), old_enc);
    assert_eq!(hc_vault_field(&rotated, 0, "key_name"), "gitops");
    let out = sops_vault_only(&f, &bao, root).arg("decrypt").arg(f.path("secret.yaml")).output().unwrap();
    assert_success("sops decrypt after rotate", &out);
    assert_eq!(utf8(&out.stdout), SECRET);

    // updatekeys: the rule now names another Transit key and an age recipient.
    f.write(
        ".sops.yaml",
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    hc_vault_transit_uri: {}\n    age: {}\n", bao.transit_uri("second"), f.recipient),
    );
    let values = |t: &str| t.lines().filter(|l| l.contains("ENC[")).map(str::to_owned).collect::<Vec<_>>();
    let out = gitseal_vault_only(&f, &bao, root).args(["updatekeys", "-y"]).arg(f.path("secret.yaml")).output().unwrap();
    assert_success("updatekeys", &out);
    let updated = String::from_utf8(f.read("secret.yaml")).unwrap();
    assert_eq!(values(&rotated), values(&updated), "updatekeys touched values");
    assert_eq!(hc_vault_field(&updated, 0, "key_name"), "second");
    assert!(!updated.contains("key_name: gitops"), "{updated}");
    assert!(updated.contains(&f.recipient));

    // Each recipient alone opens it, in sops too.
    let out = f.sops().arg("decrypt").arg(f.path("secret.yaml")).output().unwrap();
    assert_success("sops decrypt with the added age recipient", &out);
    assert_eq!(utf8(&out.stdout), SECRET);
    let out = sops_vault_only(&f, &bao, root).arg("decrypt").arg(f.path("secret.yaml")).output().unwrap();
    assert_success("sops decrypt with the new Transit key", &out);
    assert_eq!(utf8(&out.stdout), SECRET);
}

#[test]
fn least_privilege_token_is_enough_and_other_keys_are_denied() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    bao.create_transit_key("other");
    // The policy docs/vault.md gives for encrypting and decrypting with one Transit key.
    bao.put_policy(
        "gitops-transit",
        "path \"transit/encrypt/gitops\" { capabilities = [\"update\"] }\npath \"transit/decrypt/gitops\" { capabilities = [\"update\"] }\n",
    );
    let token = bao.create_token(&["gitops-transit"]);
    let file = f.write("secret.yaml", SECRET);
    let out = gitseal_vault_only(&f, &bao, &token).args(["encrypt", "-i", "--hc-vault-transit", &bao.transit_uri("gitops")]).arg(&file).output().unwrap();
    assert_success("encrypt with a least-privilege token", &out);
    let out = gitseal_vault_only(&f, &bao, &token).arg("decrypt").arg(&file).output().unwrap();
    assert_success("decrypt with a least-privilege token", &out);
    assert_eq!(utf8(&out.stdout), SECRET);
    let out = sops_vault_only(&f, &bao, &token).arg("decrypt").arg(&file).output().unwrap();
    assert_success("sops decrypt with the same token", &out);

    // Another key is out of the policy: Vault's 403 text, exit 8, the file untouched.
    let other = f.write("other.yaml", SECRET);
    let out = gitseal_vault_only(&f, &bao, &token).args(["encrypt", "-i", "--hc-vault-transit", &bao.transit_uri("other")]).arg(&other).output().unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("permission denied"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&token), "{}", stderr(&out));
    assert_eq!(f.read("other.yaml"), SECRET.as_bytes());
}

/// What a real server does not do on demand: 503s ("Vault is sealed") and dropped
/// connections, from the in-process server's fault injection.
#[test]
fn retries_ride_over_a_sealed_vault_and_dropped_connections() {
    let f = Fixture::new();
    let server = VaultServer::start();
    server.create_transit_key("transit", "gitops");
    let token = "hvs.gitops-transit";
    server.add_token(token, Policy::new().allow("transit/encrypt/gitops", &["update"]).allow("transit/decrypt/gitops", &["update"]));
    let file = f.write("secret.yaml", SECRET);
    let uri = format!("{}/v1/transit/keys/gitops", server.addr());
    let gitseal = || {
        let mut c = f.gitseal_without_key();
        with_vault(&mut c, &server.addr(), token);
        c
    };
    assert_success("encrypt", &gitseal().args(["encrypt", "-i", "--hc-vault-transit", &uri]).arg(&file).output().unwrap());

    // Two 503s, then an answer: the bounded retries absorb them.
    server.clear_requests();
    server.fail_next(2, Fault::Status(503));
    let out = gitseal().arg("decrypt").arg(&file).output().unwrap();
    assert_success("decrypt through two 503s", &out);
    assert_eq!(utf8(&out.stdout), SECRET);
    assert_eq!(server.requests().len(), 3, "{:?}", server.requests());

    // A dropped connection is retried as well.
    server.clear_requests();
    server.fail_next(1, Fault::Drop);
    let out = gitseal().arg("decrypt").arg(&file).output().unwrap();
    assert_success("decrypt through a dropped connection", &out);

    // More failures than retries: a clear error, at once after the last attempt.
    server.clear_requests();
    server.fail_next(2, Fault::Status(503));
    let out = gitseal().env("VAULT_MAX_RETRIES", "1").arg("decrypt").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("Vault is sealed"), "{}", stderr(&out));
    assert_eq!(server.requests().len(), 2, "VAULT_MAX_RETRIES=1 means two attempts");

    // A 4xx is final: no retry.
    server.clear_requests();
    let mut c = f.gitseal_without_key();
    let out = with_vault(&mut c, &server.addr(), "hvs.unknown-token").arg("decrypt").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    assert!(stderr(&out).contains("permission denied"), "{}", stderr(&out));
    assert_eq!(server.requests().len(), 1, "a 403 must not be retried");
}

#[test]
fn transit_uri_refused_as_sops_refuses_it() {
    let f = Fixture::new();
    let file = f.write("secret.yaml", SECRET);
    for bad in ["vault.example.com/v1/transit/keys/k", "https://vault.example.com/prefix/v1/transit/keys/k", "https://vault.example.com/v1/transit/k"] {
        let out = f.gitseal().args(["encrypt", "--hc-vault-transit", bad]).arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains(bad), "error should name the URI: {}", stderr(&out));
    }
    assert_eq!(f.read("secret.yaml"), SECRET.as_bytes());
}

#[test]
fn create_wraps_a_new_secret_with_transit_and_sops_decrypts_it() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    let out = gitseal_vault_only(&f, &bao, bao.root_token())
        .args([
            "create",
            "generic",
            "hook",
            "-n",
            "flux-system",
            "--from-literal",
            "token=abc123",
            "--hc-vault-transit",
            &bao.transit_uri("gitops"),
            "-o",
            "hook.yaml",
        ])
        .output()
        .unwrap();
    assert_success("create generic --hc-vault-transit", &out);
    let text = String::from_utf8(f.read("hook.yaml")).unwrap();
    assert_eq!(hc_vault_field(&text, 0, "key_name"), "gitops");
    assert!(!text.contains("abc123") && !text.contains("YWJjMTIz"), "{text}");
    let out = sops_vault_only(&f, &bao, bao.root_token()).args(["decrypt", "--extract", "[\"data\"][\"token\"]"]).arg(f.path("hook.yaml")).output().unwrap();
    assert_success("sops decrypt of a created Transit Secret", &out);
    assert_eq!(utf8(&out.stdout), "YWJjMTIz");
}

#[test]
fn rewrap_refuses_a_transit_file_whose_mac_fails_and_leaves_it_untouched() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    encrypt_with_transit(&f, &bao, "gitops", "secret.yaml");
    bao.rotate_transit_key("gitops");
    // A namespace edited by hand: the value ciphertexts still authenticate, the MAC does not.
    let tampered = String::from_utf8(f.read("secret.yaml")).unwrap().replace("namespace: flux-system", "namespace: other");
    f.write("secret.yaml", tampered.as_bytes());
    let out = gitseal_vault_only(&f, &bao, bao.root_token()).arg("rewrap").arg(f.path("secret.yaml")).output().unwrap();
    assert_eq!(out.status.code(), Some(51), "rewrap of a tampered file: {}", utf8(&out.stderr));
    assert!(utf8(&out.stderr).contains("MAC mismatch"), "{}", utf8(&out.stderr));
    assert_eq!(f.read("secret.yaml"), tampered.as_bytes(), "the tampered file was rewritten");
    assert!(bao.responses_to("transit/rewrap/gitops").is_empty(), "no Transit rewrap for a file that fails verification");
}

// ---------------------------------------------------------------------------------------
// One Transit decrypt per command: the data key is unwrapped once and reused.

/// A Transit-only file on `bao` and the number of `transit/decrypt/gitops` answers so far.
fn transit_file(f: &Fixture, bao: &OpenBao) -> (PathBuf, usize) {
    encrypt_with_transit(f, bao, "gitops", "secret.yaml");
    (f.path("secret.yaml"), bao.transit_decrypts("gitops"))
}

fn sops_reads(f: &Fixture, bao: &OpenBao, file: &Path) -> String {
    let out = sops_vault_only(f, bao, bao.root_token()).arg("decrypt").arg(file).output().unwrap();
    assert_success("sops decrypt", &out);
    utf8(&out.stdout).to_owned()
}

#[test]
fn decrypt_makes_one_transit_decrypt() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    let (file, before) = transit_file(&f, &bao);
    let out = gitseal_vault_only(&f, &bao, bao.root_token()).arg("decrypt").arg(&file).output().unwrap();
    assert_success("gitseal decrypt", &out);
    assert_eq!(utf8(&out.stdout), SECRET);
    assert_eq!(bao.transit_decrypts("gitops") - before, 1, "Transit decrypts for one `gitseal decrypt`");
}

#[test]
fn set_makes_one_transit_decrypt() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    let (file, before) = transit_file(&f, &bao);
    let out = gitseal_vault_only(&f, &bao, bao.root_token()).arg("set").arg(&file).args([r#"["stringData"]["token"]"#, "rotated"]).output().unwrap();
    assert_success("gitseal set", &out);
    let decrypts = bao.transit_decrypts("gitops") - before;
    assert!(sops_reads(&f, &bao, &file).contains("token: rotated\n"));
    assert_eq!(decrypts, 1, "Transit decrypts for one `gitseal set`");
}

#[test]
fn edit_makes_one_transit_decrypt() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    let (file, before) = transit_file(&f, &bao);
    let editor = f.write("editor.sh", "#!/bin/sh\nsed -i 's/5f0c1b7e9a/edited-token/' \"$1\"\n");
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The plaintext copy goes to a memory-backed runtime directory.
    let runtime = tempfile::Builder::new().prefix("gitseal-test-runtime-").tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs");
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = gitseal_vault_only(&f, &bao, bao.root_token())
        .arg("edit")
        .env("EDITOR", &editor)
        .env_remove("SOPS_EDITOR")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .arg(&file)
        .output()
        .unwrap();
    assert_success("gitseal edit", &out);
    let decrypts = bao.transit_decrypts("gitops") - before;
    assert!(sops_reads(&f, &bao, &file).contains("token: edited-token\n"));
    assert_eq!(decrypts, 1, "Transit decrypts for one `gitseal edit`");
}

#[test]
fn rewrap_makes_one_transit_decrypt_and_one_rewrap_per_entry() {
    let f = Fixture::new();
    let bao = bao_with_key("gitops");
    bao.create_transit_key("backup");
    let file = f.write("secret.yaml", SECRET);
    let uris = format!("{},{}", bao.transit_uri("gitops"), bao.transit_uri("backup"));
    let out = gitseal_vault_only(&f, &bao, bao.root_token()).args(["encrypt", "-i", "--hc-vault-transit", &uris]).arg(&file).output().unwrap();
    assert_success("encrypt for two Transit keys", &out);
    bao.rotate_transit_key("gitops");
    bao.rotate_transit_key("backup");

    let from = bao.audit_entries().len();
    let out = gitseal_vault_only(&f, &bao, bao.root_token()).arg("rewrap").arg(&file).output().unwrap();
    assert_success("gitseal rewrap", &out);
    let mut calls = transit_calls_since(&bao, from);
    let decrypts = calls.iter().filter(|p| p.starts_with("transit/decrypt/")).count();
    calls.retain(|p| p.starts_with("transit/rewrap/"));
    calls.sort();
    assert_eq!(decrypts, 1, "one Transit decrypt to verify the MAC");
    assert_eq!(calls, ["transit/rewrap/backup", "transit/rewrap/gitops"], "one rewrap per Transit entry");
    let text = utf8(&f.read("secret.yaml")).to_owned();
    for entry in 0..2 {
        assert!(hc_vault_field(&text, entry, "enc").starts_with("vault:v2:"), "entry {entry} not rewrapped: {text}");
    }
    assert_eq!(sops_reads(&f, &bao, &file), SECRET);
}
