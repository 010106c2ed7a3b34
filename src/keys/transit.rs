//! HashiCorp Vault Transit as a master key: the data key is sent to Vault's
//! `encrypt` endpoint and the `vault:vN:...` ciphertext stored in the `hc_vault` metadata
//! entry, exactly as sops does.
//!
//! This module is pure: naming keys and deciding what to wrap. The network calls go
//! through [`TransitBackend`], which [`crate::vault::VaultPool`] implements, so the key
//! layer can be used (and tested) without a Vault client.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::KeyError;
use crate::sops::metadata::VaultStanza;

/// A Transit key, as named by an `hc_vault_transit_uri`:
/// `https://vault.example.com:8200/v1/<engine path>/keys/<key name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransitKey {
    /// Scheme, host and port (and query, if any), without a path.
    pub address: String,
    /// The Transit mount, which may contain slashes.
    pub engine_path: String,
    pub key_name: String,
}

impl TransitKey {
    /// Parses a URI the way sops does: the last path segment is the key name, the
    /// segments between `/v1/` and the one before the key name form the engine path.
    /// Vault behind a path prefix (`https://host/vault/v1/...`) is refused, as sops
    /// refuses it, because Vault's client cannot address it.
    pub fn parse(uri: &str) -> Result<Self, KeyError> {
        let bad = |reason: &str| KeyError::BadRecipient(format!("{uri} ({reason})"));
        let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("missing scheme: expected https://vault.example.com:8200/v1/transit/keys/NAME"))?;
        if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
            return Err(bad("missing scheme: expected https://vault.example.com:8200/v1/transit/keys/NAME"));
        }
        let (authority, path_and_query) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(bad("missing host"));
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let path = path.split('#').next().unwrap_or("");
        let segments: Vec<&str> = path.trim_start_matches('/').trim_end_matches('/').split('/').collect();
        let is_version = |s: &str| s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit());
        // sops: `/v<N>/<a>/<b>/<c>` must appear, and no segment may precede the version.
        let version_at = segments.iter().position(|s| is_version(s));
        match version_at {
            Some(0) if segments.len() >= 4 => {}
            Some(i) if i > 0 && segments.len() >= i + 4 => {
                return Err(bad("Vault behind a path prefix is not supported, as in sops: the path must start with /v1/"))
            }
            _ => return Err(bad("expected a path like /v1/transit/keys/NAME")),
        }
        if segments.iter().any(|s| s.is_empty()) {
            return Err(bad("empty path segment"));
        }
        let key_name = segments[segments.len() - 1].to_owned();
        let engine_path = segments[1..segments.len() - 2].join("/");
        let mut address = format!("{scheme}://{authority}");
        if let Some(q) = query {
            address.push('?');
            address.push_str(q);
        }
        Ok(TransitKey { address, engine_path, key_name })
    }

    /// The key a metadata entry names.
    pub fn of_stanza(s: &VaultStanza) -> Self {
        TransitKey { address: s.vault_address.clone(), engine_path: s.engine_path.clone(), key_name: s.key_name.clone() }
    }
}

impl fmt::Display for TransitKey {
    /// The `hc_vault_transit_uri` form, as sops prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/v1/{}/keys/{}", self.address, self.engine_path, self.key_name)
    }
}

/// The Vault calls the key layer needs. Errors are messages safe to show: they name the
/// key and Vault's reason, never the data key or a token.
pub trait TransitBackend: Send + Sync {
    /// Encrypts `data_key` (raw bytes) and returns Vault's `vault:vN:...` ciphertext.
    fn encrypt(&self, key: &TransitKey, data_key: &[u8]) -> Result<String, String>;
    /// Decrypts a `vault:vN:...` ciphertext back to the raw data key.
    fn decrypt(&self, key: &TransitKey, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, String>;
    /// Re-encrypts a ciphertext with the key's latest version (Vault's `rewrap`), without
    /// the data key ever leaving Vault.
    fn rewrap(&self, key: &TransitKey, ciphertext: &str) -> Result<String, String>;
}

/// A Transit key together with the connection that can use it.
#[derive(Clone)]
pub struct TransitRecipient {
    pub key: TransitKey,
    backend: Arc<dyn TransitBackend>,
}

impl fmt::Debug for TransitRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransitRecipient({})", self.key)
    }
}

