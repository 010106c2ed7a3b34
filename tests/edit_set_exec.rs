//! `edit`, `set`/`unset` and `exec-env`, driving the real binary. Editors are small shell
//! scripts written by the tests; results are decrypted with the real sops.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{assert_success, stderr, Fixture};

const SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: app # the name
  namespace: prod
type: Opaque
data:
  blob: aGVsbG8=
stringData:
  token: t0k3n
  cert: |
    line one
    line two
  password: \"p w\"
  port: \"5432\"
";

/// The `(line prefix, ENC[...])` of every encrypted value, MAC excluded.
fn ciphertexts(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| l.contains("ENC[") && !l.trim_start().starts_with("mac:"))
        .map(|l| {
            let at = l.find("ENC[").unwrap();
            (l[..at].to_owned(), l[at..].to_owned())
        })
        .collect()
}

fn ciphertext_of<'a>(all: &'a [(String, String)], prefix: &str) -> &'a str {
    &all.iter().find(|(p, _)| p == prefix).unwrap_or_else(|| panic!("no value {prefix:?} in {all:?}")).1
}

/// An encrypted copy of `plain` at `name`.
fn encrypted(fx: &Fixture, name: &str, plain: &str) -> PathBuf {
    let p = fx.write(name, plain);
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&p).output().unwrap());
    p
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// An executable script in the fixture directory.
fn script(fx: &Fixture, name: &str, body: &str) -> PathBuf {
    let p = fx.write(name, format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// A runtime directory owned by the test, where gitseal must put (and remove) its copy. On
/// tmpfs (/dev/shm): gitseal takes `$XDG_RUNTIME_DIR` only when it is memory-backed.
struct RuntimeDir(tempfile::TempDir);

impl std::ops::Deref for RuntimeDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

fn runtime_dir() -> RuntimeDir {
    let d = tempfile::Builder::new().prefix("gitseal-test-runtime-").tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    RuntimeDir(d)
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "plaintext left behind: {left:?}");
}

/// `gitseal edit` with `editor` as $EDITOR and the test's runtime directory.
fn edit_cmd(fx: &Fixture, editor: &str, runtime: &Path) -> Command {
    let mut c = fx.gitseal();
    c.arg("edit").env("EDITOR", editor).env_remove("SOPS_EDITOR").env("XDG_RUNTIME_DIR", runtime);
    c
}

fn sops_decrypt(fx: &Fixture, p: &Path) -> String {
    String::from_utf8(fx.sops_decrypt(p)).unwrap()
}

fn gitseal_decrypt(fx: &Fixture, p: &Path) -> String {
    String::from_utf8(fx.decrypt(p)).unwrap()
}

fn sops_extract(fx: &Fixture, p: &Path, path: &str) -> Vec<u8> {
    let out = fx.sops().args(["decrypt", "--extract", path]).arg(p).output().unwrap();
    assert_success("sops decrypt --extract", &out);
    out.stdout
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

// ---------------------------------------------------------------------------------------
// edit

#[test]
fn edit_reencrypts_the_changed_value_only_and_leaves_no_plaintext() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = read(&p);
    let log = fx.path("editor.log");
    let ed = script(
        &fx,
        "ed.sh",
        &format!("stat -c '%a' \"$(dirname \"$1\")\" \"$1\" > {log}\necho \"$1\" >> {log}\nsed -i 's/t0k3n/n3w-t0k3n/' \"$1\"", log = log.display()),
    );
    let out = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).arg(&p).output().unwrap();
    assert_success("gitseal edit", &out);

    // The editor got a 0600 copy named like the original, in a 0700 directory under the
    // runtime directory.
    let log = read(&log);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(&lines[..2], ["700", "600"], "{log}");
    assert!(lines[2].starts_with(runtime.to_str().unwrap()) && lines[2].ends_with("/app.yaml"), "{log}");
    assert_empty(&runtime);

    let after = read(&p);
    let (b, a) = (ciphertexts(&before), ciphertexts(&after));
    assert_eq!(b.len(), a.len());
    assert_ne!(ciphertext_of(&b, "  token: "), ciphertext_of(&a, "  token: "));
    for (prefix, enc) in &b {
        if prefix != "  token: " {
            assert_eq!(enc, ciphertext_of(&a, prefix), "{prefix} changed its ciphertext");
        }
    }
    assert_eq!(gitseal_decrypt(&fx, &p), SECRET.replace("t0k3n", "n3w-t0k3n"));
    sops_decrypt(&fx, &p);
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["token"]"#), b"n3w-t0k3n");
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["cert"]"#), b"line one\nline two\n");
}

