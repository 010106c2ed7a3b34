//! Interoperability with the real `sops` (3.11) and `age` binaries, over the YAML corpus in
//! `tests/corpus/`: files gitseal encrypts decrypt with sops to the same data as files sops
//! encrypts itself, files sops encrypts decrypt with gitseal, and gitseal's own round trip
//! is byte for byte.
//!
//! The JSON and dotenv corpus is exercised by `tests/interop_json_dotenv.rs`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

/// The YAML part of the corpus.
fn yaml_corpus() -> Vec<CorpusFile> {
    let files = corpus("", &[".yaml", ".yml"]);
    assert!(files.len() >= 13, "the YAML corpus is incomplete: {} files", files.len());
    files
}

fn corpus_file(name: &str) -> CorpusFile {
    yaml_corpus().into_iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no corpus file {name}"))
}

/// Writes the corpus file under `dir/` in the fixture (keeping its name, hence its
/// format) and returns the path.
fn place(fx: &Fixture, dir: &str, f: &CorpusFile) -> PathBuf {
    fx.write(&format!("{dir}/{}", f.name), &f.bytes)
}

// ---------------------------------------------------------------------------------------
// 1. gitseal encrypts, sops decrypts: the same data as sops's own encryption.

#[test]
fn sops_decrypts_gitseal_output_to_the_same_data_as_its_own() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    for f in yaml_corpus() {
        let r = (|| -> Result<(), String> {
            let plain = place(&fx, "plain", &f);
            let ours = try_run("gitseal encrypt", fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&plain))?;
            let theirs = try_run("sops encrypt", fx.sops().args(["encrypt", "--age", &fx.recipient]).args(f.sops_rule()).arg(&plain))?;
            let ours_path = fx.write(&format!("gitseal/{}", f.name), &ours);
            let theirs_path = fx.write(&format!("sops/{}", f.name), &theirs);

            // gitseal picked the rule the test assumes.
            let has_k8s_rule = utf8(&ours).contains(&format!("encrypted_regex: {K8S_ENCRYPTED_REGEX}"));
            if has_k8s_rule != f.kubernetes {
                return Err(format!("Kubernetes rule in gitseal output: {has_k8s_rule}, expected {}", f.kubernetes));
            }

            let ours_plain = try_run("sops decrypt (gitseal file)", fx.sops().arg("decrypt").arg(&ours_path))?;
            let theirs_plain = try_run("sops decrypt (sops file)", fx.sops().arg("decrypt").arg(&theirs_path))?;
            if ours_plain != theirs_plain {
                return Err(format!("sops decrypts the gitseal file differently:\n{}", diff(utf8(&theirs_plain), utf8(&ours_plain))));
            }

            // Same values and comments encrypted, with the same types and lengths.
            let (a, b) = (enc_signature(utf8(&ours)), enc_signature(utf8(&theirs)));
            if a.is_empty() {
                return Err("nothing was encrypted".into());
            }
            if a != b {
                return Err(format!("encrypted values differ (type, length):\ngitseal {a:?}\nsops    {b:?}"));
            }
            Ok(())
        })();
        if let Err(e) = r {
            failures.push(format!("{}: {e}", f.name));
        }
    }
    report_failures(failures);
}

// ---------------------------------------------------------------------------------------
// 2. gitseal's own round trip is byte for byte.

#[test]
fn gitseal_round_trip_is_byte_identical() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    for f in yaml_corpus() {
        let r = (|| -> Result<(), String> {
            let plain = place(&fx, "plain", &f);
            let enc = try_run("gitseal encrypt", fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&plain))?;
            if enc == f.bytes || !utf8(&enc).contains("ENC[AES256_GCM,") {
                return Err("the output is not encrypted".into());
            }
            let enc_path = fx.write(&format!("enc/{}", f.name), &enc);
            let dec = try_run("gitseal decrypt", fx.gitseal().arg("decrypt").arg(&enc_path))?;
            if dec != f.bytes {
                return Err(format!("decrypt(encrypt(x)) != x:\n{}", diff(f.text(), &String::from_utf8_lossy(&dec))));
            }
            Ok(())
        })();
        if let Err(e) = r {
            failures.push(format!("{}: {e}", f.name));
        }
    }
    report_failures(failures);
}

// ---------------------------------------------------------------------------------------
// 3. sops encrypts, gitseal decrypts.

