//! Shared fixtures for the integration tests: a temporary directory with a fresh age
//! key, and helpers to run gitseal and the real interop peers (`sops`, `age`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary directory holding an age identity (`key.txt`) and its recipient.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub recipient: String,
    pub key_file: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_file = dir.path().join("key.txt");
        let out = Command::new(gitseal_bin()).arg("keygen").arg("-o").arg(&key_file).output().expect("run gitseal keygen");
        assert!(out.status.success(), "keygen failed: {}", String::from_utf8_lossy(&out.stderr));
        let recipient = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(recipient.starts_with("age1"), "{recipient}");
        Fixture { dir, recipient, key_file }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `content` to `name` in the fixture directory and returns its path.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// A gitseal command running in the fixture directory with only this fixture's key
    /// reachable (no user keys from HOME leak in).
    pub fn gitseal(&self) -> Command {
        let mut c = Command::new(gitseal_bin());
        isolate(&mut c, self.dir.path());
        c.env("SOPS_AGE_KEY_FILE", &self.key_file);
        c
    }

    /// A gitseal command with no identity at all.
    pub fn gitseal_without_key(&self) -> Command {
        let mut c = Command::new(gitseal_bin());
        isolate(&mut c, self.dir.path());
        c
    }

    /// The real `sops` binary, with this fixture's key.
    pub fn sops(&self) -> Command {
        let mut c = Command::new(require_peer("sops"));
        isolate(&mut c, self.dir.path());
        c.env("SOPS_AGE_KEY_FILE", &self.key_file).env("SOPS_DISABLE_VERSION_CHECK", "1");
        c
    }

    /// `gitseal encrypt --age <fixture recipient> FILE` to stdout.
    pub fn encrypt(&self, file: &Path) -> Vec<u8> {
        let out = self.gitseal().args(["encrypt", "--age", &self.recipient]).arg(file).output().unwrap();
        assert_success("gitseal encrypt", &out);
        out.stdout
    }

    pub fn decrypt(&self, file: &Path) -> Vec<u8> {
        let out = self.gitseal().arg("decrypt").arg(file).output().unwrap();
        assert_success("gitseal decrypt", &out);
        out.stdout
    }

    pub fn sops_decrypt(&self, file: &Path) -> Vec<u8> {
        let out = self.sops().arg("decrypt").arg(file).output().unwrap();
        assert_success("sops decrypt", &out);
        out.stdout
    }

    pub fn sops_encrypt(&self, file: &Path, extra: &[&str]) -> Vec<u8> {
        let out = self.sops().args(["encrypt", "--age", &self.recipient]).args(extra).arg(file).output().unwrap();
        assert_success("sops encrypt", &out);
        out.stdout
    }
}

fn isolate(c: &mut Command, dir: &Path) {
    c.current_dir(dir)
        .env_remove("SOPS_AGE_KEY")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("GITSEAL_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY_CMD")
        .env_remove("SOPS_CONFIG")
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("VAULT_NAMESPACE")
        .env_remove("VAULT_ROLE_ID")
        .env_remove("VAULT_SECRET_ID")
        .env_remove("VAULT_K8S_ROLE")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .stdin(Stdio::null());
}

/// The gitseal binary under test: cargo's, unless `GITSEAL_TEST_BIN` names another (for
/// a build directory that several checkouts share, where the uplifted binary may be
/// another checkout's).
pub fn gitseal_bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| std::env::var("GITSEAL_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_gitseal").to_owned()))
}

/// Path of an interop peer. Missing peers fail the test: CI installs them, and a skipped
/// interop test would hide a broken setup.
pub fn require_peer(name: &str) -> String {
    match which(name) {
        Some(p) => p,
        None => panic!("{name} is not installed; run scripts/install-peers.sh (interop tests never skip)"),
    }
}

fn which(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()).map(|p| p.display().to_string())
}

