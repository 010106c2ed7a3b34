//! Shamir secret sharing over GF(2^8), share-for-share compatible with sops.
//!
//! sops (its `shamir` package, derived from HashiCorp Vault's) splits the 32-byte data key
//! when a file has more than one key group:
//!
//! - Field: GF(2^8) with the AES (Rijndael) polynomial x^8 + x^4 + x^3 + x + 1.
//! - One random polynomial of degree `threshold - 1` per secret byte, the byte being the
//!   intercept; the other coefficients are uniformly random bytes.
//! - A share is the polynomial values for every secret byte followed by **one trailing byte,
//!   the x-coordinate**: `{y_1, .., y_n, x}`, so it is one byte longer than the secret
//!   (33 bytes for a data key).
//! - Since sops 3.10 the x-coordinates are not randomised any more: share `i` (0-based) is
//!   evaluated at `x = i + 1`, and sops gives share `i` to key group `i`. Older files (and
//!   Vault) use random distinct non-zero x-coordinates; [`combine`] accepts any of them.
//! - Each group's master keys encrypt the raw share bytes (tag byte included); with a single
//!   key group sops does not split at all and the groups' keys hold the raw data key.
//! - Recovery feeds every share that could be decrypted (possibly more than the
//!   threshold, in group order) to Lagrange interpolation at x = 0.
//!
//! Arithmetic avoids secret-dependent branches and table lookups: multiplication is a
//! fixed eight-round shift-and-add and inversion is exponentiation to the 254th power.

use zeroize::Zeroizing;

/// Bytes a share has beyond the secret: the trailing x-coordinate.
pub(crate) const SHARE_OVERHEAD: usize = 1;

/// Largest number of shares (and threshold): x-coordinates are the non-zero bytes.
pub(crate) const MAX_PARTS: usize = 255;

/// Why a secret could not be split or recombined.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShamirError {
    /// Fewer shares were asked for than are needed to recover the secret.
    #[error("Shamir split: the number of parts ({parts}) cannot be less than the threshold ({threshold})")]
    PartsBelowThreshold {
        /// Shares asked for (the number of key groups).
        parts: usize,
        /// Shares needed to recover (`shamir_threshold`).
        threshold: usize,
    },
    /// More than 255 shares: share x-coordinates are one nonzero byte (GF(2^8)), as in sops.
    #[error("Shamir split: the number of parts ({0}) cannot exceed 255")]
    TooManyParts(usize),
    /// A threshold below 2, which sops's Shamir implementation rejects.
    #[error("Shamir split: the threshold ({0}) must be at least 2")]
    ThresholdTooSmall(usize),
    /// A threshold above 255, the most shares there can be.
    #[error("Shamir split: the threshold ({0}) cannot exceed 255")]
    ThresholdTooLarge(usize),
    /// An empty secret, which has nothing to split.
    #[error("Shamir split: cannot split an empty secret")]
    EmptySecret,
    /// Fewer than two shares given to combine (the number given).
    #[error("Shamir combine: at least two shares are needed to recover the secret, got {0}")]
    TooFewShares(usize),
    /// A share shorter than one data byte plus its x-coordinate (the length found).
    #[error("Shamir combine: a share must be at least two bytes long, got {0} bytes")]
    ShareTooShort(usize),
    /// Shares of different lengths: they cannot come from one split.
    #[error("Shamir combine: all shares must have the same length, share {index} has {found} bytes instead of {expected}")]
    ShareLengthMismatch {
        /// 0-based position of the odd share.
        index: usize,
        /// The length of the first share, in bytes.
        expected: usize,
        /// The length of this share, in bytes.
        found: usize,
    },
    /// Two shares with one x-coordinate, which would make interpolation divide by zero.
    #[error("Shamir combine: two shares have the same x-coordinate {x}")]
    DuplicateShare {
        /// The repeated x-coordinate (the share's last byte).
        x: u8,
    },
}

