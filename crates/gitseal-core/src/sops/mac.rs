//! The file MAC: SHA-512 over every leaf's plaintext, in document order, all documents.

use sha2::{Digest, Sha256, Sha512};

/// Accumulates the MAC.
pub(crate) struct MacBuilder {
    hash: Sha512,
}

impl MacBuilder {
    /// With `mac_only_encrypted`, sops first feeds `sha256("sops")` so the two kinds of
    /// MAC can never collide.
    pub(crate) fn new(mac_only_encrypted: bool) -> Self {
        let mut hash = Sha512::new();
        if mac_only_encrypted {
            hash.update(Sha256::digest(b"sops"));
        }
        MacBuilder { hash }
    }

    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
    }

    /// 128 uppercase hex characters, as sops writes them.
    pub(crate) fn finish(self) -> String {
        let digest = self.hash.finalize();
        let mut s = String::with_capacity(128);
        for b in digest {
            s.push(char::from_digit((b >> 4) as u32, 16).unwrap().to_ascii_uppercase());
            s.push(char::from_digit((b & 15) as u32, 16).unwrap().to_ascii_uppercase());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_mac_is_sha512_of_nothing() {
        let m = MacBuilder::new(false).finish();
        assert!(m.starts_with("CF83E1357EEFB8BDF1542850D66D8007"));
        assert_eq!(m.len(), 128);
        assert_ne!(MacBuilder::new(true).finish(), m);
    }
}