impl TransitRecipient {
    pub fn new(key: TransitKey, backend: Arc<dyn TransitBackend>) -> Self {
        TransitRecipient { key, backend }
    }

    /// Wraps `data` (the data key or a Shamir share) into a metadata entry.
    pub fn wrap(&self, data: &[u8]) -> Result<VaultStanza, KeyError> {
        let enc = self.backend.encrypt(&self.key, data).map_err(|reason| KeyError::Wrap { recipient: format!("hc_vault:{}", self.key), reason })?;
        Ok(VaultStanza {
            vault_address: self.key.address.clone(),
            engine_path: self.key.engine_path.clone(),
            key_name: self.key.key_name.clone(),
            created_at: crate::sops::metadata::now_rfc3339(),
            enc,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;
    use crate::keys::{unwrap_data_key, AgeRecipient, Identities, KeyError, RecipientGroup, Recipients};
    use crate::sops::metadata::Metadata;
    use std::sync::Mutex;

    /// An in-memory Transit engine: enough to test the key layer's bookkeeping. The Vault
    /// wire protocol itself is tested against a server in tests/.
    #[derive(Default)]
    struct MemoryTransit {
        stored: Mutex<Vec<Vec<u8>>>,
        refuse: bool,
    }

    impl TransitBackend for MemoryTransit {
        fn encrypt(&self, key: &TransitKey, data_key: &[u8]) -> Result<String, String> {
            let mut s = self.stored.lock().unwrap();
            s.push(data_key.to_vec());
            Ok(format!("vault:v1:{}:{}", key.key_name, s.len() - 1))
        }
        fn decrypt(&self, key: &TransitKey, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, String> {
            if self.refuse {
                return Err("permission denied".into());
            }
            let rest = ciphertext.strip_prefix("vault:v1:").or_else(|| ciphertext.strip_prefix("vault:v2:")).ok_or("bad ciphertext")?;
            let (name, i) = rest.split_once(':').ok_or("bad ciphertext")?;
            if name != key.key_name {
                return Err("wrong key".into());
            }
            let i: usize = i.parse().map_err(|_| "bad ciphertext")?;
            Ok(Zeroizing::new(self.stored.lock().unwrap()[i].clone()))
        }
        fn rewrap(&self, _key: &TransitKey, ciphertext: &str) -> Result<String, String> {
            Ok(ciphertext.replacen("vault:v1:", "vault:v2:", 1))
        }
    }

    fn recipient(backend: &Arc<MemoryTransit>, name: &str) -> TransitRecipient {
        TransitRecipient::new(TransitKey::parse(&format!("http://127.0.0.1:8200/v1/sops/keys/{name}")).unwrap(), backend.clone())
    }

    fn metadata_of(w: crate::keys::WrappedKeys) -> Metadata {
        Metadata {
            shamir_threshold: w.shamir_threshold,
            key_groups: w.key_groups,
            keys: w.keys,
            lastmodified: String::new(),
            mac: String::new(),
            selection: crate::sops::select::Selection::UnencryptedSuffix("_unencrypted".into()),
            mac_only_encrypted: false,
            version: String::new(),
        }
    }

    #[test]
    fn transit_wraps_and_unwraps_the_data_key() {
        let backend = Arc::new(MemoryTransit::default());
        let recipients = Recipients { hc_vault: vec![recipient(&backend, "k1")], ..Recipients::default() };
        let key = DataKey::generate();
        let meta = metadata_of(recipients.wrap(&key).unwrap());
        assert_eq!(meta.keys.hc_vault.len(), 1);
        let stanza = &meta.keys.hc_vault[0];
        assert_eq!((stanza.vault_address.as_str(), stanza.engine_path.as_str(), stanza.key_name.as_str()), ("http://127.0.0.1:8200", "sops", "k1"));
        assert_eq!(backend.stored.lock().unwrap()[0], key.as_bytes().to_vec(), "Vault gets the raw data key");

        let mut ids = Identities::default();
        assert!(matches!(unwrap_data_key(&meta, &ids), Err(KeyError::NoMatchingIdentity { .. })), "no Vault connection, no key");
        ids.set_transit(backend.clone());
        assert_eq!(unwrap_data_key(&meta, &ids).unwrap().as_bytes(), key.as_bytes());
    }

    #[test]
    fn vault_refusal_is_in_the_message() {
        let backend = Arc::new(MemoryTransit { refuse: true, ..MemoryTransit::default() });
        let recipients = Recipients { hc_vault: vec![recipient(&backend, "k1")], ..Recipients::default() };
        let meta = metadata_of(recipients.wrap(&DataKey::generate()).unwrap());
        let mut ids = Identities::default();
        ids.set_transit(backend);
        let msg = unwrap_data_key(&meta, &ids).unwrap_err().to_string();
        assert!(msg.contains("hc_vault:http://127.0.0.1:8200/v1/sops/keys/k1") && msg.contains("permission denied"), "{msg}");
    }

    #[test]
    fn key_groups_mix_transit_and_age() {
        let backend = Arc::new(MemoryTransit::default());
        let (identity, age_recipient) = crate::keys::age::generate_identity();
        let age_recipient = AgeRecipient::parse(&age_recipient).unwrap();
        let recipients = Recipients {
            key_groups: vec![
                RecipientGroup { age: vec![age_recipient], hc_vault: vec![] },
                RecipientGroup { age: vec![], hc_vault: vec![recipient(&backend, "k2")] },
            ],
            shamir_threshold: Some(2),
            ..Recipients::default()
        };
        let key = DataKey::generate();
        let meta = metadata_of(recipients.wrap(&key).unwrap());
        let groups = meta.key_groups.as_ref().unwrap();
        assert_eq!((groups[0].age.len(), groups[1].hc_vault.len()), (1, 1));

        let mut ids = Identities::default();
        ids.add_text("test", &identity).unwrap();
        assert!(matches!(unwrap_data_key(&meta, &ids), Err(KeyError::NotEnoughGroups { found: 1, needed: 2, .. })));
        ids.set_transit(backend);
        assert_eq!(unwrap_data_key(&meta, &ids).unwrap().as_bytes(), key.as_bytes());
    }

    #[test]
    fn parses_like_sops() {
        let k = TransitKey::parse("https://vault.example.com:8200/v1/transit/keys/firstkey").unwrap();
        assert_eq!(k.address, "https://vault.example.com:8200");
        assert_eq!(k.engine_path, "transit");
        assert_eq!(k.key_name, "firstkey");
        assert_eq!(k.to_string(), "https://vault.example.com:8200/v1/transit/keys/firstkey");

        let k = TransitKey::parse("http://127.0.0.1:8200/v1/team/a/sops/keys/k1/").unwrap();
        assert_eq!((k.engine_path.as_str(), k.key_name.as_str()), ("team/a/sops", "k1"));
    }

    #[test]
    fn refuses_what_sops_refuses() {
        for bad in [
            "vault.example.com:8200/v1/transit/keys/k",
            "https://vault.example.com/v1/transit/k",
            "https://vault.example.com/prefix/v1/transit/keys/k",
            "https://vault.example.com",
            "https:///v1/transit/keys/k",
        ] {
            assert!(TransitKey::parse(bad).is_err(), "{bad}");
        }
    }
}
