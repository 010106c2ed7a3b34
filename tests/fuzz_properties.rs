//! The fuzz targets' properties (fuzz/src/properties.rs) on stable Rust: each target's
//! seed corpus (fuzz/corpus/TARGET), every crash input kept in fuzz/regressions/TARGET,
//! then mutations of the seeds from a fixed-seed generator, so every run checks the same
//! inputs. `GITSEAL_FUZZ_ITERATIONS` raises the number of mutations per target (the
//! default keeps the test command short); `GITSEAL_FUZZ_SEED` picks other mutations.
//! libFuzzer runs of the same functions are scripts/fuzz.sh.

mod common;
#[path = "../fuzz/src/properties.rs"]
mod properties;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<Vec<u8>> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Bytes that matter to the formats: structure, quotes, escapes, line ends, markers.
const INTERESTING: &[&[u8]] = &[
    b":",
    b": ",
    b"- ",
    b"\n",
    b"\r\n",
    b"  ",
    b"\t",
    b"#",
    b" #",
    b"'",
    b"\"",
    b"\\",
    b"|",
    b">-",
    b"|+",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"---\n",
    b"...\n",
    b"&a ",
    b"*a",
    b"!!str ",
    b"!!int ",
    b"!x ",
    b"%YAML 1.1\n",
    b"\xef\xbb\xbf",
    b"\0",
    b"\xc2\x85",
    b"ENC[AES256_GCM,",
    b",type:",
    b"sops:",
    b"=",
    b"export ",
    b"1e400",
    b".inf",
    b"0x1F",
    b"\"\\u00e9\"",
    b"[0]",
    b"[\"k\"]",
];

fn mutate(rng: &mut common::Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at.min(end)..end);
            }
            2 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(at..at, piece.iter().copied());
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let to = (from + 1 + rng.below(64)).min(other.len());
                    data.splice(at..at, other[from..to].iter().copied());
                }
            }
            4 if !data.is_empty() => {
                // Repeat a line: duplicated keys, deeper nesting, more documents.
                let start = data[..at.min(data.len())].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let end = data[start..].iter().position(|&b| b == b'\n').map_or(data.len(), |i| start + i + 1);
                let line = data[start..end].to_vec();
                data.splice(end..end, line);
            }
            _ => data.push(rng.next() as u8),
        }
    }
    data
}

fn run(target: &str, property: fn(&[u8])) {
    let seeds = inputs("corpus", target);
    assert!(!seeds.is_empty(), "no seed corpus in fuzz/corpus/{target}");
    for input in seeds.iter().chain(inputs("regressions", target).iter()) {
        property(input);
    }
    let iterations: usize = std::env::var("GITSEAL_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(1500);
    let seed: u64 = std::env::var("GITSEAL_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut rng = common::Rng::new(seed ^ target.bytes().fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b)) | 1);
    for i in 0..iterations {
        let input = mutate(&mut rng, &seeds);
        let outcome = std::panic::catch_unwind(|| property(&input));
        if let Err(e) = outcome {
            let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            panic!("{target}: mutation {i} (seed {seed}) failed: {msg}\ninput: {:?}", String::from_utf8_lossy(&input));
        }
    }
}

#[test]
fn fuzz_yaml_parsers() {
    run("yaml_parsers", properties::yaml_parsers);
}

#[test]
fn fuzz_json() {
    run("json", properties::json);
}

#[test]
fn fuzz_dotenv() {
    run("dotenv", properties::dotenv);
}

#[test]
fn fuzz_enc_value() {
    run("enc_value", properties::enc_value);
}

#[test]
fn fuzz_metadata() {
    run("metadata", properties::metadata);
}

#[test]
fn fuzz_sops_config() {
    run("sops_config", properties::sops_config);
}

#[test]
fn fuzz_shamir() {
    run("shamir", properties::shamir);
}

#[test]
fn fuzz_tree_path() {
    run("tree_path", properties::tree_path);
}
