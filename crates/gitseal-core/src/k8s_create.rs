//! New Kubernetes Secret manifests, built in memory and encrypted before they leave it.
//!
//! `gitseal create` never writes a plaintext manifest, not even to a temporary file: the
//! YAML is assembled here in zeroized buffers and handed straight to
//! [`crate::pipeline::encrypt`], so the only bytes that reach a file or stdout are the
//! [`Encrypted`] ones.
//!
//! The sources and their checks follow `kubectl create secret generic`: values go under
//! `data`, base64-encoded; keys must match `[-._a-zA-Z0-9]+` (and may not be `.`, `..` or
//! start with `..`); a key given twice is refused.

use std::collections::BTreeMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use crate::document::Format;
use crate::error::{Error, Result};
use crate::keys::{Identities, Recipients};
use crate::pipeline::{EncryptRequest, Encrypted};
use crate::sops::select::Selection;

/// Random bytes drawn for a token when no size is given (64 hex characters).
pub const DEFAULT_RANDOM_BYTES: usize = 32;
/// Fewer random bytes than this make a guessable token.
pub(crate) const MIN_RANDOM_BYTES: usize = 16;
/// A token is pasted into a web form; nothing needs more.
pub(crate) const MAX_RANDOM_BYTES: usize = 1024;
/// The API server refuses Secrets whose data exceeds 1 MiB.
pub(crate) const MAX_SECRET_DATA_BYTES: usize = 1024 * 1024;

/// The secret type of `kubectl create secret docker-registry`.
pub const DOCKER_CONFIG_JSON_TYPE: &str = "kubernetes.io/dockerconfigjson";
/// The key of `kubernetes.io/dockerconfigjson` Secrets.
pub const DOCKER_CONFIG_JSON_KEY: &str = ".dockerconfigjson";

/// The secret type of `kubectl create secret tls`.
pub(crate) const TLS_TYPE: &str = "kubernetes.io/tls";
/// The certificate chain of a `kubernetes.io/tls` Secret (PEM).
pub(crate) const TLS_CERT_KEY: &str = "tls.crt";
/// The private key of a `kubernetes.io/tls` Secret (PEM).
pub const TLS_KEY_KEY: &str = "tls.key";
/// The selection that encrypts only `tls.key` and leaves the (public) certificate and
/// everything else readable, for teams that review certificates in pull requests.
pub const TLS_KEY_ONLY_REGEX: &str = r"^tls\.key$";

/// A Secret being put together. Values are zeroized when it is dropped; `Debug` shows
/// only the keys.
pub struct SecretManifest {
    name: String,
    namespace: Option<String>,
    secret_type: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    data: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for SecretManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretManifest")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("type", &self.secret_type)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn usage(msg: String) -> Error {
    Error::Usage(msg)
}

impl SecretManifest {
    /// A Secret named `name` (a DNS subdomain) in `namespace` (a DNS label; `None` leaves
    /// it to the applier) of type `secret_type`.
    pub fn new(name: &str, namespace: Option<&str>, secret_type: &str) -> Result<Self> {
        check_dns_subdomain(name).map_err(|m| usage(format!("Secret name {name:?} {m}")))?;
        if let Some(ns) = namespace {
            check_dns_label(ns).map_err(|m| usage(format!("namespace {ns:?} {m}")))?;
        }
        if secret_type.is_empty() || secret_type.len() > 253 || secret_type.chars().any(char::is_control) {
            return Err(usage(format!("Secret type {secret_type:?} is not valid: give a non-empty name such as Opaque")));
        }
        Ok(SecretManifest {
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
            secret_type: secret_type.to_owned(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            data: BTreeMap::new(),
        })
    }

    /// The Secret's `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Secret's `metadata.namespace`, when one was given.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The Secret's `type` (`Opaque`, `kubernetes.io/tls`, `kubernetes.io/dockerconfigjson`, ...).
    pub fn secret_type(&self) -> &str {
        &self.secret_type
    }

    /// The data keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.data.keys().map(String::as_str)
    }

