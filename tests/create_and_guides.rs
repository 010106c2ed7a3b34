//! `gitseal create` and the scenario guides in docs/guides/.
//!
//! Every created file is decrypted with the real `sops` and checked. The guides' `sh`
//! blocks are run in order, as a user would paste them, in a fresh Git repository; what
//! they produce is checked the same way, so the guides cannot drift from the tool.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{assert_success, gitseal_bin, require_peer, stderr, Fixture};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Helpers

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_key() -> PathBuf {
    repo_root().join("keys-example").join("demo.agekey")
}

fn demo_recipient() -> String {
    std::fs::read_to_string(repo_root().join("keys-example").join("demo.agekey.pub")).unwrap().trim().to_owned()
}

/// The same command, run in a new session: it has no controlling terminal, so opening
/// /dev/tty fails as it does in CI, whether or not the tests run from a terminal.
fn without_terminal(c: &Command) -> Command {
    let mut w = Command::new(require_peer("setsid"));
    w.arg("-w").arg(c.get_program()).args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    if let Some(d) = c.get_current_dir() {
        w.current_dir(d);
    }
    w.stdin(Stdio::null());
    w
}

/// `gitseal create ARGS` with the fixture's key, no terminal, stdin empty.
fn create(f: &Fixture, args: &[&str]) -> Output {
    let mut c = f.gitseal();
    c.arg("create").args(args);
    without_terminal(&c).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The real sops's decryption of `file`, as JSON.
fn sops_json(mut sops: Command, file: &Path) -> Value {
    let out = sops.args(["decrypt", "--output-type", "json"]).arg(file).output().unwrap();
    assert_success("sops decrypt", &out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The decoded `data` value under `key`.
fn data_value(secret: &Value, key: &str) -> Vec<u8> {
    let b64 = secret["data"][key].as_str().unwrap_or_else(|| panic!("no data[{key:?}] in {secret}"));
    B64.decode(b64).unwrap()
}

fn data_keys(secret: &Value) -> Vec<String> {
    secret["data"].as_object().unwrap().keys().cloned().collect()
}

fn is_hex_token(s: &str, hex_len: usize) -> bool {
    s.len() == hex_len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Fails when `needle` (or its base64) appears in `haystack`.
fn assert_absent(what: &str, haystack: &str, needle: &[u8]) {
    let plain = String::from_utf8_lossy(needle);
    assert!(!haystack.contains(&*plain), "{what} contains a plaintext value");
    assert!(!haystack.contains(&B64.encode(needle)), "{what} contains a plaintext value in base64");
}

#[cfg(unix)]
fn mode_of(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------
// create generic

#[test]
fn generic_from_literal_file_env_file_and_random() {
    let f = Fixture::new();
    f.write("tls.crt", "-----BEGIN CERTIFICATE-----\nMIIBcertificate-body-7c1e\n-----END CERTIFICATE-----\n");
    f.write("ca.pem", b"\x00\x01binary-ca-\xff");
    f.write("app.env", "# settings\n\nDB_USER=app-user-4417\n  DB_PASSWORD=pw=with=equals-93\r\nEMPTY=\n");
    let out = create(
        &f,
        &[
            "generic",
            "app",
            "-n",
            "web",
            "--age",
            &f.recipient,
            "--from-literal",
            "api-key=literal-secret-51f0",
            "--from-file",
            "tls.crt",
            "--from-file",
            "ca.crt=ca.pem",
            "--from-env-file",
            "app.env",
            "--random",
            "token",
            "--random",
            "session:48",
            "--label",
            "app.kubernetes.io/name=web",
            "--annotation",
            "owner=platform team",
        ],
    );
    assert_success("create generic", &out);
    let stdout = text(&out.stdout);
    f.write("app.yaml", &out.stdout);
    let secret = sops_json(f.sops(), &f.path("app.yaml"));

    assert_eq!(secret["metadata"]["name"], "app");
    assert_eq!(secret["metadata"]["namespace"], "web");
    assert_eq!(secret["metadata"]["labels"]["app.kubernetes.io/name"], "web");
    assert_eq!(secret["metadata"]["annotations"]["owner"], "platform team");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(data_keys(&secret), ["DB_PASSWORD", "DB_USER", "EMPTY", "api-key", "ca.crt", "session", "tls.crt", "token"]);
    assert_eq!(data_value(&secret, "api-key"), b"literal-secret-51f0");
    assert_eq!(data_value(&secret, "tls.crt"), f.read("tls.crt"));
    assert_eq!(data_value(&secret, "ca.crt"), b"\x00\x01binary-ca-\xff");
    assert_eq!(data_value(&secret, "DB_USER"), b"app-user-4417");
    assert_eq!(data_value(&secret, "DB_PASSWORD"), b"pw=with=equals-93");
    assert_eq!(data_value(&secret, "EMPTY"), b"");
    let token = String::from_utf8(data_value(&secret, "token")).unwrap();
    let session = String::from_utf8(data_value(&secret, "session")).unwrap();
    assert!(is_hex_token(&token, 64), "{token}");
    assert!(is_hex_token(&session, 96), "{session}");

    // Nothing readable in the output or on stderr, and metadata stays readable.
    for v in [&b"literal-secret-51f0"[..], b"MIIBcertificate-body-7c1e", b"app-user-4417", b"pw=with=equals-93", token.as_bytes(), session.as_bytes()] {
        assert_absent("stdout", &stdout, v);
        assert_absent("stderr", &stderr(&out), v);
    }
    assert!(stdout.contains("  name: app\n") && stdout.contains("encrypted_regex: ^(data|stringData)$"), "{stdout}");
    // gitseal reads its own output too.
    let own = f.decrypt(&f.path("app.yaml"));
    assert!(text(&own).contains("kind: Secret"));
}

#[test]
fn random_tokens_differ_per_run() {
    let f = Fixture::new();
    let mut tokens = Vec::new();
    for name in ["a.yaml", "b.yaml"] {
        let out = create(&f, &["generic", "t", "--age", &f.recipient, "--random", "token", "-o", name]);
        assert_success("create generic --random", &out);
        let secret = sops_json(f.sops(), &f.path(name));
        let token = String::from_utf8(data_value(&secret, "token")).unwrap();
        assert!(is_hex_token(&token, 64), "{token}");
        assert!(!stderr(&out).contains(&token));
        tokens.push(token);
    }
    assert_ne!(tokens[0], tokens[1]);
}

#[test]
fn generic_from_file_directory_takes_regular_files_only() {
    let f = Fixture::new();
    f.write("conf/user", "dir-user-1");
    f.write("conf/password.txt", "dir-password-2");
    f.write("conf/nested/ignored", "nested");
    #[cfg(unix)]
    std::os::unix::fs::symlink(f.path("conf/user"), f.path("conf/link")).unwrap();
    let out = create(&f, &["generic", "from-dir", "--age", &f.recipient, "--from-file", "conf"]);
    assert_success("create generic --from-file DIR", &out);
    f.write("d.yaml", &out.stdout);
    let secret = sops_json(f.sops(), &f.path("d.yaml"));
    assert_eq!(data_keys(&secret), ["password.txt", "user"]);
    assert_eq!(data_value(&secret, "password.txt"), b"dir-password-2");
}

#[test]
fn values_that_read_as_numbers_stay_strings() {
    // base64("\xd7\x6d\xf8") is "1234": YAML would read it as an integer unless quoted,
    // and the API server wants a string.
    let f = Fixture::new();
    f.write("v", b"\xd7\x6d\xf8");
    let out = create(&f, &["generic", "n", "--age", &f.recipient, "--from-file", "1234=v", "--from-literal", "true=x"]);
    assert_success("create generic", &out);
    f.write("n.yaml", &out.stdout);
    let secret = sops_json(f.sops(), &f.path("n.yaml"));
    assert_eq!(secret["data"]["1234"], "1234");
    assert_eq!(data_value(&secret, "1234"), b"\xd7\x6d\xf8");
    assert_eq!(data_value(&secret, "true"), b"x");
}

// ---------------------------------------------------------------------------------------
// create docker-registry

/// What `kubectl create secret docker-registry` puts in `.dockerconfigjson`: Go's
/// json.Marshal of kubectl's DockerConfigJSON (compact, field order username, password,
/// email, auth; email omitted when empty; <, > and & escaped).
fn kubectl_dockerconfigjson(server: &str, user: &str, password_json: &str, password_raw: &str, email: Option<&str>) -> String {
    let auth = B64.encode(format!("{user}:{password_raw}"));
    let email = email.map(|e| format!(",\"email\":\"{e}\"")).unwrap_or_default();
    format!("{{\"auths\":{{\"{server}\":{{\"username\":\"{user}\",\"password\":\"{password_json}\"{email},\"auth\":\"{auth}\"}}}}}}")
}

#[test]
fn docker_registry_matches_kubectl_layout() {
    let f = Fixture::new();
    let mut c = f.gitseal();
    c.args([
        "create",
        "docker-registry",
        "harbor-pull",
        "-n",
        "apps",
        "--docker-server",
        "harbor.example.com",
        "--docker-username",
        "robot$gitops+pull",
        "--docker-email",
        "ops@example.com",
        "--password-stdin",
        "--age",
        &f.recipient,
        "-o",
        "pull.yaml",
    ]);
    let out = common::output_with_stdin(without_terminal(&c), b"Pa<ss>&\"w0rd-6b2e\n");
    assert_success("create docker-registry", &out);
    let secret = sops_json(f.sops(), &f.path("pull.yaml"));
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(secret["metadata"]["name"], "harbor-pull");
    assert_eq!(secret["metadata"]["namespace"], "apps");
    assert_eq!(data_keys(&secret), [".dockerconfigjson"]);
    let json = String::from_utf8(data_value(&secret, ".dockerconfigjson")).unwrap();
    let want = kubectl_dockerconfigjson(
        "harbor.example.com",
        "robot$gitops+pull",
        "Pa\\u003css\\u003e\\u0026\\\"w0rd-6b2e",
        "Pa<ss>&\"w0rd-6b2e",
        Some("ops@example.com"),
    );
    assert_eq!(json, want);
    // And it is the JSON a container runtime reads.
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["auths"]["harbor.example.com"]["password"], "Pa<ss>&\"w0rd-6b2e");
    let file = text(&f.read("pull.yaml"));
    assert_absent("the file", &file, b"w0rd-6b2e");
    assert_absent("the file", &file, json.as_bytes());
    assert!(!stderr(&out).contains("w0rd-6b2e"));
}

#[test]
fn docker_registry_aliases_no_email_and_crlf_password() {
    let f = Fixture::new();
    let mut c = f.gitseal();
    c.args(["create", "docker-registry", "r", "--server", "registry.example.com:5000", "--username", "ci", "--password-stdin", "--age", &f.recipient]);
    let out = common::output_with_stdin(without_terminal(&c), b"s3cret-f00d\r\n");
    assert_success("create docker-registry", &out);
    f.write("r.yaml", &out.stdout);
    let secret = sops_json(f.sops(), &f.path("r.yaml"));
    let json = String::from_utf8(data_value(&secret, ".dockerconfigjson")).unwrap();
    assert_eq!(json, kubectl_dockerconfigjson("registry.example.com:5000", "ci", "s3cret-f00d", "s3cret-f00d", None));
    assert!(!text(&out.stdout).contains("s3cret-f00d"));
}

#[test]
fn docker_registry_password_comes_only_from_stdin() {
    let f = Fixture::new();
    let base = ["create", "docker-registry", "r", "--docker-server", "r.io", "--docker-username", "u"];
    // No password flag exists.
    let out = create(&f, &[&base[1..], &["--docker-password", "flag-pw-1", "--password-stdin", "--age", &f.recipient]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // --password-stdin is required.
    let out = create(&f, &[&base[1..], &["--age", &f.recipient]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Empty stdin, and a password with a second line, are refused; nothing is written.
    for input in [&b""[..], b"\n", b"first\nsecond\n"] {
        let mut c = f.gitseal();
        c.args(base).args(["--password-stdin", "--age", &f.recipient, "-o", "r.yaml"]);
        let out = common::output_with_stdin(without_terminal(&c), input);
        assert_eq!(out.status.code(), Some(2), "{input:?}: {}", stderr(&out));
        assert!(!f.path("r.yaml").exists());
        assert!(!stderr(&out).contains("first") && !stderr(&out).contains("second"));
    }
}

// ---------------------------------------------------------------------------------------
// Recipients and output

#[test]
fn recipients_come_from_the_rule_matching_the_output() {
    let f = Fixture::new();
    let other = Fixture::new();
    f.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^clusters/prod/.*\\.yaml$\n    age: {}\n  - path_regex: ^clusters/dev/.*\\.yaml$\n    encrypted_regex: ^nothing$\n    age: {}\n",
            f.recipient, other.recipient
        ),
    );
    let out = create(&f, &["generic", "db", "--from-literal", "password=rule-pw-5e3a", "-o", "clusters/prod/db.yaml"]);
    assert_success("create -o under a rule", &out);
    let file = text(&f.read("clusters/prod/db.yaml"));
    assert!(file.contains(&f.recipient) && !file.contains(&other.recipient), "{file}");
    assert_absent("the file", &file, b"rule-pw-5e3a");
    assert_eq!(data_value(&sops_json(f.sops(), &f.path("clusters/prod/db.yaml")), "password"), b"rule-pw-5e3a");
    #[cfg(unix)]
    assert_eq!(mode_of(&f.path("clusters/prod/db.yaml")), 0o644);

    // The second rule's recipient; its selection is not used: a Secret's data is always
    // encrypted.
    let out = create(&f, &["generic", "db", "--from-literal", "password=dev-pw-77aa", "-o", "clusters/dev/db.yaml"]);
    assert_success("create -o under the dev rule", &out);
    let file = text(&f.read("clusters/dev/db.yaml"));
    assert!(file.contains(&other.recipient) && !file.contains(&f.recipient), "{file}");
    assert!(file.contains("encrypted_regex: ^(data|stringData)$"), "{file}");
    assert_absent("the file", &file, b"dev-pw-77aa");

    // --age wins over the rule; --config names a config elsewhere.
    let out = create(&f, &["generic", "db", "--from-literal", "k=v", "--age", &other.recipient, "-o", "clusters/prod/by-flag.yaml"]);
    assert_success("create --age -o", &out);
    assert!(text(&f.read("clusters/prod/by-flag.yaml")).contains(&other.recipient));
    std::fs::create_dir_all(f.path("elsewhere")).unwrap();
    let mut c = f.gitseal();
    c.current_dir(f.path("elsewhere")).args([
        "create",
        "generic",
        "db",
        "--from-literal",
        "k=v",
        "--config",
        "../.sops.yaml",
        "-o",
        "../clusters/prod/by-config.yaml",
    ]);
    let out = without_terminal(&c).output().unwrap();
    assert_success("create --config", &out);
    assert!(text(&f.read("clusters/prod/by-config.yaml")).contains(&f.recipient));
}

#[test]
fn missing_recipients_exit_7_and_write_nothing() {
    let f = Fixture::new();
    // Stdout: only --age can name recipients.
    let out = create(&f, &["generic", "x", "--from-literal", "k=secret-v-1"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let msg = stderr(&out);
    assert!(msg.contains("--age") && msg.contains("-o FILE") && msg.contains(".sops.yaml"), "{msg}");
    assert!(!msg.contains("secret-v-1"));

    // -o with no .sops.yaml anywhere up the tree (the fixture is a fresh temp dir).
    let out = create(&f, &["webhook", "--for", "flux-receiver", "-o", "w.yaml"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("w.yaml: no recipients") && stderr(&out).contains("--age"), "{}", stderr(&out));
    assert!(!f.path("w.yaml").exists());

    // -o where no rule matches.
    f.write(".sops.yaml", format!("creation_rules:\n  - path_regex: ^secrets/\n    age: {}\n", f.recipient));
    let out = create(&f, &["generic", "x", "--random", "token", "-o", "other/x.yaml"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("no creation rule"), "{}", stderr(&out));
    assert!(!f.path("other").exists());
}

#[test]
fn refuses_to_overwrite_without_force() {
    let f = Fixture::new();
    f.write("s.yaml", "precious\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f.path("s.yaml"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = create(&f, &["generic", "s", "--from-literal", "k=v", "--age", &f.recipient, "-o", "s.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists") && stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(f.read("s.yaml"), b"precious\n");

    let out = create(&f, &["generic", "s", "--from-literal", "k=forced-v-3", "--age", &f.recipient, "-o", "s.yaml", "--force"]);
    assert_success("create --force", &out);
    assert_eq!(data_value(&sops_json(f.sops(), &f.path("s.yaml")), "k"), b"forced-v-3");
    #[cfg(unix)]
    assert_eq!(mode_of(&f.path("s.yaml")), 0o644);
    // No temporary file is left behind.
    let leftovers: Vec<_> =
        std::fs::read_dir(f.dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with(".gitseal-")).collect();
    assert!(leftovers.is_empty());
}

#[test]
fn bad_input_is_refused_with_nothing_written() {
    let f = Fixture::new();
    f.write("my file.txt", "x");
    f.write("bad.env", "GOOD=1\nnot valid key=hidden-env-value-8d\n");
    f.write("dup.env", "A=1\nA=2\n");
    let age = f.recipient.as_str();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["generic", "s", "--from-literal", "bad key=hidden-lit-1"], 2, "not a valid Secret key"),
        (vec!["generic", "s", "--from-literal", "a/b=hidden-lit-2"], 2, "not a valid Secret key"),
        (vec!["generic", "s", "--from-literal", "..x=hidden-lit-3"], 2, "may not start with '..'"),
        (vec!["generic", "s", "--from-literal", "no-equals-hidden-lit-4"], 2, "expected KEY=VALUE"),
        (vec!["generic", "s", "--from-literal", "=hidden-lit-5"], 2, "key is missing"),
        (vec!["generic", "s", "--from-literal", "k=hidden-lit-6", "--from-literal", "k=hidden-lit-7"], 2, "given twice"),
        (vec!["generic", "s", "--from-literal", "token=hidden-lit-8", "--random", "token"], 2, "given twice"),
        (vec!["generic", "s", "--from-file", "my file.txt"], 2, "not a valid Secret key"),
        (vec!["generic", "s", "--from-file", "a=b=c"], 2, "cannot contain '='"),
        (vec!["generic", "s", "--from-file", "missing.txt"], 5, "missing.txt"),
        (vec!["generic", "s", "--from-env-file", "bad.env"], 3, "bad.env:2:"),
        (vec!["generic", "s", "--from-env-file", "dup.env"], 3, "dup.env:2:"),
        (vec!["generic", "Bad_Name", "--from-literal", "k=hidden-lit-9"], 2, "Secret name"),
        (vec!["generic", "s", "-n", "Bad.NS", "--from-literal", "k=hidden-lit-10"], 2, "namespace"),
        (vec!["generic", "s", "--random", "t:8"], 2, "between 16 and"),
        (vec!["generic", "s", "--label", "bad label=x", "--random", "t"], 2, "label key"),
        (vec!["generic", "s"], 2, "nothing to put in the Secret"),
        (vec!["webhook", "--for", "flux-receiver", "--bytes", "4"], 2, "between 16 and"),
        (vec!["webhook", "--for", "gitea"], 2, "invalid value"),
    ];
    for (args, code, needle) in cases {
        let full: Vec<&str> = args.iter().copied().chain(["--age", age, "-o", "out.yaml"]).collect();
        let out = create(&f, &full);
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {msg}");
        assert!(msg.contains(needle), "{args:?}: {msg}");
        assert!(!msg.contains("hidden-"), "{args:?} leaks a value: {msg}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!f.path("out.yaml").exists(), "{args:?} wrote its output");
    }
}

/// Every file under `dir`, hidden ones included.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn no_plaintext_reaches_the_output_directory_or_tmpdir() {
    let f = Fixture::new();
    f.write("in/cert.pem", "file-secret-body-0c4d\n");
    let out_dir = f.path("out");
    let tmp = f.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let run = |args: &[&str], stdin: &[u8]| {
        let mut c = f.gitseal();
        c.arg("create").args(args).args(["--age", &f.recipient]).env("TMPDIR", &tmp);
        common::output_with_stdin(without_terminal(&c), stdin)
    };
    let ok = |what: &str, out: Output| assert_success(what, &out);
    ok(
        "generic",
        run(&["generic", "app", "--from-literal", "password=literal-pw-3a9f", "--from-file", "in/cert.pem", "--random", "token", "-o", "out/app.yaml"], b""),
    );
    ok(
        "docker-registry",
        run(&["docker-registry", "pull", "--server", "r.example.com", "--username", "u", "--password-stdin", "-o", "out/pull.yaml"], b"registry-pw-77e1\n"),
    );
    ok("webhook", run(&["webhook", "--for", "argo-events", "-o", "out/hook.yaml"], b""));
    ok("--force", run(&["generic", "app", "--from-literal", "password=second-pw-b6d0", "-o", "out/app.yaml", "--force"], b""));
    // Refused after the sources were read: the data is over the API server's limit.
    f.write("in/big", vec![b'x'; 1024 * 1024 + 1]);
    let refused = run(&["generic", "big", "--from-literal", "password=refused-pw-91c2", "--from-file", "in/big", "-o", "out/big.yaml"], b"");
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("1 MiB"), "{}", stderr(&refused));

    let files = files_under(&out_dir);
    assert_eq!(files, [out_dir.join("app.yaml"), out_dir.join("hook.yaml"), out_dir.join("pull.yaml")], "only the outputs, no temporary files");
    assert!(files_under(&tmp).is_empty(), "gitseal left files in TMPDIR");

    let app = sops_json(f.sops(), &out_dir.join("app.yaml"));
    let hook = sops_json(f.sops(), &out_dir.join("hook.yaml"));
    let pull = sops_json(f.sops(), &out_dir.join("pull.yaml"));
    assert_eq!(data_value(&app, "password"), b"second-pw-b6d0");
    let secrets: Vec<Vec<u8>> = vec![
        b"literal-pw-3a9f".to_vec(),
        b"second-pw-b6d0".to_vec(),
        b"refused-pw-91c2".to_vec(),
        b"file-secret-body-0c4d".to_vec(),
        b"registry-pw-77e1".to_vec(),
        data_value(&hook, "secret"),
        data_value(&pull, ".dockerconfigjson"),
    ];
    for file in files {
        let content = std::fs::read(&file).unwrap();
        let content = text(&content);
        assert!(content.contains("ENC[AES256_GCM,data:"), "{}", file.display());
        for v in &secrets {
            assert_absent(&file.display().to_string(), &content, v);
        }
    }
}

// ---------------------------------------------------------------------------------------
// create webhook, and where tokens go

#[test]
fn webhook_presets_follow_their_consumers() {
    let f = Fixture::new();
    struct Case {
        preset: &'static str,
        name: &'static str,
        namespace: &'static str,
        key: &'static str,
        hint: &'static [&'static str],
    }
    let cases = [
        Case {
            preset: "flux-receiver",
            name: "webhook-token",
            namespace: "flux-system",
            key: "token",
            hint: &["apiVersion: notification.toolkit.fluxcd.io/v1", "kind: Receiver", "secretRef:\n    name: webhook-token", ".status.webhookPath"],
        },
        Case {
            preset: "argocd-github",
            name: "argocd-secret",
            namespace: "argocd",
            key: "webhook.github.secret",
            hint: &["/api/webhook", "merged", "server-side", "application/json"],
        },
        Case { preset: "argocd-gitlab", name: "argocd-secret", namespace: "argocd", key: "webhook.gitlab.secret", hint: &["/api/webhook", "Secret token"] },
        Case {
            preset: "argo-events",
            name: "github-webhook-secret",
            namespace: "argo-events",
            key: "secret",
            hint: &["kind: EventSource", "webhookSecret:\n        name: github-webhook-secret\n        key: secret"],
        },
    ];
    for c in cases {
        let file = format!("{}.yaml", c.preset);
        let out = create(&f, &["webhook", "--for", c.preset, "--age", &f.recipient, "-o", &file]);
        assert_success(c.preset, &out);
        let secret = sops_json(f.sops(), &f.path(&file));
        assert_eq!(secret["metadata"]["name"], c.name, "{}", c.preset);
        assert_eq!(secret["metadata"]["namespace"], c.namespace, "{}", c.preset);
        assert_eq!(secret["type"], "Opaque");
        assert_eq!(data_keys(&secret), [c.key], "{}", c.preset);
        let token = String::from_utf8(data_value(&secret, c.key)).unwrap();
        assert!(is_hex_token(&token, 64), "{token}");
        if c.preset.starts_with("argocd") {
            assert_eq!(secret["metadata"]["labels"]["app.kubernetes.io/part-of"], "argocd");
        } else {
            assert!(secret["metadata"].get("labels").is_none());
        }
        let msg = stderr(&out);
        for h in c.hint {
            assert!(msg.contains(h), "{}: hint lacks {h:?}:\n{msg}", c.preset);
        }
        assert!(!msg.contains(&token) && !text(&out.stdout).contains(&token));
    }

    // Name, namespace and size can be changed.
    let out = create(&f, &["webhook", "gitlab-hook", "--for", "flux-receiver", "-n", "ops", "--bytes", "16", "--age", &f.recipient, "-o", "custom.yaml"]);
    assert_success("create webhook NAME -n --bytes", &out);
    let secret = sops_json(f.sops(), &f.path("custom.yaml"));
    assert_eq!(secret["metadata"]["name"], "gitlab-hook");
    assert_eq!(secret["metadata"]["namespace"], "ops");
    assert!(is_hex_token(&String::from_utf8(data_value(&secret, "token")).unwrap(), 32));
    assert!(stderr(&out).contains("name: gitlab-hook") && stderr(&out).contains("namespace: ops"));
}

#[test]
fn without_a_terminal_the_token_is_not_printed_and_the_way_back_is() {
    let f = Fixture::new();
    let out = create(&f, &["webhook", "--for", "flux-receiver", "--age", &f.recipient, "-o", "hook.yaml"]);
    assert_success("create webhook", &out);
    let secret = sops_json(f.sops(), &f.path("hook.yaml"));
    let token = String::from_utf8(data_value(&secret, "token")).unwrap();
    assert!(out.stdout.is_empty());
    let msg = stderr(&out);
    assert!(!msg.contains(&token), "the token reached stderr");
    let hint = "gitseal decrypt --extract '[\"data\"][\"token\"]' hook.yaml | base64 -d";
    assert!(msg.contains("no terminal") && msg.contains(hint), "{msg}");

    // The command in the hint gives the token back (same key and HOME as the fixture's
    // gitseal, with that gitseal first on PATH).
    let mut c = Command::new("bash");
    c.args(["-euo", "pipefail", "-c", hint]).current_dir(f.dir.path());
    for (k, v) in f.gitseal().get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.env("PATH", path_with_gitseal(f.dir.path()));
    let back = without_terminal(&c).output().unwrap();
    assert_success("the hint's command", &back);
    assert_eq!(text(&back.stdout), token);

    // To stdout: the manifest, still without the token in clear.
    let out = create(&f, &["generic", "s", "--random", "token", "--age", &f.recipient]);
    assert_success("create generic --random to stdout", &out);
    f.write("stdout.yaml", &out.stdout);
    let token = String::from_utf8(data_value(&sops_json(f.sops(), &f.path("stdout.yaml")), "token")).unwrap();
    assert!(!text(&out.stdout).contains(&token) && !stderr(&out).contains(&token));
    assert!(stderr(&out).contains("FILE | base64 -d"), "{}", stderr(&out));
}

/// PATH with a directory holding a `gitseal` symlink first.
fn path_with_gitseal(scratch: &Path) -> std::ffi::OsString {
    let bin = scratch.join("bin");
    if !bin.exists() {
        std::fs::create_dir_all(&bin).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(gitseal_bin(), bin.join("gitseal")).unwrap();
    }
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).unwrap()
}

#[test]
fn on_a_terminal_the_token_is_shown_there_once() {
    // `script` runs the command on a pseudo-terminal and copies what appears on it.
    let f = Fixture::new();
    let cmd = format!("{} create webhook --for flux-receiver --age {} -o hook.yaml 2>/dev/null >/dev/null", gitseal_bin(), f.recipient);
    let mut c = Command::new(require_peer("script"));
    c.args(["-qec", &cmd, "/dev/null"]).current_dir(f.dir.path()).env("HOME", f.dir.path()).stdin(Stdio::null());
    let out = c.output().unwrap();
    assert_success("script gitseal create webhook", &out);
    let screen = text(&out.stdout);
    let token = String::from_utf8(data_value(&sops_json(f.sops(), &f.path("hook.yaml")), "token")).unwrap();
    assert_eq!(screen.matches(&token).count(), 1, "the token should appear once on the terminal:\n{screen}");
    assert!(screen.contains("shown once"), "{screen}");
}

// ---------------------------------------------------------------------------------------
// The guides

fn guides_dir() -> PathBuf {
    repo_root().join("docs").join("guides")
}

/// The fenced blocks of a Markdown text: (language, body).
fn fenced_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        match &mut open {
            None => {
                if let Some(lang) = line.strip_prefix("```") {
                    open = Some((lang.trim().to_owned(), String::new()));
                }
            }
            Some((_, body)) => {
                if line.trim_end() == "```" {
                    blocks.push(open.take().unwrap());
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "a fenced block is not closed");
    blocks
}

/// What running a guide left behind.
struct GuideRun {
    _scratch: tempfile::TempDir,
    repo: PathBuf,
    out: Output,
}

impl GuideRun {
    fn stdout(&self) -> String {
        text(&self.out.stdout)
    }
    fn stderr(&self) -> String {
        text(&self.out.stderr)
    }
    fn file(&self, rel: &str) -> String {
        std::fs::read_to_string(self.repo.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// The real sops's decryption of `rel` with the demo key.
    fn sops_json(&self, rel: &str) -> Value {
        let mut c = Command::new(require_peer("sops"));
        c.current_dir(&self.repo)
            .env_remove("SOPS_AGE_KEY")
            .env_remove("SOPS_CONFIG")
            .env("SOPS_AGE_KEY_FILE", demo_key())
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("HOME", self.repo.parent().unwrap().join("home"));
        sops_json(c, &self.repo.join(rel))
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git").args(args).current_dir(&self.repo).output().unwrap();
        assert_success("git", &out);
        text(&out.stdout)
    }

    /// The file was committed as it is now, encrypted to the demo recipient, and the demo
    /// key itself was not committed.
    fn assert_committed_encrypted(&self, rel: &str) {
        assert!(self.git(&["ls-files", "--", rel]).trim() == rel, "{rel} is not committed");
        assert!(self.git(&["status", "--porcelain", "--", rel]).is_empty(), "{rel} differs from the commit");
        assert!(self.git(&["ls-files", "keys-example"]).is_empty(), "the demo key was committed");
        let content = self.file(rel);
        assert!(content.contains(&demo_recipient()), "{rel} is not encrypted to the demo recipient");
        assert!(content.contains("ENC[AES256_GCM,data:"), "{rel} is not encrypted");
    }
}

/// Runs the `sh` blocks of `guide` in order with `bash -euo pipefail`, in a fresh Git
/// repository holding a copy of keys-example/, with the gitseal under test first on
/// PATH, HOME isolated, no terminal, and `stdin` as standard input.
fn run_guide(guide: &str, stdin: &[u8]) -> GuideRun {
    let markdown = std::fs::read_to_string(guides_dir().join(guide)).unwrap();
    let blocks = fenced_blocks(&markdown);
    for (lang, body) in &blocks {
        assert!(matches!(lang.as_str(), "sh" | "console" | "yaml"), "{guide}: block fenced as {lang:?} (use sh to run, console or yaml to show):\n{body}");
        // A console block is not run, so it must be one that cannot be: it talks to a
        // cluster or a Git remote, or holds placeholders. Anything else belongs in sh.
        if lang == "console" {
            let needs_more = ["kubectl ", "flux ", "git push", "..."].iter().any(|m| body.contains(m));
            assert!(needs_more, "{guide}: this console block could run without a cluster; fence it as sh so the tests run it:\n{body}");
        }
    }
    let script: Vec<&str> = blocks.iter().filter(|(l, _)| l == "sh").map(|(_, b)| b.as_str()).collect();
    assert!(script.len() >= 4, "{guide}: too few sh blocks");

    let scratch = tempfile::tempdir().unwrap();
    let repo = scratch.path().join("repo");
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let keys = repo.join("keys-example");
    std::fs::create_dir_all(&keys).unwrap();
    for e in std::fs::read_dir(repo_root().join("keys-example")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), keys.join(e.file_name())).unwrap();
    }
    let script_path = scratch.path().join("guide.sh");
    std::fs::write(&script_path, script.join("\n")).unwrap();

    let mut git_init = Command::new("git");
    git_init.args(["init", "-q"]).current_dir(&repo).env("HOME", &home);
    assert_success("git init", &git_init.output().unwrap());

    let mut c = Command::new("bash");
    c.arg("-euo").arg("pipefail").arg(&script_path).current_dir(&repo).env_clear();
    for keep in ["TMPDIR", "LANG", "LC_ALL"] {
        if let Some(v) = std::env::var_os(keep) {
            c.env(keep, v);
        }
    }
    c.env("PATH", path_with_gitseal(scratch.path()))
        .env("HOME", &home)
        .env("GIT_AUTHOR_NAME", "Platform Engineer")
        .env("GIT_AUTHOR_EMAIL", "platform@example.com")
        .env("GIT_COMMITTER_NAME", "Platform Engineer")
        .env("GIT_COMMITTER_EMAIL", "platform@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    let out = common::output_with_stdin(without_terminal(&c), stdin);
    assert!(
        out.status.success(),
        "{guide}: the sh blocks failed ({:?}):\n--- script ---\n{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        script.join("\n"),
        text(&out.stdout),
        text(&out.stderr)
    );
    GuideRun { _scratch: scratch, repo, out }
}

/// Checks a webhook Secret the guide made; returns the token.
fn check_webhook_secret(run: &GuideRun, rel: &str, name: &str, namespace: &str, key: &str) -> String {
    run.assert_committed_encrypted(rel);
    let secret = run.sops_json(rel);
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["name"], name);
    assert_eq!(secret["metadata"]["namespace"], namespace);
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(data_keys(&secret), [key]);
    let token = String::from_utf8(data_value(&secret, key)).unwrap();
    assert!(is_hex_token(&token, 64), "{token}");
    assert_absent(rel, &run.file(rel), token.as_bytes());
    // No terminal: gitseal pointed at the way back instead of printing the token.
    assert!(!run.stderr().contains(&token), "the token reached stderr");
    assert!(run.stderr().contains(&format!("--extract '[\"data\"][\"{key}\"]' {rel} | base64 -d")), "{}", run.stderr());
    token
}

/// The guide's rotation step replaced the token: the token its "read it back" step
/// printed is the one of the previous commit, and differs from the current one.
fn check_rotated(run: &GuideRun, rel: &str, key: &str, current: &str) {
    let stdout = run.stdout();
    let printed: Vec<&str> = stdout.split(|c: char| !c.is_ascii_hexdigit() || c.is_ascii_uppercase()).filter(|w| is_hex_token(w, 64)).collect();
    assert_eq!(printed.len(), 1, "expected the token read back once on stdout:\n{}", run.stdout());
    let old = printed[0];
    assert_ne!(old, current, "the rotation step kept the token");
    assert_eq!(run.git(&["log", "--format=%s", "--", rel]).lines().count(), 2, "{rel}: expected the first commit and the rotation");
    let previous = run.repo.join("previous.yaml");
    std::fs::write(&previous, run.git(&["show", &format!("HEAD~1:{rel}")])).unwrap();
    let secret = run.sops_json("previous.yaml");
    std::fs::remove_file(previous).unwrap();
    assert_eq!(data_value(&secret, key), old.as_bytes());
}

#[test]
fn guide_flux_receiver_token() {
    let run = run_guide("flux-receiver-token.md", b"");
    let token = check_webhook_secret(&run, "infrastructure/webhook-receiver/webhook-token-secret.yaml", "webhook-token", "flux-system", "token");
    check_rotated(&run, "infrastructure/webhook-receiver/webhook-token-secret.yaml", "token", &token);
    run.assert_committed_encrypted("infrastructure/webhook-receiver/webhook-token-secret.yaml");
    let receiver = run.file("infrastructure/webhook-receiver/receiver.yaml");
    assert!(receiver.contains("apiVersion: notification.toolkit.fluxcd.io/v1") && receiver.contains("secretRef:\n    name: webhook-token"));
    let ks = run.file("clusters/my-cluster/webhook-receiver.yaml");
    assert!(ks.contains("decryption:\n    provider: sops\n    secretRef:\n      name: sops-age"), "{ks}");
    assert!(ks.contains("path: ./infrastructure/webhook-receiver"));
    assert!(run.git(&["ls-files"]).contains("clusters/my-cluster/webhook-receiver.yaml"));
}

#[test]
fn guide_argocd_webhook_secret() {
    let run = run_guide("argocd-webhook-secret.md", b"");
    let rel = "infrastructure/argocd/argocd-secret.yaml";
    let token = check_webhook_secret(&run, rel, "argocd-secret", "argocd", "webhook.github.secret");
    check_rotated(&run, rel, "webhook.github.secret", &token);
    let secret = run.sops_json(rel);
    assert_eq!(secret["metadata"]["labels"]["app.kubernetes.io/part-of"], "argocd");
    assert!(run.stderr().contains("/api/webhook") && run.stderr().contains("server-side"), "{}", run.stderr());
}

#[test]
fn guide_argo_events_webhook_secret() {
    let run = run_guide("argo-events-webhook-secret.md", b"");
    let rel = "infrastructure/argo-events/github-webhook-secret.yaml";
    let token = check_webhook_secret(&run, rel, "github-webhook-secret", "argo-events", "secret");
    check_rotated(&run, rel, "secret", &token);
    let es = run.file("infrastructure/argo-events/github-eventsource.yaml");
    assert!(es.contains("webhookSecret:\n        name: github-webhook-secret\n        key: secret"), "{es}");
    run.assert_committed_encrypted(rel);
    assert!(run.git(&["ls-files"]).contains("infrastructure/argo-events/github-eventsource.yaml"));
}

#[test]
fn guide_harbor_pull_secret() {
    // The first secret, then the one the rotation step reads.
    let first = "harbor-robot-secret-Zq81";
    let password = "harbor-robot-rotated-Lm47";
    let run = run_guide("harbor-pull-secret.md", format!("{first}\n{password}\n").as_bytes());
    let rel = "apps/harbor-pull-secret.yaml";
    run.assert_committed_encrypted(rel);
    let secret = run.sops_json(rel);
    assert_eq!(secret["metadata"]["name"], "harbor-pull-secret");
    assert_eq!(secret["metadata"]["namespace"], "apps");
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(data_keys(&secret), [".dockerconfigjson"]);
    let json = String::from_utf8(data_value(&secret, ".dockerconfigjson")).unwrap();
    assert_eq!(json, kubectl_dockerconfigjson("harbor.example.com", "robot$gitops+pull", password, password, None));
    assert_absent(rel, &run.file(rel), password.as_bytes());
    // The guide shows the account, never the password.
    assert!(run.stdout().contains("\"username\":\"robot$gitops+pull\""), "{}", run.stdout());
    assert!(!run.stdout().contains(password) && !run.stderr().contains(password));
    assert!(run.file("apps/serviceaccount.yaml").contains("imagePullSecrets:\n  - name: harbor-pull-secret"));

    // Before the rotation, the first secret was committed.
    assert_eq!(run.git(&["log", "--format=%s", "--", rel]).lines().count(), 2);
    std::fs::write(run.repo.join("previous.yaml"), run.git(&["show", &format!("HEAD~1:{rel}")])).unwrap();
    let json = String::from_utf8(data_value(&run.sops_json("previous.yaml"), ".dockerconfigjson")).unwrap();
    assert_eq!(json, kubectl_dockerconfigjson("harbor.example.com", "robot$gitops+pull", first, first, None));
    assert!(!run.stdout().contains(first) && !run.stderr().contains(first));
}

#[test]
fn guides_index_lists_every_guide() {
    let index = std::fs::read_to_string(guides_dir().join("README.md")).unwrap();
    let mut guides: Vec<String> = std::fs::read_dir(guides_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md") && n != "README.md")
        .collect();
    guides.sort();
    assert_eq!(
        guides,
        [
            "argo-events-webhook-secret.md",
            "argocd-webhook-secret.md",
            "flux-receiver-token.md",
            "harbor-pull-secret.md",
            "ingress-certificate.md",
            "ordering.md"
        ]
    );
    for g in guides {
        assert!(index.contains(&format!("]({g})")), "docs/guides/README.md does not link {g}");
    }
}

// ---------------------------------------------------------------------------------------
// create tls

/// `openssl` in `dir`; panics with its stderr when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(require_peer("openssl")).current_dir(dir).args(args).output().unwrap();
    assert_success(&format!("openssl {args:?}"), &out);
}

/// A self-signed certificate and its key, as `NAME.crt` and `NAME.key` (PKCS#8) in `dir`.
fn self_signed(dir: &Path, name: &str, key_type: &[&str]) {
    let key = format!("{name}.key");
    let crt = format!("{name}.crt");
    let base = ["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=app.example.com", "-keyout", &key, "-out", &crt];
    openssl(dir, &[&base[..], key_type].concat());
}

#[test]
fn tls_secret_matches_kubectl_layout_and_sops_reads_it() {
    let f = Fixture::new();
    self_signed(f.dir.path(), "rsa", &["-newkey", "rsa:2048"]);
    self_signed(f.dir.path(), "ec", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]);
    // The EC key in SEC1 form ("EC PRIVATE KEY"), as older tools write it.
    openssl(f.dir.path(), &["ec", "-in", "ec.key", "-out", "ec-sec1.key"]);
    for (cert, key, out) in [("rsa.crt", "rsa.key", "rsa.yaml"), ("ec.crt", "ec.key", "ec.yaml"), ("ec.crt", "ec-sec1.key", "ec1.yaml")] {
        let o = create(&f, &["tls", "app-tls", "-n", "apps", "--cert", cert, "--key", key, "--age", &f.recipient, "-o", out]);
        assert_success("create tls", &o);
        assert!(stderr(&o).contains("encrypted keys: tls.crt, tls.key"), "{}", stderr(&o));
        let secret = sops_json(f.sops(), &f.path(out));
        assert_eq!(secret["type"], "kubernetes.io/tls");
        assert_eq!(secret["metadata"]["name"], "app-tls");
        assert_eq!(secret["metadata"]["namespace"], "apps");
        assert_eq!(data_keys(&secret), ["tls.crt", "tls.key"]);
        let key_pem = std::fs::read(f.path(key)).unwrap();
        assert_eq!(data_value(&secret, "tls.crt"), std::fs::read(f.path(cert)).unwrap());
        assert_eq!(data_value(&secret, "tls.key"), key_pem);
        let file = std::fs::read_to_string(f.path(out)).unwrap();
        assert_absent(out, &file, B64.encode(&key_pem).as_bytes());
        assert!(file.contains("encrypted_regex: ^(data|stringData)$"), "{file}");
    }
}

#[test]
fn tls_readable_cert_leaves_only_the_key_encrypted_and_sops_and_check_accept_it() {
    let f = Fixture::new();
    self_signed(f.dir.path(), "rsa", &["-newkey", "rsa:2048"]);
    let o = create(&f, &["tls", "app-tls", "--cert", "rsa.crt", "--key", "rsa.key", "--readable-cert", "--age", &f.recipient, "-o", "tls.yaml"]);
    assert_success("create tls --readable-cert", &o);
    assert!(stderr(&o).contains("encrypted keys: tls.key\n"), "{}", stderr(&o));
    let file = std::fs::read_to_string(f.path("tls.yaml")).unwrap();
    let cert = std::fs::read(f.path("rsa.crt")).unwrap();
    let key = std::fs::read(f.path("rsa.key")).unwrap();
    assert!(file.contains(&format!("  tls.crt: {}\n", B64.encode(&cert))), "{file}");
    assert!(file.contains("  tls.key: ENC[AES256_GCM,data:"), "{file}");
    assert!(file.contains(r"encrypted_regex: ^tls\.key$"), "{file}");
    assert_absent("tls.yaml", &file, B64.encode(&key).as_bytes());
    let secret = sops_json(f.sops(), &f.path("tls.yaml"));
    assert_eq!(data_value(&secret, "tls.key"), key);
    assert_eq!(data_value(&secret, "tls.crt"), cert);
    // The readable certificate is no finding; a readable value that is not a
    // certificate still is.
    let check = f.gitseal().args(["check", "tls.yaml"]).output().unwrap();
    assert_eq!(check.status.code(), Some(0), "{}{}", text(&check.stdout), stderr(&check));
    let tampered = file.replace(&format!("tls.crt: {}", B64.encode(&cert)), &format!("tls.crt: {}", B64.encode(b"not a certificate")));
    f.write("tampered.yaml", tampered);
    let check = f.gitseal().args(["check", "tampered.yaml"]).output().unwrap();
    assert_eq!(check.status.code(), Some(10), "{}", stderr(&check));
    assert!(text(&check.stdout).contains("[\"data\"][\"tls.crt\"] is plaintext"), "{}", text(&check.stdout));
}

#[test]
fn tls_check_refuses_a_readable_certificate_with_anything_beside_it() {
    let f = Fixture::new();
    self_signed(f.dir.path(), "rsa", &["-newkey", "rsa:2048"]);
    let o = create(&f, &["tls", "app-tls", "--cert", "rsa.crt", "--key", "rsa.key", "--readable-cert", "--age", &f.recipient, "-o", "tls.yaml"]);
    assert_success("create tls --readable-cert", &o);
    let file = std::fs::read_to_string(f.path("tls.yaml")).unwrap();
    let cert = std::fs::read(f.path("rsa.crt")).unwrap();
    let mut smuggled = cert.clone();
    smuggled.extend_from_slice(b"password: hunter2\n");
    f.write("smuggled.yaml", file.replace(&B64.encode(&cert), &B64.encode(&smuggled)));
    let check = f.gitseal().args(["check", "smuggled.yaml"]).output().unwrap();
    assert_eq!(check.status.code(), Some(10), "{}", stderr(&check));
    assert!(!text(&check.stdout).contains("hunter2"));
}

#[test]
fn tls_bad_pairs_are_refused_naming_the_file_with_nothing_written() {
    let f = Fixture::new();
    self_signed(f.dir.path(), "a", &["-newkey", "rsa:2048"]);
    self_signed(f.dir.path(), "b", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]);
    openssl(f.dir.path(), &["pkey", "-in", "a.key", "-aes256", "-passout", "pass:pw", "-out", "locked.key"]);
    f.write("empty.crt", "");
    f.write("both.pem", format!("{}{}", std::fs::read_to_string(f.path("a.key")).unwrap(), std::fs::read_to_string(f.path("a.crt")).unwrap()));
    f.write("garbage.crt", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
    let cases: [(&str, &str, &str); 7] = [
        ("a.crt", "b.key", "b.key:1: does not belong to the certificate in a.crt"),
        ("a.key", "a.crt", "a.key:1: holds a private key"),
        ("a.crt", "locked.key", "locked.key:1: is a passphrase-protected key"),
        ("empty.crt", "a.key", "empty.crt:1: holds no PEM certificate"),
        ("a.crt", "both.pem", "both.pem:1: holds a certificate"),
        ("garbage.crt", "a.key", "garbage.crt"),
        ("missing.crt", "a.key", "missing.crt"),
    ];
    let key_b64 = B64.encode(std::fs::read(f.path("a.key")).unwrap());
    for (cert, key, needle) in cases {
        let o = create(&f, &["tls", "t", "--cert", cert, "--key", key, "--age", &f.recipient, "-o", "out.yaml"]);
        let msg = stderr(&o);
        assert_ne!(o.status.code(), Some(0), "{cert} {key}: {msg}");
        assert!(msg.contains(needle), "{cert} {key}: {msg}");
        assert!(!msg.contains("PRIVATE KEY-----\n") && !msg.contains(&key_b64[..40]), "{msg}");
        assert!(!f.path("out.yaml").exists(), "{cert} {key} wrote its output");
    }
}

#[test]
fn guide_ingress_certificate() {
    let run = run_guide("ingress-certificate.md", b"");
    let rel = "infrastructure/argocd/argocd-server-tls.yaml";
    run.assert_committed_encrypted(rel);
    let secret = run.sops_json(rel);
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(secret["metadata"]["namespace"], "argocd");
    assert_eq!(data_keys(&secret), ["tls.crt", "tls.key"]);
    let cert = data_value(&secret, "tls.crt");
    assert!(cert.starts_with(b"-----BEGIN CERTIFICATE-----\n"));
    assert!(data_value(&secret, "tls.key").starts_with(b"-----BEGIN PRIVATE KEY-----\n"));
    assert!(run.stdout().contains("subject=CN = argocd.example.com") || run.stdout().contains("subject=CN=argocd.example.com"), "{}", run.stdout());
    assert!(run.stdout().contains("notAfter="), "{}", run.stdout());

    let readable = "infrastructure/webhook-receiver/webhook-receiver-tls.yaml";
    run.assert_committed_encrypted(readable);
    let file = run.file(readable);
    assert!(file.contains(&format!("tls.crt: {}\n", B64.encode(&cert))), "{file}");
    let secret = run.sops_json(readable);
    assert_eq!(data_value(&secret, "tls.crt"), cert);
    assert!(data_value(&secret, "tls.key").starts_with(b"-----BEGIN PRIVATE KEY-----\n"));
    assert!(run.stderr().contains("gitseal: no problems"), "{}", run.stderr());
    assert!(run.file("infrastructure/argocd/argocd-server-ingress.yaml").contains("secretName: argocd-server-tls"));
    // The key never reached the repository in plaintext, and the temporary copy is gone.
    assert!(!run.git(&["ls-files"]).contains(".key"), "{}", run.git(&["ls-files"]));
    for path in files_under(&run.repo) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(27).any(|w| w == b"-----BEGIN PRIVATE KEY-----"), "plaintext key in {}", path.display());
    }
}