/// Splits `secret` into `parts` shares, any `threshold` of which recover it.
///
/// Each share is the format sops/Vault use (y-values followed by the x-coordinate byte).
/// Share `i` has x-coordinate `i + 1`, as sops 3.10 and later write them; sops hands share
/// `i` to key group `i`.
pub fn split(secret: &[u8], parts: usize, threshold: usize) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    // Same checks, in the same order, as sops/Vault.
    if parts < threshold {
        return Err(ShamirError::PartsBelowThreshold { parts, threshold });
    }
    if parts > MAX_PARTS {
        return Err(ShamirError::TooManyParts(parts));
    }
    if threshold < 2 {
        return Err(ShamirError::ThresholdTooSmall(threshold));
    }
    if threshold > MAX_PARTS {
        return Err(ShamirError::ThresholdTooLarge(threshold));
    }
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }

    let mut out: Vec<Zeroizing<Vec<u8>>> = (0..parts)
        .map(|i| {
            let mut share = Zeroizing::new(vec![0u8; secret.len() + SHARE_OVERHEAD]);
            share[secret.len()] = x_coordinate(i);
            share
        })
        .collect();

    // coefficients[0] is the intercept (the secret byte), the rest random.
    let mut coefficients = Zeroizing::new(vec![0u8; threshold]);
    for (idx, &byte) in secret.iter().enumerate() {
        coefficients[0] = byte;
        crate::crypto::fill_random(&mut coefficients[1..]);
        for (i, share) in out.iter_mut().enumerate() {
            share[idx] = evaluate(&coefficients, x_coordinate(i));
        }
    }
    Ok(out)
}

/// Recombines shares (at least `threshold` of them, any order).
///
/// Fewer shares than the threshold used at split time give a wrong secret, not an error:
/// the shares carry no record of the threshold.
pub fn combine(shares: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    if shares.len() < 2 {
        return Err(ShamirError::TooFewShares(shares.len()));
    }
    let len = shares[0].len();
    if len < 2 {
        return Err(ShamirError::ShareTooShort(len));
    }
    for (index, share) in shares.iter().enumerate().skip(1) {
        if share.len() != len {
            return Err(ShamirError::ShareLengthMismatch { index, expected: len, found: share.len() });
        }
    }

    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    let mut seen = [false; 256];
    for &x in &xs {
        if seen[x as usize] {
            return Err(ShamirError::DuplicateShare { x });
        }
        seen[x as usize] = true;
    }

    // Lagrange basis polynomials evaluated at x = 0; they depend only on the x-coordinates,
    // so they are the same for every byte position.
    let basis: Vec<u8> = (0..xs.len())
        .map(|i| {
            let mut b = 1u8;
            for (j, &xj) in xs.iter().enumerate() {
                if i != j {
                    // (0 - x_j) / (x_i - x_j); subtraction is addition (xor) in GF(2^8).
                    b = mul(b, div(xj, xs[i] ^ xj));
                }
            }
            b
        })
        .collect();

    let mut secret = Zeroizing::new(vec![0u8; len - SHARE_OVERHEAD]);
    for (idx, out) in secret.iter_mut().enumerate() {
        *out = shares.iter().zip(&basis).fold(0u8, |acc, (share, &b)| acc ^ mul(share[idx], b));
    }
    Ok(secret)
}

/// The x-coordinate sops gives share `i`.
fn x_coordinate(i: usize) -> u8 {
    debug_assert!(i < MAX_PARTS);
    (i + 1) as u8
}

/// Horner's method; `coefficients[0]` is the constant term.
fn evaluate(coefficients: &[u8], x: u8) -> u8 {
    coefficients.iter().rev().fold(0u8, |acc, &c| mul(acc, x) ^ c)
}

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, without branches on the
/// operands: for each bit of `b`, high to low, double the accumulator (reducing by 0x1B
/// when it overflows) and add `a` if the bit is set.
fn mul(a: u8, b: u8) -> u8 {
    let mut acc = 0u8;
    for i in (0..8).rev() {
        let bit = (b >> i) & 1;
        let reduce = (acc >> 7).wrapping_neg() & 0x1B;
        acc = (acc << 1) ^ reduce ^ (bit.wrapping_neg() & a);
    }
    acc
}