#[test]
fn edit_splits_the_editor_variable_like_a_shell() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let ed = script(&fx, "my editor.sh", &format!("echo \"$1\" > {}\nsed -i 's/p w/q r/' \"$2\"", fx.path("args").display()));
    // SOPS_EDITOR wins over EDITOR.
    let sops_editor = format!("'{}' --wait", ed.display());
    let out = edit_cmd(&fx, "false", &runtime).env("SOPS_EDITOR", sops_editor).arg(&p).output().unwrap();
    assert_success("gitseal edit", &out);
    assert_eq!(read(&fx.path("args")), "--wait\n");
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["password"]"#), b"q r");
    assert_empty(&runtime);
}

#[test]
fn edit_with_invalid_yaml_and_no_terminal_exits_3_and_keeps_the_file() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    let ed = script(&fx, "ed.sh", "printf 'broken: [\\n' >> \"$1\"");
    let out = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).arg(&p).output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    // The error points into the edited text (which has 17 lines) and the file is left alone.
    assert!(stderr(&out).contains("app.yaml:17:") || stderr(&out).contains("app.yaml:18:"), "{}", stderr(&out));
    assert!(stderr(&out).contains("left unchanged"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_empty(&runtime);
}

#[test]
fn edit_with_invalid_yaml_on_a_terminal_offers_to_reopen_the_editor() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let runs = fx.path("runs");
    // First run: break the YAML. Second run (after "y"): repair it and change a value.
    let ed = script(
        &fx,
        "ed.sh",
        &format!(
            "echo run >> {runs}\nif [ \"$(wc -l < {runs})\" -eq 1 ]; then printf 'broken: [\\n' >> \"$1\"; else sed -i -e '/^broken: \\[$/d' -e 's/t0k3n/second-try/' \"$1\"; fi",
            runs = runs.display()
        ),
    );
    // `script` gives gitseal a terminal; the answer waits in it until gitseal asks.
    let edit = edit_cmd(&fx, ed.to_str().unwrap(), &runtime);
    let mut c = Command::new(common::require_peer("script"));
    for (k, v) in edit.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.current_dir(fx.dir.path());
    c.args(["-qec", &format!("exec '{}' edit '{}'", common::gitseal_bin(), p.display()), "/dev/null"]);
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), Some(0), "{shown}{}", stderr(&out));
    assert!(shown.contains("app.yaml:17:") && shown.contains("Reopen the editor?"), "{shown}");
    assert_eq!(read(&runs), "run\nrun\n");
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["token"]"#), b"second-try");
    assert_empty(&runtime);
}

#[test]
fn edit_with_bad_base64_in_data_is_refused() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    let ed = script(&fx, "ed.sh", "sed -i 's/aGVsbG8=/not*base64/' \"$1\"");
    let out = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).arg(&p).output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("app.yaml:8:") && stderr(&out).contains("\"blob\""), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not*base64"), "the value leaked: {}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_empty(&runtime);
}

#[test]
fn edit_when_the_editor_fails_changes_nothing() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    let ed = script(&fx, "ed.sh", "sed -i 's/t0k3n/changed/' \"$1\"\nexit 4");
    let out = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).arg(&p).output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("exited with status 4") && stderr(&out).contains("left unchanged"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_empty(&runtime);

    // An editor that cannot be started.
    let out = edit_cmd(&fx, "/nonexistent/editor", &runtime).arg(&p).output().unwrap();
    assert_eq!(code(&out), Some(127), "{}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_empty(&runtime);
}

#[test]
fn edit_when_the_editor_is_killed_by_a_signal_changes_nothing() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    let ed = script(&fx, "ed.sh", "sed -i 's/t0k3n/changed/' \"$1\"\nkill -KILL $$");
    let out = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).arg(&p).output().unwrap();
    assert_eq!(code(&out), Some(137), "{}", stderr(&out));
    assert!(stderr(&out).contains("stopped by signal 9") && stderr(&out).contains("left unchanged"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_empty(&runtime);
}

#[test]
fn edit_interrupted_by_ctrl_c_removes_the_plaintext() {
    use std::os::unix::process::CommandExt;
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    // A terminal's Ctrl-C signals the whole foreground process group: gitseal and the
    // editor. gitseal runs in a group of its own here so that the test is not hit.
    let ed = script(&fx, "ed.sh", "sed -i 's/t0k3n/changed/' \"$1\"\nkill -INT 0\nsleep 5");
    let err = std::fs::File::create(fx.path("stderr")).unwrap();
    let status = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).arg(&p).process_group(0).stdout(Stdio::null()).stderr(err).status().unwrap();
    let msg = read(&fx.path("stderr"));
    assert_eq!(status.code(), Some(130), "{status:?} {msg}");
    assert!(msg.contains("unchanged"), "{msg}");
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_empty(&runtime);
}