#[test]
fn gitseal_decrypts_sops_output_to_the_same_data() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    for f in yaml_corpus() {
        let r = (|| -> Result<(), String> {
            let plain = place(&fx, "plain", &f);
            let sops_enc = try_run("sops encrypt", fx.sops().args(["encrypt", "--age", &fx.recipient]).args(f.sops_rule()).arg(&plain))?;
            let sops_enc_path = fx.write(&format!("sops/{}", f.name), &sops_enc);
            let sops_plain = try_run("sops decrypt", fx.sops().arg("decrypt").arg(&sops_enc_path))?;

            // gitseal checks the MAC sops wrote and decrypts every value.
            let ours = try_run("gitseal decrypt (sops file)", fx.gitseal().arg("decrypt").arg(&sops_enc_path))?;
            let ours_text = utf8(&ours);
            if ours_text.contains("ENC[") || ours_text.lines().any(|l| l == "sops:") {
                return Err(format!("ciphertext or metadata left in the output:\n{ours_text}"));
            }
            check_layout_kept(utf8(&sops_enc), ours_text).map_err(|e| format!("layout not kept: {e}"))?;

            // Same data: through sops's normalisation, gitseal's plaintext equals sops's.
            let ours_path = fx.write(&format!("gitseal-plain/{}", f.name), &ours);
            let again = try_run("sops encrypt (gitseal plaintext)", fx.sops().args(["encrypt", "--age", &fx.recipient]).args(f.sops_rule()).arg(&ours_path))?;
            let again_path = fx.write(&format!("again/{}", f.name), &again);
            let again_plain = try_run("sops decrypt (again)", fx.sops().arg("decrypt").arg(&again_path))?;
            if again_plain != sops_plain {
                return Err(format!("gitseal's plaintext holds different data:\n{}", diff(utf8(&sops_plain), utf8(&again_plain))));
            }
            Ok(())
        })();
        if let Err(e) = r {
            failures.push(format!("{}: {e}", f.name));
        }
    }
    report_failures(failures);
}

/// For files whose values need no quoting, gitseal's decryption of a file sops wrote is
/// exactly what `sops decrypt` prints: sops's 4-space indentation, its comment placement
/// and its block scalars are kept.
#[test]
fn gitseal_decrypt_of_sops_file_keeps_sops_layout() {
    let fx = Fixture::new();
    let names = [
        "argocd-secret.yaml",
        "block-scalars.yaml",
        "comments.yaml",
        "configmap-and-secret.yaml",
        "crlf.yaml",
        "empty-values.yaml",
        "flux-receiver-token.yaml",
        "harbor-dockerconfigjson.yaml",
        "multi-doc-secrets.yaml",
        "no-final-newline.yaml",
    ];
    let mut failures = Vec::new();
    for name in names {
        let f = corpus_file(name);
        let plain = place(&fx, "plain", &f);
        let enc = run("sops encrypt", fx.sops().args(["encrypt", "--age", &fx.recipient]).args(f.sops_rule()).arg(&plain));
        let enc_path = fx.write(&format!("sops/{name}"), &enc);
        let expected = fx.sops_decrypt(&enc_path);
        let ours = fx.decrypt(&enc_path);
        if ours != expected {
            failures.push(format!("{name}:\n{}", diff(utf8(&expected), utf8(&ours))));
        }
    }
    report_failures(failures);

    // And concretely, for the Flux token: sops re-indented to 4 spaces, gitseal kept that.
    let enc = fx.path("sops/flux-receiver-token.yaml");
    let ours = String::from_utf8(fx.decrypt(&enc)).unwrap();
    assert!(ours.contains("\nmetadata:\n    name: receiver-token\n"), "{ours}");
    assert!(ours.contains("\nstringData:\n    token: demo-3b9f2c7e51d04a86b1c0e9f7a2d45e6c\n"), "{ours}");
}

// ---------------------------------------------------------------------------------------
// 4. Stable ciphertext.

