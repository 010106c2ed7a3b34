//! Post-quantum hybrid age recipients (`age1pq1...`) end to end: keygen, `--age`,
//! `.sops.yaml` (key groups, `updatekeys`), interop with the real sops 3.11 both ways,
//! and Flux's own SOPS fixtures.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_success, gitseal_bin, require_peer, stderr, Fixture};

/// In the layout sops prints (4-space indent), so both tools print exactly these bytes.
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: pq\nstringData:\n    token: quantum-safe\n";

/// `../shared` beside the repository (`GITSEAL_SHARED_DIR` overrides, for worktrees
/// elsewhere).
fn shared_dir() -> PathBuf {
    std::env::var_os("GITSEAL_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")))
}

/// A new PQ identity in `dir/name`; returns its recipient.
fn pq_keygen(dir: &Path, name: &str) -> String {
    let out = Command::new(gitseal_bin()).args(["keygen", "--pq", "-o"]).arg(dir.join(name)).output().unwrap();
    assert_success("gitseal keygen --pq", &out);
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn isolated(cmd: &mut Command, dir: &Path) {
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("GITSEAL_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .env_remove("SOPS_CONFIG")
        .env_remove("VAULT_ADDR");
}

fn gitseal_in(dir: &Path) -> Command {
    let mut c = Command::new(gitseal_bin());
    isolated(&mut c, dir);
    c
}

fn sops_in(dir: &Path) -> Command {
    let mut c = Command::new(require_peer("sops"));
    isolated(&mut c, dir);
    c
}

#[test]
fn keygen_pq_writes_a_private_identity_and_prints_a_pq_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = pq_keygen(dir.path(), "pq.txt");
    assert!(recipient.starts_with("age1pq1"), "{recipient}");
    assert!((1900..2100).contains(&recipient.len()), "a hybrid recipient is about 2,000 characters: {}", recipient.len());
    let text = std::fs::read_to_string(dir.path().join("pq.txt")).unwrap();
    assert!(text.lines().any(|l| l.starts_with("AGE-SECRET-KEY-PQ-1")));
    assert!(text.contains(&format!("# public key: {recipient}")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("pq.txt")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn gitseal_encrypts_to_a_pq_recipient_and_sops_decrypts_it() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = pq_keygen(dir.path(), "pq.txt");
    std::fs::write(dir.path().join("s.yaml"), SECRET).unwrap();
    let out = gitseal_in(dir.path()).args(["encrypt", "-i", "--age", &recipient, "s.yaml"]).output().unwrap();
    assert_success("gitseal encrypt --age age1pq1...", &out);
    let enc = std::fs::read_to_string(dir.path().join("s.yaml")).unwrap();
    assert!(enc.contains(&format!("recipient: {recipient}")));
    let out = sops_in(dir.path()).env("SOPS_AGE_KEY_FILE", dir.path().join("pq.txt")).args(["decrypt", "s.yaml"]).output().unwrap();
    assert_success("sops decrypt", &out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), SECRET);
    let out = gitseal_in(dir.path()).args(["decrypt", "--identity", "pq.txt", "s.yaml"]).output().unwrap();
    assert_success("gitseal decrypt", &out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), SECRET);
}

#[test]
fn sops_encrypts_to_a_pq_recipient_and_gitseal_decrypts_it() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = pq_keygen(dir.path(), "pq.txt");
    std::fs::write(dir.path().join("s.yaml"), SECRET).unwrap();
    let out = sops_in(dir.path()).args(["encrypt", "-i", "--encrypted-regex", "^(data|stringData)$", "--age", &recipient, "s.yaml"]).output().unwrap();
    assert_success("sops encrypt --age age1pq1...", &out);
    // The identity reaches gitseal the way sops users give it: SOPS_AGE_KEY_FILE.
    let out = gitseal_in(dir.path()).env("SOPS_AGE_KEY_FILE", dir.path().join("pq.txt")).args(["decrypt", "s.yaml"]).output().unwrap();
    assert_success("gitseal decrypt", &out);
    let by_sops = sops_in(dir.path()).env("SOPS_AGE_KEY_FILE", dir.path().join("pq.txt")).args(["decrypt", "s.yaml"]).output().unwrap();
    assert_success("sops decrypt", &by_sops);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), String::from_utf8(by_sops.stdout).unwrap());
    // A wrong key is refused with the places searched.
    let other = pq_keygen(dir.path(), "other.txt");
    assert_ne!(other, recipient);
    let out = gitseal_in(dir.path()).args(["decrypt", "--identity", "other.txt", "s.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(stderr(&out).contains("--identity other.txt (1 identity)"), "{}", stderr(&out));
}

#[test]
fn pq_recipients_in_sops_yaml_key_groups_and_updatekeys() {
    let f = Fixture::new();
    let dir = f.dir.path();
    let pq = pq_keygen(dir, "pq.txt");
    // Two key groups, both needed: one X25519, one post-quantum.
    let cfg =
        format!("creation_rules:\n  - path_regex: \\.yaml$\n    key_groups:\n      - age:\n          - {}\n      - age:\n          - {pq}\n", f.recipient);
    f.write(".sops.yaml", &cfg);
    f.write("s.yaml", SECRET);
    let out = gitseal_in(dir).args(["encrypt", "-i", "s.yaml"]).output().unwrap();
    assert_success("gitseal encrypt with key groups", &out);
    let both = format!("{}\n{}", std::fs::read_to_string(&f.key_file).unwrap(), std::fs::read_to_string(dir.join("pq.txt")).unwrap());
    f.write("both.txt", &both);
    let out = sops_in(dir).env("SOPS_AGE_KEY_FILE", dir.join("both.txt")).args(["decrypt", "s.yaml"]).output().unwrap();
    assert_success("sops decrypt of key groups", &out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), SECRET);
    let out = gitseal_in(dir).args(["decrypt", "--identity", "pq.txt", "s.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "one group of two must not open the file: {}", stderr(&out));

    // updatekeys: a plain rule with the X25519 and the PQ recipient.
    f.write("t.yaml", SECRET);
    f.write(".sops.yaml", format!("creation_rules:\n  - path_regex: \\.yaml$\n    age: {}\n", f.recipient));
    let out = gitseal_in(dir).args(["encrypt", "-i", "t.yaml"]).output().unwrap();
    assert_success("gitseal encrypt", &out);
    f.write(".sops.yaml", format!("creation_rules:\n  - path_regex: \\.yaml$\n    age: {},{pq}\n", f.recipient));
    let out = gitseal_in(dir).env("SOPS_AGE_KEY_FILE", &f.key_file).args(["updatekeys", "-y", "t.yaml"]).output().unwrap();
    assert_success("gitseal updatekeys", &out);
    let out = sops_in(dir).env("SOPS_AGE_KEY_FILE", dir.join("pq.txt")).args(["decrypt", "t.yaml"]).output().unwrap();
    assert_success("sops decrypt with the PQ key after updatekeys", &out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), SECRET);
}

#[test]
fn keys_file_with_a_pq_line_used_to_make_gitseal_refuse_the_whole_file() {
    let f = Fixture::new();
    let dir = f.dir.path();
    pq_keygen(dir, "pq.txt");
    let plain = f.write("s.yaml", SECRET);
    let enc = f.encrypt(&plain);
    f.write("s.yaml", &enc);
    // The X25519 key, a PQ key and a plugin line the tool cannot use, in one file.
    let keys = format!(
        "{}\n{}\nAGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQ\n",
        std::fs::read_to_string(&f.key_file).unwrap(),
        std::fs::read_to_string(dir.join("pq.txt")).unwrap()
    );
    f.write("keys.txt", &keys);
    let out = gitseal_in(dir).args(["decrypt", "--identity", "keys.txt", "s.yaml"]).output().unwrap();
    assert_success("gitseal decrypt with a mixed keys file", &out);
    assert_eq!(String::from_utf8(out.stdout.clone()).unwrap(), SECRET);
    let line = keys.lines().position(|l| l.starts_with("AGE-PLUGIN-")).unwrap() + 1;
    assert!(stderr(&out).contains(&format!("warning: keys.txt:{line}: line skipped")), "{}", stderr(&out));
    assert!(!stderr(&out).contains("AGE-PLUGIN-YUBIKEY"), "the line's content is not shown");
}

/// Every age-encrypted file of Flux's kustomize-controller SOPS test data decrypts with
/// gitseal to exactly what `sops -d` prints, with the keys that come with it.
#[test]
fn flux_fixtures_decrypt_to_the_bytes_sops_prints() {
    let root = shared_dir().join("peer-fixtures/flux-kustomize-controller-sops");
    if !root.is_dir() {
        println!("skipped: {} is absent", root.display());
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut all_keys = String::new();
    for k in ["age.txt", "age-global.txt", "age-pq.txt"] {
        all_keys.push_str(&std::fs::read_to_string(root.join("keys").join(k)).unwrap());
        all_keys.push('\n');
    }
    std::fs::write(work.path().join("keys.txt"), &all_keys).unwrap();
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != ".sops.yaml" && n != "SNAPSHOT") && !p.starts_with(root.join("keys")) {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                // sops metadata with an age entry, in any of its formats.
                if text.contains("AGE ENCRYPTED FILE") {
                    files.push(p);
                }
            }
        }
    }
    files.sort();
    assert!(files.len() >= 8, "Flux's age-encrypted fixtures: found only {files:?}");
    let mut failures = Vec::new();
    let mut pq = 0;
    for file in &files {
        // From the fixtures' directory, so sops reads their .sops.yaml (indent 2) as Flux does.
        let expected = sops_in(&root).env("SOPS_AGE_KEY_FILE", work.path().join("keys.txt")).arg("-d").arg(file).output().unwrap();
        if !expected.status.success() {
            // Files sops cannot open with these keys (PGP-only key groups) are not age files.
            println!("sops does not open {} with the age keys: {}", file.display(), stderr(&expected).lines().next().unwrap_or(""));
            continue;
        }
        let got = gitseal_in(work.path()).arg("decrypt").arg("--identity").arg(work.path().join("keys.txt")).arg(file).output().unwrap();
        if !got.status.success() {
            failures.push(format!("{}: gitseal failed: {}", file.display(), stderr(&got)));
        } else if got.stdout != expected.stdout {
            failures.push(format!("{}: gitseal's output differs from sops's", file.display()));
        }
        if std::fs::read_to_string(file).unwrap().contains("age1pq1") {
            pq += 1;
        }
    }
    println!("{} age-encrypted Flux fixtures compared, {pq} post-quantum", files.len());
    assert!(pq >= 1, "the post-quantum fixture was not compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