    /// Adds a label; `key` is a qualified name, `value` a label value (at most 63
    /// characters, alphanumeric at both ends).
    pub fn add_label(&mut self, key: &str, value: &str) -> Result<()> {
        check_qualified_name(key).map_err(|m| usage(format!("label key {key:?} {m}")))?;
        check_label_value(value).map_err(|m| usage(format!("label {key:?}: value {value:?} {m}")))?;
        if self.labels.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(usage(format!("label {key:?} is given twice")));
        }
        Ok(())
    }

    /// Adds an annotation; `key` is a qualified name, `value` any text.
    pub fn add_annotation(&mut self, key: &str, value: &str) -> Result<()> {
        check_qualified_name(key).map_err(|m| usage(format!("annotation key {key:?} {m}")))?;
        if self.annotations.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(usage(format!("annotation {key:?} is given twice")));
        }
        Ok(())
    }

    /// Adds a value under `key`; `origin` names where it came from in messages
    /// (`--from-literal`, a file name).
    pub fn add_value(&mut self, key: &str, value: Zeroizing<Vec<u8>>, origin: &str) -> Result<()> {
        self.insert(key, value).map_err(|m| usage(format!("{origin}: {m}")))
    }

    fn insert(&mut self, key: &str, value: Zeroizing<Vec<u8>>) -> std::result::Result<(), String> {
        check_data_key(key).map_err(|m| format!("{key:?} is not a valid Secret key: {m}"))?;
        if self.data.contains_key(key) {
            return Err(format!("key {key:?} is given twice (each key may come from one source only)"));
        }
        self.data.insert(key.to_owned(), value);
        Ok(())
    }

    /// `--from-literal KEY=VALUE`: split at the first `=`, so values may contain `=`.
    /// Messages never repeat the argument: it may be all value.
    pub fn add_literal(&mut self, source: &str) -> Result<()> {
        let Some((key, value)) = source.split_once('=') else {
            return Err(usage("--from-literal: expected KEY=VALUE (no '=' found; the argument is not shown)".into()));
        };
        if key.is_empty() {
            return Err(usage("--from-literal: expected KEY=VALUE (the key is missing)".into()));
        }
        self.add_value(key, Zeroizing::new(value.as_bytes().to_vec()), "--from-literal")
    }

    /// `--from-env-file PATH`: `KEY=VALUE` lines as kubectl reads them. Blank lines and
    /// lines starting with `#` are skipped, leading whitespace is dropped, the value is
    /// everything after the first `=` (no quote removal). A line with a bare `KEY` takes
    /// the value of that environment variable from `env`; an unset variable is an error
    /// rather than an empty secret.
    pub fn add_env_file(&mut self, path: &Path, text: &[u8], env: &dyn Fn(&str) -> Option<Zeroizing<String>>) -> Result<()> {
        let file = path.display().to_string();
        let invalid = |line: usize, msg: String| Error::InvalidValue { file: file.clone(), line: line as u32, msg };
        let mut bytes: &[u8] = text;
        if let Some(rest) = bytes.strip_prefix("\u{feff}".as_bytes()) {
            bytes = rest;
        }
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line_no = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let Ok(line) = std::str::from_utf8(raw) else {
                return Err(invalid(line_no, "the line is not valid UTF-8".into()));
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k, Zeroizing::new(v.as_bytes().to_vec())),
                None => match env(line) {
                    Some(v) => (line, Zeroizing::new(v.as_bytes().to_vec())),
                    None => return Err(invalid(line_no, format!("{:?} has no '=' and no environment variable of that name is set", line.trim_end()))),
                },
            };
            check_env_var_name(key).map_err(|m| invalid(line_no, format!("{key:?} is not a valid key name: {m}")))?;
            self.insert(key, value).map_err(|m| invalid(line_no, m))?;
        }
        Ok(())
    }

    /// `--random KEY[:BYTES]`: BYTES (default 32) from the OS random number generator,
    /// stored as lowercase hex text. Returns the key and the token, for showing once.
    pub fn add_random(&mut self, spec: &str) -> Result<(String, Zeroizing<String>)> {
        let (key, bytes) = parse_random_spec(spec)?;
        let token = random_hex(bytes);
        self.add_value(&key, Zeroizing::new(token.as_bytes().to_vec()), "--random")?;
        Ok((key, token))
    }

    /// Total size of the decoded values.
    pub(crate) fn data_size(&self) -> usize {
        self.data.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// The manifest in YAML, in a buffer that is zeroized on drop. Keys are sorted, as
    /// kubectl writes them.
    pub(crate) fn to_yaml(&self) -> Zeroizing<String> {
        // The metadata holds nothing secret: it is written first, into its own buffer, so
        // that the size of the secret buffer is known exactly.
        let mut head = String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ");
        head.push_str(&self.name);
        head.push('\n');
        if let Some(ns) = &self.namespace {
            head.push_str("  namespace: ");
            head.push_str(ns);
            head.push('\n');
        }
        for (title, map) in [("labels", &self.labels), ("annotations", &self.annotations)] {
            if map.is_empty() {
                continue;
            }
            head.push_str("  ");
            head.push_str(title);
            head.push_str(":\n");
            for (k, v) in map {
                head.push_str("    ");
                push_scalar(&mut head, k);
                head.push_str(": ");
                push_scalar(&mut head, v);
                head.push('\n');
            }
        }
        head.push_str("type: ");
        push_scalar(&mut head, &self.secret_type);
        head.push('\n');
        if self.data.is_empty() {
            head.push_str("data: {}\n");
            return Zeroizing::new(head);
        }
        head.push_str("data:\n");

        // Per entry: indent, key (quoted at worst: keys are [-._a-zA-Z0-9]+, so quoting
        // adds two characters and never escapes), ": ", the base64 text, two quotes, "\n".
        let body: usize = self.data.iter().map(|(k, v)| 2 + k.len() + 2 + 2 + v.len().div_ceil(3) * 4 + 2 + 1).sum();
        // Reserved up front: growing the buffer would leave copies of the values behind.
        let mut out = Zeroizing::new(String::with_capacity(head.len() + body));
        out.push_str(&head);
        for (k, v) in &self.data {
            out.push_str("  ");
            push_scalar(&mut out, k);
            out.push_str(": ");
            // Base64 text is a plain scalar unless YAML would read it as something else
            // (a number such as 1234, or true/null); those are quoted.
            let start = out.len();
            B64.encode_string(v.as_slice(), &mut out);
            if v.is_empty() || needs_quotes(&out[start..]) {
                out.insert(start, '"');
                out.push('"');
            }
            out.push('\n');
        }
        debug_assert!(out.len() <= head.len() + body, "the YAML buffer grew");
        out
    }

    /// Encrypts the manifest for `recipients` with the Kubernetes selection (`data` and
    /// `stringData` encrypted, the rest readable). `file` names the output in messages.
    pub fn seal(&self, file: &str, recipients: &Recipients, mac_only_encrypted: bool) -> Result<Encrypted> {
        self.seal_with(file, recipients, mac_only_encrypted, Selection::k8s_default(), self.data.values().filter(|v| !v.is_empty()).count())
    }

    /// Encrypts the manifest as an EncryptedSecret sealed for `scope` (see
    /// [`crate::encrypted_secret`]): the plaintext Secret exists only in zeroized memory,
    /// as for [`SecretManifest::seal`]. `file` names the output in messages.
    pub fn seal_encrypted_secret(&self, file: &str, scope: crate::encrypted_secret::Scope, recipients: &Recipients) -> Result<Encrypted> {
        let size = self.data_size();
        if size > MAX_SECRET_DATA_BYTES {
            return Err(usage(format!("the Secret's data would be {size} bytes; Kubernetes refuses Secrets over 1 MiB ({MAX_SECRET_DATA_BYTES} bytes)")));
        }
        if recipients.is_empty() {
            return Err(Error::NoRecipients { file: file.into() });
        }
        crate::encrypted_secret::encrypt_secret_manifest(file, self.to_yaml().as_bytes(), scope, recipients)
    }

    /// [`SecretManifest::seal`] with another selection, of which at least `expected`
    /// values must come out encrypted (else nothing is returned).
    pub fn seal_with(&self, file: &str, recipients: &Recipients, mac_only_encrypted: bool, selection: Selection, expected: usize) -> Result<Encrypted> {
        let size = self.data_size();
        if size > MAX_SECRET_DATA_BYTES {
            return Err(usage(format!("the Secret's data would be {size} bytes; Kubernetes refuses Secrets over 1 MiB ({MAX_SECRET_DATA_BYTES} bytes)")));
        }
        if recipients.is_empty() {
            return Err(Error::NoRecipients { file: file.into() });
        }
        let yaml = self.to_yaml();
        let no_identities = Identities::default();
        let outcome = crate::pipeline::encrypt(&EncryptRequest {
            file,
            format: Format::Yaml,
            src: yaml.as_bytes(),
            recipients,
            selection: Some(selection),
            mac_only_encrypted,
            identities: &no_identities,
            previous: None,
            check: Some(crate::k8s::check_secret_data),
        })?;
        // Every value the selection covers must have been sealed (a label named like a
        // selected key may add more); fewer is a bug that would put plaintext in the
        // output, so nothing is returned.
        if outcome.sealed < expected {
            return Err(Error::InvalidValue {
                file: file.into(),
                line: 1,
                msg: format!("internal error: {} of {expected} values were encrypted; nothing written", outcome.sealed),
            });
        }
        Ok(outcome.output)
    }
}