#[test]
fn encrypt_in_place_twice_leaves_the_file_byte_identical() {
    let fx = Fixture::new();
    let f = corpus_file("multi-doc-secrets.yaml");
    let path = place(&fx, "repo", &f);
    run("gitseal encrypt -i", fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&path));
    let first = std::fs::read(&path).unwrap();
    assert!(utf8(&first).contains("ENC[AES256_GCM,"));
    // A rewrite would carry a new lastmodified.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run("gitseal encrypt -i (again)", fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&path));
    let second = std::fs::read(&path).unwrap();
    assert!(first == second, "the second encrypt -i changed the file:\n{}", diff(utf8(&first), utf8(&second)));
    // sops agrees it is intact.
    let out = fx.sops_decrypt(&path);
    assert!(utf8(&out).contains("DB_PASSWORD: demo-prod-pass-88f1a0"));
}

#[test]
fn adding_a_key_to_an_encrypted_file_changes_only_that_line_and_the_stamp() {
    let fx = Fixture::new();
    let f = corpus_file("multi-doc-secrets.yaml");
    let path = place(&fx, "repo", &f);
    run("gitseal encrypt -i", fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&path));
    let before = std::fs::read(&path).unwrap();

    // Add a plaintext key to the second document's stringData, right after its header.
    let text = utf8(&before);
    let second_doc = text.find("\n---\n").unwrap();
    let header = second_doc + text[second_doc..].find("\nstringData:\n").unwrap() + "\nstringData:\n".len();
    let edited = format!("{}  NEW_TOKEN: brand-new-value\n{}", &text[..header], &text[header..]);
    std::fs::write(&path, &edited).unwrap();

    run("gitseal encrypt -i (edited)", fx.gitseal().args(["encrypt", "-i"]).arg(&path));
    let after = std::fs::read(&path).unwrap();
    let (old, new) = (lines(&before), lines(&after));
    assert_eq!(new.len(), old.len() + 1, "one line more:\n{}", utf8(&after));

    let added = multiset_minus(&new, &old);
    let removed = multiset_minus(&old, &new);
    let new_line: Vec<_> = added.iter().filter(|l| l.starts_with("  NEW_TOKEN: ")).collect();
    assert_eq!(new_line.len(), 1, "added lines: {added:#?}");
    assert!(new_line[0].starts_with("  NEW_TOKEN: ENC[AES256_GCM,") && new_line[0].ends_with(",type:str]\n"), "{}", new_line[0]);
    assert!(!utf8(&after).contains("brand-new-value"), "the new value is in the clear");
    for l in added.iter().filter(|l| !l.starts_with("  NEW_TOKEN: ")).chain(&removed) {
        assert!(is_sops_stamp(l), "unexpected changed line {l:?}\nadded: {added:#?}\nremoved: {removed:#?}");
    }
    // The MAC covers the new value: it changed, in every document's copy of the metadata.
    assert_eq!(added.iter().filter(|l| l.starts_with("    mac: ")).count(), 3, "{added:#?}");

    let plain = utf8(&fx.sops_decrypt(&path)).to_owned();
    assert!(plain.contains("\n    NEW_TOKEN: brand-new-value\n"), "{plain}");
    let ours = fx.decrypt(&path);
    let expected = f.text().replacen(
        "namespace: payments-prod\n  annotations:\n    reloader.stakater.com/match: \"true\"\ntype: Opaque\nstringData:\n",
        "namespace: payments-prod\n  annotations:\n    reloader.stakater.com/match: \"true\"\ntype: Opaque\nstringData:\n  NEW_TOKEN: brand-new-value\n",
        1,
    );
    assert_ne!(expected, f.text());
    assert_eq!(utf8(&ours), expected);
}

