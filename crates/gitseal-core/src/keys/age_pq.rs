//! The post-quantum hybrid age recipient type of the C2SP age specification (age 1.3):
//! recipients `age1pq1...`, identities `AGE-SECRET-KEY-PQ-1...`, stanzas
//! `-> mlkem768x25519 <enc>` whose body seals the 16-byte file key.
//!
//! The stanza is one HPKE (RFC 9180) base-mode single-shot seal with
//! - KEM MLKEM768-X25519 (X-Wing: ML-KEM-768 and X25519, KEM id 0x647a), whose private key
//!   is a 32-byte seed and whose public key is the 1,216-byte ML-KEM-768 + X25519 key;
//! - KDF HKDF-SHA256 (0x0001) and AEAD ChaCha20-Poly1305 (0x0003);
//! - info `age-encryption.org/mlkem768x25519`, empty associated data.
//!
//! `enc` (1,120 bytes) is the argument in canonical unpadded base64; the body is the
//! 32-byte sealed file key. Keys are Bech32 without the 90-character limit.
//!
//! The primitives come from RustCrypto: `x-wing` (on `ml-kem` and `x25519-dalek`),
//! `hkdf`/`sha2` and `chacha20poly1305`; this module only composes HPKE's key schedule
//! from them.

use std::collections::HashSet;

use age_core::format::{FileKey, Stanza, FILE_KEY_BYTES};
use age_core::secrecy::ExposeSecret;
use base64::Engine;
use bech32::{u5, FromBase32, ToBase32, Variant};
use chacha20poly1305::aead::{Aead, KeyInit as AeadKeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;
use x_wing::{Decapsulator, Encapsulate, KeyExport, TryDecapsulate, TryKeyInit};
use zeroize::Zeroizing;

/// The stanza type.
pub(crate) const STANZA_TAG: &str = "mlkem768x25519";
/// The Bech32 prefix of recipients (`age1pq1...`).
pub(crate) const RECIPIENT_HRP: &str = "age1pq";
/// The Bech32 prefix of identities, upper-cased in files (`AGE-SECRET-KEY-PQ-1...`).
pub(crate) const IDENTITY_HRP: &str = "age-secret-key-pq-";
/// The label age gives to post-quantum stanzas, so they are never mixed with classic ones
/// in one age header.
pub(crate) const POSTQUANTUM_LABEL: &str = "postquantum";

const HPKE_INFO: &[u8] = b"age-encryption.org/mlkem768x25519";
/// "HPKE" || kem_id (0x647a) || kdf_id (0x0001) || aead_id (0x0003).
const SUITE_ID: [u8; 10] = [b'H', b'P', b'K', b'E', 0x64, 0x7a, 0x00, 0x01, 0x00, 0x03];
const ENC_LEN: usize = x_wing::CIPHERTEXT_SIZE;
const TAG_LEN: usize = 16;

/// The standard (padding-free, canonical) base64 of age headers.
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// A hybrid recipient (public key).
#[derive(Clone)]
pub(crate) struct HybridRecipient {
    ek: x_wing::EncapsulationKey,
}

impl std::fmt::Debug for HybridRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HybridRecipient({})", self)
    }
}

/// Why a hybrid key did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HybridKeyError {
    #[error("not valid Bech32")]
    Bech32,
    #[error("wrong key type")]
    WrongType,
    #[error("wrong key length")]
    Length,
    #[error("invalid ML-KEM-768 public key")]
    InvalidKey,
}

/// Bech32 5-bit groups of a secret key, overwritten when dropped (`u5` has no `Zeroize`).
struct SecretGroups(Vec<u5>);

impl Drop for SecretGroups {
    fn drop(&mut self) {
        let zero = u5::try_from_u8(0).expect("0 is a 5-bit value");
        self.0.iter_mut().for_each(|g| *g = zero);
        // Keeps the stores from being optimised away as dead (no unsafe volatile writes
        // in this crate).
        std::hint::black_box(&self.0);
    }
}

fn decode_bech32(text: &str, hrp: &str) -> Result<Zeroizing<Vec<u8>>, HybridKeyError> {
    let (found, data, variant) = bech32::decode(text).map_err(|_| HybridKeyError::Bech32)?;
    let data = SecretGroups(data);
    if found != hrp || variant != Variant::Bech32 {
        return Err(HybridKeyError::WrongType);
    }
    Vec::<u8>::from_base32(&data.0).map(Zeroizing::new).map_err(|_| HybridKeyError::Bech32)
}

impl std::str::FromStr for HybridRecipient {
    type Err = HybridKeyError;

