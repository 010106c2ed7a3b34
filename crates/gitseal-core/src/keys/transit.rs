//! HashiCorp Vault Transit as a master key: the data key is sent to Vault's
//! `encrypt` endpoint and the `vault:vN:...` ciphertext stored in the `hc_vault` metadata
//! entry, exactly as sops does.
//!
//! This module is pure: naming keys and deciding what to wrap. The network calls go
//! through [`TransitBackend`], which the `gitseal-vault` crate implements, so the key
//! layer can be used (and tested) without a Vault client.

use std::fmt;
use std::sync::Arc;

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
    /// The key's name under `<engine path>/keys/`.
    pub key_name: String,
}

impl TransitKey {
    /// Parses a URI exactly as sops 3.11 does (`NewMasterKeyFromURI`): Go's `url.Parse`,
    /// then the request URI (escaped path and query) must contain `/vN/<a>/<b>/<c>` and
    /// must not contain `/<x>/vN/<a>/<b>/<c>` (Vault behind a path prefix is refused, as
    /// sops refuses it); the last segment is the key name, the segments between the
    /// first and the last-but-one are the engine path (`path.Join`ed), and the address is
    /// the URI without its path.
    pub fn parse(uri: &str) -> Result<Self, KeyError> {
        let bad = |reason: String| KeyError::BadRecipient(format!("{uri} ({reason})"));
        let (address, engine_path, key_name) = parse_sops_uri(uri).map_err(bad)?;
        // Go's URL parser takes `https:///v1/...`; a key without a host names no Vault.
        if address.split_once("://").is_none_or(|(_, host)| host.is_empty() || host.starts_with('?')) {
            return Err(bad("missing host".into()));
        }
        Ok(TransitKey { address, engine_path, key_name })
    }

    /// The key a metadata entry names.
    pub(crate) fn of_stanza(s: &VaultStanza) -> Self {
        TransitKey { address: s.vault_address.clone(), engine_path: s.engine_path.clone(), key_name: s.key_name.clone() }
    }
}

impl fmt::Display for TransitKey {
    /// The `hc_vault_transit_uri` form, as sops prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/v1/{}/keys/{}", self.address, self.engine_path, self.key_name)
    }
}

pub use crate::ports::TransitBackend;

/// A Transit key together with the connection that can use it.
#[derive(Clone)]
pub struct TransitRecipient {
    /// Which Transit key wraps the data key.
    pub key: TransitKey,
    backend: Arc<dyn TransitBackend>,
}

impl fmt::Debug for TransitRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransitRecipient({})", self.key)
    }
}

impl TransitRecipient {
    /// A recipient wrapping with `key` through `backend` (the Vault client, or a test double).
    pub fn new(key: TransitKey, backend: Arc<dyn TransitBackend>) -> Self {
        TransitRecipient { key, backend }
    }

    /// Wraps `data` (the data key or a Shamir share) into a metadata entry.
    pub(crate) fn wrap(&self, data: &[u8]) -> Result<VaultStanza, KeyError> {
        let enc = self.backend.encrypt(&self.key, data).map_err(|e| KeyError::Wrap {
            recipient: format!("hc_vault:{}", self.key),
            transient: e.is_transient(),
            reason: e.to_string(),
        })?;
        Ok(VaultStanza {
            vault_address: self.key.address.clone(),
            engine_path: self.key.engine_path.clone(),
            key_name: self.key.key_name.clone(),
            created_at: crate::sops::metadata::now_rfc3339(),
            enc,
        })
    }
}

