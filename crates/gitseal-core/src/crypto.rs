//! AES-256-GCM as sops uses it: a 32-byte data key per file and 32-byte nonces.
//!
//! sops builds its cipher with Go's `NewGCMWithNonceSize(32)`; a non-96-bit nonce is
//! run through GHASH to derive the initial counter block, which RustCrypto's `AesGcm`
//! does for any nonce length given as a type parameter.

use aes_gcm::aead::consts::{U12, U16, U32};
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use zeroize::Zeroizing;

/// Nonce size sops writes.
pub(crate) const IV_LEN: usize = 32;
/// GCM tag size.
pub(crate) const TAG_LEN: usize = 16;

type Gcm32 = AesGcm<Aes256, U32, U16>;
type Gcm12 = AesGcm<Aes256, U12, U16>;

/// The per-file symmetric key. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh key from the operating system's CSPRNG.
    pub(crate) fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        fill_random(&mut key[..]);
        DataKey(key)
    }

    /// Wraps raw key bytes; `None` unless exactly 32 bytes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }

    /// The 32 key bytes (AES-256). Callers must not copy them out of zeroizing storage.
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Encrypts `plaintext` with a fresh random 32-byte IV.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        self.sealer().seal(plaintext, aad)
    }

    /// A cipher with this key's schedule computed once, for sealing many values.
    pub(crate) fn sealer(&self) -> Sealer {
        Sealer { cipher: Gcm32::new(GenericArray::from_slice(&self.0[..])) }
    }

    /// Encrypts with a caller-chosen IV. Only for tests and known-answer checks: reusing
    /// an IV with different plaintext under one key breaks GCM.
    pub fn seal_with_iv(&self, plaintext: &[u8], aad: &[u8], iv: &[u8; IV_LEN]) -> Sealed {
        let cipher = Gcm32::new(GenericArray::from_slice(&self.0[..]));
        let mut buf = plaintext.to_vec();
        let tag = cipher.encrypt_in_place_detached(GenericArray::from_slice(iv), aad, &mut buf).expect("AES-GCM encryption of an in-memory buffer cannot fail");
        Sealed { data: buf, iv: iv.to_vec(), tag: tag.to_vec() }
    }

    /// Decrypts; `None` when the tag does not verify (wrong key, wrong AAD, tampering).
    pub(crate) fn open(&self, data: &[u8], iv: &[u8], tag: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if tag.len() != TAG_LEN {
            return None;
        }
        let mut buf = Zeroizing::new(data.to_vec());
        let tag = GenericArray::from_slice(tag);
        let ok = match iv.len() {
            IV_LEN => Gcm32::new(GenericArray::from_slice(&self.0[..])).decrypt_in_place_detached(GenericArray::from_slice(iv), aad, &mut buf, tag).is_ok(),
            12 => Gcm12::new(GenericArray::from_slice(&self.0[..])).decrypt_in_place_detached(GenericArray::from_slice(iv), aad, &mut buf, tag).is_ok(),
            16 => AesGcm::<Aes256, aes_gcm::aead::consts::U16, U16>::new(GenericArray::from_slice(&self.0[..]))
                .decrypt_in_place_detached(GenericArray::from_slice(iv), aad, &mut buf, tag)
                .is_ok(),
            _ => false,
        };
        ok.then_some(buf)
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Seals many values under one key without recomputing its key schedule.
pub(crate) struct Sealer {
    cipher: Gcm32,
}

impl Sealer {
    /// Encrypts `plaintext` with a fresh random 32-byte IV.
    pub(crate) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Sealed {
        let mut iv = [0u8; IV_LEN];
        fill_random(&mut iv);
        let mut buf = plaintext.to_vec();
        let tag =
            self.cipher.encrypt_in_place_detached(GenericArray::from_slice(&iv), aad, &mut buf).expect("AES-GCM encryption of an in-memory buffer cannot fail");
        Sealed { data: buf, iv: iv.to_vec(), tag: tag.to_vec() }
    }
}

/// The three parts of one AES-GCM encryption.
pub struct Sealed {
    /// The ciphertext, as long as the plaintext.
    pub data: Vec<u8>,
    /// The 32-byte nonce, random per value as sops draws it.
    pub iv: Vec<u8>,
    /// The 16-byte GCM authentication tag.
    pub tag: Vec<u8>,
}

/// Fills `buf` from the OS CSPRNG. Failure to reach it is unrecoverable for a tool whose
/// whole job is key material, so it aborts with a clear message rather than limping on.
pub(crate) fn fill_random(buf: &mut [u8]) {
    getrandom::getrandom(buf).expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let key = DataKey::generate();
        let s = key.seal(b"hello", b"stringData:token:");
        assert_eq!(s.iv.len(), 32);
        assert_eq!(s.tag.len(), 16);
        assert_eq!(s.data.len(), 5);
        let out = key.open(&s.data, &s.iv, &s.tag, b"stringData:token:").unwrap();
        assert_eq!(&out[..], b"hello");
        assert!(key.open(&s.data, &s.iv, &s.tag, b"stringData:other:").is_none());
        let other = DataKey::generate();
        assert!(other.open(&s.data, &s.iv, &s.tag, b"stringData:token:").is_none());
    }

    #[test]
    fn debug_hides_key() {
        assert_eq!(format!("{:?}", DataKey::generate()), "DataKey(..)");
    }
}