#[test]
fn encrypting_changed_plaintext_onto_the_encrypted_file_changes_only_that_value() {
    let fx = Fixture::new();
    let f = corpus_file("configmap-and-secret.yaml");
    let plain = place(&fx, "plain", &f);
    let out = fx.path("repo/configmap-and-secret.yaml");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let encrypt_onto = |fx: &Fixture| {
        run("gitseal encrypt -o", fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&plain).arg("-o").arg(&out));
        std::fs::read(&out).unwrap()
    };
    let first = encrypt_onto(&fx);

    // Same plaintext again: nothing changes, not even lastmodified.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let same = encrypt_onto(&fx);
    assert!(first == same, "unchanged plaintext rewrote the file:\n{}", diff(utf8(&first), utf8(&same)));

    // One value changed: only its line and the sops stamps change.
    let changed = f.text().replacen("SESSION_SECRET: demo-session-secret-a1b2c3", "SESSION_SECRET: demo-session-secret-rotated", 1);
    assert_ne!(changed, f.text());
    std::fs::write(&plain, &changed).unwrap();
    let second = encrypt_onto(&fx);
    let (old, new) = (lines(&first), lines(&second));
    assert_eq!(old.len(), new.len());
    let differing: Vec<(&String, &String)> = old.iter().zip(&new).filter(|(a, b)| a != b).collect();
    let value_lines: Vec<_> = differing.iter().filter(|(a, _)| !is_sops_stamp(a)).collect();
    assert_eq!(value_lines.len(), 1, "changed lines: {differing:#?}");
    let (a, b) = value_lines[0];
    assert!(a.starts_with("  SESSION_SECRET: ENC[") && b.starts_with("  SESSION_SECRET: ENC["), "{a}{b}");
    for (a, b) in &differing {
        assert!(is_sops_stamp(a) == is_sops_stamp(b), "{a}{b}");
    }
    // The MAC changed, in both documents' copies of the metadata.
    assert_eq!(differing.iter().filter(|(a, _)| a.starts_with("    mac: ")).count(), 2, "{differing:#?}");

    let sops_plain = utf8(&fx.sops_decrypt(&out)).to_owned();
    assert!(sops_plain.contains("SESSION_SECRET: demo-session-secret-rotated"), "{sops_plain}");
    assert!(sops_plain.contains("STRIPE_KEY: demo_sk_test_notreal"), "{sops_plain}");
    assert_eq!(utf8(&fx.decrypt(&out)), changed);
}

// ---------------------------------------------------------------------------------------
// 5. Only the secret values change.

/// Splits a Kubernetes YAML file into (a) the lines outside the values of the top-level
/// `data`/`stringData` maps and outside `sops:` blocks, and (b) for each data entry, its
/// key part (`  name:`) and the rest of its line plus the next line (to see the
/// ciphertext of block scalars). Lines keep their line ends.
fn split_secret_data(text: &str) -> (Vec<&str>, Vec<(&str, String)>) {
    let mut outside = Vec::new();
    let mut entries = Vec::new();
    let all: Vec<&str> = text.split_inclusive('\n').collect();
    let (mut in_data, mut in_sops) = (false, false);
    let mut entry_indent: Option<usize> = None;
    for (i, line) in all.iter().enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        let top_level = !content.is_empty() && !content.starts_with([' ', '\t']);
        if top_level && !content.starts_with('#') {
            in_data = content == "data:" || content == "stringData:";
            in_sops = content == "sops:";
            entry_indent = None;
        }
        if in_sops {
            continue;
        }
        if !in_data || top_level {
            outside.push(*line);
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if *entry_indent.get_or_insert(indent) == indent {
            // `key: value` (a quoted key may hold ": ").
            let colon = if let Some(quoted) = trimmed.strip_prefix('"') {
                indent + quoted.find("\":").map(|p| p + 2).unwrap()
            } else {
                indent + trimmed.find(':').unwrap()
            };
            let next = all.get(i + 1).copied().unwrap_or("");
            entries.push((&content[..=colon], format!("{}\n{}", &content[colon + 1..], next)));
        }
    }
    (outside, entries)
}