#[test]
fn edit_terminated_by_sigterm_removes_the_plaintext() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    // The editor changes the copy, then has gitseal (its parent) terminated.
    let ed = script(&fx, "ed.sh", "sed -i 's/t0k3n/changed/' \"$1\"\nkill -TERM $PPID\nsleep 5");
    let err = std::fs::File::create(fx.path("stderr")).unwrap();
    // Not `output()`: the editor's `sleep` may outlive gitseal holding its pipes.
    let status = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).arg(&p).stdout(Stdio::null()).stderr(err).status().unwrap();
    let msg = read(&fx.path("stderr"));
    assert_eq!(status.code(), Some(143), "{status:?} {msg}");
    assert!(msg.contains("signal 15") && msg.contains("unchanged"), "{msg}");
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_empty(&runtime);
}

#[test]
fn edit_without_changes_leaves_the_file_byte_identical() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    let out = edit_cmd(&fx, "true", &runtime).arg(&p).output().unwrap();
    assert_success("gitseal edit", &out);
    assert!(stderr(&out).contains("no changes"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert_empty(&runtime);
}

/// The permission bits a new file gets under this process's umask.
fn expected_new_file_mode() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let umask = status.lines().find(|l| l.starts_with("Umask:")).map(|l| u32::from_str_radix(l[6..].trim(), 8).unwrap()).unwrap();
    0o666 & !umask
}

#[test]
fn edit_of_a_new_file_starts_from_a_secret_template() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    let p = fx.path("db-credentials.yaml");
    let ed = script(&fx, "ed.sh", &format!("cp \"$1\" {}\nsed -i 's/example-value/s3cr3t/' \"$1\"", fx.path("template").display()));
    let out = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).args(["--age", &fx.recipient]).arg(&p).output().unwrap();
    assert_success("gitseal edit NEW", &out);
    assert_empty(&runtime);
    let template = read(&fx.path("template"));
    for want in
        ["apiVersion: v1\n", "kind: Secret\n", "  name: db-credentials\n", "  namespace: ", "type: Opaque\n", "stringData:\n  example-key: example-value\n"]
    {
        assert!(template.contains(want), "{want:?} missing from the template:\n{template}");
    }
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["example-key"]"#), b"s3cr3t");
    assert!(!read(&p).contains("s3cr3t"));
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, expected_new_file_mode());
}

#[test]
fn edit_of_a_new_file_uses_the_creation_rule_and_an_unchanged_template_creates_nothing() {
    let fx = Fixture::new();
    let runtime = runtime_dir();
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: {}\n", fx.recipient));
    std::fs::create_dir_all(fx.path("secrets")).unwrap();
    let p = fx.path("secrets/new.yaml");

    let out = edit_cmd(&fx, "true", &runtime).arg(&p).output().unwrap();
    assert_success("gitseal edit NEW (unchanged)", &out);
    assert!(!p.exists(), "an unchanged template created a file");
    assert!(stderr(&out).contains("nothing created"), "{}", stderr(&out));

    let ed = script(&fx, "ed.sh", "sed -i 's/example-value/from-rule/' \"$1\"");
    let out = edit_cmd(&fx, ed.to_str().unwrap(), &runtime).arg(&p).output().unwrap();
    assert_success("gitseal edit NEW", &out);
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["example-key"]"#), b"from-rule");
    assert_empty(&runtime);

    // No rule matches and no --age: refused before any editor runs.
    let out = edit_cmd(&fx, "false", &runtime).arg(fx.path("elsewhere.yaml")).output().unwrap();
    assert_eq!(code(&out), Some(7), "{}", stderr(&out));
    assert!(!fx.path("elsewhere.yaml").exists());
}

