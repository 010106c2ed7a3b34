//! Transit encryption of data keys, exactly as sops' `hc_vault` key source does it, and
//! the `https://vault:8200/v1/<engine>/keys/<name>` URIs sops uses to name a key.
//!
//! sops (3.11, `hcvault/keysource.go`) sends the raw data key bytes, standard-base64
//! encoded, as the only field of `POST /v1/{engine}/encrypt/{key}` (`{"plaintext": ..}`),
//! stores the returned `data.ciphertext` (`vault:vN:...`) verbatim as `enc`, and on
//! decryption sends `{"ciphertext": enc}` to `/v1/{engine}/decrypt/{key}` and
//! standard-base64-decodes `data.plaintext` back into the data key bytes.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

use super::auth::json_body;
use super::client::VaultClient;
use super::error::VaultError;

impl VaultClient {
    /// Encrypts `plaintext` (for sops: the raw data key) with the Transit key
    /// `key_name` of the engine mounted at `engine_path`; returns `vault:vN:...`.
    pub fn transit_encrypt(&self, engine_path: &str, key_name: &str, plaintext: &[u8]) -> Result<String, VaultError> {
        let path = transit_path(engine_path, "encrypt", key_name)?;
        let encoded = Zeroizing::new(STANDARD.encode(plaintext));
        let (mut json, _) = self.post_json(&path, json_body(&[("plaintext", &encoded)]), true)?;
        let ciphertext = take_data_string(&mut json, "ciphertext", &path)?;
        super::scrub(&mut json);
        Ok(ciphertext.to_string())
    }

    /// Decrypts a `vault:vN:...` ciphertext (any key version the key still accepts)
    /// and returns the plaintext bytes.
    pub fn transit_decrypt(&self, engine_path: &str, key_name: &str, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let path = transit_path(engine_path, "decrypt", key_name)?;
        let (mut json, _) = self.post_json(&path, json_body(&[("ciphertext", ciphertext)]), true)?;
        let encoded = take_data_string(&mut json, "plaintext", &path)?;
        super::scrub(&mut json);
        let plaintext = STANDARD.decode(encoded.as_bytes()).map_err(|_| VaultError::InvalidResponse {
            method: "POST".into(),
            path: path.clone(),
            reason: "data.plaintext is not base64".into(),
        })?;
        Ok(Zeroizing::new(plaintext))
    }

    /// Re-encrypts a ciphertext under the key's latest version without revealing the
    /// plaintext (`POST /v1/{engine}/rewrap/{key}`); returns the new `vault:vN:...`.
    pub fn transit_rewrap(&self, engine_path: &str, key_name: &str, ciphertext: &str) -> Result<String, VaultError> {
        let path = transit_path(engine_path, "rewrap", key_name)?;
        let (mut json, _) = self.post_json(&path, json_body(&[("ciphertext", ciphertext)]), true)?;
        let new = take_data_string(&mut json, "ciphertext", &path)?;
        super::scrub(&mut json);
        Ok(new.to_string())
    }
}

/// `path.Join(engine, op, key)` as sops builds it.
fn transit_path(engine_path: &str, op: &str, key_name: &str) -> Result<String, VaultError> {
    let engine = clean_join(&[engine_path]);
    if key_name.is_empty() || key_name.contains('/') {
        return Err(VaultError::InvalidPath {
            path: format!("{engine}/{op}/{key_name}"),
            reason: "the Transit key name must be one non-empty path segment".into(),
        });
    }
    if engine.is_empty() || engine == "." {
        return Err(VaultError::InvalidPath { path: format!("{engine_path}/{op}/{key_name}"), reason: "empty Transit engine path".into() });
    }
    Ok(clean_join(&[engine_path, op, key_name]))
}

/// Moves the string `data.<field>` out of a response (into a zeroizing string).
fn take_data_string(json: &mut serde_json::Value, field: &str, path: &str) -> Result<Zeroizing<String>, VaultError> {
    match json.get_mut("data").and_then(|d| d.get_mut(field)) {
        Some(serde_json::Value::String(s)) => Ok(Zeroizing::new(std::mem::take(s))),
        _ => Err(VaultError::InvalidResponse { method: "POST".into(), path: path.to_owned(), reason: format!("no string data.{field} in the response") }),
    }
}