pub fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `c` with `input` on its standard input and collects its output. A command may exit
/// before reading all of it (a refusal checked before the input is read): the broken pipe
/// that leaves the writer is expected then, not a failure of the test.
pub fn output_with_stdin(mut c: Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    match stdin.write_all(input) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("writing to the command's stdin: {e}"),
        _ => {}
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------
// Corpus helpers for the interop tests (tests/corpus/).

/// The selection rule gitseal applies by default to Kubernetes files, and that the
/// interop tests pass to `sops encrypt --encrypted-regex` for the same files.
pub const K8S_ENCRYPTED_REGEX: &str = "^(data|stringData)$";

/// One input file of the interop corpus.
pub struct CorpusFile {
    /// File name, e.g. `flux-receiver-token.yaml`.
    pub name: String,
    pub bytes: Vec<u8>,
    /// Every document has `apiVersion` and `kind` (gitseal then defaults to
    /// [`K8S_ENCRYPTED_REGEX`]).
    pub kubernetes: bool,
}

impl CorpusFile {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap()
    }

    /// The extra `sops encrypt` flags that select the same values gitseal selects.
    pub fn sops_rule(&self) -> Vec<&'static str> {
        if self.kubernetes {
            vec!["--encrypted-regex", K8S_ENCRYPTED_REGEX]
        } else {
            Vec::new()
        }
    }
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

/// The files directly inside `tests/corpus/<sub>` (`""` for the corpus root) whose name
/// ends with one of `exts`, sorted by name.
pub fn corpus(sub: &str, exts: &[&str]) -> Vec<CorpusFile> {
    let dir = corpus_dir().join(sub);
    let mut files: Vec<CorpusFile> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            exts.iter().any(|x| name.ends_with(x)).then_some((name, p))
        })
        .map(|(name, p)| {
            let bytes = std::fs::read(&p).unwrap();
            let kubernetes = is_kubernetes(&name, std::str::from_utf8(&bytes).expect("corpus files are UTF-8"));
            CorpusFile { name, bytes, kubernetes }
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// Whether every document of a corpus file is a Kubernetes object (has `apiVersion` and
/// `kind` at the top level). A deliberately simple, line-based check for the corpus.
pub fn is_kubernetes(name: &str, text: &str) -> bool {
    if name.ends_with(".json") {
        return text.contains("\"apiVersion\"") && text.contains("\"kind\"");
    }
    if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
        return false;
    }
    let mut docs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if line == "---" {
            docs.push(Vec::new());
        } else {
            docs.last_mut().unwrap().push(line);
        }
    }
    let docs: Vec<_> = docs.into_iter().filter(|d| d.iter().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))).collect();
    !docs.is_empty() && docs.iter().all(|d| d.iter().any(|l| l.starts_with("apiVersion:")) && d.iter().any(|l| l.starts_with("kind:")))
}

/// The `(type, plaintext length)` of every `ENC[AES256_GCM,...]` value of an encrypted
/// file except the MAC, sorted. Two files with the same signature encrypted the same
/// number of values and comments, with the same types and, for strings and comments, the
/// same serialised lengths. The length of `int`/`float`/`bool` values is left out (set to
/// 0): gitseal encrypts their source spelling (`1.50`, `true`) where sops encrypts its
/// normalised one (`1.5`, `True`), and both read either.
pub fn enc_signature(text: &str) -> Vec<(String, usize)> {
    const START: &str = "ENC[AES256_GCM,data:";
    let mut sig = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(pos) = rest.find(START) {
            let before = rest[..pos].trim_end_matches('"').trim_end();
            let after = &rest[pos + START.len()..];
            let data = &after[..after.find(",iv:").expect("iv")];
            let ty_at = after.find(",type:").expect("type") + ",type:".len();
            let ty = &after[ty_at..ty_at + after[ty_at..].find(']').expect("]")];
            let is_mac = before.ends_with("mac:") || before.ends_with("\"mac\":") || before.ends_with("sops_mac=");
            if !is_mac {
                let pad = data.bytes().rev().take_while(|&b| b == b'=').count();
                let len = if ty == "str" || ty == "comment" { data.len() / 4 * 3 - pad } else { 0 };
                sig.push((ty.to_owned(), len));
            }
            rest = &after[ty_at..];
        }
    }
    sig.sort();
    sig
}