/// Multiplicative inverse, a^254 (Fermat); 0 maps to 0.
fn inverse(a: u8) -> u8 {
    let mut b = mul(a, a); // a^2
    let mut c = mul(a, b); // a^3
    b = mul(c, c); // a^6
    b = mul(b, b); // a^12
    c = mul(b, c); // a^15
    b = mul(b, b); // a^24
    b = mul(b, b); // a^48
    b = mul(b, c); // a^63
    b = mul(b, b); // a^126
    b = mul(a, b); // a^127
    mul(b, b) // a^254
}

/// Division in GF(2^8). `b` is never zero: callers divide by differences of distinct
/// x-coordinates.
fn div(a: u8, b: u8) -> u8 {
    debug_assert!(b != 0, "division by zero in GF(2^8)");
    mul(a, inverse(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        assert!(s.len() % 2 == 0);
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn refs(shares: &[Zeroizing<Vec<u8>>]) -> Vec<&[u8]> {
        shares.iter().map(|s| s.as_slice()).collect()
    }

    /// Bit-by-bit reference multiplication, for checking `mul`.
    fn slow_mul(mut a: u8, mut b: u8) -> u8 {
        let mut r = 0u8;
        while b != 0 {
            if b & 1 == 1 {
                r ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= 0x1B;
            }
            b >>= 1;
        }
        r
    }

    /// All subsets of `0..n` with exactly `k` elements.
    fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        (0u32..1 << n).filter(|m| m.count_ones() as usize == k).map(|m| (0..n).filter(|i| m >> i & 1 == 1).collect()).collect()
    }

    #[test]
    fn field_arithmetic() {
        // Textbook AES field products (FIPS-197 section 4.2).
        assert_eq!(mul(0x57, 0x83), 0xC1);
        assert_eq!(mul(0x57, 0x13), 0xFE);
        assert_eq!(mul(0x53, 0xCA), 0x01);
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow_mul(a, b), "{a} * {b}");
            }
        }
        assert_eq!(inverse(0), 0);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1, "inverse of {a}");
            assert_eq!(div(mul(a, 0x2F), a), 0x2F);
        }
    }

    #[test]
    fn evaluate_matches_definition() {
        let p = [0x11u8, 0x22, 0x33];
        for x in 0..=255u8 {
            let expected = p[0] ^ mul(p[1], x) ^ mul(p[2], mul(x, x));
            assert_eq!(evaluate(&p, x), expected);
        }
        assert_eq!(evaluate(&p, 0), 0x11);
    }

    #[test]
    fn share_layout() {
        let secret = [7u8; 32];
        let shares = split(&secret, 5, 3).unwrap();
        assert_eq!(shares.len(), 5);
        for (i, s) in shares.iter().enumerate() {
            assert_eq!(s.len(), 33);
            assert_eq!(s[32], i as u8 + 1, "share {i} carries x = i + 1 as its last byte");
        }
    }

    #[test]
    fn round_trips() {
        let mut secret = [0u8; 32];
        crate::crypto::fill_random(&mut secret);
        for (parts, threshold) in [(2, 2), (3, 2), (3, 3), (5, 3), (7, 4), (10, 10), (16, 2)] {
            let shares = split(&secret, parts, threshold).unwrap();
            let all = refs(&shares);
            assert_eq!(&combine(&all).unwrap()[..], &secret[..], "all of ({parts}, {threshold})");
            assert_eq!(&combine(&all[..threshold]).unwrap()[..], &secret[..]);
            assert_eq!(&combine(&all[parts - threshold..]).unwrap()[..], &secret[..]);
            let mut reversed = all.clone();
            reversed.reverse();
            assert_eq!(&combine(&reversed).unwrap()[..], &secret[..]);
        }
    }

    #[test]
    fn extreme_sizes() {
        let secret = b"\x00\xff\x80";
        for (parts, threshold) in [(255, 2), (255, 255), (2, 2)] {
            let shares = split(secret, parts, threshold).unwrap();
            assert_eq!(shares[parts - 1][secret.len()], parts as u8);
            let all = refs(&shares);
            assert_eq!(&combine(&all).unwrap()[..], secret);
            assert_eq!(&combine(&all[parts - threshold..]).unwrap()[..], secret);
        }
        let one = split(&[42], 3, 2).unwrap();
        assert_eq!(&combine(&refs(&one)[1..]).unwrap()[..], &[42]);
    }

    #[test]
    fn every_threshold_subset_recovers() {
        let secret: Vec<u8> = (0..32).collect();
        let shares = split(&secret, 6, 3).unwrap();
        for k in 3..=6 {
            for subset in subsets(6, k) {
                let picked: Vec<&[u8]> = subset.iter().map(|&i| shares[i].as_slice()).collect();
                assert_eq!(&combine(&picked).unwrap()[..], &secret[..], "subset {subset:?}");
            }
        }
    }

    #[test]
    fn fewer_than_threshold_does_not_recover() {
        let mut secret = [0u8; 32];
        crate::crypto::fill_random(&mut secret);
        let shares = split(&secret, 5, 4).unwrap();
        for k in 2..4 {
            for subset in subsets(5, k) {
                let picked: Vec<&[u8]> = subset.iter().map(|&i| shares[i].as_slice()).collect();
                assert_ne!(&combine(&picked).unwrap()[..], &secret[..], "subset {subset:?}");
            }
        }
        assert!(matches!(combine(&[&shares[0]]), Err(ShamirError::TooFewShares(1))));
        assert!(matches!(combine(&[]), Err(ShamirError::TooFewShares(0))));
    }

    #[test]
    fn splits_are_randomised() {
        let secret = [0u8; 32];
        let a = split(&secret, 3, 2).unwrap();
        let b = split(&secret, 3, 2).unwrap();
        assert_ne!(a[0], b[0]);
        // Nothing of an all-zero secret shows through.
        assert!(a.iter().all(|s| s[..32].iter().any(|&y| y != 0)));
    }

    #[test]
    fn split_rejects_bad_parameters() {
        let s = [1u8; 32];
        assert!(matches!(split(&s, 2, 3), Err(ShamirError::PartsBelowThreshold { parts: 2, threshold: 3 })));
        assert!(matches!(split(&s, 256, 2), Err(ShamirError::TooManyParts(256))));
        assert!(matches!(split(&s, 3, 1), Err(ShamirError::ThresholdTooSmall(1))));
        assert!(matches!(split(&s, 3, 0), Err(ShamirError::ThresholdTooSmall(0))));
        assert!(matches!(split(&s, 1, 1), Err(ShamirError::ThresholdTooSmall(1))));
        assert!(matches!(split(&s, 300, 256), Err(ShamirError::TooManyParts(300))));
        assert!(matches!(split(&[], 3, 2), Err(ShamirError::EmptySecret)));
        let msg = split(&s, 2, 3).unwrap_err().to_string();
        assert!(msg.contains("cannot be less than the threshold"), "{msg}");
    }

    #[test]
    fn combine_rejects_bad_shares() {
        let shares = split(&[9u8; 32], 3, 2).unwrap();
        assert!(matches!(combine(&[&[1], &[2]]), Err(ShamirError::ShareTooShort(1))));
        assert!(matches!(combine(&[&shares[0], &shares[1][..32]]), Err(ShamirError::ShareLengthMismatch { index: 1, expected: 33, found: 32 })));
        assert!(matches!(combine(&[&shares[1], &shares[2], &shares[1]]), Err(ShamirError::DuplicateShare { x: 2 })));
    }

    #[test]
    fn combine_accepts_random_x_coordinates() {
        // Vault and sops before 3.10 place shares at random distinct x-coordinates.
        let secret = b"older sops files";
        let xs = [0xE3u8, 0x05, 0x9A];
        let mut shares = vec![Vec::new(); 3];
        for &byte in secret {
            let coefficients = [byte, 0x6C, 0xB1];
            for (share, &x) in shares.iter_mut().zip(&xs) {
                share.push(evaluate(&coefficients, x));
            }
        }
        for (share, &x) in shares.iter_mut().zip(&xs) {
            share.push(x);
        }
        let picked: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
        assert_eq!(&combine(&picked).unwrap()[..], secret);
    }

    // Known answer from a file written by sops 3.11.0 with three age key groups and
    // `shamir_threshold: 2` (throwaway keys). Each share is what `age --decrypt` gives for
    // that group's `enc`: 33 raw bytes, the last being the group's index + 1.
    const SOPS_SHARES: [&str; 3] = [
        "4d3ad363f994cbf56c2a073827462da4f6c0a2b79fbc062aa5b798ac734509f901",
        "9a48ec7c70974e24cb78c5f28e95fca935660678cb0d0db3966febaab3cd728102",
        "d766f980fe96c46b5fbf72b4e92db35b7404933d0e62fdc4872733a8f3b55ba903",
    ];
    const SOPS_DATA_KEY: &str = "0014c69f779541baf8edb07e40fe6256b7a237f25ad3f65db4ff40ae333d20d1";
    // The file's values and MAC: `key: value` and `nested: {pw: hunter2}`.
    const SOPS_VALUES: [(&str, &str, &str, &str, &str); 3] = [
        ("key:", "L1rR5Do=", "2KAN5Ji1VoZLsI8TtPT+fmDoRW4QLsbFcmmvpKHonUI=", "nQyxbAcZF5NMzXLracg6Fg==", "value"),
        ("nested:pw:", "aE58tjAKOQ==", "VSEahTvnpvazdTTI4V+TyuJgit1zJbWkErzhNUK5jOo=", "Ba3nH/aGX9E7HAS+01uqGw==", "hunter2"),
        (
            "2026-11-22T15:23:19Z",
            "G2Iwod94Z13hfQhGCgWqpOgRlWSoUqtNceO8prhJmURK3D+XI1DzvYp68rK3hM0ihNGAYtT4NElxC2wTOAs4f6wk+8Vscnjs/wCmkelXdNyTrVPg0bIGRdNqaUF+cOF6LUr/VRnj26fVM9PGXHUf/CZBhXhTOgTa8FB8RJIRhkg=",
            "tPgeVcBWgSCAbLcNFI3U672IpUHzEX963greUvTQE0A=",
            "5Lcw5CU3fW9hl1RjPBgZ/w==",
            "",
        ),
    ];

    #[test]
    fn known_answer_from_sops() {
        use base64::Engine as _;
        use sha2::{Digest, Sha512};
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();

        let shares: Vec<Vec<u8>> = SOPS_SHARES.iter().map(|s| hex(s)).collect();
        let expected = hex(SOPS_DATA_KEY);
        for (i, s) in shares.iter().enumerate() {
            assert_eq!(s.len(), 33);
            assert_eq!(s[32], i as u8 + 1);
        }
        for subset in subsets(3, 2).into_iter().chain(subsets(3, 3)) {
            for order in [false, true] {
                let mut picked: Vec<&[u8]> = subset.iter().map(|&i| shares[i].as_slice()).collect();
                if order {
                    picked.reverse();
                }
                assert_eq!(&combine(&picked).unwrap()[..], &expected[..], "groups {subset:?}");
            }
        }

        let key = crate::crypto::DataKey::from_bytes(&expected).unwrap();
        let mut mac = Sha512::new();
        for (aad, data, iv, tag, plain) in &SOPS_VALUES[..2] {
            let got = key.open(&b64(data), &b64(iv), &b64(tag), aad.as_bytes()).expect("value decrypts");
            assert_eq!(&got[..], plain.as_bytes());
            mac.update(&got[..]);
        }
        let (aad, data, iv, tag, _) = SOPS_VALUES[2];
        let stored = key.open(&b64(data), &b64(iv), &b64(tag), aad.as_bytes()).expect("mac decrypts");
        let computed: String = mac.finalize().iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(std::str::from_utf8(&stored).unwrap(), computed);
    }

    /// sops itself decrypts a file whose key groups hold shares made by [`split`].
    ///
    /// Runs the real `sops` (installed by scripts/install-peers.sh).
    #[test]
    fn sops_accepts_our_shares() {
        use secrecy::ExposeSecret;
        use std::io::{Read, Write};
        use std::process::Command;

        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<age::x25519::Identity> = (0..3).map(|_| age::x25519::Identity::generate()).collect();
        let recipients: Vec<String> = ids.iter().map(|i| i.to_public().to_string()).collect();
        let config = format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n{}",
            recipients.iter().map(|r| format!("      - age: [{r}]\n")).collect::<String>()
        );
        std::fs::write(dir.path().join(".sops.yaml"), config).unwrap();
        std::fs::write(dir.path().join("x.yaml"), "key: value\nnested:\n  pw: hunter2\n").unwrap();
        let out = Command::new("sops").current_dir(dir.path()).args(["encrypt", "x.yaml"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();

        // Take sops's shares apart with our combine, then re-split with ours.
        let block = regex::Regex::new(r"(?s)-----BEGIN AGE ENCRYPTED FILE-----.*?-----END AGE ENCRYPTED FILE-----").unwrap();
        let armored: Vec<String> = block.find_iter(&text).map(|m| m.as_str().lines().map(|l| format!("{}\n", l.trim())).collect()).collect();
        assert_eq!(armored.len(), 3);
        let decrypt = |enc: &str, id: &age::x25519::Identity| -> Vec<u8> {
            let reader = age::armor::ArmoredReader::new(enc.as_bytes());
            let decryptor = age::Decryptor::new(reader).unwrap();
            let mut r = decryptor.decrypt(std::iter::once(id as &dyn age::Identity)).unwrap();
            let mut buf = Vec::new();
            r.read_to_end(&mut buf).unwrap();
            buf
        };
        let theirs: Vec<Vec<u8>> = armored.iter().zip(&ids).map(|(a, id)| decrypt(a, id)).collect();
        let data_key = combine(&[&theirs[0], &theirs[2]]).unwrap();
        assert_eq!(data_key.len(), 32);
        let ours = split(&data_key, 3, 2).unwrap();

        let mut i = 0;
        let replaced = block.replace_all(&text, |_: &regex::Captures| {
            let recipient: age::x25519::Recipient = recipients[i].parse().unwrap();
            let mut buf = Vec::new();
            let armor = age::armor::ArmoredWriter::wrap_output(&mut buf, age::armor::Format::AsciiArmor).unwrap();
            let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
            let mut w = enc.wrap_output(armor).unwrap();
            w.write_all(&ours[i]).unwrap();
            w.finish().and_then(|a| a.finish()).unwrap();
            i += 1;
            String::from_utf8(buf).unwrap().trim_end().replace('\n', "\n                ")
        });
        assert_ne!(replaced, text);
        std::fs::write(dir.path().join("x.enc.yaml"), replaced.as_bytes()).unwrap();

        for pair in [[0usize, 1], [1, 2], [0, 2]] {
            let keys: String = pair.iter().map(|&j| format!("{}\n", ids[j].to_string().expose_secret())).collect();
            std::fs::write(dir.path().join("keys.txt"), keys).unwrap();
            let out = Command::new("sops")
                .current_dir(dir.path())
                .env("SOPS_AGE_KEY_FILE", dir.path().join("keys.txt"))
                .env_remove("SOPS_AGE_KEY")
                .args(["decrypt", "x.enc.yaml"])
                .output()
                .unwrap();
            assert!(out.status.success(), "groups {pair:?}: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8(out.stdout).unwrap(), "key: value\nnested:\n    pw: hunter2\n");
        }
    }
}