/// A sops Vault Transit key URI, `https://vault.example.com:8200/v1/transit/keys/NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TransitUri {
    /// Scheme and authority, e.g. `https://vault.example.com:8200` (sops' `vault_address`).
    pub address: String,
    /// Mount path of the Transit engine, slashes allowed (sops' `engine_path`).
    pub engine_path: String,
    /// Key name (sops' `key_name`).
    pub key_name: String,
}

impl TransitUri {
    /// Parses `uri` as sops 3.11 does (`NewMasterKeyFromURI`): Go's `url.Parse`, then
    /// the request URI (escaped path and query) must contain `/vN/<a>/<b>/<c>` and must
    /// not contain `/<x>/vN/<a>/<b>/<c>` (no path prefix before `/v1`); the last segment is
    /// the key name, the segments between the first and the last-but-one are the engine
    /// path (`path.Join`ed), and the address is the URI without its path.
    pub fn parse(uri: &str) -> Result<Self, VaultError> {
        let err = |reason: &str| VaultError::InvalidUri { uri: uri.to_owned(), reason: reason.to_owned() };
        if uri.is_empty() {
            return Err(err("empty URI"));
        }
        let u = GoUrl::parse(uri).map_err(|e| err(&e))?;
        if u.scheme.is_empty() {
            return Err(err("missing scheme in Vault URL (should be like this: https://vault.example.com:8200/v1/transit/keys/keyName)"));
        }
        let request_uri = u.request_uri();
        let prefixed = regex::Regex::new(r"/[^/]+/v[0-9]+/[^/]+/[^/]+/[^/]+").expect("valid regex");
        let shape = regex::Regex::new(r"/v[0-9]+/[^/]+/[^/]+/[^/]+").expect("valid regex");
        if prefixed.is_match(&request_uri) {
            return Err(err(
                "running Vault with a prefixed URL is not supported! (Format has to be like https://vault.example.com:8200/v1/transit/keys/keyName)",
            ));
        }
        if !shape.is_match(&request_uri) {
            return Err(err("vault path does not seem to be formatted correctly: (eg. https://vault.example.com:8200/v1/transit/keys/keyName)"));
        }
        let dirs: Vec<&str> = request_uri.trim_matches('/').split('/').collect();
        let key_name = dirs[dirs.len() - 1].to_owned();
        let engine_path = clean_join(&dirs[1..dirs.len() - 2]);
        Ok(TransitUri { address: u.address_without_path(), engine_path, key_name })
    }
}

impl fmt::Display for TransitUri {
    /// sops' `MasterKey.ToString`: `{address}/v1/{engine_path}/keys/{key_name}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/v1/{}/keys/{}", self.address, self.engine_path, self.key_name)
    }
}

impl std::str::FromStr for TransitUri {
    type Err = VaultError;
    fn from_str(s: &str) -> Result<Self, VaultError> {
        TransitUri::parse(s)
    }
}

/// Go's `path.Join`: non-empty elements joined with `/`, then `path.Clean`ed (`.` and
/// `..` resolved, repeated slashes collapsed); `""` when every element is empty.
fn clean_join(elems: &[&str]) -> String {
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

    fn parts(uri: &str) -> (String, String, String) {
        let t = TransitUri::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        (t.address, t.engine_path, t.key_name)
    }

    #[test]
    fn parses_like_sops() {
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
    fn rejects_what_sops_rejects() {
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
            assert!(matches!(TransitUri::parse(bad), Err(VaultError::InvalidUri { .. })), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_gives_the_uri_back() {
        for uri in ["https://vault.example.com:8200/v1/transit/keys/keyName", "http://127.0.0.1:8200/v1/a/b/keys/k"] {
            let t = TransitUri::parse(uri).unwrap();
            assert_eq!(t.to_string(), uri);
            assert_eq!(TransitUri::parse(&t.to_string()).unwrap(), t);
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