/// sops's URI rules (see [`TransitKey::parse`]): address, engine path and key name, or
/// why the URI is refused.
fn parse_sops_uri(uri: &str) -> Result<(String, String, String), String> {
    let err = |reason: &str| reason.to_owned();
    if uri.is_empty() {
        return Err(err("empty URI"));
    }
    let u = GoUrl::parse(uri)?;
    if u.scheme.is_empty() {
        return Err(err("missing scheme in Vault URL (should be like this: https://vault.example.com:8200/v1/transit/keys/keyName)"));
    }
    let request_uri = u.request_uri();
    let prefixed = regex::Regex::new(r"/[^/]+/v[0-9]+/[^/]+/[^/]+/[^/]+").expect("valid regex");
    let shape = regex::Regex::new(r"/v[0-9]+/[^/]+/[^/]+/[^/]+").expect("valid regex");
    if prefixed.is_match(&request_uri) {
        return Err(err("running Vault with a prefixed URL is not supported! (Format has to be like https://vault.example.com:8200/v1/transit/keys/keyName)"));
    }
    if !shape.is_match(&request_uri) {
        return Err(err("vault path does not seem to be formatted correctly: (eg. https://vault.example.com:8200/v1/transit/keys/keyName)"));
    }
    let dirs: Vec<&str> = request_uri.trim_matches('/').split('/').collect();
    let key_name = dirs[dirs.len() - 1].to_owned();
    let engine_path = clean_join(&dirs[1..dirs.len() - 2]);
    Ok((u.address_without_path(), engine_path, key_name))
}

/// Go's `path.Join`: non-empty elements joined with `/`, then `path.Clean`ed (`.` and
/// `..` resolved, repeated slashes collapsed); `""` when every element is empty.
pub fn clean_join(elems: &[&str]) -> String {
    let joined: Vec<&str> = elems.iter().copied().filter(|e| !e.is_empty()).collect();
    if joined.is_empty() {
        return String::new();
    }
    let joined = joined.join("/");
    let rooted = joined.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|s| *s != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// The parts of Go's `net/url.URL` that sops' parsing depends on.
struct GoUrl {
    scheme: String,
    opaque: String,
    /// Userinfo and host as written (`None` without `//`).
    authority: Option<String>,
    /// The path as written.
    raw_path: String,
    force_query: bool,
    raw_query: String,
    fragment: Option<String>,
}

impl GoUrl {
    fn parse(raw: &str) -> Result<GoUrl, String> {
        let (rest, fragment) = match raw.split_once('#') {
            Some((r, f)) => (r, Some(f.to_owned())),
            None => (raw, None),
        };
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err("net/url: invalid control character in URL".into());
        }
        if let Some(f) = &fragment {
            unescape_check(f)?;
        }
        let (scheme, rest) = go_scheme(rest)?;
        let mut u = GoUrl {
            scheme: scheme.to_ascii_lowercase(),
            opaque: String::new(),
            authority: None,
            raw_path: String::new(),
            force_query: false,
            raw_query: String::new(),
            fragment,
        };
        let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
            u.force_query = true;
            &rest[..rest.len() - 1]
        } else if let Some((r, q)) = rest.split_once('?') {
            u.raw_query = q.to_owned();
            r
        } else {
            rest
        };
        if !rest.starts_with('/') {
            if !u.scheme.is_empty() {
                u.opaque = rest.to_owned();
                return Ok(u);
            }
            if let Some(colon) = rest.find(':') {
                if rest.find('/').is_none_or(|slash| colon < slash) {
                    return Err("first path segment in URL cannot contain colon".into());
                }
            }
        }
        let mut rest = rest;
        if !u.scheme.is_empty() && rest.starts_with("//") && !rest.starts_with("///") {
            let after = &rest[2..];
            let (authority, path) = match after.find('/') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            };
            check_authority(authority)?;
            u.authority = Some(authority.to_owned());
            rest = path;
        }
        unescape_check(rest)?;
        u.raw_path = rest.to_owned();
        Ok(u)
    }

    /// `URL.RequestURI()`.
    fn request_uri(&self) -> String {
        let mut out = if !self.opaque.is_empty() {
            if self.opaque.starts_with("//") {
                format!("{}:{}", self.scheme, self.opaque)
            } else {
                self.opaque.clone()
            }
        } else {
            let p = escaped_path(&self.raw_path);
            if p.is_empty() {
                "/".to_owned()
            } else {
                p
            }
        };
        if self.force_query || !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        out
    }

    /// `u.Path = ""; u.String()`.
    fn address_without_path(&self) -> String {
        let mut out = String::new();
        if !self.scheme.is_empty() {
            out.push_str(&self.scheme);
            out.push(':');
        }
        if !self.opaque.is_empty() {
            out.push_str(&self.opaque);
        } else if let Some(auth) = self.authority.as_deref().filter(|a| !a.is_empty()) {
            out.push_str("//");
            out.push_str(auth);
        }
        if self.force_query || !self.raw_query.is_empty() {
            out.push('?');
            out.push_str(&self.raw_query);
        }
        if let Some(f) = &self.fragment {
            if !f.is_empty() {
                out.push('#');
                out.push_str(f);
            }
        }
        out
    }
}

