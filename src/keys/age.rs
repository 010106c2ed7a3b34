//! age recipients (X25519 and SSH) and identities.

use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format as ArmorFormat};
use zeroize::Zeroizing;

use super::KeyError;
use crate::crypto::DataKey;
use crate::sops::metadata::AgeStanza;

/// A parsed age recipient, keeping the text it was given as (that is what sops records).
#[derive(Clone)]
pub struct AgeRecipient {
    text: String,
    kind: RecipientKind,
}

#[derive(Clone)]
enum RecipientKind {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl std::fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgeRecipient({})", self.text)
    }
}

impl AgeRecipient {
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.starts_with("age1") {
            let r = text.parse::<age::x25519::Recipient>().map_err(|_| KeyError::BadRecipient(text.to_owned()))?;
            return Ok(AgeRecipient { text: text.to_owned(), kind: RecipientKind::X25519(r) });
        }
        if text.starts_with("ssh-") {
            let r = text.parse::<age::ssh::Recipient>().map_err(|_| KeyError::BadRecipient(text.to_owned()))?;
            return Ok(AgeRecipient { text: text.to_owned(), kind: RecipientKind::Ssh(r) });
        }
        Err(KeyError::BadRecipient(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn as_dyn(&self) -> &dyn age::Recipient {
        match &self.kind {
            RecipientKind::X25519(r) => r,
            RecipientKind::Ssh(r) => r,
        }
    }

    /// Encrypts raw key material (the data key, or a Shamir share of it) to this
    /// recipient, ASCII-armored as sops writes it.
    pub fn wrap(&self, key: &[u8]) -> Result<AgeStanza, KeyError> {
        let fail = |reason: String| KeyError::Wrap { recipient: self.text.clone(), reason };
        let encryptor = age::Encryptor::with_recipients(std::iter::once(self.as_dyn())).map_err(|e| fail(e.to_string()))?;
        let mut out = Vec::with_capacity(512);
        {
            let armored = ArmoredWriter::wrap_output(&mut out, ArmorFormat::AsciiArmor).map_err(|e| fail(e.to_string()))?;
            let mut w = encryptor.wrap_output(armored).map_err(|e| fail(e.to_string()))?;
            w.write_all(key).map_err(|e| fail(e.to_string()))?;
            w.finish().and_then(|a| a.finish()).map_err(|e| fail(e.to_string()))?;
        }
        let mut enc = String::from_utf8(out).map_err(|e| fail(e.to_string()))?;
        if !enc.ends_with('\n') {
            enc.push('\n');
        }
        Ok(AgeStanza { recipient: self.text.clone(), enc })
    }
}

/// The private keys at hand. `Debug` names only where they came from.
#[derive(Default)]
pub struct Identities {
    keys: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// Where each batch of keys came from (file names, variable names), for messages.
    pub sources: Vec<String>,
    /// The Vault connection used to open `hc_vault` entries, when there is one.
    pub(crate) transit: Option<std::sync::Arc<dyn super::transit::TransitBackend>>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} keys from {:?})", self.keys.len(), self.sources)
    }
}

impl Identities {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Lets these identities open data keys wrapped by Vault Transit, through `backend`.
    pub fn set_transit(&mut self, backend: std::sync::Arc<dyn super::transit::TransitBackend>) {
        self.transit = Some(backend);
    }

    /// The Vault connection set with [`Identities::set_transit`].
    pub fn transit(&self) -> Option<&std::sync::Arc<dyn super::transit::TransitBackend>> {
        self.transit.as_ref()
    }

    /// Adds the identities in an age identity file's text (`AGE-SECRET-KEY-1...` lines,
    /// `#` comments), or an unencrypted OpenSSH private key.
    pub fn add_text(&mut self, source_name: &str, text: &str) -> Result<usize, KeyError> {
        let bad = |reason: &str| KeyError::BadIdentity { source_name: source_name.to_owned(), reason: reason.to_owned() };
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") || text.contains("-----BEGIN RSA PRIVATE KEY-----") {
            let id = age::ssh::Identity::from_buffer(text.as_bytes(), Some(source_name.to_owned())).map_err(|_| bad("not a readable SSH private key"))?;
            match id {
                age::ssh::Identity::Unencrypted(_) => {}
                age::ssh::Identity::Encrypted(_) => return Err(bad("passphrase-protected SSH keys are not supported")),
                age::ssh::Identity::Unsupported(_) => return Err(bad("unsupported SSH key type")),
            }
            self.keys.push(Box::new(id));
            self.sources.push(source_name.to_owned());
            return Ok(1);
        }
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = Zeroizing::new(line.to_owned());
            match line.parse::<age::x25519::Identity>() {
                Ok(id) => {
                    self.keys.push(Box::new(id));
                    n += 1;
                }
                Err(_) => {
                    return Err(KeyError::BadIdentity {
                        source_name: source_name.to_owned(),
                        reason: format!("line {} is not an age identity (AGE-SECRET-KEY-1...)", i + 1),
                    })
                }
            }
        }
        if n > 0 {
            self.sources.push(source_name.to_owned());
        }
        Ok(n)
    }

    /// Decrypts an armored age stanza to a data key, if one of our identities can.
    pub fn unwrap(&self, enc: &str) -> Option<DataKey> {
        self.unwrap_bytes(enc).and_then(|k| DataKey::from_bytes(&k))
    }

    /// Decrypts an armored age stanza to its raw bytes (a data key or a Shamir share).
    pub fn unwrap_bytes(&self, enc: &str) -> Option<Zeroizing<Vec<u8>>> {
        if self.keys.is_empty() {
            return None;
        }
        let reader = ArmoredReader::new(enc.trim_start().as_bytes());
        let decryptor = age::Decryptor::new(reader).ok()?;
        let mut r = decryptor.decrypt(self.keys.iter().map(|k| k.as_ref() as &dyn age::Identity)).ok()?;
        let mut buf = Zeroizing::new(Vec::with_capacity(33));
        r.read_to_end(&mut buf).ok()?;
        Some(buf)
    }
}

/// A new X25519 identity: the secret line and its recipient.
pub fn generate_identity() -> (Zeroizing<String>, String) {
    use secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    (Zeroizing::new(id.to_string().expose_secret().to_owned()), recipient)
}

/// The recipient of an identity line.
pub fn recipient_of(identity_line: &str) -> Option<String> {
    identity_line.trim().parse::<age::x25519::Identity>().ok().map(|id| id.to_public().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap() {
        let (secret, recipient) = generate_identity();
        let r = AgeRecipient::parse(&recipient).unwrap();
        let key = DataKey::generate();
        let stanza = r.wrap(key.as_bytes()).unwrap();
        assert!(stanza.enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(stanza.enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
        let mut ids = Identities::default();
        ids.add_text("test", &format!("# comment\n{}\n", &*secret)).unwrap();
        assert_eq!(ids.unwrap(&stanza.enc).unwrap().as_bytes(), key.as_bytes());
        let mut other = Identities::default();
        other.add_text("other", &generate_identity().0).unwrap();
        assert!(other.unwrap(&stanza.enc).is_none());
    }

    #[test]
    fn bad_identity_line_names_line_not_content() {
        let mut ids = Identities::default();
        let e = ids.add_text("keys.txt", "# c\nAGE-SECRET-KEY-1NOTAKEY\n").unwrap_err().to_string();
        assert!(e.contains("line 2"));
        assert!(!e.contains("NOTAKEY"));
    }
}