/// Checks that `decrypted` (gitseal's decryption of a file sops wrote) keeps the layout
/// of `encrypted` (that file): every line outside the sops metadata must reappear, in
/// order; lines without ciphertext byte for byte, lines with ciphertext up to the start of
/// the `ENC[...]` value. A decrypted value may span several lines. Trailing commas are
/// ignored (JSON: the member before `"sops"` loses its comma). Returns the first line
/// that could not be found.
pub fn check_layout_kept(encrypted: &str, decrypted: &str) -> Result<(), String> {
    let wanted = lines_without_sops_metadata(encrypted);
    let got: Vec<&str> = decrypted.lines().collect();
    let mut at = 0;
    for w in wanted {
        let (text, prefix_only) = match w.find("ENC[") {
            Some(p) => (w[..p].trim_end_matches('"'), true),
            None => (w.trim_end_matches(','), false),
        };
        let found = got[at..].iter().position(|g| {
            let g = g.trim_end_matches(',');
            if prefix_only {
                g.starts_with(text)
            } else {
                g == text
            }
        });
        match found {
            Some(i) => at += i + 1,
            None => return Err(format!("line {w:?} of the sops file is not kept (searched from line {})", at + 1)),
        }
    }
    Ok(())
}

/// The lines of an encrypted YAML, JSON or dotenv file without the sops metadata.
pub fn lines_without_sops_metadata(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_yaml_sops = false;
    let mut in_json_sops = false;
    for line in text.lines() {
        let l = line.trim_end_matches('\r');
        if l == "sops:" {
            in_yaml_sops = true;
            continue;
        }
        if in_yaml_sops {
            if l == "---" {
                in_yaml_sops = false;
            } else {
                continue;
            }
        }
        if l.trim_start().starts_with("\"sops\": {") {
            in_json_sops = true;
            continue;
        }
        if in_json_sops {
            // The sops member is the last one: only the object's closing brace follows.
            if l == "}" {
                in_json_sops = false;
            } else {
                continue;
            }
        }
        if l.starts_with("sops_") {
            continue;
        }
        out.push(l);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Small helpers for the interop tests.

pub fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8 output")
}

/// Runs a command and returns its stdout, failing the test with stderr on error.
pub fn run(what: &str, cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_success(what, &out);
    out.stdout
}

/// Like [`run`], but returns the failure as text so corpus tests can report every file.
pub fn try_run(what: &str, cmd: &mut Command) -> Result<Vec<u8>, String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!("{what} failed ({:?}): {}", out.status.code(), stderr(&out).trim()))
    }
}

/// Fails with one message listing every corpus file that failed.
pub fn report_failures(failures: Vec<String>) {
    assert!(failures.is_empty(), "{} corpus file(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// A short line-by-line diff for failure messages.
pub fn diff(expected: &str, got: &str) -> String {
    let (e, g): (Vec<_>, Vec<_>) = (expected.split_inclusive('\n').collect(), got.split_inclusive('\n').collect());
    let mut out = String::new();
    for i in 0..e.len().max(g.len()) {
        let (a, b) = (e.get(i), g.get(i));
        if a != b {
            out += &format!("line {}:\n  expected {:?}\n  got      {:?}\n", i + 1, a, b);
        }
    }
    out
}

/// Lines of `text`, with their line ends.
pub fn lines(text: &[u8]) -> Vec<String> {
    utf8(text).split_inclusive('\n').map(str::to_owned).collect()
}

/// The two metadata lines that change whenever the data does: `lastmodified` and `mac`
/// (YAML, JSON or dotenv spelling).
pub fn is_sops_stamp(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("lastmodified: ")
        || t.starts_with("mac: ENC[AES256_GCM,")
        || t.starts_with("\"lastmodified\": ")
        || t.starts_with("\"mac\": \"ENC[AES256_GCM,")
        || t.starts_with("sops_lastmodified=")
        || t.starts_with("sops_mac=ENC[AES256_GCM,")
}

/// Lines in `a` that are not in `b`, counted as a multiset.
pub fn multiset_minus(a: &[String], b: &[String]) -> Vec<String> {
    let mut count: std::collections::HashMap<&str, isize> = std::collections::HashMap::new();
    for l in b {
        *count.entry(l).or_default() += 1;
    }
    let mut out = Vec::new();
    for l in a {
        let c = count.entry(l).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            out.push(l.clone());
        }
    }
    out
}

/// A small deterministic generator (xorshift64*), so that a failing seeded run can be
/// replayed.
pub struct Rng(pub u64);

impl Rng {
    /// A generator started from `seed` (0 is moved to 1: xorshift stays at 0 forever).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Two Secrets in one file, the second without a namespace: the tamper tests move
/// ciphertexts between them.
pub const TWO_SECRETS: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: first
  namespace: prod
stringData:
  username: admin
  password: correct-horse-battery
---
apiVersion: v1
kind: Secret
metadata:
  name: second
stringData:
  token: abcdef
";
