//! age recipients (X25519, the post-quantum hybrid type, SSH) and identities.

use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format as ArmorFormat};
use zeroize::Zeroizing;

use super::age_pq::{HybridIdentity, HybridRecipient};
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
    Hybrid(Box<HybridRecipient>),
    Ssh(age::ssh::Recipient),
}

/// A recipient for messages: hybrid recipients are about 2,000 characters, so they are
/// shortened to their start and end.
pub(crate) fn short(text: &str) -> String {
    if text.len() <= 80 || !text.is_ascii() {
        return text.to_owned();
    }
    format!("{}...{}", &text[..40], &text[text.len() - 12..])
}

impl std::fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgeRecipient({})", self.text)
    }
}

impl AgeRecipient {
    /// Parses an `age1...` (X25519), `age1pq1...` (post-quantum hybrid) or `ssh-ed25519`/`ssh-rsa` public key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.starts_with("age1pq1") {
            let r = text.parse::<HybridRecipient>().map_err(|_| KeyError::BadRecipient(short(text)))?;
            return Ok(AgeRecipient { text: text.to_owned(), kind: RecipientKind::Hybrid(Box::new(r)) });
        }
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

    /// The recipient as written in metadata and `.sops.yaml` (its Bech32 or SSH text).
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a post-quantum hybrid (`age1pq1...`) recipient.
    pub fn is_post_quantum(&self) -> bool {
        matches!(self.kind, RecipientKind::Hybrid(_))
    }

    fn as_dyn(&self) -> &dyn age::Recipient {
        match &self.kind {
            RecipientKind::X25519(r) => r,
            RecipientKind::Hybrid(r) => r.as_ref(),
            RecipientKind::Ssh(r) => r,
        }
    }

    /// Encrypts raw key material (the data key, or a Shamir share of it) to this
    /// recipient, ASCII-armored as sops writes it.
    pub(crate) fn wrap(&self, key: &[u8]) -> Result<AgeStanza, KeyError> {
        let fail = |reason: String| KeyError::Wrap { recipient: self.text.clone(), reason, transient: false };
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
    /// Lines skipped while reading identity sources (`file:line: reason`), for warnings.
    pub warnings: Vec<String>,
    /// Every place searched for identities and what it held, for messages.
    pub searched: Vec<String>,
    /// The Vault connection used to open `hc_vault` entries, when there is one.
    pub(crate) transit: Option<std::sync::Arc<dyn super::transit::TransitBackend>>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} keys from {:?})", self.keys.len(), self.sources)
    }
}

impl Identities {
    /// Whether no age identity is held (a Transit backend does not count).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The number of age identities held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Lets these identities open data keys wrapped by Vault Transit, through `backend`.
    pub fn set_transit(&mut self, backend: std::sync::Arc<dyn super::transit::TransitBackend>) {
        self.transit = Some(backend);
    }

    /// The Vault connection set with [`Identities::set_transit`].
    pub(crate) fn transit(&self) -> Option<&std::sync::Arc<dyn super::transit::TransitBackend>> {
        self.transit.as_ref()
    }

    /// Adds the identities in an age identity file's text (`AGE-SECRET-KEY-1...` and
    /// `AGE-SECRET-KEY-PQ-1...` lines, `#` comments), or an unencrypted OpenSSH private key.
    ///
    /// Lines of other kinds (age plugin identities, typos) are skipped with a warning in
    /// [`Identities::warnings`], naming `source_name` and the line; but a source in which
    /// no line at all is an identity is refused, naming its first such line. Returns the
    /// number of identities added.
    pub fn add_text(&mut self, source_name: &str, text: &str) -> Result<usize, KeyError> {
        let parsed = parse_identity_text(source_name, text)?;
        if parsed.keys.is_empty() {
            if let Some(first) = parsed.skipped.first() {
                return Err(KeyError::MalformedIdentity { source_name: source_name.to_owned(), line: first.line, reason: first.reason.to_owned() });
            }
        }
        Ok(self.add_parsed(source_name, parsed))
    }

    /// As [`Identities::add_text`], but a source without any identity line is only
    /// warned about (for places that are searched rather than named).
    pub fn add_text_lenient(&mut self, source_name: &str, text: &str) -> Result<usize, KeyError> {
        let parsed = parse_identity_text(source_name, text)?;
        Ok(self.add_parsed(source_name, parsed))
    }

