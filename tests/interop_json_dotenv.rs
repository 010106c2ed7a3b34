//! Interoperability with the real `sops` (3.11) for JSON and dotenv files, over the corpus
//! in `tests/corpus/json/` and `tests/corpus/dotenv/`: the same properties
//! `tests/interop_sops.rs` checks for YAML.

mod common;

use std::path::PathBuf;

use common::*;

fn json_corpus() -> Vec<CorpusFile> {
    let files = corpus("json", &[".json"]);
    assert!(files.len() >= 3, "the JSON corpus is incomplete: {} files", files.len());
    files
}

fn dotenv_corpus() -> Vec<CorpusFile> {
    let files = corpus("dotenv", &[".env"]);
    assert!(files.len() >= 2, "the dotenv corpus is incomplete: {} files", files.len());
    files
}

fn all_corpus() -> Vec<CorpusFile> {
    let mut all = json_corpus();
    all.extend(dotenv_corpus());
    all
}

fn corpus_file(name: &str) -> CorpusFile {
    all_corpus().into_iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no corpus file {name}"))
}

fn is_dotenv(f: &CorpusFile) -> bool {
    f.name.ends_with(".env")
}

/// Writes the corpus file under `dir/` in the fixture (keeping its name, hence its
/// format) and returns the path.
fn place(fx: &Fixture, dir: &str, f: &CorpusFile) -> PathBuf {
    fx.write(&format!("{dir}/{}", f.name), &f.bytes)
}

/// sops splits dotenv files at `\n` only, so in a CRLF file the `\r` is part of every
/// value and comment it encrypts; gitseal treats `\r\n` as the line end and encrypts the
/// value alone. Both decrypt to the same lines, up to the line ends.
fn normalise_line_ends(f: &CorpusFile, text: &[u8]) -> String {
    let t = utf8(text);
    if is_dotenv(f) {
        t.replace("\r\n", "\n")
    } else {
        t.to_owned()
    }
}

fn signature(f: &CorpusFile, encrypted: &[u8]) -> Vec<(String, usize)> {
    let sig = enc_signature(utf8(encrypted));
    if is_dotenv(f) && f.text().contains('\r') {
        // See normalise_line_ends: sops's plaintexts carry the `\r`.
        sig.into_iter().map(|(t, _)| (t, 0)).collect()
    } else {
        sig
    }
}

// ---------------------------------------------------------------------------------------
// 1. gitseal encrypts, sops decrypts: the same data as sops's own encryption.

