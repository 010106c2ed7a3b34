//! The C2SP CCTV age test vectors (`../shared/test-vectors/cctv-age/testdata`), run
//! through gitseal's age decryption (`Identities::open_age_file`, the routine that opens
//! every age-wrapped data key): X25519, post-quantum hybrid, header, stream, HMAC and
//! armor cases. Each vector must succeed with its payload hash, or fail, as it says.
//!
//! `scrypt` vectors (passphrases) are run through the `age` crate's own scrypt identity
//! with the same reader stack, since gitseal never opens passphrase-encrypted keys.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use gitseal_core::keys::age::AgeOpenError;
use gitseal_core::keys::Identities;
use sha2::{Digest, Sha256};

/// `../shared` beside the repository (`GITSEAL_SHARED_DIR` overrides, for worktrees
/// elsewhere).
fn shared_dir() -> PathBuf {
    std::env::var_os("GITSEAL_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn vectors_dir() -> Option<PathBuf> {
    let dir = shared_dir().join("test-vectors/cctv-age/testdata");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is absent", dir.display());
        None
    }
}

struct Vector {
    name: String,
    expect: String,
    payload: Option<String>,
    identities: Vec<String>,
    passphrases: Vec<String>,
    body: Vec<u8>,
}

fn read_vector(path: &std::path::Path) -> Vector {
    let bytes = std::fs::read(path).unwrap();
    let split = bytes.windows(2).position(|w| w == b"\n\n").expect("a header, an empty line, then the file");
    let header = std::str::from_utf8(&bytes[..split]).unwrap();
    let mut body = bytes[split + 2..].to_vec();
    let mut v = Vector {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        expect: String::new(),
        payload: None,
        identities: Vec::new(),
        passphrases: Vec::new(),
        body: Vec::new(),
    };
    for line in header.lines() {
        let (k, val) = line.split_once(": ").expect("key: value");
        match k {
            "expect" => v.expect = val.to_owned(),
            "payload" => v.payload = Some(val.to_owned()),
            "identity" => v.identities.push(val.to_owned()),
            "passphrase" => v.passphrases.push(val.to_owned()),
            "compressed" => {
                assert_eq!(val, "zlib");
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(&body[..]).read_to_end(&mut out).unwrap();
                body = out;
            }
            _ => {}
        }
    }
    v.body = body;
    v
}

/// The outcome in the vectors' own words.
fn outcome(result: &Result<Vec<u8>, AgeOpenError>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(AgeOpenError::Armor) => "armor failure",
        Err(AgeOpenError::Header) => "header failure",
        Err(AgeOpenError::NoMatch) => "no match",
        Err(AgeOpenError::HeaderMac) => "HMAC failure",
        Err(AgeOpenError::Payload) => "payload failure",
    }
}

fn open_with_passphrase(v: &Vector) -> Result<Vec<u8>, AgeOpenError> {
    let reader = age::armor::ArmoredReader::new(&v.body[..]);
    let d = age::Decryptor::new_buffered(reader).map_err(|e| match e {
        age::DecryptError::Io(_) => AgeOpenError::Armor,
        _ => AgeOpenError::Header,
    })?;
    // The reference implementation's limit: a work factor above 2^22 is refused.
    let ids: Vec<age::scrypt::Identity> = v
        .passphrases
        .iter()
        .map(|p| {
            let mut id = age::scrypt::Identity::new(p.clone().into());
            id.set_max_work_factor(22);
            id
        })
        .collect();
    let mut r = d.decrypt(ids.iter().map(|i| i as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => AgeOpenError::NoMatch,
        age::DecryptError::InvalidMac => AgeOpenError::HeaderMac,
        _ => AgeOpenError::Header,
    })?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|_| AgeOpenError::Payload)?;
    Ok(out)
}

fn open(v: &Vector) -> Result<Vec<u8>, AgeOpenError> {
    if !v.passphrases.is_empty() {
        return open_with_passphrase(v);
    }
    let mut ids = Identities::default();
    ids.add_text(&v.name, &v.identities.join("\n")).expect("the vector's identities parse");
    ids.open_age_file(&v.body).map(|p| p.to_vec())
}

#[test]
fn every_cctv_age_vector_has_its_expected_outcome() {
    let Some(dir) = vectors_dir() else { return };
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let mut failures = Vec::new();
    // category (file name prefix) -> (vectors, passed)
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut aliased = Vec::new();
    for path in names {
        let v = read_vector(&path);
        let category = v.name.split('_').next().unwrap().to_owned();
        let entry = counts.entry(category).or_default();
        entry.0 += 1;
        let result = open(&v);
        let got = outcome(&result);
        let ok = match (&result, v.expect.as_str()) {
            (Ok(plain), "success") => {
                let hash = hex(&Sha256::digest(plain));
                if Some(&hash) != v.payload.as_ref() {
                    failures.push(format!("{}: payload hash {hash}, expected {:?}", v.name, v.payload));
                    false
                } else {
                    true
                }
            }
            (Ok(_), expected) => {
                // The age crate alone takes two of these (a stanza body without its
                // short final line); gitseal checks stanza bodies itself.
                failures.push(format!("{}: decrypted, but the vector expects {expected}", v.name));
                false
            }
            (Err(_), "success") => {
                failures.push(format!("{}: {got}, but the vector expects success", v.name));
                false
            }
            (Err(_), expected) => {
                // Refused, as it must be. The age crate does not always name the same
                // stage (armor, header, HMAC, no match) as the vector; it is listed.
                if got != expected {
                    aliased.push(format!("{}: {got} (vector: {expected})", v.name));
                }
                true
            }
        };
        if ok {
            entry.1 += 1;
        }
    }
    for (category, (n, passed)) in &counts {
        println!("{category}: {passed}/{n} as expected");
    }
    for a in &aliased {
        println!("category differs: {a}");
    }
    println!("{} refused in another category than the vector names", aliased.len());
    assert!(failures.is_empty(), "{} vectors failed:\n{}", failures.len(), failures.join("\n"));
    let total: usize = counts.values().map(|c| c.0).sum();
    assert!(total >= 143, "only {total} vectors found");
    assert!(counts.get("hybrid").is_some_and(|c| c.0 >= 18), "the hybrid vectors are missing");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