    fn add_parsed(&mut self, source_name: &str, parsed: ParsedIdentityText) -> usize {
        for skipped in &parsed.skipped {
            self.warnings.push(format!("{source_name}:{}: line skipped: {}", skipped.line, skipped.reason));
        }
        let n = parsed.keys.len();
        self.keys.extend(parsed.keys);
        if n > 0 {
            self.sources.push(source_name.to_owned());
        }
        n
    }

    /// Records that a place was searched for identities, and what was found there, for
    /// the message when no identity opens a file.
    pub fn note_searched(&mut self, place: impl Into<String>) {
        self.searched.push(place.into());
    }

    /// Decrypts an armored age stanza to a data key, if one of our identities can.
    pub fn unwrap(&self, enc: &str) -> Option<DataKey> {
        self.unwrap_bytes(enc).and_then(|k| DataKey::from_bytes(&k))
    }

    /// Decrypts an armored age stanza to its raw bytes (a data key or a Shamir share).
    pub(crate) fn unwrap_bytes(&self, enc: &str) -> Option<Zeroizing<Vec<u8>>> {
        if self.keys.is_empty() {
            return None;
        }
        self.open_age_file(enc.as_bytes()).ok()
    }

    /// Decrypts a whole age file (binary or ASCII-armored) with these identities: the
    /// header is parsed and its MAC checked, and the payload read to its end.
    pub fn open_age_file(&self, file: &[u8]) -> Result<Zeroizing<Vec<u8>>, AgeOpenError> {
        // Whitespace around the armor is allowed (sops's stanzas start with a newline).
        // The armor is removed first (these files are small), so that the header can be
        // handed to the parser whole: see `WholeHeader`.
        let mut binary = Vec::with_capacity(file.len());
        ArmoredReader::new(file.trim_ascii_start()).read_to_end(&mut binary).map_err(|_| AgeOpenError::Armor)?;
        let header = WholeHeader::new(&binary);
        if header.header_end().is_some_and(|end| !stanza_bodies_terminated(&binary[..end])) {
            return Err(AgeOpenError::Header);
        }
        let decryptor = age::Decryptor::new_buffered(header).map_err(AgeOpenError::from_header)?;
        let mut r = decryptor.decrypt(self.keys.iter().map(|k| k.as_ref() as &dyn age::Identity)).map_err(AgeOpenError::from_header)?;
        let mut buf = Zeroizing::new(Vec::with_capacity(33));
        r.read_to_end(&mut buf).map_err(|_| AgeOpenError::Payload)?;
        Ok(buf)
    }
}

/// Whether every recipient stanza of the age `header` ends with its final body line, one
/// shorter than 64 columns (possibly empty), as the age specification requires. The
/// `age` crate 0.11 also takes a stanza whose body lacks it, or that has no body line at
/// all; gitseal does not.
fn stanza_bodies_terminated(header: &[u8]) -> bool {
    let mut in_body = false;
    for line in header.split(|&b| b == b'\n') {
        let structural = line.starts_with(b"-> ") || line.starts_with(b"--- ");
        if in_body {
            if structural {
                return false;
            }
            in_body = line.len() >= 64;
            continue;
        }
        in_body = line.starts_with(b"-> ");
    }
    !in_body
}

/// An age file in memory whose first `read_until` gives the age parser the whole header
/// (through the `--- MAC` line) at once.
///
/// The `age` crate's header reader parses the header again from its start after every
/// line it reads, which is quadratic in the number of stanzas (1,000 recipients took
/// seconds). Handing it exactly the header bytes makes the first parse complete. Only a
/// prefix ending at the first `\n--- ` line is given early: stanza lines start with
/// `-> ` and bodies are base64, so in a valid header that line is the MAC line, and
/// bytes after the header are never handed over early (the crate would drop them). When
/// no such line exists, lines are read one at a time as usual.
pub(crate) struct WholeHeader<'a> {
    data: &'a [u8],
    pos: usize,
    /// How many times the parser asked for more header bytes.
    pub(crate) header_reads: usize,
}

