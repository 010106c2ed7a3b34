//! Crash consistency: gitseal is killed with SIGKILL at random (seeded) moments of
//! `encrypt -i`, `rotate -i`, `updatekeys` and `set` over a batch of files, some large
//! enough that the kill lands while a file is being written. Afterwards every file must be
//! exactly its old version (byte for byte) or a complete new version (it decrypts, MAC
//! verified, to the expected plaintext, and carries what the operation changes); none may
//! be torn, truncated or lost.
//!
//! The seed is printed; `GITSEAL_CRASH_SEED=N` replays a run, `GITSEAL_CRASH_TRIALS=N`
//! changes the number of kills per operation.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_success, Fixture};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A Secret with `keys` values of `len` bytes each.
fn secret(name: &str, keys: usize, len: usize) -> String {
    let mut s = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: prod\ntype: Opaque\nstringData:\n");
    for i in 0..keys {
        let value: String = (0..len).map(|j| (b'a' + ((i * 7 + j * 13) % 26) as u8) as char).collect();
        s.push_str(&format!("  key{i:05}: {value}\n"));
    }
    s
}

/// The batch: three small files and two large ones (about 0.5 MB each once encrypted).
fn plaintexts() -> Vec<(String, String)> {
    vec![
        ("a-small.yaml".into(), secret("a", 3, 16)),
        ("b-large.yaml".into(), secret("b", 2_000, 120)),
        ("c-small.yaml".into(), secret("c", 5, 40)),
        ("d-large.yaml".into(), secret("d", 1_500, 200)),
        ("e-small.yaml".into(), secret("e", 1, 8)),
    ]
}

/// What a finished operation leaves in a file.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    EncryptInPlace,
    RotateInPlace,
    Updatekeys,
    Set,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::EncryptInPlace => "encrypt -i",
            Op::RotateInPlace => "rotate -i",
            Op::Updatekeys => "updatekeys -y",
            Op::Set => "set",
        }
    }
}

struct Bench {
    fx: Fixture,
    /// A second identity: `updatekeys` adds it as a recipient.
    second_key: PathBuf,
    second_recipient: String,
    both_keys: PathBuf,
    dir: PathBuf,
}

impl Bench {
    fn new() -> Self {
        let fx = Fixture::new();
        let (secret2, recipient2) = gitseal_core::keys::age::generate_identity();
        let second_key = fx.write("key2.txt", format!("{}\n", &*secret2));
        let both_keys = fx.write("both.txt", format!("{}{}\n", std::fs::read_to_string(&fx.key_file).unwrap(), &*secret2));
        let dir = fx.path("batch");
        Bench { fx, second_key, second_recipient: recipient2, both_keys, dir }
    }

    fn files(&self) -> Vec<PathBuf> {
        plaintexts().iter().map(|(n, _)| self.dir.join(n)).collect()
    }

    /// Lays out the batch as the operation finds it: plaintext for `encrypt -i`, encrypted
    /// for one recipient otherwise (and a .sops.yaml naming both recipients for
    /// `updatekeys`). Returns each file's bytes.
    fn prepare(&self, op: Op, encrypted_cache: &mut Option<Vec<Vec<u8>>>) -> Vec<Vec<u8>> {
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(&self.dir).unwrap();
        if op == Op::Updatekeys {
            std::fs::write(self.fx.path(".sops.yaml"), format!("creation_rules:\n  - age: {},{}\n", self.fx.recipient, self.second_recipient)).unwrap();
        } else {
            let _ = std::fs::remove_file(self.fx.path(".sops.yaml"));
        }
        if op == Op::EncryptInPlace {
            for (n, text) in plaintexts() {
                std::fs::write(self.dir.join(n), text).unwrap();
            }
        } else {
            let cache = encrypted_cache.get_or_insert_with(|| {
                for (n, text) in plaintexts() {
                    std::fs::write(self.dir.join(n), text).unwrap();
                }
                let out = self.fx.gitseal().args(["encrypt", "-i", "--age", &self.fx.recipient]).arg(&self.dir).output().unwrap();
                assert_success("encrypt the batch", &out);
                self.files().iter().map(|p| std::fs::read(p).unwrap()).collect()
            });
            for (p, bytes) in self.files().iter().zip(cache.iter()) {
                std::fs::write(p, bytes).unwrap();
            }
        }
        self.files().iter().map(|p| std::fs::read(p).unwrap()).collect()
    }