#[test]
fn encryption_changes_only_the_secret_values_of_kubernetes_files() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    let files: Vec<_> = yaml_corpus().into_iter().filter(|f| f.kubernetes).collect();
    assert!(files.len() >= 10);
    for f in files {
        let path = place(&fx, "plain", &f);
        let enc = fx.encrypt(&path);
        let enc = utf8(&enc);
        let (plain_outside, plain_entries) = split_secret_data(f.text());
        let (enc_outside, enc_entries) = split_secret_data(enc);
        assert!(!plain_entries.is_empty() && !plain_outside.is_empty(), "{}: nothing to compare", f.name);
        if plain_outside != enc_outside {
            failures.push(format!("{}: lines outside data/stringData changed:\n{}", f.name, diff(&plain_outside.concat(), &enc_outside.concat())));
            continue;
        }
        let keys = |e: &[(&str, String)]| e.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
        if keys(&plain_entries) != keys(&enc_entries) {
            failures.push(format!("{}: data keys changed: {:?} -> {:?}", f.name, keys(&plain_entries), keys(&enc_entries)));
            continue;
        }
        for ((key, plain_rest), (_, enc_rest)) in plain_entries.iter().zip(&enc_entries) {
            let first_line = |s: &str| s.trim_start().split(['\r', '\n']).next().unwrap_or("").to_owned();
            let plain_value = first_line(plain_rest);
            let ok = if plain_value == "\"\"" || plain_value == "''" {
                // Empty strings are never encrypted.
                first_line(enc_rest) == plain_value
            } else if plain_value.starts_with('|') || plain_value.starts_with('>') {
                // A block scalar keeps its indicator; the ciphertext is on the next line.
                first_line(enc_rest) == plain_value && enc_rest.split_once('\n').map(|x| x.1).unwrap_or("").trim_start().starts_with("ENC[AES256_GCM,")
            } else {
                // gitseal keeps the value's quoting style around the ciphertext.
                let v = enc_rest.trim_start();
                let quote = &plain_value[..usize::from(plain_value.starts_with(['"', '\'']))];
                v.strip_prefix(quote).is_some_and(|v| v.starts_with("ENC[AES256_GCM,"))
            };
            if !ok {
                failures.push(format!("{}: {key} is not encrypted as expected: {enc_rest:?}", f.name));
            }
        }
        // The metadata follows the data: one `sops:` block per document, at the end.
        let docs = enc.split("\n---\n").count();
        let blocks = enc.lines().filter(|l| *l == "sops:").count();
        if docs != blocks {
            failures.push(format!("{}: {docs} documents but {blocks} sops blocks", f.name));
        }
    }
    report_failures(failures);
}

// ---------------------------------------------------------------------------------------
// 6. --extract