/// Go's `getScheme`.
fn go_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".into());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// Go's `parseAuthority` checks: userinfo characters, host characters, numeric port.
fn check_authority(authority: &str) -> Result<(), String> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    if let Some(ui) = userinfo {
        if !ui.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b) || b >= 0x80) {
            return Err("net/url: invalid userinfo".into());
        }
        unescape_check(ui)?;
    }
    if let Some(stripped) = host.strip_prefix('[') {
        let close = stripped.find(']').ok_or("missing ']' in host")?;
        let port = &stripped[close + 1..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
    } else if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {port:?} after host"));
        }
    }
    for b in host.bytes() {
        if !(b.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"%".contains(&b) || b >= 0x80) {
            return Err(format!("invalid character {:?} in host name", b as char));
        }
    }
    unescape_check(host)
}

fn valid_optional_port(port: &str) -> bool {
    port.is_empty() || (port.starts_with(':') && port[1..].bytes().all(|b| b.is_ascii_digit()))
}

/// Rejects `%` not followed by two hex digits, as Go's `unescape` does.
fn unescape_check(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                let end = (i + 3).min(b.len());
                return Err(format!("invalid URL escape {:?}", String::from_utf8_lossy(&b[i..end])));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Go's `URL.EscapedPath()` for a path given as written: kept as written when every
/// character may appear in an encoded path, otherwise decoded and re-escaped.
fn escaped_path(raw: &str) -> String {
    let valid = raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@!'()*[]%".contains(&b));
    if valid {
        return raw.to_owned();
    }
    let decoded = percent_decode(raw);
    let mut out = String::with_capacity(decoded.len() * 3);
    for b in decoded {
        if b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;
    use crate::keys::{unwrap_data_key, AgeRecipient, Identities, KeyError, RecipientGroup, Recipients};
    use crate::ports::{ServiceError, ServiceErrorKind};
    use crate::sops::metadata::Metadata;
    use std::sync::Mutex;
    use zeroize::Zeroizing;

    /// An in-memory Transit engine: enough to test the key layer's bookkeeping. The Vault
    /// wire protocol itself is tested against a server in tests/.
    #[derive(Default)]
    struct MemoryTransit {
        stored: Mutex<Vec<Vec<u8>>>,
        refuse: bool,
        /// Answer every call as a server that is down.
        unavailable: bool,
        decrypts: std::sync::atomic::AtomicUsize,
    }

    impl TransitBackend for MemoryTransit {
        fn encrypt(&self, key: &TransitKey, data_key: &[u8]) -> Result<String, ServiceError> {
            let mut s = self.stored.lock().unwrap();
            s.push(data_key.to_vec());
            Ok(format!("vault:v1:{}:{}", key.key_name, s.len() - 1))
        }
        fn decrypt(&self, key: &TransitKey, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
            let invalid = || ServiceError::new(ServiceErrorKind::Invalid, "bad ciphertext");
            self.decrypts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.unavailable {
                return Err(ServiceError::new(ServiceErrorKind::Unavailable, "connection refused"));
            }
            if self.refuse {
                return Err(ServiceError::new(ServiceErrorKind::Denied, "permission denied"));
            }
            let rest = ciphertext.strip_prefix("vault:v1:").or_else(|| ciphertext.strip_prefix("vault:v2:")).ok_or_else(invalid)?;
            let (name, i) = rest.split_once(':').ok_or_else(invalid)?;
            if name != key.key_name {
                return Err(ServiceError::new(ServiceErrorKind::Invalid, "wrong key"));
            }
            let i: usize = i.parse().map_err(|_| invalid())?;
            Ok(Zeroizing::new(self.stored.lock().unwrap()[i].clone()))
        }
        fn rewrap(&self, _key: &TransitKey, ciphertext: &str) -> Result<String, ServiceError> {
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

    /// A Transit-encrypted Secret, and the identities that reach its (memory) Vault.
    fn transit_secret(backend: &Arc<MemoryTransit>) -> (String, Identities) {
        let recipients = Recipients { hc_vault: vec![recipient(backend, "k1")], ..Recipients::default() };
        let mut ids = Identities::default();
        ids.set_transit(backend.clone());
        let src = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: one\n  user: flux\n";
        let req = crate::pipeline::EncryptRequest {
            file: "s.yaml",
            format: crate::document::Format::Yaml,
            src: src.as_bytes(),
            recipients: &recipients,
            selection: None,
            mac_only_encrypted: false,
            identities: &ids,
            previous: None,
            check: None,
        };
        (crate::pipeline::encrypt(&req).unwrap().output.into_string(), ids)
    }

    fn decrypt_request<'a>(encrypted: &'a str, ids: &'a Identities) -> crate::pipeline::DecryptRequest<'a> {
        crate::pipeline::DecryptRequest { file: "s.yaml", format: crate::document::Format::Yaml, src: encrypted.as_bytes(), identities: ids, ignore_mac: false }
    }

    #[test]
    fn an_opened_file_is_resealed_with_one_transit_decrypt() {
        let backend = Arc::new(MemoryTransit::default());
        let (encrypted, ids) = transit_secret(&backend);
        let req = decrypt_request(&encrypted, &ids);
        let opened = crate::pipeline::open(&req).unwrap();
        let edited = std::str::from_utf8(opened.plaintext().as_bytes()).unwrap().replace("token: one", "token: two");
        let out = opened.reseal(edited.as_bytes(), &ids, None).unwrap();
        assert!(out.changed);
        assert_eq!(backend.decrypts.load(std::sync::atomic::Ordering::SeqCst), 1, "one unwrap for open and reseal together");
        // reencrypt, given bytes nobody opened yet, unwraps once itself.
        let before = backend.decrypts.load(std::sync::atomic::Ordering::SeqCst);
        crate::pipeline::reencrypt("s.yaml", crate::document::Format::Yaml, encrypted.as_bytes(), edited.as_bytes(), &ids, None).unwrap();
        assert_eq!(backend.decrypts.load(std::sync::atomic::Ordering::SeqCst) - before, 1);
        // What was resealed opens again, with the new value and the other one unchanged.
        let text = out.output.into_string();
        let again = crate::pipeline::decrypt(&crate::pipeline::DecryptRequest { src: text.as_bytes(), ..req }).unwrap();
        assert!(std::str::from_utf8(again.as_bytes()).unwrap().contains("token: two\n  user: flux\n"));
    }

    #[test]
    fn opening_for_an_edit_refuses_to_skip_the_mac() {
        let backend = Arc::new(MemoryTransit::default());
        let (encrypted, ids) = transit_secret(&backend);
        let req = crate::pipeline::DecryptRequest { ignore_mac: true, ..decrypt_request(&encrypted, &ids) };
        let err = crate::pipeline::open(&req).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Usage, "an edit never builds on a file whose MAC was not checked");
    }

    #[test]
    fn an_unavailable_vault_is_a_transient_error_and_a_refusal_is_not() {
        let down = Arc::new(MemoryTransit { unavailable: true, ..MemoryTransit::default() });
        let recipients = Recipients { hc_vault: vec![recipient(&down, "k1")], ..Recipients::default() };
        let meta = metadata_of(recipients.wrap(&DataKey::generate()).unwrap());
        let mut ids = Identities::default();
        ids.set_transit(down);
        let err = unwrap_data_key(&meta, &ids).unwrap_err();
        assert!(err.is_transient(), "{err}");
        let file_err = crate::error::Error::Key { file: "s.yaml".into(), source: err };
        assert!(file_err.is_transient());
        assert_eq!(file_err.location().map(|l| l.file), Some("s.yaml"));

        let refusing = Arc::new(MemoryTransit { refuse: true, ..MemoryTransit::default() });
        let meta = metadata_of(Recipients { hc_vault: vec![recipient(&refusing, "k1")], ..Recipients::default() }.wrap(&DataKey::generate()).unwrap());
        let mut ids = Identities::default();
        ids.set_transit(refusing);
        assert!(!unwrap_data_key(&meta, &ids).unwrap_err().is_transient());
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

    fn parts(uri: &str) -> (String, String, String) {
        let t = TransitKey::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        (t.address, t.engine_path, t.key_name)
    }

    #[test]
    fn parses_uris_like_sops() {
        let p = |a: &str, e: &str, k: &str| (a.to_owned(), e.to_owned(), k.to_owned());
        assert_eq!(parts("https://vault.example.com:8200/v1/transit/keys/keyName"), p("https://vault.example.com:8200", "transit", "keyName"));
        assert_eq!(parts("http://127.0.0.1:8200/v1/sops/keys/firstkey"), p("http://127.0.0.1:8200", "sops", "firstkey"));
        // Engine paths with slashes (sops' own tests).
        assert_eq!(parts("https://vault.me.com/v1/transit/sops/keys/key1"), p("https://vault.me.com", "transit/sops", "key1"));
        assert_eq!(parts("https://vault.me.com/v1/a/b/c/keys/key1"), p("https://vault.me.com", "a/b/c", "key1"));
        // The segment before the key name is not checked to be "keys".
        assert_eq!(parts("http://v:8200/v1/transit/other/key1"), p("http://v:8200", "transit", "key1"));
        // Trailing slash and repeated slashes are trimmed / collapsed by path.Join.
        assert_eq!(parts("http://v:8200/v1/transit/keys/key1/"), p("http://v:8200", "transit", "key1"));
        assert_eq!(parts("http://v:8200/v1/a/./b/keys/key1"), p("http://v:8200", "a/b", "key1"));
        // Scheme lower-cased; host kept.
        assert_eq!(parts("HTTPS://Vault:8200/v1/transit/keys/k"), p("https://Vault:8200", "transit", "k"));
        // The query stays part of the request URI (so of the key name) and the address.
        assert_eq!(parts("http://v/v1/transit/keys/k?x=1"), p("http://v?x=1", "transit", "k?x=1"));
    }

    #[test]
    fn rejects_uris_sops_rejects() {
        for bad in [
            "",
            "vault.example.com/v1/transit/keys/k",               // no scheme
            "https://vault.example.com:8200/transit/keys/k",     // no /v1
            "https://vault.example.com/v1/transit/k",            // too short
            "https://vault.example.com/vault/v1/transit/keys/k", // prefixed
            "https://vault.example.com:port/v1/transit/keys/k",  // bad port
            "https://vault.example.com/v1/transit/keys/%zz",
            "https://vault example.com/v1/transit/keys/k",
            ":foo",
            "http://v:8200/v1/a//b/keys/key1", // the shape regex needs /v1/ followed by three non-empty segments
        ] {
            assert!(matches!(TransitKey::parse(bad), Err(KeyError::BadRecipient(_))), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_gives_the_uri_back() {
        for uri in ["https://vault.example.com:8200/v1/transit/keys/keyName", "http://127.0.0.1:8200/v1/a/b/keys/k"] {
            let t = TransitKey::parse(uri).unwrap();
            assert_eq!(t.to_string(), uri);
            assert_eq!(TransitKey::parse(&t.to_string()).unwrap(), t);
        }
    }

    #[test]
    fn clean_join_is_go_path_join() {
        assert_eq!(clean_join(&["transit", "encrypt", "k"]), "transit/encrypt/k");
        assert_eq!(clean_join(&["transit/", "encrypt", "k"]), "transit/encrypt/k");
        assert_eq!(clean_join(&["a/../b", "c"]), "b/c");
        assert_eq!(clean_join(&["a", ".."]), ".");
        assert_eq!(clean_join(&["", ""]), "");
        assert_eq!(clean_join(&["/a", "b"]), "/a/b");
    }
}