impl<'a> WholeHeader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        WholeHeader { data, pos: 0, header_reads: 0 }
    }

    /// The end of the header: just past the newline of the first line starting `--- `.
    fn header_end(&self) -> Option<usize> {
        let d = self.data;
        let mac_line = d.windows(5).position(|w| w == b"\n--- ")? + 1;
        d[mac_line..].iter().position(|&b| b == b'\n').map(|nl| mac_line + nl + 1)
    }
}

impl Read for WholeHeader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = out.len().min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl std::io::BufRead for WholeHeader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(&self.data[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.data.len());
    }

    fn read_until(&mut self, byte: u8, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        self.header_reads += 1;
        let end = match self.header_end() {
            Some(end) if self.pos == 0 && byte == b'\n' => end,
            _ => {
                let rest = &self.data[self.pos..];
                self.pos + rest.iter().position(|&b| b == byte).map_or(rest.len(), |i| i + 1)
            }
        };
        let chunk = &self.data[self.pos..end];
        buf.extend_from_slice(chunk);
        self.pos = end;
        Ok(chunk.len())
    }
}

/// Why an age file did not open, in the categories of the age specification's test
/// vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgeOpenError {
    /// The ASCII armor (`-----BEGIN AGE ENCRYPTED FILE-----`) is malformed: markers, line lengths or base64.
    #[error("the ASCII armor is malformed")]
    Armor,
    /// The age header is not valid version 1 syntax (stanzas, MAC line).
    #[error("the age header is malformed")]
    Header,
    /// No identity at hand opens any recipient stanza.
    #[error("no identity matches a recipient stanza")]
    NoMatch,
    /// The header's HMAC does not match the file key the stanza gave: the header was changed.
    #[error("the header MAC does not match")]
    HeaderMac,
    /// The STREAM payload does not authenticate with the file key (truncated or altered).
    #[error("the payload does not decrypt")]
    Payload,
}

impl AgeOpenError {
    fn from_header(e: age::DecryptError) -> Self {
        match e {
            age::DecryptError::NoMatchingKeys => AgeOpenError::NoMatch,
            age::DecryptError::InvalidMac => AgeOpenError::HeaderMac,
            _ => AgeOpenError::Header,
        }
    }
}

/// One line of an identity source that holds no identity gitseal reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SkippedLine {
    /// 1-based.
    pub line: usize,
    pub reason: &'static str,
}

/// The identities of one source's text, and the lines skipped.
pub(crate) struct ParsedIdentityText {
    keys: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// The recipients of the identities, in order (SSH keys: none).
    pub recipients: Vec<String>,
    pub skipped: Vec<SkippedLine>,
}

/// Reads an identity source's text: an unencrypted OpenSSH (or PEM RSA) private key, or
/// age identity lines. Lines gitseal does not read are listed in `skipped`, never an
/// error; messages name the line, never its content.
pub(crate) fn parse_identity_text(source_name: &str, text: &str) -> Result<ParsedIdentityText, KeyError> {
    let bad = |reason: &str| KeyError::BadIdentity { source_name: source_name.to_owned(), reason: reason.to_owned() };
    let mut out = ParsedIdentityText { keys: Vec::new(), recipients: Vec::new(), skipped: Vec::new() };
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") || text.contains("-----BEGIN RSA PRIVATE KEY-----") {
        let id = age::ssh::Identity::from_buffer(text.as_bytes(), Some(source_name.to_owned())).map_err(|_| bad("not a readable SSH private key"))?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {}
            age::ssh::Identity::Encrypted(_) => return Err(bad("passphrase-protected SSH keys are not supported")),
            age::ssh::Identity::Unsupported(_) => return Err(bad("unsupported SSH key type")),
        }
        out.keys.push(Box::new(id));
        return Ok(out);
    }
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = Zeroizing::new(line.to_owned());
        let skip = |reason| SkippedLine { line: i + 1, reason };
        if line.starts_with("AGE-SECRET-KEY-PQ-1") {
            match line.parse::<HybridIdentity>() {
                Ok(id) => {
                    out.recipients.push(id.to_public().to_string());
                    out.keys.push(Box::new(id));
                }
                Err(_) => out.skipped.push(skip("malformed post-quantum age identity (AGE-SECRET-KEY-PQ-1...)")),
            }
        } else if line.starts_with("AGE-SECRET-KEY-1") {
            match line.parse::<age::x25519::Identity>() {
                Ok(id) => {
                    out.recipients.push(id.to_public().to_string());
                    out.keys.push(Box::new(id));
                }
                Err(_) => out.skipped.push(skip("malformed age identity (AGE-SECRET-KEY-1...)")),
            }
        } else if line.starts_with("AGE-PLUGIN-") {
            out.skipped.push(skip("age plugin identities are not supported"));
        } else {
            out.skipped.push(skip("not an age identity (AGE-SECRET-KEY-1... or AGE-SECRET-KEY-PQ-1...)"));
        }
    }
    Ok(out)
}