    /// Parses `age1pq1...` (lower case, as age writes it).
    fn from_str(text: &str) -> Result<Self, HybridKeyError> {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(HybridKeyError::WrongType);
        }
        let bytes = decode_bech32(text, RECIPIENT_HRP)?;
        if bytes.len() != x_wing::ENCAPSULATION_KEY_SIZE {
            return Err(HybridKeyError::Length);
        }
        let ek = x_wing::EncapsulationKey::new_from_slice(&bytes).map_err(|_| HybridKeyError::InvalidKey)?;
        Ok(HybridRecipient { ek })
    }
}

impl std::fmt::Display for HybridRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.ek.to_bytes();
        let text = bech32::encode(RECIPIENT_HRP, bytes.as_slice().to_base32(), Variant::Bech32).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

/// HPKE's LabeledExtract(salt, label, ikm).
fn labeled_extract(salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut labeled = Zeroizing::new(Vec::with_capacity(7 + SUITE_ID.len() + label.len() + ikm.len()));
    labeled.extend_from_slice(b"HPKE-v1");
    labeled.extend_from_slice(&SUITE_ID);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(ikm);
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), &labeled);
    Zeroizing::new(prk.to_vec())
}

/// HPKE's LabeledExpand(prk, label, info, L).
fn labeled_expand(prk: &[u8], label: &[u8], info: &[u8], out: &mut [u8]) {
    let mut labeled = Vec::with_capacity(2 + 7 + SUITE_ID.len() + label.len() + info.len());
    labeled.extend_from_slice(&(out.len() as u16).to_be_bytes());
    labeled.extend_from_slice(b"HPKE-v1");
    labeled.extend_from_slice(&SUITE_ID);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(info);
    let hk = Hkdf::<Sha256>::from_prk(prk).expect("an HKDF-SHA256 PRK is 32 bytes");
    hk.expand(&labeled, out).expect("HPKE key and nonce lengths are within HKDF's limit");
}

/// HPKE's base-mode key schedule: the AEAD key and base nonce for a KEM shared secret.
fn key_schedule(shared_secret: &[u8]) -> (Zeroizing<[u8; 32]>, [u8; 12]) {
    let psk_id_hash = labeled_extract(b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(b"", b"info_hash", HPKE_INFO);
    let mut context = Vec::with_capacity(1 + psk_id_hash.len() + info_hash.len());
    context.push(0x00); // mode_base
    context.extend_from_slice(&psk_id_hash);
    context.extend_from_slice(&info_hash);
    let secret = labeled_extract(shared_secret, b"secret", b"");
    let mut key = Zeroizing::new([0u8; 32]);
    labeled_expand(&secret, b"key", &context, key.as_mut_slice());
    let mut nonce = [0u8; 12];
    labeled_expand(&secret, b"base_nonce", &context, &mut nonce);
    (key, nonce)
}

impl HybridRecipient {
    /// The stanza that seals `file_key` to this recipient.
    pub(crate) fn wrap(&self, file_key: &FileKey) -> Stanza {
        let (enc, shared) = self.ek.encapsulate();
        let shared = Zeroizing::new(shared);
        let (key, nonce) = key_schedule(shared.as_slice());
        let aead = ChaCha20Poly1305::new(key.as_slice().into());
        let body = aead.encrypt((&nonce).into(), Payload { msg: file_key.expose_secret(), aad: b"" }).expect("ChaCha20-Poly1305 seals a 16-byte message");
        Stanza { tag: STANZA_TAG.to_owned(), args: vec![B64.encode(enc.as_slice())], body }
    }
}

impl age::Recipient for HybridRecipient {
    fn wrap_file_key(&self, file_key: &FileKey) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        Ok((vec![self.wrap(file_key)], HashSet::from([POSTQUANTUM_LABEL.to_owned()])))
    }
}

/// A hybrid identity (private key): the 32-byte X-Wing seed.
pub(crate) struct HybridIdentity {
    dk: x_wing::DecapsulationKeyRejectNonContrib,
}

impl std::fmt::Debug for HybridIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HybridIdentity(..)")
    }
}

impl std::str::FromStr for HybridIdentity {
    type Err = HybridKeyError;

    /// Parses `AGE-SECRET-KEY-PQ-1...` (upper case, as age writes it; Bech32 also allows
    /// all lower case).
    fn from_str(text: &str) -> Result<Self, HybridKeyError> {
        let seed = decode_bech32(text, IDENTITY_HRP)?;
        let seed: Zeroizing<[u8; x_wing::DECAPSULATION_KEY_SIZE]> = Zeroizing::new(seed.as_slice().try_into().map_err(|_| HybridKeyError::Length)?);
        Ok(HybridIdentity { dk: x_wing::DecapsulationKeyRejectNonContrib::from(*seed) })
    }
}