// ---------------------------------------------------------------------------------------
// set / unset

fn set(fx: &Fixture, p: &Path, args: &[&str]) -> Output {
    fx.gitseal().arg("set").arg(p).args(args).output().unwrap()
}

#[test]
fn set_replaces_a_value_and_every_other_value_keeps_its_ciphertext() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = ciphertexts(&read(&p));
    let out = set(&fx, &p, &[r#"["stringData"]["token"]"#, "rotated"]);
    assert_success("gitseal set", &out);
    assert!(!stderr(&out).contains("rotated"));
    let after = ciphertexts(&read(&p));
    assert_eq!(before.len(), after.len());
    for (prefix, enc) in &before {
        if prefix != "  token: " {
            assert_eq!(enc, ciphertext_of(&after, prefix), "{prefix} changed its ciphertext");
        }
    }
    assert_eq!(gitseal_decrypt(&fx, &p), SECRET.replace("t0k3n", "rotated"));
    assert!(sops_decrypt(&fx, &p).contains("    token: rotated\n"));
}

#[test]
fn set_takes_a_sops_style_json_string_or_raw_text() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    // As `sops set` wants it: a JSON string, quotes and escapes decoded.
    assert_success("gitseal set JSON string", &set(&fx, &p, &[r#"["stringData"]["token"]"#, r#""a \"quoted\" value""#]));
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["token"]"#), br#"a "quoted" value"#);
    // Raw text is taken as it is, and a number stays a string.
    assert_success("gitseal set raw", &set(&fx, &p, &[r#"["stringData"]["port"]"#, "6543"]));
    assert!(gitseal_decrypt(&fx, &p).contains("  port: \"6543\"\n"));
    assert!(!read(&p).contains("type:int]"));
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["port"]"#), b"6543");
    // Both forms with --base64 encode the decoded text.
    assert_success("gitseal set --base64 JSON string", &set(&fx, &p, &["--base64", r#"["data"]["blob"]"#, r#""hi""#]));
    assert_eq!(sops_extract(&fx, &p, r#"["data"]["blob"]"#), b"aGk=");
}

#[test]
fn set_adds_a_missing_key_at_the_parent_indentation() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = ciphertexts(&read(&p));
    assert_success("gitseal set", &set(&fx, &p, &[r#"["stringData"]["api-key"]"#, "k-123"]));
    let expected = format!("{SECRET}  api-key: k-123\n");
    assert_eq!(gitseal_decrypt(&fx, &p), expected);
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["api-key"]"#), b"k-123");
    let after = ciphertexts(&read(&p));
    for (prefix, enc) in &before {
        assert_eq!(enc, ciphertext_of(&after, prefix), "{prefix} changed its ciphertext");
    }

    // Missing intermediate mappings are created.
    let q = encrypted(&fx, "bare.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bare\n");
    assert_success("gitseal set", &set(&fx, &q, &[r#"["stringData"]["token"]"#, "x y"]));
    assert_eq!(gitseal_decrypt(&fx, &q), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bare\nstringData:\n  token: x y\n");
    assert_eq!(sops_extract(&fx, &q, r#"["stringData"]["token"]"#), b"x y");
}

#[test]
fn set_value_stdin_strips_one_newline_and_value_file_keeps_every_byte() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let mut child = fx
        .gitseal()
        .args(["set", "--value-stdin"])
        .arg(&p)
        .arg(r#"["stringData"]["token"]"#)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"from stdin\n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_success("gitseal set --value-stdin", &out);
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["token"]"#), b"from stdin\n");

    let vf = fx.write("value.txt", "multi\nline\n");
    assert_success("gitseal set --value-file", &set(&fx, &p, &["--value-file", vf.to_str().unwrap(), r#"["stringData"]["password"]"#]));
    assert_eq!(sops_extract(&fx, &p, r#"["stringData"]["password"]"#), b"multi\nline\n");
    assert!(gitseal_decrypt(&fx, &p).contains("  password: \"multi\\nline\\n\"\n"));
}

#[test]
fn set_under_secret_data_demands_base64_or_encodes_it() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    let out = set(&fx, &p, &[r#"["data"]["blob"]"#, "Plain Text!"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--base64") && stderr(&out).contains("stringData"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Plain Text!"));
    assert_eq!(std::fs::read(&p).unwrap(), before);

    assert_success("gitseal set --base64", &set(&fx, &p, &["--base64", r#"["data"]["blob"]"#, "Plain Text!"]));
    assert_eq!(sops_extract(&fx, &p, r#"["data"]["blob"]"#), b"UGxhaW4gVGV4dCE=");
    assert_success("gitseal set base64", &set(&fx, &p, &[r#"["data"]["new"]"#, "d29ybGQ="]));
    assert_eq!(sops_extract(&fx, &p, r#"["data"]["new"]"#), b"d29ybGQ=");
}

#[test]
fn set_json_values_are_typed_like_sops_set() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "conf.yaml", "db:\n  port: \"5432\"\n  name: app\n");
    assert_success("set --json 42", &set(&fx, &p, &["--json", r#"["db"]["port"]"#, "6543"]));
    assert_success("set --json true", &set(&fx, &p, &["--json", r#"["db"]["tls"]"#, "true"]));
    assert_success("set --json string", &set(&fx, &p, &["--json", r#"["db"]["name"]"#, "\"quoted\""]));
    assert_eq!(gitseal_decrypt(&fx, &p), "db:\n  port: 6543\n  name: quoted\n  tls: true\n");
    assert_eq!(sops_decrypt(&fx, &p), "db:\n    port: 6543\n    name: quoted\n    tls: true\n");
    assert!(read(&p).contains("type:int]") && read(&p).contains("type:bool]"));

    let before = std::fs::read(&p).unwrap();
    let out = set(&fx, &p, &["--json", r#"["db"]["obj"]"#, "{\"a\": 1}"]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("objects and arrays"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[test]
fn unset_removes_the_key_with_its_lines_and_a_missing_path_exits_3() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = ciphertexts(&read(&p));
    let out = fx.gitseal().arg("unset").arg(&p).arg(r#"["stringData"]["cert"]"#).output().unwrap();
    assert_success("gitseal unset", &out);
    let expected = SECRET.replace("  cert: |\n    line one\n    line two\n", "");
    assert_eq!(gitseal_decrypt(&fx, &p), expected);
    let by_sops = sops_decrypt(&fx, &p);
    assert!(!by_sops.contains("cert") && by_sops.contains("    password: p w\n"), "{by_sops}");
    let after = ciphertexts(&read(&p));
    assert_eq!(after.len(), before.len() - 1);
    for (prefix, enc) in &after {
        assert_eq!(enc, ciphertext_of(&before, prefix), "{prefix} changed its ciphertext");
    }

    let unchanged = std::fs::read(&p).unwrap();
    let out = fx.gitseal().arg("unset").arg(&p).arg(r#"["stringData"]["missing"]"#).output().unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains(r#"["stringData"]["missing"]"#), "{}", stderr(&out));
    assert_eq!(std::fs::read(&p).unwrap(), unchanged);
}

#[test]
fn set_and_unset_in_json_and_dotenv_files() {
    let fx = Fixture::new();
    let j =
        encrypted(&fx, "s.json", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"stringData\": {\n    \"a\": \"1\",\n    \"b\": \"2\"\n  }\n}\n");
    assert_success("set json", &set(&fx, &j, &[r#"["stringData"]["c"]"#, "three"]));
    assert_success("unset json", &fx.gitseal().arg("unset").arg(&j).arg(r#"["stringData"]["a"]"#).output().unwrap());
    let want = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"stringData\": {\n    \"b\": \"2\",\n    \"c\": \"three\"\n  }\n}\n";
    assert_eq!(gitseal_decrypt(&fx, &j), want);
    assert_eq!(sops_extract(&fx, &j, r#"["stringData"]["c"]"#), b"three");

    let e = encrypted(&fx, "app.env", "A=1\n# comment\nB=2\n");
    assert_success("set env", &set(&fx, &e, &[r#"["A"]"#, "one\ntwo"]));
    assert_success("set env new", &set(&fx, &e, &[r#"["C"]"#, "3"]));
    assert_success("unset env", &fx.gitseal().arg("unset").arg(&e).arg(r#"["B"]"#).output().unwrap());
    assert_eq!(gitseal_decrypt(&fx, &e), "A=one\\ntwo\n# comment\nC=3\n");
    assert_eq!(sops_decrypt(&fx, &e), "A=one\\ntwo\n# comment\nC=3\n");
}

#[test]
fn set_error_messages_never_contain_the_value() {
    const VALUE: &str = "Sup3r-S3cret-V4lue\\n";
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let e = encrypted(&fx, "app.env", "A=1\n");
    let plain = fx.write("plain.yaml", SECRET);
    let cases: Vec<(&Path, Vec<&str>)> = vec![
        (&p, vec![r#"["data"]["blob"]"#, VALUE]),
        (&p, vec![r#"["stringData"]"#, VALUE]),
        (&p, vec![r#"["stringData"]["token"]["deeper"]"#, VALUE]),
        (&p, vec!["--json", r#"["stringData"]["token"]"#, VALUE]),
        (&p, vec![r#"["items"][3]"#, VALUE]),
        (&p, vec!["not a path", VALUE]),
        (&e, vec![r#"["A"]"#, VALUE]),
        (&plain, vec![r#"["stringData"]["token"]"#, VALUE]),
    ];
    for (file, args) in cases {
        let before = std::fs::read(file).unwrap();
        let out = set(&fx, file, &args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(!all.contains("S3cret"), "{args:?}: the value is in the output: {all}");
        assert!(all.contains("gitseal: error:"), "{args:?}: no error message: {all}");
        assert_eq!(std::fs::read(file).unwrap(), before, "{args:?} changed the file");
    }
}

// ---------------------------------------------------------------------------------------
// exec-env

fn exec_env(fx: &Fixture, p: &Path, cmd: &[&str]) -> Output {
    fx.gitseal().arg("exec-env").arg(p).arg("--").args(cmd).output().unwrap()
}

#[test]
fn exec_env_gives_string_data_and_decoded_data_to_the_command() {
    let fx = Fixture::new();
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  BLOB: aGVsbG8gd29ybGQ=\n  .dockerconfigjson: e30=\nstringData:\n  TOKEN: t0k3n with spaces\n  CERT: |\n    a\n    b\n";
    let p = encrypted(&fx, "s.yaml", secret);
    let out = exec_env(&fx, &p, &["sh", "-c", "printf '%s|%s|%s' \"$TOKEN\" \"$BLOB\" \"$CERT\""]);
    assert_success("exec-env", &out);
    assert_eq!(String::from_utf8(out.stdout.clone()).unwrap(), "t0k3n with spaces|hello world|a\nb\n");
    assert!(stderr(&out).contains("\".dockerconfigjson\" skipped"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("e30="));
}

#[test]
fn exec_env_propagates_exit_codes_and_signals() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.env", "A=1\n");
    assert_eq!(code(&exec_env(&fx, &p, &["sh", "-c", "exit 7"])), Some(7));
    assert_eq!(code(&exec_env(&fx, &p, &["sh", "-c", "test \"$A\" = 1"])), Some(0));
    // gitseal blocks signals in its own threads; the command must start with none blocked.
    let out = exec_env(&fx, &p, &["sh", "-c", "grep SigBlk /proc/self/status; kill -TERM $$"]);
    assert_eq!(code(&out), Some(143), "{:?} {}", out.status.signal(), stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>(), ["SigBlk:", "0000000000000000"]);
    assert_eq!(code(&exec_env(&fx, &p, &["/nonexistent/command"])), Some(127));
}

#[test]
fn exec_env_pristine_passes_only_the_file_values() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "conf.yaml", "A: one\nB: 2\nnested:\n  C: 3\n");
    let env = common::require_peer("env");
    let out = fx.gitseal().args(["exec-env", "--pristine"]).arg(&p).args(["--", &env]).output().unwrap();
    assert_success("exec-env --pristine", &out);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "A=one\nB=2\n");
    let out = exec_env(&fx, &p, &[&env]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("A=one\n") && text.contains("HOME="), "{text}");
}

#[test]
fn exec_env_refuses_data_that_is_not_base64_naming_the_key_only() {
    let fx = Fixture::new();
    // sops itself does not check Secret data, so it can write such a file.
    let plain = fx.write("bad.yaml", "apiVersion: v1\nkind: Secret\ndata:\n  TOKEN: not*base64*value\n");
    let enc = fx.sops_encrypt(&plain, &["--encrypted-regex", "^(data|stringData)$"]);
    let p = fx.write("bad.enc.yaml", enc);
    let out = exec_env(&fx, &p, &["sh", "-c", "echo ran"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("\"TOKEN\"") && stderr(&out).contains("base64"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("not*base64") && out.stdout.is_empty());
}