/// A `kubernetes.io/tls` Secret from a PEM certificate chain and its PEM private key, as
/// `kubectl create secret tls` makes it, after checking that both are PEM and that the
/// key belongs to the first certificate.
pub fn tls_secret(name: &str, namespace: Option<&str>, cert: (&Path, Zeroizing<Vec<u8>>), key: (&Path, Zeroizing<Vec<u8>>)) -> Result<SecretManifest> {
    check_tls_pair(cert.0, &cert.1, key.0, &key.1)?;
    let mut manifest = SecretManifest::new(name, namespace, TLS_TYPE)?;
    manifest.add_value(TLS_CERT_KEY, cert.1, "--cert")?;
    manifest.add_value(TLS_KEY_KEY, key.1, "--key")?;
    Ok(manifest)
}

/// Checks what Kubernetes and ingress controllers will need: `cert_pem` holds one or more
/// PEM `CERTIFICATE` blocks (the server certificate first), `key_pem` exactly one
/// unencrypted PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC), and the key belongs to
/// the first certificate (their public keys are compared). Errors name the file.
pub(crate) fn check_tls_pair(cert_file: &Path, cert_pem: &[u8], key_file: &Path, key_pem: &[u8]) -> Result<()> {
    use rustls::pki_types::pem::{PemObject, SectionKind};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let bad = |file: &Path, msg: String| Error::InvalidValue { file: file.display().to_string(), line: 1, msg };
    let sections = |file: &Path, pem: &[u8]| -> Result<Vec<(SectionKind, Vec<u8>)>> {
        <(SectionKind, Vec<u8>)>::pem_slice_iter(pem).collect::<std::result::Result<Vec<_>, _>>().map_err(|e| bad(file, format!("not valid PEM: {e}")))
    };

    let certs: Vec<CertificateDer<'static>> = sections(cert_file, cert_pem)?
        .into_iter()
        .map(|(kind, der)| match kind {
            SectionKind::Certificate => Ok(CertificateDer::from(der)),
            SectionKind::RsaPrivateKey | SectionKind::PrivateKey | SectionKind::EcPrivateKey => {
                Err(bad(cert_file, "holds a private key: give the certificate (chain) with --cert and the key with --key".into()))
            }
            other => Err(bad(cert_file, format!("holds a PEM block that is not a certificate ({other:?})"))),
        })
        .collect::<Result<_>>()?;
    if certs.is_empty() {
        return Err(bad(cert_file, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }

    let encrypted_key = key_pem.windows(36).any(|w| w == b"-----BEGIN ENCRYPTED PRIVATE KEY----");
    if encrypted_key {
        return Err(bad(key_file, "is a passphrase-protected key, which Kubernetes cannot use; decrypt it first (openssl pkey -in KEY -out KEY.plain)".into()));
    }
    // The DER of the key is zeroized when dropped.
    let mut keys: Vec<(SectionKind, Zeroizing<Vec<u8>>)> = Vec::new();
    for (kind, der) in sections(key_file, key_pem)? {
        keys.push((kind, Zeroizing::new(der)));
    }
    let key = match keys.as_slice() {
        [(kind @ (SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey), der)] => {
            PrivateKeyDer::from_pem(*kind, der.to_vec()).ok_or_else(|| bad(key_file, "holds a private key of an unknown kind".into()))?
        }
        [] => return Err(bad(key_file, "holds no PEM private key (-----BEGIN PRIVATE KEY-----)".into())),
        [(SectionKind::Certificate, _), ..] | [_, (SectionKind::Certificate, _), ..] => {
            return Err(bad(key_file, "holds a certificate: give the private key alone with --key and the certificate with --cert".into()))
        }
        [_] => return Err(bad(key_file, "holds a PEM block that is not a private key".into())),
        _ => return Err(bad(key_file, format!("holds {} PEM blocks; give exactly one private key", keys.len()))),
    };
    let signing_key = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| bad(key_file, format!("cannot be read as an RSA, ECDSA or Ed25519 private key: {e}")))?;
    drop(key);
    let pair = rustls::sign::CertifiedKey::new(certs, signing_key);
    match pair.keys_match() {
        Ok(()) => Ok(()),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(bad(key_file, format!("does not belong to the certificate in {} (their public keys differ)", cert_file.display())))
        }
        Err(e) => Err(bad(cert_file, format!("the first certificate cannot be read: {e}"))),
    }
}