impl HybridIdentity {
    /// A new random identity.
    pub(crate) fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; x_wing::DECAPSULATION_KEY_SIZE]);
        getrandom::getrandom(seed.as_mut_slice()).expect("the operating system's random number generator works");
        HybridIdentity { dk: x_wing::DecapsulationKeyRejectNonContrib::from(*seed) }
    }

    /// The recipient of this identity.
    pub(crate) fn to_public(&self) -> HybridRecipient {
        HybridRecipient { ek: self.dk.encapsulation_key().clone() }
    }

    /// The identity line, `AGE-SECRET-KEY-PQ-1...`.
    pub(crate) fn to_secret_line(&self) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.dk.to_bytes());
        let data = SecretGroups(seed.as_slice().to_base32());
        let text = Zeroizing::new(bech32::encode(IDENTITY_HRP, &data.0, Variant::Bech32).expect("the prefix is valid Bech32"));
        Zeroizing::new(text.to_ascii_uppercase())
    }

    /// Opens one stanza: `None` when it is not a hybrid stanza or not for this key,
    /// an error when it is a malformed hybrid stanza (which makes the header invalid).
    pub(crate) fn unwrap(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != STANZA_TAG {
            return None;
        }
        let invalid = || Some(Err(age::DecryptError::InvalidHeader));
        let [arg] = stanza.args.as_slice() else { return invalid() };
        // Canonical encodings only: the engine refuses padding and non-zero trailing bits.
        let Ok(enc) = B64.decode(arg) else { return invalid() };
        if enc.len() != ENC_LEN || stanza.body.len() != FILE_KEY_BYTES + TAG_LEN {
            return invalid();
        }
        let Ok(ct) = x_wing::Ciphertext::try_from(enc.as_slice()) else { return invalid() };
        // X-Wing with the X25519 share required to be contributory: a low-order point
        // (an all-zero shared secret) is refused, as the specification demands.
        let Ok(shared) = self.dk.try_decapsulate(&ct) else { return invalid() };
        let shared = Zeroizing::new(shared);
        let (key, nonce) = key_schedule(shared.as_slice());
        let aead = ChaCha20Poly1305::new(key.as_slice().into());
        // ML-KEM rejects implicitly: a stanza for another key fails here, as a non-match.
        let plain = Zeroizing::new(aead.decrypt((&nonce).into(), Payload { msg: &stanza.body, aad: b"" }).ok()?);
        FileKey::try_init_with_mut(|k| {
            k.copy_from_slice(&plain);
            Ok(())
        })
        .into()
    }
}

impl age::Identity for HybridIdentity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        self.unwrap(stanza)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_and_identity_round_trip_through_their_text() {
        let id = HybridIdentity::generate();
        let r = id.to_public().to_string();
        assert!(r.starts_with("age1pq1"));
        let parsed: HybridRecipient = r.parse().unwrap();
        assert_eq!(parsed.to_string(), r);
        let line = id.to_secret_line();
        assert!(line.starts_with("AGE-SECRET-KEY-PQ-1"));
        let again: HybridIdentity = line.parse().unwrap();
        assert_eq!(again.to_public().to_string(), r);
    }

    #[test]
    fn wrap_then_unwrap_gives_the_file_key_and_other_keys_do_not_match() {
        let id = HybridIdentity::generate();
        let fk = FileKey::init_with_mut(|k| k.copy_from_slice(b"YELLOW SUBMARINE"));
        let stanza = id.to_public().wrap(&fk);
        assert_eq!(stanza.tag, STANZA_TAG);
        let got = id.unwrap(&stanza).unwrap().unwrap();
        assert_eq!(got.expose_secret(), b"YELLOW SUBMARINE");
        assert!(HybridIdentity::generate().unwrap(&stanza).is_none());
        let mut bad = Stanza { tag: stanza.tag.clone(), args: stanza.args.clone(), body: stanza.body.clone() };
        bad.body[0] ^= 1;
        assert!(id.unwrap(&bad).is_none());
        let mut extra = stanza;
        extra.args.push("x".into());
        assert!(matches!(id.unwrap(&extra), Some(Err(_))));
    }

    #[test]
    fn uppercase_recipient_is_refused() {
        let r = HybridIdentity::generate().to_public().to_string().to_ascii_uppercase();
        assert!(r.parse::<HybridRecipient>().is_err());
    }
}