    /// The command that runs `op` over the whole batch, one process.
    fn command(&self, op: Op) -> Command {
        let mut c = self.fx.gitseal();
        match op {
            Op::EncryptInPlace => {
                c.args(["encrypt", "-i", "--age", &self.fx.recipient]).arg(&self.dir);
            }
            Op::RotateInPlace => {
                c.args(["rotate", "-i"]).arg(&self.dir);
            }
            Op::Updatekeys => {
                c.args(["updatekeys", "-y"]).arg(&self.dir);
            }
            Op::Set => {
                // One file per process: `set` takes a single file. The largest one.
                c.arg("set").arg(self.dir.join("b-large.yaml")).args([r#"["stringData"]["added"]"#, "new-value"]);
            }
        }
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    }

    fn decrypt_with(&self, key: &Path, file: &Path) -> Result<Vec<u8>, String> {
        let out = self.fx.gitseal().env("SOPS_AGE_KEY_FILE", key).arg("decrypt").arg(file).output().unwrap();
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Old or a complete new version? Returns which, or what is wrong.
    fn classify(&self, op: Op, file: &Path, plain: &str, old: &[u8]) -> Result<Version, String> {
        let now = std::fs::read(file).map_err(|e| format!("{}: lost: {e}", file.display()))?;
        if now == old {
            return Ok(Version::Old);
        }
        let name = file.display();
        let text = String::from_utf8(now.clone()).map_err(|_| format!("{name}: neither old nor valid UTF-8"))?;
        if !text.contains("sops:") || !text.contains("mac: ENC[") {
            return Err(format!("{name}: changed but not a complete encrypted file ({} bytes)", now.len()));
        }
        let decrypted = self.decrypt_with(&self.both_keys, file).map_err(|e| format!("{name}: torn: does not decrypt: {e}"))?;
        let expected = match op {
            Op::Set => format!("{plain}  added: new-value\n"),
            _ => plain.to_owned(),
        };
        if decrypted != expected.as_bytes() {
            return Err(format!("{name}: decrypts, but not to the expected new content"));
        }
        if op == Op::Updatekeys {
            self.decrypt_with(&self.second_key, file).map_err(|e| format!("{name}: new version not opened by the added recipient: {e}"))?;
        }
        Ok(Version::New)
    }
}

#[derive(Debug, PartialEq)]
enum Version {
    Old,
    New,
}

#[test]
fn sigkill_at_random_points_leaves_every_file_old_or_new_never_torn() {
    let seed = env_number("GITSEAL_CRASH_SEED", 0x5eed_c0de);
    let trials = env_number("GITSEAL_CRASH_TRIALS", 5);
    eprintln!("crash consistency: seed {seed}, {trials} kill(s) per operation (GITSEAL_CRASH_SEED / GITSEAL_CRASH_TRIALS)");
    let mut rng = common::Rng::new(seed);
    let bench = Bench::new();
    let plains = plaintexts();
    let mut encrypted_cache = None;
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for op in [Op::EncryptInPlace, Op::RotateInPlace, Op::Updatekeys, Op::Set] {
        // How long an uninterrupted run takes: the kills are spread over it.
        let old = bench.prepare(op, &mut encrypted_cache);
        let start = Instant::now();
        let status = bench.command(op).status().unwrap();
        let full = start.elapsed();
        assert!(status.success(), "{} without a kill failed", op.name());
        for ((p, (_, plain)), old) in bench.files().iter().zip(&plains).zip(&old) {
            let v = bench.classify(op, p, plain, old).unwrap_or_else(|e| panic!("{} without a kill: {e}", op.name()));
            let untouched = op == Op::Set && !p.ends_with("b-large.yaml");
            assert_eq!(v, if untouched { Version::Old } else { Version::New }, "{} without a kill: {}", op.name(), p.display());
        }
        let (mut olds, mut news, mut temps) = (0, 0, 0);
        for _ in 0..trials {
            let old = bench.prepare(op, &mut encrypted_cache);
            let delay = Duration::from_micros(rng.below(full.as_micros() as usize * 11 / 10) as u64);
            let mut child = bench.command(op).spawn().unwrap();
            std::thread::sleep(delay);
            let _ = child.kill();
            let _ = child.wait();
            for ((p, (_, plain)), old) in bench.files().iter().zip(&plains).zip(&old) {
                match bench.classify(op, p, plain, old) {
                    Ok(Version::Old) => olds += 1,
                    Ok(Version::New) => news += 1,
                    Err(e) => failures.push(format!("{} killed after {delay:?}: {e}", op.name())),
                }
            }
            temps += std::fs::read_dir(&bench.dir).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".gitseal-")).count();
        }
        summary.push(format!("{}: full run {full:?}; after {trials} kills: {olds} files old, {news} new, {temps} temporary file(s) left", op.name()));
    }
    for line in &summary {
        eprintln!("crash consistency: {line}");
    }
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
}