/// kubectl's `[KEY=]PATH` split: one `=` at most, neither side empty.
pub fn parse_file_source(source: &str) -> Result<(Option<&str>, &str)> {
    match source.matches('=').count() {
        0 => Ok((None, source)),
        1 => {
            let (k, p) = source.split_once('=').unwrap_or_default();
            if k.is_empty() {
                Err(usage(format!("--from-file {source:?}: the key name is missing before '='")))
            } else if p.is_empty() {
                Err(usage(format!("--from-file {source:?}: the file path is missing after '='")))
            } else {
                Ok((Some(k), p))
            }
        }
        _ => Err(usage(format!("--from-file {source:?}: key names and file paths cannot contain '='"))),
    }
}

/// `KEY[:BYTES]` of `--random`.
pub fn parse_random_spec(spec: &str) -> Result<(String, usize)> {
    let (key, bytes) = match spec.rsplit_once(':') {
        Some((k, n)) => {
            let n: usize = n.parse().map_err(|_| usage(format!("--random {spec:?}: BYTES must be a number (KEY[:BYTES], e.g. token:32)")))?;
            (k, n)
        }
        None => (spec, DEFAULT_RANDOM_BYTES),
    };
    check_random_bytes(bytes).map_err(|m| usage(format!("--random {spec:?}: {m}")))?;
    check_data_key(key).map_err(|m| usage(format!("--random {spec:?}: {key:?} is not a valid Secret key: {m}")))?;
    Ok((key.to_owned(), bytes))
}