#[test]
fn decrypt_extract_prints_exactly_what_sops_prints() {
    let fx = Fixture::new();
    let cases = [
        ("flux-receiver-token.yaml", r#"["stringData"]["token"]"#, "demo-3b9f2c7e51d04a86b1c0e9f7a2d45e6c"),
        ("argocd-secret.yaml", r#"["stringData"]["webhook.github.secret"]"#, "demo-not-a-real-webhook-secret-9c41e0d7a2"),
        ("unicode.yaml", r#"["stringData"]["パスワード"]"#, "秘密のパスワード"),
        ("multi-doc-secrets.yaml", r#"["stringData"]["DB_PASSWORD"]"#, "demo-staging-pass-2c9e41"),
        (
            "block-scalars.yaml",
            r#"["stringData"]["tls.key"]"#,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDemoNotARealKeyDemoNotARealKey0000\n-----END PRIVATE KEY-----\n",
        ),
        ("app-config.yaml", r#"["database"]["replicas"][1]"#, "db-replica-2.internal.example.com"),
    ];
    for (name, path, expected) in cases {
        let f = corpus_file(name);
        let plain = place(&fx, "plain", &f);
        let ours_enc = fx.write(&format!("gitseal/{name}"), fx.encrypt(&plain));
        let sops_enc = fx.write(&format!("sops/{name}"), fx.sops_encrypt(&plain, &f.sops_rule()));
        let sops_out = run("sops --extract", fx.sops().args(["decrypt", "--extract", path]).arg(&ours_enc));
        assert_eq!(utf8(&sops_out), expected, "sops --extract {path} on {name}");
        for enc in [&ours_enc, &sops_enc] {
            let out = run("gitseal --extract", fx.gitseal().args(["decrypt", "--extract", path]).arg(enc));
            assert_eq!(utf8(&out), expected, "gitseal --extract {path} on {}", enc.display());
        }
    }
}

// ---------------------------------------------------------------------------------------
// 7. Directories

#[test]
fn encrypt_in_place_over_a_directory_tree_in_one_process() {
    let fx = Fixture::new();
    let corpus = yaml_corpus();
    let mut expected: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let dirs = ["repo/clusters/prod/apps", "repo/clusters/staging/apps/payments", "repo/infrastructure/secrets"];
    for (i, f) in corpus.iter().enumerate() {
        let dir = dirs[i % dirs.len()];
        expected.push((fx.write(&format!("{dir}/{}", f.name), &f.bytes), f.bytes.clone()));
    }
    // A few more, with the .yml extension.
    for (i, f) in corpus.iter().filter(|f| f.kubernetes).take(7).enumerate() {
        let name = f.name.replace(".yaml", ".yml");
        expected.push((fx.write(&format!("repo/tenants/team-{i}/{name}"), &f.bytes), f.bytes.clone()));
    }
    assert!(expected.len() >= 20);
    let sops_config = format!("creation_rules:\n  - path_regex: \\.ya?ml$\n    encrypted_regex: {K8S_ENCRYPTED_REGEX}\n    age: {}\n", fx.recipient);
    let hidden = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cached\nstringData:\n  token: left-alone\n";
    let untouched: Vec<(PathBuf, Vec<u8>)> = [
        ("repo/README.md", "# Secrets of the fleet\n"),
        ("repo/clusters/notes.txt", "token: not-a-yaml-file\n"),
        // sops's configuration is not encrypted...
        ("repo/.sops.yaml", sops_config.as_str()),
        // ...and hidden directories are not searched.
        ("repo/.cache/secret.yaml", hidden),
    ]
    .into_iter()
    .map(|(name, content)| (fx.write(name, content), content.as_bytes().to_vec()))
    .collect();

    run("gitseal encrypt -i DIR", fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(fx.path("repo")));

    for (path, plain) in &expected {
        let enc = std::fs::read(path).unwrap();
        assert_ne!(&enc, plain, "{} was not encrypted", path.display());
        let out = fx.sops().arg("decrypt").arg(path).output().unwrap();
        assert_success(&format!("sops decrypt {}", path.display()), &out);
    }
    for (path, content) in &untouched {
        assert_eq!(&std::fs::read(path).unwrap(), content, "{} was touched", path.display());
    }

    // Running again changes nothing.
    let snapshot: Vec<Vec<u8>> = expected.iter().map(|(p, _)| std::fs::read(p).unwrap()).collect();
    run("gitseal encrypt -i DIR (again)", fx.gitseal().args(["encrypt", "-i"]).arg(fx.path("repo")));
    for ((path, _), before) in expected.iter().zip(&snapshot) {
        assert!(&std::fs::read(path).unwrap() == before, "{} changed on the second run", path.display());
    }

    // And decrypting the tree restores every file byte for byte.
    run("gitseal decrypt -i DIR", fx.gitseal().args(["decrypt", "-i"]).arg(fx.path("repo")));
    for (path, plain) in &expected {
        assert!(&std::fs::read(path).unwrap() == plain, "{} not restored", path.display());
    }
}

// ---------------------------------------------------------------------------------------
// 8. age keys

#[test]
fn keygen_writes_an_age_identity_that_age_keygen_reads() {
    use std::os::unix::fs::PermissionsExt;

    let fx = Fixture::new();
    let key = fx.path("k.txt");
    let out = fx.gitseal_without_key().args(["keygen", "-o"]).arg(&key).output().unwrap();
    assert_success("gitseal keygen", &out);
    let recipient = utf8(&out.stdout).trim().to_owned();
    assert!(recipient.starts_with("age1"), "{recipient}");

    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode {mode:o}");

    let derived = run("age-keygen -y", Command::new(require_peer("age-keygen")).arg("-y").arg(&key));
    assert_eq!(utf8(&derived).trim(), recipient);

    // The age CLI decrypts with it, too.
    let age = require_peer("age");
    let msg = fx.write("msg.txt", "hello from age\n");
    let enc = run("age -e", Command::new(&age).args(["-e", "-r", &recipient, "-o"]).arg(fx.path("msg.age")).arg(&msg));
    assert!(enc.is_empty());
    let dec = run("age -d", Command::new(&age).args(["-d", "-i"]).arg(&key).arg(fx.path("msg.age")));
    assert_eq!(dec, b"hello from age\n");

    // keygen never overwrites an existing key.
    let before = std::fs::read(&key).unwrap();
    let again = fx.gitseal_without_key().args(["keygen", "-o"]).arg(&key).output().unwrap();
    assert!(!again.status.success(), "keygen overwrote {}", key.display());
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

#[test]
fn an_age_keygen_identity_works_with_gitseal_and_sops() {
    let fx = Fixture::new();
    let key = fx.path("age-keygen.txt");
    run("age-keygen", Command::new(require_peer("age-keygen")).arg("-o").arg(&key));
    let recipient = utf8(&run("age-keygen -y", Command::new(require_peer("age-keygen")).arg("-y").arg(&key))).trim().to_owned();

    let f = corpus_file("flux-receiver-token.yaml");
    let plain = place(&fx, "plain", &f);
    let enc = run("gitseal encrypt", fx.gitseal_without_key().args(["encrypt", "--age", &recipient]).arg(&plain));
    assert!(utf8(&enc).contains(&format!("- recipient: {recipient}\n")));
    let enc_path = fx.write("enc/flux-receiver-token.yaml", &enc);

    // The fixture's own key cannot decrypt it...
    let out = fx.gitseal().arg("decrypt").arg(&enc_path).output().unwrap();
    assert!(!out.status.success(), "decrypted without the right key");
    // ...the age-keygen key can, through the environment and through --identity.
    let via_env = run("gitseal decrypt", fx.gitseal_without_key().env("SOPS_AGE_KEY_FILE", &key).arg("decrypt").arg(&enc_path));
    assert_eq!(via_env, f.bytes);
    let via_flag = run("gitseal decrypt --identity", fx.gitseal_without_key().args(["decrypt", "--identity"]).arg(&key).arg(&enc_path));
    assert_eq!(via_flag, f.bytes);
    let sops_out = run("sops decrypt", fx.sops().env("SOPS_AGE_KEY_FILE", &key).arg("decrypt").arg(&enc_path));
    assert!(utf8(&sops_out).contains("    token: demo-3b9f2c7e51d04a86b1c0e9f7a2d45e6c\n"));

    // A file sops encrypted to that recipient decrypts with gitseal.
    let sops_enc = run("sops encrypt", fx.sops().args(["encrypt", "--age", &recipient]).args(f.sops_rule()).arg(&plain));
    let sops_enc_path = fx.write("sops/flux-receiver-token.yaml", &sops_enc);
    let ours = run("gitseal decrypt (sops file)", fx.gitseal_without_key().args(["decrypt", "--identity"]).arg(&key).arg(&sops_enc_path));
    assert_eq!(ours, sops_out);
}

// ---------------------------------------------------------------------------------------
// 9. SSH recipients

fn ssh_keygen(fx: &Fixture, kind: &str, name: &str) -> (PathBuf, String) {
    let key = fx.path(name);
    run("ssh-keygen", Command::new(require_peer("ssh-keygen")).args(["-q", "-t", kind, "-N", "", "-C", "ci@example.com", "-f"]).arg(&key));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap().trim().to_owned();
    (key, public)
}

fn check_ssh_recipient(kind: &str) {
    let fx = Fixture::new();
    let (key, public) = ssh_keygen(&fx, kind, &format!("id_{kind}"));
    let f = corpus_file("flux-receiver-token.yaml");
    let plain = place(&fx, "plain", &f);

    // gitseal encrypts to the SSH public key (the whole .pub line, comment included).
    let enc = run("gitseal encrypt --age <ssh key>", fx.gitseal_without_key().args(["encrypt", "--age", &public]).arg(&plain));
    let enc_path = fx.write("enc/flux-receiver-token.yaml", &enc);

    let ours = run("gitseal decrypt --identity", fx.gitseal_without_key().args(["decrypt", "--identity"]).arg(&key).arg(&enc_path));
    assert_eq!(ours, f.bytes);
    let sops_out =
        run("sops decrypt (SSH key)", fx.sops().env_remove("SOPS_AGE_KEY_FILE").env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &key).arg("decrypt").arg(&enc_path));
    assert!(utf8(&sops_out).contains("    token: demo-3b9f2c7e51d04a86b1c0e9f7a2d45e6c\n"), "{}", utf8(&sops_out));

    // Without the SSH key, nothing decrypts.
    let out = fx.gitseal().arg("decrypt").arg(&enc_path).output().unwrap();
    assert!(!out.status.success());

    // And the other way: sops encrypts to the SSH key, gitseal decrypts.
    let sops_enc = run("sops encrypt --age <ssh key>", fx.sops().args(["encrypt", "--age", &public]).args(f.sops_rule()).arg(&plain));
    let sops_enc_path = fx.write("sops/flux-receiver-token.yaml", &sops_enc);
    let ours =
        run("gitseal decrypt (sops file, SSH key)", fx.gitseal_without_key().env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &key).arg("decrypt").arg(&sops_enc_path));
    assert_eq!(ours, sops_out);
}

#[test]
fn ssh_ed25519_recipient_interoperates_with_sops() {
    check_ssh_recipient("ed25519");
}

#[test]
fn ssh_rsa_recipient_interoperates_with_sops() {
    check_ssh_recipient("rsa");
}