#[test]
fn sops_decrypts_gitseal_json_and_dotenv_to_the_same_data_as_its_own() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    for f in all_corpus() {
        let r = (|| -> Result<(), String> {
            let plain = place(&fx, "plain", &f);
            let ours = try_run("gitseal encrypt", fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&plain))?;
            let theirs = try_run("sops encrypt", fx.sops().args(["encrypt", "--age", &fx.recipient]).args(f.sops_rule()).arg(&plain))?;
            let ours_path = fx.write(&format!("gitseal/{}", f.name), &ours);
            let theirs_path = fx.write(&format!("sops/{}", f.name), &theirs);

            let has_k8s_rule = utf8(&ours).contains(K8S_ENCRYPTED_REGEX);
            if has_k8s_rule != f.kubernetes {
                return Err(format!("Kubernetes rule in gitseal output: {has_k8s_rule}, expected {}", f.kubernetes));
            }

            let ours_plain = try_run("sops decrypt (gitseal file)", fx.sops().arg("decrypt").arg(&ours_path))?;
            let theirs_plain = try_run("sops decrypt (sops file)", fx.sops().arg("decrypt").arg(&theirs_path))?;
            let (a, b) = (normalise_line_ends(&f, &ours_plain), normalise_line_ends(&f, &theirs_plain));
            if a != b {
                return Err(format!("sops decrypts the gitseal file differently:\n{}", diff(&b, &a)));
            }

            let (a, b) = (signature(&f, &ours), signature(&f, &theirs));
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
fn gitseal_json_and_dotenv_round_trip_is_byte_identical() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    for f in all_corpus() {
        let r = (|| -> Result<(), String> {
            let plain = place(&fx, "plain", &f);
            let enc = try_run("gitseal encrypt", fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&plain))?;
            if !utf8(&enc).contains("ENC[AES256_GCM,") {
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
fn gitseal_decrypts_sops_json_and_dotenv_to_the_same_data() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    for f in all_corpus() {
        let r = (|| -> Result<(), String> {
            let plain = place(&fx, "plain", &f);
            let sops_enc = try_run("sops encrypt", fx.sops().args(["encrypt", "--age", &fx.recipient]).args(f.sops_rule()).arg(&plain))?;
            let sops_enc_path = fx.write(&format!("sops/{}", f.name), &sops_enc);
            let sops_plain = try_run("sops decrypt", fx.sops().arg("decrypt").arg(&sops_enc_path))?;

            let ours = try_run("gitseal decrypt (sops file)", fx.gitseal().arg("decrypt").arg(&sops_enc_path))?;
            let ours_text = utf8(&ours);
            if ours_text.contains("ENC[") || ours_text.contains("\"sops\"") || ours_text.contains("sops_version=") {
                return Err(format!("ciphertext or metadata left in the output:\n{ours_text}"));
            }
            check_layout_kept(utf8(&sops_enc), ours_text).map_err(|e| format!("layout not kept: {e}"))?;

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

/// sops writes JSON tab-indented; gitseal's decryption keeps that layout.
#[test]
fn gitseal_decrypt_of_sops_json_keeps_sops_layout() {
    let fx = Fixture::new();
    let f = corpus_file("registry-secret.json");
    let plain = place(&fx, "plain", &f);
    let enc_path = fx.write("sops/registry-secret.json", fx.sops_encrypt(&plain, &f.sops_rule()));
    let expected = fx.sops_decrypt(&enc_path);
    let ours = fx.decrypt(&enc_path);
    let ours_text = utf8(&ours);
    assert!(ours_text.contains("\n\t\"stringData\": {\n\t\t\"token\": \"demo-ci-token-5e2f\",\n"), "{ours_text}");
    assert!(ours_text.contains("\n\t\"metadata\": {\n\t\t\"name\": \"registry-credentials\",\n"), "{ours_text}");
    // Keys, order and every unencrypted line are sops's.
    let strip = |t: &str| {
        t.lines().filter(|l| !l.contains("\"token\"") && !l.contains("\"note\"") && !l.contains("\".dockerconfigjson\"")).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(strip(ours_text), strip(utf8(&expected)));
}

// ---------------------------------------------------------------------------------------
// 4. Stable ciphertext.

#[test]
fn encrypt_in_place_twice_leaves_json_and_dotenv_byte_identical() {
    let fx = Fixture::new();
    for f in all_corpus() {
        let path = place(&fx, "repo", &f);
        run("gitseal encrypt -i", fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&path));
    }
    let before: Vec<Vec<u8>> = all_corpus().iter().map(|f| fx.read(&format!("repo/{}", f.name))).collect();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for (f, before) in all_corpus().iter().zip(&before) {
        let path = fx.path(&format!("repo/{}", f.name));
        run("gitseal encrypt -i (again)", fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&path));
        let after = std::fs::read(&path).unwrap();
        assert!(&after == before, "{}: the second encrypt -i changed the file:\n{}", f.name, diff(utf8(before), utf8(&after)));
        fx.sops_decrypt(&path);
    }
}

/// Encrypts `f` in place, adds the plaintext `line` after the line starting with
/// `after_line`, runs `encrypt -i` again, and checks that only the new line (now
/// encrypted) and the sops stamps changed. `new_prefix` starts the new line.
fn check_added_line(fx: &Fixture, f: &CorpusFile, after_line: &str, line: &str, new_prefix: &str) {
    let path = place(fx, "repo", f);
    run("gitseal encrypt -i", fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&path));
    let before = std::fs::read(&path).unwrap();
    let old = lines(&before);
    let at = old.iter().position(|l| l.starts_with(after_line)).unwrap_or_else(|| panic!("no line {after_line:?} in {}", utf8(&before)));
    let mut edited = old.clone();
    edited.insert(at + 1, line.to_owned());
    std::fs::write(&path, edited.concat()).unwrap();

    run("gitseal encrypt -i (edited)", fx.gitseal().args(["encrypt", "-i"]).arg(&path));
    let after = std::fs::read(&path).unwrap();
    let new = lines(&after);
    assert_eq!(new.len(), old.len() + 1, "{}", utf8(&after));
    let added = multiset_minus(&new, &old);
    let removed = multiset_minus(&old, &new);
    let new_lines: Vec<_> = added.iter().filter(|l| l.starts_with(new_prefix)).collect();
    assert_eq!(new_lines.len(), 1, "added: {added:#?}");
    assert!(new_lines[0][new_prefix.len()..].trim_start_matches('"').starts_with("ENC[AES256_GCM,"), "{}", new_lines[0]);
    assert!(!utf8(&after).contains("brand-new-value"), "the new value is in the clear");
    for l in added.iter().filter(|l| !l.starts_with(new_prefix)).chain(&removed) {
        assert!(is_sops_stamp(l), "unexpected changed line {l:?}\nadded: {added:#?}\nremoved: {removed:#?}");
    }
    assert!(added.iter().any(|l| is_sops_stamp(l) && l.contains("mac")), "the MAC did not change: {added:#?}");
}

#[test]
fn adding_a_key_to_encrypted_json_changes_only_that_line_and_the_stamp() {
    let fx = Fixture::new();
    let f = corpus_file("registry-secret.json");
    check_added_line(&fx, &f, "  \"stringData\": {", "    \"NEW_TOKEN\": \"brand-new-value\",\n", "    \"NEW_TOKEN\": ");
    let plain = utf8(&fx.sops_decrypt(&fx.path("repo/registry-secret.json"))).to_owned();
    assert!(plain.contains("\"NEW_TOKEN\": \"brand-new-value\""), "{plain}");
}

#[test]
fn adding_a_key_to_encrypted_dotenv_changes_only_that_line_and_the_stamp() {
    let fx = Fixture::new();
    let f = corpus_file("app.env");
    check_added_line(&fx, &f, "REDIS_PASSWORD=", "NEW_TOKEN=brand-new-value\n", "NEW_TOKEN=");
    let plain = utf8(&fx.sops_decrypt(&fx.path("repo/app.env"))).to_owned();
    assert!(plain.contains("\nREDIS_PASSWORD=demo-redis-pass\nNEW_TOKEN=brand-new-value\n"), "{plain}");
}

#[test]
fn encrypting_changed_json_and_dotenv_onto_the_encrypted_file_changes_only_that_value() {
    let cases = [
        ("service-config.json", "\"password\": \"demo-billing-pass\"", "\"password\": \"demo-billing-rotated\"", "\"password\": \"ENC["),
        ("registry-secret.json", "\"token\": \"demo-ci-token-5e2f\"", "\"token\": \"demo-ci-token-rotated\"", "\"token\": \"ENC["),
        ("app.env", "REDIS_PASSWORD=demo-redis-pass", "REDIS_PASSWORD=demo-redis-rotated", "REDIS_PASSWORD=ENC["),
    ];
    for (name, from, to, enc_prefix) in cases {
        let fx = Fixture::new();
        let f = corpus_file(name);
        let plain = place(&fx, "plain", &f);
        let out = fx.path(&format!("repo/{name}"));
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let encrypt_onto = |fx: &Fixture| {
            run("gitseal encrypt -o", fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&plain).arg("-o").arg(&out));
            std::fs::read(&out).unwrap()
        };
        let first = encrypt_onto(&fx);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let same = encrypt_onto(&fx);
        assert!(first == same, "{name}: unchanged plaintext rewrote the file:\n{}", diff(utf8(&first), utf8(&same)));

        let changed = f.text().replacen(from, to, 1);
        assert_ne!(changed, f.text());
        std::fs::write(&plain, &changed).unwrap();
        let second = encrypt_onto(&fx);
        let (old, new) = (lines(&first), lines(&second));
        assert_eq!(old.len(), new.len(), "{name}");
        let differing: Vec<(&String, &String)> = old.iter().zip(&new).filter(|(a, b)| a != b).collect();
        let value_lines: Vec<_> = differing.iter().filter(|(a, _)| !is_sops_stamp(a)).collect();
        assert_eq!(value_lines.len(), 1, "{name}: changed lines: {differing:#?}");
        let (a, b) = value_lines[0];
        assert!(a.trim_start().starts_with(enc_prefix) && b.trim_start().starts_with(enc_prefix), "{name}: {a}{b}");
        for (a, b) in &differing {
            assert!(is_sops_stamp(a) == is_sops_stamp(b), "{name}: {a}{b}");
        }
        let sops_plain = utf8(&fx.sops_decrypt(&out)).to_owned();
        assert!(sops_plain.contains(to), "{name}: {sops_plain}");
        assert_eq!(utf8(&fx.decrypt(&out)), changed, "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// 5. Only the secret values change.

/// JSON Kubernetes files: every line before the `"sops"` member is the input's line,
/// except values inside the top-level `data`/`stringData` objects, which are now
/// `"ENC[...]"`, and a comma after the member that now precedes `"sops"`.
fn check_json_only_values_changed(plain: &str, enc: &str) -> Result<(), String> {
    let p: Vec<&str> = plain.split_inclusive('\n').collect();
    let e: Vec<&str> = enc.split_inclusive('\n').collect();
    let sops_at = e.iter().position(|l| l.trim_start().starts_with("\"sops\": {")).ok_or("no \"sops\" member")?;
    let last = p.len() - 1;
    if p[last].trim() != "}" {
        return Err("the input does not end with the top-level '}'".into());
    }
    if sops_at != last {
        return Err(format!("\"sops\" member at line {}, expected {}", sops_at + 1, last + 1));
    }
    if enc.ends_with('\n') != plain.ends_with('\n') {
        return Err("the final newline was not kept".into());
    }
    let member_indent = &p[1][..p[1].len() - p[1].trim_start().len()];
    let mut in_data = false;
    for i in 0..last {
        let (a, b) = (p[i], e[i]);
        let body = a.strip_prefix(member_indent).unwrap_or("");
        let is_member = !body.is_empty() && !body.starts_with([' ', '\t']);
        if is_member && (body.starts_with("\"data\": {") || body.starts_with("\"stringData\": {")) {
            in_data = true;
        } else if is_member && body.starts_with('}') {
            in_data = false;
        }
        let value_at = a.find("\": ").map(|x| x + 3);
        let ok = if i == last - 1 {
            // The member before "sops" gains a comma.
            b.trim_end() == format!("{},", a.trim_end())
        } else if in_data && !is_member && value_at.is_some_and(|v| a[v..].starts_with("\"") && !a[v..].starts_with("\"\"")) {
            let v = value_at.unwrap();
            b.starts_with(&a[..v]) && b[v..].starts_with("\"ENC[AES256_GCM,") && (b.trim_end().ends_with(',') == a.trim_end().ends_with(','))
        } else {
            a == b
        };
        if !ok {
            return Err(format!("line {}: {a:?} became {b:?}", i + 1));
        }
    }
    Ok(())
}

/// dotenv files (sops's default rule): comments and values are encrypted in place, keys,
/// empty values and `_unencrypted` keys are kept; the metadata lines are added.
fn check_dotenv_only_values_changed(plain: &str, enc: &str) -> Result<(), String> {
    let p: Vec<&str> = plain.lines().collect();
    let e: Vec<&str> = enc.lines().filter(|l| !l.starts_with("sops_")).collect();
    if p.len() != e.len() {
        return Err(format!("{} lines became {}", p.len(), e.len()));
    }
    if !enc.lines().any(|l| l.starts_with("sops_mac=ENC[AES256_GCM,")) || !enc.lines().any(|l| l.starts_with("sops_version=")) {
        return Err("no sops metadata".into());
    }
    for (a, b) in p.iter().zip(&e) {
        let ok = if a.is_empty() || *a == "#" {
            a == b
        } else if a.starts_with('#') {
            b.starts_with("#ENC[AES256_GCM,") && b.ends_with(",type:comment]")
        } else {
            let (key, value) = a.split_once('=').ok_or(format!("not KEY=VALUE: {a:?}"))?;
            if value.is_empty() || key.ends_with("_unencrypted") {
                a == b
            } else {
                b.strip_prefix(key).and_then(|r| r.strip_prefix('=')).is_some_and(|v| v.starts_with("ENC[AES256_GCM,") && v.ends_with(",type:str]"))
            }
        };
        if !ok {
            return Err(format!("{a:?} became {b:?}"));
        }
    }
    Ok(())
}

#[test]
fn encryption_changes_only_the_values_of_json_secrets_and_dotenv_files() {
    let fx = Fixture::new();
    let mut failures = Vec::new();
    for f in all_corpus().into_iter().filter(|f| f.kubernetes || is_dotenv(f)) {
        let r = (|| -> Result<(), String> {
            let path = place(&fx, "plain", &f);
            let enc = try_run("gitseal encrypt", fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&path))?;
            if is_dotenv(&f) {
                check_dotenv_only_values_changed(f.text(), utf8(&enc))
            } else {
                check_json_only_values_changed(f.text(), utf8(&enc))
            }
        })();
        if let Err(e) = r {
            failures.push(format!("{}: {e}", f.name));
        }
    }
    report_failures(failures);
}

// ---------------------------------------------------------------------------------------
// 6. --extract

#[test]
fn decrypt_extract_on_json_and_dotenv_prints_exactly_what_sops_prints() {
    let fx = Fixture::new();
    let cases = [
        ("registry-secret.json", r#"["stringData"]["token"]"#, "demo-ci-token-5e2f"),
        ("registry-secret.json", r#"["stringData"]["note"]"#, "café \"quoted\"\ttab"),
        ("service-config.json", r#"["database"]["password"]"#, "demo-billing-pass"),
        ("service-config.json", r#"["database"]["dsn"]"#, "postgres://billing@db.internal:5432/billing?sslmode=require&connect_timeout=10"),
        ("service-config.json", r#"["hosts"][1]"#, "b.example.com"),
        ("service-config.json", r#"["port"]"#, "8443"),
        ("app.env", r#"["REDIS_PASSWORD"]"#, "demo-redis-pass"),
        ("app.env", r#"["MULTILINE_ESCAPED"]"#, "line1\nline2"),
        ("app.env", r#"["QUOTED"]"#, "\"value with spaces\""),
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
// 7. Directories with every format

#[test]
fn encrypt_in_place_over_a_mixed_directory_tree() {
    let fx = Fixture::new();
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (i, f) in all_corpus().iter().enumerate() {
        let dir = ["repo/apps/billing", "repo/apps/worker/config", "repo/clusters/prod"][i % 3];
        files.push((fx.write(&format!("{dir}/{}", f.name), &f.bytes), f.bytes.clone()));
    }
    let env = corpus_file("app.env");
    files.push((fx.write("repo/apps/worker/.env", &env.bytes), env.bytes.clone()));
    for f in corpus("", &[".yaml"]).into_iter().take(4) {
        files.push((fx.write(&format!("repo/clusters/prod/{}", f.name), &f.bytes), f.bytes.clone()));
    }

    run("gitseal encrypt -i DIR", fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(fx.path("repo")));
    for (path, plain) in &files {
        let enc = std::fs::read(path).unwrap();
        assert_ne!(&enc, plain, "{} was not encrypted", path.display());
        let out = fx.sops().arg("decrypt").arg(path).output().unwrap();
        assert_success(&format!("sops decrypt {}", path.display()), &out);
    }
    run("gitseal decrypt -i DIR", fx.gitseal().args(["decrypt", "-i"]).arg(fx.path("repo")));
    for (path, plain) in &files {
        assert!(&std::fs::read(path).unwrap() == plain, "{} not restored", path.display());
    }
}