/// Checks a number of random bytes against the allowed range.
pub(crate) fn check_random_bytes(bytes: usize) -> std::result::Result<(), String> {
    if !(MIN_RANDOM_BYTES..=MAX_RANDOM_BYTES).contains(&bytes) {
        return Err(format!("{bytes} random bytes: give between {MIN_RANDOM_BYTES} and {MAX_RANDOM_BYTES}"));
    }
    Ok(())
}

/// `bytes` bytes from the operating system's random number generator, as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> Zeroizing<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut raw = Zeroizing::new(vec![0u8; bytes]);
    getrandom::getrandom(&mut raw).expect("the operating system's random number generator failed");
    let mut out = Zeroizing::new(String::with_capacity(bytes * 2));
    for b in raw.iter() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

/// The `.dockerconfigjson` content exactly as `kubectl create secret docker-registry`
/// builds it (Go's `json.Marshal` of kubectl's `DockerConfigJSON`): compact, fields in
/// the order username, password, email (left out when empty), auth =
/// base64(`username:password`), Go's string escaping (`<`, `>`, `&`, U+2028 and U+2029
/// as `\u` escapes).
pub fn docker_config_json(server: &str, username: &str, password: &str, email: Option<&str>) -> Zeroizing<Vec<u8>> {
    let mut user_pass = Zeroizing::new(String::with_capacity(username.len() + 1 + password.len()));
    user_pass.push_str(username);
    user_pass.push(':');
    user_pass.push_str(password);
    let mut auth = Zeroizing::new(String::with_capacity(user_pass.len().div_ceil(3) * 4));
    B64.encode_string(user_pass.as_bytes(), &mut auth);

    let email = email.filter(|e| !e.is_empty());
    let cap = 64 + 6 * (server.len() + username.len() + password.len() + email.map_or(0, str::len)) + auth.len();
    let mut out = Zeroizing::new(String::with_capacity(cap));
    out.push_str("{\"auths\":{");
    push_go_json_string(&mut out, server);
    out.push_str(":{");
    let mut first = true;
    for (name, value) in [("username", username), ("password", password), ("email", email.unwrap_or("")), ("auth", auth.as_str())] {
        // Every field is `omitempty` in kubectl's struct.
        if value.is_empty() {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        push_go_json_string(&mut out, value);
    }
    out.push_str("}}}");
    Zeroizing::new(out.as_bytes().to_vec())
}

/// A JSON string as Go's `encoding/json` writes it (HTML-safe escaping included), as
/// kubectl writes `.dockerconfigjson`.
fn push_go_json_string(out: &mut String, s: &str) {
    crate::document::json::push_quoted(out, s, true);
}

/// Writes `s` as a YAML scalar: plain when it can only be read back as that string,
/// else double-quoted (JSON escapes are valid YAML escapes).
pub(crate) fn push_scalar(out: &mut String, s: &str) {
    if needs_quotes(s) {
        out.push_str(&serde_json::to_string(s).expect("strings serialise"));
    } else {
        out.push_str(s);
    }
}

/// Whether a plain scalar `s` could be read as something other than the string `s`
/// (a number, a boolean, null), or is not a plain scalar at all.
fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return true };
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '+' | '=' | '-')) {
        return true;
    }
    if first.is_ascii_digit() || matches!(first, '+' | '-' | '=') {
        return true;
    }
    if first == '.' && s[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    // YAML 1.1 and 1.2 booleans and nulls, and the special floats.
    const RESERVED: [&str; 13] = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", ".inf", ".nan", "~", "<<"];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
}