/// A new post-quantum hybrid identity: the secret line and its recipient.
pub fn generate_hybrid_identity() -> (Zeroizing<String>, String) {
    let id = HybridIdentity::generate();
    (id.to_secret_line(), id.to_public().to_string())
}

/// A new X25519 identity: the secret line and its recipient.
pub fn generate_identity() -> (Zeroizing<String>, String) {
    use secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    (Zeroizing::new(id.to_string().expose_secret().to_owned()), recipient)
}

/// The recipient of an identity line (X25519 or hybrid).
pub fn recipient_of(identity_line: &str) -> Option<String> {
    let line = identity_line.trim();
    if line.starts_with("AGE-SECRET-KEY-PQ-1") {
        return line.parse::<HybridIdentity>().ok().map(|id| id.to_public().to_string());
    }
    line.parse::<age::x25519::Identity>().ok().map(|id| id.to_public().to_string())
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
        assert!(e.contains("keys.txt:2"), "{e}");
        assert!(!e.contains("NOTAKEY"));
    }

    /// A file key wrapped for `n` X25519 recipients in one age file, and the identity of
    /// the last.
    fn age_file_with_stanzas(n: usize) -> (Vec<u8>, String) {
        use secrecy::ExposeSecret;
        let ids: Vec<age::x25519::Identity> = (0..n).map(|_| age::x25519::Identity::generate()).collect();
        let rs: Vec<age::x25519::Recipient> = ids.iter().map(|i| i.to_public()).collect();
        let enc = age::Encryptor::with_recipients(rs.iter().map(|r| r as &dyn age::Recipient)).unwrap();
        let mut out = Vec::new();
        let mut w = enc.wrap_output(&mut out).unwrap();
        w.write_all(&[7u8; 32]).unwrap();
        w.finish().unwrap();
        (out, ids[n - 1].to_string().expose_secret().to_owned())
    }

    #[test]
    fn many_stanzas_header_is_parsed_in_one_read_not_once_per_line() {
        let (file, last) = age_file_with_stanzas(300);
        let mut reader = WholeHeader::new(&file);
        let header = age::Decryptor::new_buffered(&mut reader).map(|_| ()).map_err(|e| e.to_string());
        assert!(header.is_ok(), "{header:?}");
        // 300 stanzas are 600+ header lines; the parser got them in one piece.
        assert_eq!(reader.header_reads, 1);
        let mut ids = Identities::default();
        ids.add_text("last", &last).unwrap();
        assert_eq!(ids.open_age_file(&file).unwrap().as_slice(), &[7u8; 32]);
        // Bytes after the header stay for the payload: a truncated MAC line is no header.
        let cut = file.windows(5).position(|w| w == b"\n--- ").unwrap() + 10;
        assert_eq!(ids.open_age_file(&file[..cut]).unwrap_err(), AgeOpenError::Header);
    }

    #[test]
    fn keys_file_with_pq_line_no_longer_refuses_the_whole_file() {
        let (x25519, _) = generate_identity();
        let (pq, pq_recipient) = generate_hybrid_identity();
        let text = format!("# keys\n{}\n{}\nAGE-PLUGIN-YUBIKEY-1QQQQQQ\n", &*x25519, &*pq);
        let mut ids = Identities::default();
        assert_eq!(ids.add_text("keys.txt", &text).unwrap(), 2);
        assert_eq!(ids.warnings.len(), 1);
        assert!(ids.warnings[0].starts_with("keys.txt:4: line skipped"), "{:?}", ids.warnings);
        let stanza = AgeRecipient::parse(&pq_recipient).unwrap().wrap(DataKey::generate().as_bytes()).unwrap();
        assert!(ids.unwrap(&stanza.enc).is_some());
    }
}