/// A data key as the API server accepts it (`IsConfigMapKey`).
pub(crate) fn check_data_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() {
        return Err("a key may not be empty".into());
    }
    if key.len() > 253 {
        return Err("a key may have at most 253 characters".into());
    }
    if !key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
        return Err("a key may contain only letters, digits, '-', '_' and '.' (regex [-._a-zA-Z0-9]+)".into());
    }
    check_no_chdir_prefix(key)
}

fn check_no_chdir_prefix(key: &str) -> std::result::Result<(), String> {
    match key {
        "." => Err("a key may not be '.'".into()),
        ".." => Err("a key may not be '..'".into()),
        k if k.starts_with("..") => Err("a key may not start with '..'".into()),
        _ => Ok(()),
    }
}

/// An env file key as kubectl accepts it (`IsEnvVarName`): `[-._a-zA-Z][-._a-zA-Z0-9]*`.
fn check_env_var_name(key: &str) -> std::result::Result<(), String> {
    let mut chars = key.chars();
    let ok_first = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '_'));
    if !ok_first || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
        return Err("it must match [-._a-zA-Z][-._a-zA-Z0-9]*".into());
    }
    check_data_key(key)
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 63 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !s.starts_with('-') && !s.ends_with('-')
}

/// A DNS-1123 label: a namespace.
pub(crate) fn check_dns_label(s: &str) -> std::result::Result<(), String> {
    if is_dns_label(s) {
        Ok(())
    } else {
        Err("is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit".into())
    }
}

/// A DNS-1123 subdomain: an object name.
pub(crate) fn check_dns_subdomain(s: &str) -> std::result::Result<(), String> {
    if s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
    {
        Ok(())
    } else {
        Err("is not a valid name: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit".into())
    }
}

fn is_label_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain.
fn check_qualified_name(key: &str) -> std::result::Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        check_dns_subdomain(p).map_err(|_| "has an invalid prefix: it must be a DNS subdomain such as example.com".to_owned())?;
    }
    if !is_label_name(name) {
        return Err("is not valid: the name part has at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit".into());
    }
    Ok(())
}

fn check_label_value(v: &str) -> std::result::Result<(), String> {
    if v.is_empty() || is_label_name(v) {
        Ok(())
    } else {
        Err("is not valid: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit".into())
    }
}

/// Splits `KEY=VALUE` for `--label` and `--annotation`.
pub fn split_key_value<'a>(flag: &str, s: &'a str) -> Result<(&'a str, &'a str)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k, v)),
        _ => Err(usage(format!("{flag} {s:?}: expected KEY=VALUE"))),
    }
}

/// The programs whose webhook secrets `gitseal create webhook` knows how to lay out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookPreset {
    /// Flux notification-controller `Receiver`: key `token`.
    FluxReceiver,
    /// Argo CD, GitHub webhooks: `webhook.github.secret` in `argocd-secret`.
    ArgocdGithub,
    /// Argo CD, GitLab webhooks: `webhook.gitlab.secret` in `argocd-secret`.
    ArgocdGitlab,
    /// Argo Events GitHub `EventSource`: key `secret`.
    ArgoEvents,
}

impl WebhookPreset {
    /// Every preset.
    pub const ALL: [WebhookPreset; 4] = [WebhookPreset::FluxReceiver, WebhookPreset::ArgocdGithub, WebhookPreset::ArgocdGitlab, WebhookPreset::ArgoEvents];

    /// The name used on the command line.
    pub fn id(self) -> &'static str {
        match self {
            WebhookPreset::FluxReceiver => "flux-receiver",
            WebhookPreset::ArgocdGithub => "argocd-github",
            WebhookPreset::ArgocdGitlab => "argocd-gitlab",
            WebhookPreset::ArgoEvents => "argo-events",
        }
    }

    pub(crate) fn default_name(self) -> &'static str {
        match self {
            WebhookPreset::FluxReceiver => "webhook-token",
            WebhookPreset::ArgocdGithub | WebhookPreset::ArgocdGitlab => "argocd-secret",
            WebhookPreset::ArgoEvents => "github-webhook-secret",
        }
    }

    /// The namespace the consumer runs in by default, used when none is given.
    pub fn default_namespace(self) -> &'static str {
        match self {
            WebhookPreset::FluxReceiver => "flux-system",
            WebhookPreset::ArgocdGithub | WebhookPreset::ArgocdGitlab => "argocd",
            WebhookPreset::ArgoEvents => "argo-events",
        }
    }

    /// The data key the consumer reads the token from.
    pub fn key(self) -> &'static str {
        match self {
            WebhookPreset::FluxReceiver => "token",
            WebhookPreset::ArgocdGithub => "webhook.github.secret",
            WebhookPreset::ArgocdGitlab => "webhook.gitlab.secret",
            WebhookPreset::ArgoEvents => "secret",
        }
    }

    /// Labels the consumer expects on the Secret. Argo CD labels its own Secrets this
    /// way (see argocd-secret.yaml in its manifests).
    pub(crate) fn labels(self) -> &'static [(&'static str, &'static str)] {
        match self {
            WebhookPreset::ArgocdGithub | WebhookPreset::ArgocdGitlab => {
                &[("app.kubernetes.io/name", "argocd-secret"), ("app.kubernetes.io/part-of", "argocd")]
            }
            _ => &[],
        }
    }

    /// The Secret with a fresh random token of `bytes` bytes; returns it with the token.
    pub fn build(self, name: Option<&str>, namespace: Option<&str>, bytes: usize) -> Result<(SecretManifest, Zeroizing<String>)> {
        check_random_bytes(bytes).map_err(|m| usage(format!("--bytes: {m}")))?;
        let mut s = SecretManifest::new(name.unwrap_or(self.default_name()), Some(namespace.unwrap_or(self.default_namespace())), "Opaque")?;
        for (k, v) in self.labels() {
            s.add_label(k, v)?;
        }
        let token = random_hex(bytes);
        s.add_value(self.key(), Zeroizing::new(token.as_bytes().to_vec()), "webhook token")?;
        Ok((s, token))
    }

    /// What to do next with the Secret `name` in `namespace`: the consumer's side of the
    /// webhook, as text for the terminal. Holds no secret.
    pub fn hint(self, name: &str, namespace: &str) -> String {
        match self {
            WebhookPreset::FluxReceiver => format!(
                "\
The Flux Receiver that validates webhooks with this token (commit it next to the Secret):

apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: github-receiver
  namespace: {namespace}
spec:
  type: github
  events:
    - \"ping\"
    - \"push\"
  secretRef:
    name: {name}
  resources:
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: GitRepository
      name: flux-system

The webhook URL is your receiver's public address followed by the Receiver's
.status.webhookPath (kubectl -n {namespace} get receiver github-receiver), which Flux
derives from the token. In GitHub: Payload URL = that URL, Content type =
application/json, Secret = the token.
"
            ),
            WebhookPreset::ArgocdGithub | WebhookPreset::ArgocdGitlab => {
                let (provider, field) = match self {
                    WebhookPreset::ArgocdGithub => ("GitHub", "Secret"),
                    _ => ("GitLab", "Secret token"),
                };
                let extra = if name == "argocd-secret" {
                    String::new()
                } else {
                    format!("\nNote: Argo CD reads webhook secrets from argocd-secret, not from {name:?}.\n")
                };
                format!(
                    "\
Argo CD reads {key} from the argocd-secret Secret in its namespace ({namespace}).
That Secret already exists (the Argo CD install creates it and keeps server.secretkey
and admin.password in it): this file must be merged into it, not replace it. Flux
applies it server-side, which merges the key in; by hand, apply the decrypted file with
kubectl apply --server-side. Never kubectl replace argocd-secret.

The webhook URL is https://<your Argo CD host>/api/webhook. In {provider}: URL = that
URL, {field} = the token{}.
{extra}",
                    if self == WebhookPreset::ArgocdGithub { ", Content type = application/json" } else { "" },
                    key = self.key(),
                )
            }
            WebhookPreset::ArgoEvents => format!(
                "\
The Argo Events GitHub EventSource that checks webhooks with this secret:

apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: github
  namespace: {namespace}
spec:
  service:
    ports:
      - port: 12000
        targetPort: 12000
  github:
    example:
      repositories:
        - owner: my-org
          names:
            - my-repo
      webhook:
        endpoint: /push
        port: \"12000\"
        method: POST
        url: https://events.example.com
      events:
        - \"*\"
      webhookSecret:
        name: {name}
        key: secret
      contentType: json

The EventSource is served by the Service github-eventsource-svc; expose it and give
GitHub that address plus the endpoint (/push) as Payload URL, with the token as Secret.
"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_json_matches_kubectl_bytes() {
        // kubectl create secret docker-registry r --docker-server=harbor.example.com
        //   --docker-username='robot$ci+pull' --docker-password='p&<>"' --docker-email=a@b.c
        let got = docker_config_json("harbor.example.com", "robot$ci+pull", "p&<>\"", Some("a@b.c"));
        let auth = B64.encode("robot$ci+pull:p&<>\"");
        let want = format!(
            "{{\"auths\":{{\"harbor.example.com\":{{\"username\":\"robot$ci+pull\",\"password\":\"p\\u0026\\u003c\\u003e\\\"\",\"email\":\"a@b.c\",\"auth\":\"{auth}\"}}}}}}"
        );
        assert_eq!(std::str::from_utf8(&got).unwrap(), want);
    }

    #[test]
    fn docker_config_json_leaves_out_an_empty_email() {
        let got = docker_config_json("r.io", "u", "p", None);
        assert_eq!(std::str::from_utf8(&got).unwrap(), "{\"auths\":{\"r.io\":{\"username\":\"u\",\"password\":\"p\",\"auth\":\"dTpw\"}}}");
    }

    #[test]
    fn go_escapes_control_characters_and_line_separators() {
        let mut s = String::new();
        push_go_json_string(&mut s, "a\u{1}\u{8}\u{c}\u{2028}é");
        assert_eq!(s, "\"a\\u0001\\b\\f\\u2028é\"");
    }

    #[test]
    fn data_keys_follow_kubectl() {
        for ok in ["token", ".dockerconfigjson", "webhook.github.secret", "a-b_c.d", "123", "-"] {
            assert!(check_data_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a/b", ".", "..", "..x", "ключ", &"k".repeat(254)] {
            assert!(check_data_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ambiguous_scalars_are_quoted() {
        for q in ["1234", "true", "NULL", "+abc", "-x", ".5", ".inf", "", "a b", "y"] {
            assert!(needs_quotes(q), "{q}");
        }
        for p in ["dG9rZW4=", "token", ".dockerconfigjson", "abc/def+=", "webhook.github.secret", "Yes1"] {
            assert!(!needs_quotes(p), "{p}");
        }
    }

    #[test]
    fn yaml_layout() {
        let mut s = SecretManifest::new("x", Some("ns"), "Opaque").unwrap();
        s.add_value("b", Zeroizing::new(b"1".to_vec()), "t").unwrap();
        s.add_value("a", Zeroizing::new(vec![0xd7, 0x6d, 0xf8]), "t").unwrap();
        s.add_label("app", "web").unwrap();
        s.add_annotation("note", "two words").unwrap();
        assert_eq!(
            &*s.to_yaml(),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  namespace: ns\n  labels:\n    app: web\n  annotations:\n    note: \"two words\"\ntype: Opaque\ndata:\n  a: \"1234\"\n  b: MQ==\n"
        );
    }

    #[test]
    fn yaml_buffer_is_sized_for_quoted_keys_and_values() {
        // Keys and values that both need quotes: the buffer must not grow (the
        // debug_assert in to_yaml), since growing leaves copies of values behind.
        let mut s = SecretManifest::new("x", None, "Opaque").unwrap();
        for i in 0..400 {
            s.add_value(&i.to_string(), Zeroizing::new(vec![0xd7, 0x6d, 0xf8]), "t").unwrap();
        }
        s.add_value("empty", Zeroizing::new(Vec::new()), "t").unwrap();
        let yaml = s.to_yaml();
        assert!(yaml.contains("\n  \"399\": \"1234\"\n") && yaml.contains("\n  empty: \"\"\n"), "{}", &*yaml);
    }

    #[test]
    fn random_tokens_are_hex_and_differ() {
        let a = random_hex(32);
        let b = random_hex(32);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(*a, *b);
    }

    #[test]
    fn random_spec() {
        assert_eq!(parse_random_spec("token").unwrap(), ("token".into(), 32));
        assert_eq!(parse_random_spec("t:48").unwrap(), ("t".into(), 48));
        assert!(parse_random_spec("t:8").is_err());
        assert!(parse_random_spec("t:x").is_err());
        assert!(parse_random_spec("bad key").is_err());
    }

    #[test]
    fn names_are_checked() {
        assert!(SecretManifest::new("Bad_Name", None, "Opaque").is_err());
        assert!(SecretManifest::new("ok.name-1", Some("ns.with.dot"), "Opaque").is_err());
        assert!(SecretManifest::new("ok", Some("ns"), "").is_err());
        let mut s = SecretManifest::new("ok", None, "Opaque").unwrap();
        assert!(s.add_label("example.com/app", "v1.2").is_ok());
        assert!(s.add_label("-bad", "v").is_err());
        assert!(s.add_label("app", "has space").is_err());
    }

    #[test]
    fn literal_errors_do_not_show_the_value() {
        let mut s = SecretManifest::new("ok", None, "Opaque").unwrap();
        let e = s.add_literal("hunter2-no-equals").unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        let e = s.add_literal("bad key=hunter2").unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
