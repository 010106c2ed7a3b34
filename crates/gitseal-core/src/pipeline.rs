//! Encrypting and decrypting whole files: parse, select, seal or open, MAC, splice.
//!
//! [`Encrypted`] and [`Decrypted`] are different types so that code which writes into a
//! repository can demand ciphertext: only [`encrypt`] makes an `Encrypted`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;

use zeroize::Zeroizing;

use crate::crypto::DataKey;
use crate::document::splice::{apply, Edit};
use crate::document::{self, binary, Document, Format, Leaf, ParsedFile, Style, Tree};
use crate::error::{Error, Result};
use crate::keys::{self, Identities, Recipients};
use crate::sops::mac::MacBuilder;
use crate::sops::metadata::{now_rfc3339, Metadata, SOPS_VERSION};
use crate::sops::select::{Selection, Selector};
use crate::sops::value::{canonical_mac_text, looks_encrypted, EncValue, ValueType};

/// File content in sops format, safe to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted(String);

impl Encrypted {
    /// The file content as text (sops output is always UTF-8).
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The file content as bytes, for writing.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
    /// The file content, without copying.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Decrypted file content. Zeroized on drop; `Debug` shows only its length.
pub struct Decrypted(Zeroizing<Vec<u8>>);

impl Decrypted {
    /// The plaintext bytes. Secret: keep them out of logs and do not copy them into non-zeroizing buffers.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decrypted({} bytes)", self.0.len())
    }
}

/// What to encrypt and how.
pub struct EncryptRequest<'a> {
    /// Name used in messages.
    pub file: &'a str,
    /// The format to parse `src` as and to write the output in.
    pub format: Format,
    /// The plaintext (or, to re-encrypt, an encrypted file's content), as read.
    pub src: &'a [u8],
    /// Recipients for a new data key (ignored when the file already has metadata).
    pub recipients: &'a Recipients,
    /// Explicit selection rule (flags or config); `None` picks the default.
    pub selection: Option<Selection>,
    /// Compute the MAC over encrypted values only (sops's `mac_only_encrypted`).
    pub mac_only_encrypted: bool,
    /// Identities to open an existing data key (re-encrypting an encrypted file).
    pub identities: &'a Identities,
    /// The current content of the output file, when encrypting onto an existing
    /// encrypted file: its data key and unchanged ciphertexts are reused.
    pub previous: Option<&'a [u8]>,
    /// Validates the plaintext before anything is encrypted (the caller's domain rules,
    /// such as [`crate::k8s::check_secret_data`]: a Secret's `data` is base64); `None`
    /// checks nothing beyond the format.
    pub check: Option<InputCheck>,
}

/// A rule a file must satisfy before it is encrypted: given the file's name (for
/// messages), its text and its parsed documents, an error naming the line, or `Ok`.
pub type InputCheck = fn(file: &str, text: &str, parsed: &ParsedFile) -> Result<()>;

/// The result of [`encrypt`].
#[derive(Debug)]
pub struct EncryptOutcome {
    /// The encrypted file content.
    pub output: Encrypted,
    /// False when the output is byte-identical to what is already there.
    pub changed: bool,
    /// Set when an encrypted file was left alone because no identity could open it, so its
    /// MAC could not be checked.
    pub unverified: bool,
    /// Values newly encrypted (new or changed); the rest kept their ciphertext.
    pub sealed: usize,
}

/// What to decrypt.
pub struct DecryptRequest<'a> {
    /// Name used in messages.
    pub file: &'a str,
    /// The format to parse `src` as; the plaintext keeps it.
    pub format: Format,
    /// The encrypted file content, as read.
    pub src: &'a [u8],
    /// Identities that may open the data key (age keys and a Transit backend).
    pub identities: &'a Identities,
    /// Skip the MAC check (the caller warns loudly).
    pub ignore_mac: bool,
}

fn as_text<'a>(file: &str, src: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(src).map_err(|e| {
        let (line, col) = document::line_col(&String::from_utf8_lossy(&src[..e.valid_up_to()]), e.valid_up_to());
        Error::Syntax { file: file.into(), line, col, msg: "the file is not valid UTF-8 text".into() }
    })
}

fn parse(file: &str, format: Format, text: &str) -> Result<ParsedFile> {
    document::parse(format, text).map_err(|e| Error::Syntax { file: file.into(), line: e.line, col: e.col, msg: e.msg })
}

/// The metadata of a parsed file: the first document's block, which every other
/// document's block must equal.
pub fn file_metadata(file: &str, parsed: &ParsedFile) -> Result<Option<Metadata>> {
    let mut first: Option<&document::MetadataBlock> = None;
    for d in &parsed.docs {
        if let Some(m) = &d.metadata {
            match first {
                None => first = Some(m),
                Some(f) if f.tree != m.tree => {
                    return Err(Error::Metadata {
                        file: file.into(),
                        line: m.line,
                        msg: "this document's sops metadata differs from the first document's (files concatenated from separate encryptions are not supported; split them)".into(),
                    })
                }
                Some(_) => {}
            }
        }
    }
    match first {
        None => Ok(None),
        Some(m) => Metadata::from_tree(&m.tree).map(Some).map_err(|e| Error::Metadata { file: file.into(), line: m.line, msg: e.to_string() }),
    }
}

/// The spelling of a value that sops's parsers accept for its type (YAML's `.inf`
/// becomes Go's `+Inf`; everything else is kept as written).
fn sops_spelling(ty: ValueType, text: &str) -> Cow<'_, str> {
    if ty == ValueType::Float {
        let neg = text.starts_with('-');
        match text.trim_start_matches(['+', '-']).to_ascii_lowercase().as_str() {
            ".inf" => return Cow::Borrowed(if neg { "-Inf" } else { "+Inf" }),
            ".nan" => return Cow::Borrowed("NaN"),
            _ => {}
        }
    }
    Cow::Borrowed(text)
}

fn mac_text<'a>(file: &str, line: u32, ty: ValueType, text: &'a str) -> Result<Cow<'a, str>> {
    canonical_mac_text(ty, text).map_err(|e| Error::InvalidValue { file: file.into(), line, msg: e.to_string() })
}

/// A plaintext used as a lookup key; zeroized on drop.
#[derive(PartialEq, Eq)]
struct PlainKey(Zeroizing<String>);

impl std::hash::Hash for PlainKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_str().hash(state);
    }
}

/// Key of the ciphertext-reuse table: where a value sits, its type, its plaintext, and
/// which occurrence of that (path, type, plaintext) in the file it is, so that a value
/// repeated across documents keeps each copy's own ciphertext.
type ReuseKey = (String, ValueType, PlainKey, usize);

/// Numbers repeated (path, type, plaintext) triples in file order.
#[derive(Default)]
struct Occurrences(HashMap<(String, ValueType, PlainKey), usize>);

impl Occurrences {
    fn key(&mut self, aad: String, ty: ValueType, plaintext: Zeroizing<String>) -> ReuseKey {
        let n = self.0.entry((aad.clone(), ty, PlainKey(plaintext.clone()))).or_insert(0);
        let k = (aad, ty, PlainKey(plaintext), *n);
        *n += 1;
        k
    }
}

/// What a write reuses of the file it replaces: its metadata, its data key, and the
/// ciphertext of each value by path and plaintext.
type ReuseTable = (Metadata, DataKey, HashMap<ReuseKey, String>);

/// Opens an existing encrypted file that a write is about to build on (its data key,
/// rule and ciphertexts carry over), verifying it first: every ciphertext and the MAC.
/// `Ok(None)` when `prev` is not an encrypted file or no identity opens it, so nothing
/// can be reused; an error when it opens but fails verification, so that a write never
/// launders tampering into a fresh MAC.
fn reuse_table(file: &str, format: Format, prev: &[u8], ids: &Identities, known: Option<&DataKey>) -> Result<Option<ReuseTable>> {
    let Ok(text) = std::str::from_utf8(prev) else { return Ok(None) };
    let Ok(parsed) = document::parse(format, text) else { return Ok(None) };
    let Ok(Some(meta)) = file_metadata(file, &parsed) else { return Ok(None) };
    let Some(key) = previous_key(&meta, ids, known) else { return Ok(None) };
    let mut table = HashMap::new();
    let mut seen = Occurrences::default();
    let computed = open_values(file, format, text, &parsed, &meta, &key, NewPlaintext::Refuse, |opened| {
        let value = opened.leaf.text(text).trim_end().to_owned();
        table.insert(seen.key(opened.doc.aad(opened.leaf, text), opened.ty, opened.plaintext), value);
    })?;
    check_mac(file, &meta, &key, computed, false)?;
    Ok(Some((meta, key, table)))
}

/// The data key of a previous version: the one already opened from these very bytes
/// (an [`OpenedFile`] being resealed: no second Vault call), else unwrapped now. It is
/// verified against every ciphertext and the MAC by the caller either way.
fn previous_key(meta: &Metadata, ids: &Identities, known: Option<&DataKey>) -> Option<DataKey> {
    match known {
        Some(key) => Some(key.clone()),
        None => keys::unwrap_data_key(meta, ids).ok(),
    }
}

/// What happens to one leaf when the file is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LeafAction {
    /// Written as it is (plaintext by rule, already encrypted, or empty).
    Keep,
    /// Encrypted now (or its previous ciphertext reused).
    Seal,
}

/// A file ready to be written encrypted: everything is decided and checked, the MAC is
/// computed; only the ciphertexts of new values remain to be made, while writing.
pub struct EncryptPlan<'a> {
    file: &'a str,
    format: Format,
    src: &'a str,
    parsed: ParsedFile,
    actions: Vec<Vec<LeafAction>>,
    key: DataKey,
    reuse: HashMap<ReuseKey, String>,
    metadata: Tree,
    /// The file's `unencrypted_comment_regex`: no encrypted comment may match it.
    unencrypted_comment_regex: Option<regex::Regex>,
    /// The output equals the input (nothing new to encrypt, MAC unchanged).
    unchanged: bool,
    unverified: bool,
    to_seal: usize,
}

impl EncryptPlan<'_> {
    /// False when writing would reproduce the input byte for byte.
    pub fn changes_input(&self) -> bool {
        !self.unchanged
    }

    /// The file is encrypted already and no identity could open it, so its MAC was not
    /// checked; it is left as it is.
    pub fn unverified(&self) -> bool {
        self.unverified
    }

    /// Values that get a ciphertext in this write (new or changed values).
    pub fn values_to_seal(&self) -> usize {
        self.to_seal
    }

    /// Writes the encrypted file to `out`, making ciphertexts as it goes so that memory
    /// stays proportional to the input, not the output.
    pub fn write_to(&self, out: &mut dyn Write) -> Result<usize> {
        let io = |source| Error::Io { file: self.file.into(), action: "cannot write output", source };
        if self.unchanged {
            out.write_all(self.src.as_bytes()).map_err(io)?;
            return Ok(0);
        }
        if self.format == Format::Binary {
            unreachable!("binary files are written by encrypt_binary");
        }
        let mut splicer = Splicer::new(self.src, out);
        let mut sealed = 0;
        let mut seen = Occurrences::default();
        let sealer = self.key.sealer();
        // Buffers reused for every value: a large file has hundreds of thousands.
        let mut aad = String::new();
        let mut enc = String::new();
        for (doc, actions) in self.parsed.docs.iter().zip(&self.actions) {
            let block = document::render_metadata(self.format, &self.parsed, doc, &self.metadata);
            let (meta_span, meta_text) = metadata_edit(self.format, self.src, doc, block, self.parsed.newline);
            let mut meta_pending = Some((meta_span, meta_text));
            for (leaf, action) in doc.leaves.iter().zip(actions) {
                if *action != LeafAction::Seal {
                    continue;
                }
                if let Some((span, _)) = &meta_pending {
                    if span.start <= leaf.span.start {
                        let (span, text) = meta_pending.take().unwrap();
                        splicer.replace(span, &text).map_err(io)?;
                    }
                }
                let value = leaf.text(self.src);
                let spelled = sops_spelling(leaf.ty, value);
                doc.paths[leaf.parent as usize].aad_into(leaf.key(self.src), &mut aad);
                let reused = if self.reuse.is_empty() {
                    None
                } else {
                    let k = seen.key(aad.clone(), leaf.ty, Zeroizing::new(spelled.clone().into_owned()));
                    self.reuse.get(&k)
                };
                enc.clear();
                match reused {
                    Some(e) => enc.push_str(e),
                    None => {
                        sealed += 1;
                        EncValue::seal_with(&sealer, spelled.as_bytes(), aad.as_bytes(), leaf.ty).write_into(&mut enc);
                        if leaf.ty == ValueType::Comment && self.unencrypted_comment_regex.as_ref().is_some_and(|r| r.is_match(&enc)) {
                            // Read back, such a comment would leave what follows it unencrypted
                            // and fail the MAC; sops refuses it too.
                            return Err(Error::InvalidValue {
                                file: self.file.into(),
                                line: leaf.line,
                                msg: "the encrypted form of this comment matches unencrypted_comment_regex; use a regex that cannot match `ENC[AES256_GCM,...]` text".into(),
                            });
                        }
                    }
                }
                if matches!(leaf.style, Style::YamlPlain { indent } if indent != u32::MAX) {
                    // The common case: a ciphertext is a valid plain scalar as it is.
                    splicer.replace(leaf.span.clone(), &enc).map_err(io)?;
                } else {
                    let r = document::render_value(self.format, &self.parsed, leaf, ValueType::Str, &enc);
                    splicer.replace(leaf.span.clone(), &r.value).map_err(io)?;
                }
            }
            if let Some((span, text)) = meta_pending {
                splicer.replace(span, &text).map_err(io)?;
            }
        }
        splicer.finish().map_err(io)?;
        Ok(sealed)
    }
}

/// Streams `src` to a writer with replacements applied in increasing position order.
struct Splicer<'a, 'w> {
    src: &'a str,
    out: std::io::BufWriter<&'w mut dyn Write>,
    pos: usize,
}

impl<'a, 'w> Splicer<'a, 'w> {
    fn new(src: &'a str, out: &'w mut dyn Write) -> Self {
        Splicer { src, out: std::io::BufWriter::with_capacity(1 << 16, out), pos: 0 }
    }

    fn replace(&mut self, span: std::ops::Range<usize>, text: &str) -> std::io::Result<()> {
        debug_assert!(span.start >= self.pos, "edits out of order");
        self.out.write_all(&self.src.as_bytes()[self.pos..span.start])?;
        self.out.write_all(text.as_bytes())?;
        self.pos = span.end;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.out.write_all(&self.src.as_bytes()[self.pos..])?;
        self.out.flush()
    }
}

/// Plans the encryption of a file: parses it, picks the rule, checks every existing
/// ciphertext, computes the MAC and decides whether anything changes.
pub fn plan_encrypt<'a>(req: &EncryptRequest<'a>) -> Result<EncryptPlan<'a>> {
    plan_encrypt_inner(req, false, None).map(|p| p.expect("a plan is always made when files selecting nothing are not left out"))
}

/// As [`plan_encrypt`], but `None` for a file without sops metadata in which the
/// selection picks no value: such a file (a Deployment, a `values.yaml`) is left as it
/// is rather than given a `sops` block, and no key is wrapped for it.
pub fn plan_encrypt_if_selected<'a>(req: &EncryptRequest<'a>) -> Result<Option<EncryptPlan<'a>>> {
    plan_encrypt_inner(req, true, None)
}

fn plan_encrypt_inner<'a>(req: &EncryptRequest<'a>, skip_unselected: bool, known: Option<&DataKey>) -> Result<Option<EncryptPlan<'a>>> {
    let file = req.file;
    let format = if req.format == Format::Binary { Format::Json } else { req.format };
    let text = as_text(file, req.src)?;
    let parsed = parse(file, format, text)?;
    if parsed.docs.is_empty() {
        return Err(Error::Syntax { file: file.into(), line: 1, col: 1, msg: "the file holds no document to encrypt".into() });
    }
    let existing = file_metadata(file, &parsed)?;

    // Encrypting onto an existing encrypted output: its key, rule and ciphertexts carry
    // over unless an explicitly different rule is asked for.
    let previous = match (&existing, req.previous) {
        (None, Some(p)) => {
            reuse_table(file, format, p, req.identities, known)?.filter(|(meta, _, _)| req.selection.as_ref().is_none_or(|s| *s == meta.selection))
        }
        _ => None,
    };
    let selection = match (&existing, &previous, &req.selection) {
        (Some(m), _, _) => m.selection.clone(),
        (None, Some((m, _, _)), _) => m.selection.clone(),
        (None, None, Some(s)) => s.clone(),
        (None, None, None) if parsed.docs.iter().all(Document::is_k8s_object) => Selection::k8s_default(),
        (None, None, None) => Selection::default_sops(),
    };
    let sel = selection.compile().map_err(|e| Error::Config { file: file.into(), msg: format!("invalid selection regex: {e}") })?;
    let mac_only = existing.as_ref().or(previous.as_ref().map(|(m, _, _)| m)).map_or(req.mac_only_encrypted, |m| m.mac_only_encrypted);

    if let Some(check) = req.check {
        check(file, text, &parsed)?;
    }

    // What happens to each value. Decided before touching keys: a fully encrypted file
    // needs no key at all to be left alone.
    let mut to_seal = 0usize;
    let mut selected: Vec<Vec<bool>> = Vec::with_capacity(parsed.docs.len());
    let mut actions: Vec<Vec<LeafAction>> = Vec::with_capacity(parsed.docs.len());
    for (d, sel_flags) in parsed.docs.iter().zip(sel.select_all(&parsed, text)) {
        let mut acts = Vec::with_capacity(d.leaves.len());
        for (l, &chosen) in d.leaves.iter().zip(&sel_flags) {
            let value = l.text(text);
            let seal = chosen && !value.is_empty() && !looks_encrypted(value);
            to_seal += usize::from(seal);
            acts.push(if seal { LeafAction::Seal } else { LeafAction::Keep });
        }
        selected.push(sel_flags);
        actions.push(acts);
    }
    if skip_unselected && to_seal == 0 && existing.is_none() && previous.is_none() {
        return Ok(None);
    }
    let all_docs_have_metadata = parsed.docs.iter().all(|d| d.metadata.is_some());

    // The data key, the metadata to start from, and ciphertexts to reuse.
    let mut reuse: HashMap<ReuseKey, String> = HashMap::new();
    let (key, base_meta): (DataKey, Option<Metadata>) = match existing {
        Some(meta) => match keys::unwrap_data_key(&meta, req.identities) {
            Ok(k) => {
                // The file is re-encrypted in place with its own key: what it held before
                // (everything but the new plaintext) must still match its MAC.
                let computed = open_values(file, format, text, &parsed, &meta, &k, NewPlaintext::Skip, |_| {})?;
                check_mac(file, &meta, &k, computed, false)?;
                (k, Some(meta))
            }
            Err(e) => {
                if to_seal == 0 && all_docs_have_metadata {
                    return Ok(Some(EncryptPlan {
                        file,
                        format,
                        src: text,
                        parsed,
                        actions,
                        key: DataKey::generate(),
                        reuse,
                        metadata: Tree::Null,
                        unencrypted_comment_regex: None,
                        unchanged: true,
                        unverified: true,
                        to_seal: 0,
                    }));
                }
                return Err(Error::Key { file: file.into(), source: e });
            }
        },
        None => match previous {
            Some((meta, k, table)) => {
                reuse = table;
                (k, Some(meta))
            }
            None => {
                if req.recipients.is_empty() {
                    return Err(Error::NoRecipients { file: file.into() });
                }
                (DataKey::generate(), None)
            }
        },
    };

    // The MAC, over plaintexts in document order; existing ciphertexts are opened (and so
    // authenticated) on the way.
    let mut mac = MacBuilder::new(mac_only);
    for (doc, sel_flags) in parsed.docs.iter().zip(&selected) {
        for (leaf, &encrypt_it) in doc.leaves.iter().zip(sel_flags) {
            let is_comment = leaf.ty == ValueType::Comment;
            let value = leaf.text(text);
            if !encrypt_it {
                if !is_comment && !mac_only {
                    let t = sops_spelling(leaf.ty, value);
                    mac.add(mac_text(file, leaf.line, leaf.ty, &t)?.as_bytes());
                }
                continue;
            }
            if value.is_empty() {
                continue; // sops never encrypts empty strings or comments; "" adds nothing to the MAC
            }
            if looks_encrypted(value) && (leaf.ty == ValueType::Str || is_comment) {
                let ev = EncValue::parse(value.trim_end()).map_err(|e| Error::InvalidValue { file: file.into(), line: leaf.line, msg: e.to_string() })?;
                let aad = doc.aad(leaf, text);
                let pt = ev.open_text(&key, aad.as_bytes()).map_err(|_| Error::Tampered { file: file.into(), line: leaf.line })?;
                if !is_comment && ev.ty != ValueType::Comment {
                    mac.add(mac_text(file, leaf.line, ev.ty, &pt)?.as_bytes());
                }
                continue;
            }
            if !is_comment {
                let spelled = sops_spelling(leaf.ty, value);
                mac.add(mac_text(file, leaf.line, leaf.ty, &spelled)?.as_bytes());
            }
        }
    }
    let mac_hex = mac.finish();

    // Unchanged content keeps lastmodified and the MAC ciphertext.
    let mac_unchanged = base_meta.as_ref().is_some_and(|m| old_mac_matches(m, &key, &mac_hex));
    let unchanged = to_seal == 0 && all_docs_have_metadata && mac_unchanged && req.previous.is_none();
    let meta = match base_meta {
        Some(m) if mac_unchanged && to_seal == 0 => m,
        Some(m) if mac_unchanged && !reuse.is_empty() => m,
        Some(mut m) => {
            m.lastmodified = now_rfc3339();
            m.mac = EncValue::seal(&key, mac_hex.as_bytes(), m.lastmodified.as_bytes(), ValueType::Str).to_string();
            m.version = SOPS_VERSION.to_owned();
            m
        }
        None => {
            let group = req.recipients.wrap(&key).map_err(|e| Error::Key { file: file.into(), source: e })?;
            new_metadata(group, selection, mac_only, &key, &mac_hex)
        }
    };
    Ok(Some(EncryptPlan {
        file,
        format,
        src: text,
        parsed,
        actions,
        key,
        reuse,
        metadata: meta.to_tree(),
        unencrypted_comment_regex: match sel {
            Selector::UnencryptedCommentRegex(r) => Some(r),
            _ => None,
        },
        unchanged,
        unverified: false,
        to_seal,
    }))
}

fn new_metadata(wrapped: keys::WrappedKeys, selection: Selection, mac_only: bool, key: &DataKey, mac_hex: &str) -> Metadata {
    let lastmodified = now_rfc3339();
    let mac = EncValue::seal(key, mac_hex.as_bytes(), lastmodified.as_bytes(), ValueType::Str).to_string();
    Metadata {
        shamir_threshold: wrapped.shamir_threshold,
        key_groups: wrapped.key_groups,
        keys: wrapped.keys,
        lastmodified,
        mac,
        selection,
        mac_only_encrypted: mac_only,
        version: SOPS_VERSION.to_owned(),
    }
}

/// Encrypts a file in memory. Values already encrypted keep their ciphertext; values
/// whose path and plaintext match the previous version of the output keep that
/// ciphertext too.
pub fn encrypt(req: &EncryptRequest<'_>) -> Result<EncryptOutcome> {
    encrypt_with(req, None)
}

/// [`encrypt`], with the data key of `req.previous` when it is already open.
fn encrypt_with(req: &EncryptRequest<'_>, known: Option<&DataKey>) -> Result<EncryptOutcome> {
    if req.format == Format::Binary && !is_sops_json(req.src) {
        return encrypt_binary(req, known);
    }
    let plan = plan_encrypt_inner(req, false, known)?.expect("a plan is always made when files selecting nothing are not left out");
    let mut out = Vec::with_capacity(req.src.len() + plan.to_seal * 160);
    let sealed = plan.write_to(&mut out)?;
    let out = String::from_utf8(out).expect("splicing UTF-8 text with UTF-8 text gives UTF-8");
    let changed = out.as_bytes() != req.src && req.previous.is_none_or(|p| p != out.as_bytes());
    Ok(EncryptOutcome { output: Encrypted(out), changed: changed && !plan.unverified, unverified: plan.unverified, sealed })
}

fn old_mac_matches(meta: &Metadata, key: &DataKey, mac_hex: &str) -> bool {
    EncValue::parse(&meta.mac).ok().and_then(|ev| ev.open_text(key, meta.lastmodified.as_bytes()).ok()).is_some_and(|old| old.eq_ignore_ascii_case(mac_hex))
}

/// The edit that adds or replaces a document's metadata block. A YAML file lacking a
/// final newline gets one before an appended block, and the block then ends the file
/// without one, so that removing it restores the file exactly.
fn metadata_edit(format: Format, src: &str, doc: &Document, block: String, newline: &str) -> (std::ops::Range<usize>, String) {
    let span = match &doc.metadata {
        Some(m) => m.span.clone(),
        None => doc.insert_at..doc.insert_at,
    };
    // The `sops` key must line up with the document's other top-level keys, or the
    // result is not YAML (and neither gitseal nor sops could read the file back).
    let block = if format == Format::Yaml && !doc.member_indent.is_empty() {
        block.split_inclusive('\n').map(|line| if line.trim().is_empty() { line.to_owned() } else { format!("{}{line}", doc.member_indent) }).collect()
    } else {
        block
    };
    let at_open_end = format == Format::Yaml && span.end == src.len() && !src.is_empty() && !src.ends_with('\n');
    let text = match (at_open_end, span.is_empty()) {
        (true, true) => format!("{newline}{}", block.strip_suffix(newline).unwrap_or(&block)),
        (true, false) => block.strip_suffix(newline).unwrap_or(&block).to_owned(),
        (false, _) => block,
    };
    (span, text)
}

/// Decrypts a file after checking its MAC.
pub fn decrypt(req: &DecryptRequest<'_>) -> Result<Decrypted> {
    decrypt_opening(req).map(|(plain, _, _)| plain)
}

/// An encrypted file opened once: every ciphertext and the MAC verified, the plaintext
/// and the data key at hand. Editing commands (`set`, `unset`, `edit`) decrypt it, change
/// the plaintext and [`reseal`](OpenedFile::reseal) it without unwrapping the data key a
/// second time (one Vault Transit decrypt per command).
pub struct OpenedFile<'a> {
    file: &'a str,
    format: Format,
    original: &'a [u8],
    plaintext: Decrypted,
    key: DataKey,
    metadata: Metadata,
}

impl std::fmt::Debug for OpenedFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedFile").field("file", &self.file).field("format", &self.format).finish_non_exhaustive()
    }
}

/// Opens an encrypted file for editing: decrypts it after checking every ciphertext and
/// the MAC (`req.ignore_mac` is refused: an edit never builds on an unverified file).
pub fn open<'a>(req: &DecryptRequest<'a>) -> Result<OpenedFile<'a>> {
    if req.ignore_mac {
        return Err(Error::Usage(format!("{}: a file is only rewritten after its MAC is verified", req.file)));
    }
    let (plaintext, key, metadata) = decrypt_opening(req)?;
    Ok(OpenedFile { file: req.file, format: req.format, original: req.src, plaintext, key, metadata })
}

impl<'a> OpenedFile<'a> {
    /// The decrypted file.
    pub fn plaintext(&self) -> &Decrypted {
        &self.plaintext
    }

    /// The file's sops metadata (recipients, rule, MAC).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Encrypts an edited plaintext with the file's data key, recipients and rule; every
    /// value whose path and plaintext did not change keeps its exact ciphertext (see
    /// [`reencrypt`]). The data key is the one opened, so no key service is asked again.
    /// `check` validates the new plaintext as [`EncryptRequest::check`] does.
    pub fn reseal(&self, plaintext: &[u8], identities: &Identities, check: Option<InputCheck>) -> Result<EncryptOutcome> {
        let no_recipients = Recipients::default();
        encrypt_with(
            &EncryptRequest {
                file: self.file,
                format: self.format,
                src: plaintext,
                recipients: &no_recipients,
                selection: None,
                mac_only_encrypted: false,
                identities,
                previous: Some(self.original),
                check,
            },
            Some(&self.key),
        )
    }
}

/// Decrypts a file after checking its MAC, and gives its data key and metadata too.
fn decrypt_opening(req: &DecryptRequest<'_>) -> Result<(Decrypted, DataKey, Metadata)> {
    let file = req.file;
    let text = as_text(file, req.src)?;
    let format = if req.format == Format::Binary { Format::Json } else { req.format };
    let parsed = parse(file, format, text)?;
    let meta = file_metadata(file, &parsed)?.ok_or_else(|| Error::NotEncrypted { file: file.into() })?;
    let key = keys::unwrap_data_key(&meta, req.identities).map_err(|e| Error::Key { file: file.into(), source: e })?;

    if req.format == Format::Binary {
        let plain = decrypt_binary(file, text, &parsed, &meta, &key, req.ignore_mac)?;
        return Ok((plain, key, meta));
    }

    let mut edits = Vec::new();
    let computed = open_values(file, format, text, &parsed, &meta, &key, NewPlaintext::Refuse, |opened| match opened.as_list_comment {
        Some(dash) => edits.push(Edit { span: dash..opened.leaf.span.end, text: format!("#{}", opened.plaintext.as_str()) }),
        None => push_value_edit(&mut edits, format, &parsed, opened.leaf, opened.ty, &opened.plaintext, text),
    })?;
    check_mac(file, &meta, &key, computed, req.ignore_mac)?;
    for doc in &parsed.docs {
        if let Some(m) = &doc.metadata {
            edits.push(Edit { span: m.span.clone(), text: String::new() });
        }
    }
    let mut out = Zeroizing::new(apply(text, edits).into_bytes());
    // A YAML file that lacked a final newline got one before its appended metadata block;
    // the block ends the file without one. Take that newline away again.
    let block_ends_file = parsed.docs.last().and_then(|d| d.metadata.as_ref()).is_some_and(|m| m.span.end == text.len());
    if format == Format::Yaml && block_ends_file && !text.ends_with('\n') {
        let strip = if out.ends_with(b"\r\n") { 2 } else { usize::from(out.ends_with(b"\n")) };
        let keep = out.len() - strip;
        out.truncate(keep);
    }
    Ok((Decrypted(out), key, meta))
}

/// One ciphertext of a file, opened and found in its right place.
struct Opened<'p> {
    doc: &'p Document,
    leaf: &'p Leaf,
    /// The type the ciphertext declares.
    ty: ValueType,
    plaintext: Zeroizing<String>,
    /// An encrypted comment that sops wrote as a YAML list item: where its `- ` starts.
    as_list_comment: Option<usize>,
}

/// What [`open_values`] does with a plaintext value where the file's rule wants ciphertext.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NewPlaintext {
    /// Reading a file: such a value was added by hand, and the file is refused.
    Refuse,
    /// Re-encrypting a file in place: such values (and documents without a `sops` block)
    /// are new and about to be encrypted; they were not part of the stored MAC.
    Skip,
}

/// Walks every value of an encrypted file as sops does: opens each ciphertext (so each
/// is authenticated against its path), checks that each stands where its type may
/// stand, and hands it to `visit`. Returns the MAC of the file's content, for the caller
/// to compare with the stored one. Every path that reads or rewrites an encrypted file
/// goes through here.
// Four callers pass the file's pieces as they hold them; a struct for one call would only
// rename them.
#[allow(clippy::too_many_arguments)]
fn open_values<'p>(
    file: &str,
    format: Format,
    text: &str,
    parsed: &'p ParsedFile,
    meta: &Metadata,
    key: &DataKey,
    new_plaintext: NewPlaintext,
    mut visit: impl FnMut(Opened<'p>),
) -> Result<String> {
    let sel = meta.selection.compile().map_err(|e| Error::Metadata { file: file.into(), line: 1, msg: format!("invalid selection regex: {e}") })?;
    let misplaced = |leaf: &Leaf, msg| Error::Misplaced { file: file.into(), line: leaf.line, msg };
    let mut mac = MacBuilder::new(meta.mac_only_encrypted);
    for (doc, encrypted) in parsed.docs.iter().zip(sel.select_all(parsed, text)) {
        let new_doc = new_plaintext == NewPlaintext::Skip && doc.metadata.is_none();
        for (leaf, encrypted) in doc.leaves.iter().zip(encrypted) {
            let is_comment = leaf.ty == ValueType::Comment;
            let value = leaf.text(text);
            if new_doc {
                // A document added since the file was encrypted holds only plaintext: a
                // ciphertext there was copied from elsewhere (it would authenticate, its
                // path being the same, and escape the MAC).
                if encrypted && looks_encrypted(value) {
                    return Err(misplaced(leaf, "an encrypted value in a document that has no sops metadata (copied from another document?)"));
                }
                continue;
            }
            if !encrypted {
                if !is_comment && !meta.mac_only_encrypted {
                    let t = sops_spelling(leaf.ty, value);
                    mac.add(mac_text(file, leaf.line, leaf.ty, &t)?.as_bytes());
                }
                continue;
            }
            if value.is_empty() {
                continue; // sops never encrypts empty strings or comments; "" adds nothing to the MAC
            }
            if !looks_encrypted(value) || (leaf.ty != ValueType::Str && !is_comment) {
                if is_comment || new_plaintext == NewPlaintext::Skip {
                    continue; // sops too leaves a plaintext comment in an encrypted area as it is
                }
                return Err(Error::InvalidValue {
                    file: file.into(),
                    line: leaf.line,
                    msg: "this value should be encrypted under the file's rules but is plaintext (was it added or changed by hand? run `gitseal encrypt -i` to encrypt it)".into(),
                });
            }
            let ev = EncValue::parse(value.trim_end()).map_err(|e| Error::InvalidValue { file: file.into(), line: leaf.line, msg: e.to_string() })?;
            if ev.ty == ValueType::Bytes {
                // sops writes `bytes` for no value of a YAML, JSON or dotenv file, and
                // refuses to decrypt one: a retyped string.
                return Err(misplaced(leaf, "a `bytes`-typed ciphertext, which no YAML, JSON or dotenv file holds"));
            }
            let aad = doc.aad(leaf, text);
            // An encrypted comment that does not open was edited or moved from another
            // path: refused like a value (sops only warns).
            let plaintext = ev.open_text(key, aad.as_bytes()).map_err(|_| Error::Tampered { file: file.into(), line: leaf.line })?;
            let as_list_comment = match (is_comment, ev.ty == ValueType::Comment) {
                (true, true) => None,
                (true, false) => return Err(misplaced(leaf, "a value's ciphertext stands in a comment")),
                (false, true) => {
                    // sops (3.11) writes an encrypted comment that sits in a list as a list
                    // item `- ENC[...,type:comment]`, and reads it back as a comment. Anywhere
                    // else a comment-typed ciphertext would be read as a value the MAC does
                    // not cover.
                    let dash = list_item_dash(format, text, leaf).ok_or_else(|| misplaced(leaf, "an encrypted comment stands in a value's place"))?;
                    Some(dash)
                }
                (false, false) => {
                    mac.add(mac_text(file, leaf.line, ev.ty, &plaintext)?.as_bytes());
                    None
                }
            };
            visit(Opened { doc, leaf, ty: ev.ty, plaintext, as_list_comment });
        }
    }
    Ok(mac.finish())
}

/// Where the `- ` of a YAML block-list item that is just `leaf` starts.
fn list_item_dash(format: Format, src: &str, leaf: &Leaf) -> Option<usize> {
    if format != Format::Yaml || leaf.key.is_some() {
        return None;
    }
    let before = &src[..leaf.span.start];
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let item = line.trim_end_matches(' ').strip_suffix('-')?;
    item.bytes().all(|b| b == b' ').then(|| before.len() - line.len() + item.len())
}

/// Adds the edit(s) that write `text` (of type `ty`) in place of `leaf`.
pub(crate) fn push_value_edit(edits: &mut Vec<Edit>, format: Format, parsed: &ParsedFile, leaf: &Leaf, ty: ValueType, text: &str, src: &str) {
    let r = document::render_value(format, parsed, leaf, ty, text);
    if let (Some(h), Style::YamlBlock { header, .. }) = (r.header, &leaf.style) {
        let header = header.start as usize..header.end as usize;
        if src[header.clone()] != *h {
            edits.push(Edit { span: header, text: h });
        }
    }
    edits.push(Edit { span: leaf.span.clone(), text: r.value });
}

fn check_mac(file: &str, meta: &Metadata, key: &DataKey, computed: String, ignore: bool) -> Result<()> {
    if ignore {
        return Ok(());
    }
    let stored = EncValue::parse(&meta.mac).map_err(|_| Error::MacMismatch { file: file.into() })?;
    let stored = stored.open_text(key, meta.lastmodified.as_bytes()).map_err(|_| Error::MacMismatch { file: file.into() })?;
    if stored.eq_ignore_ascii_case(&computed) {
        Ok(())
    } else {
        Err(Error::MacMismatch { file: file.into() })
    }
}

/// Whether bytes are a JSON document with a top-level `"sops"` member (an encrypted
/// binary file, as sops writes them).
fn is_sops_json(src: &[u8]) -> bool {
    std::str::from_utf8(src).ok().and_then(|t| document::json::parse(t).ok()).is_some_and(|p| p.docs.first().is_some_and(|d| d.metadata.is_some()))
}

fn encrypt_binary(req: &EncryptRequest<'_>, known: Option<&DataKey>) -> Result<EncryptOutcome> {
    let file = req.file;
    let previous = match req.previous {
        Some(p) => binary_previous(file, p, req.identities, req.src, known)?,
        None => None,
    };
    let (key, meta, enc) = match previous {
        Some((meta, key, reused)) => (key, Some(meta), reused),
        None => {
            if req.recipients.is_empty() {
                return Err(Error::NoRecipients { file: file.into() });
            }
            (DataKey::generate(), None, None)
        }
    };
    let mut mac = MacBuilder::new(req.mac_only_encrypted);
    mac.add(req.src);
    let mac_hex = mac.finish();
    let sealed = usize::from(enc.is_none());
    let enc = enc.unwrap_or_else(|| EncValue::seal(&key, req.src, b"data:", ValueType::Str).to_string());
    let unchanged = sealed == 0 && meta.as_ref().is_some_and(|m| old_mac_matches(m, &key, &mac_hex));
    let meta = match meta {
        Some(m) if unchanged => m,
        Some(mut m) => {
            m.lastmodified = now_rfc3339();
            m.mac = EncValue::seal(&key, mac_hex.as_bytes(), m.lastmodified.as_bytes(), ValueType::Str).to_string();
            m
        }
        None => {
            let group = req.recipients.wrap(&key).map_err(|e| Error::Key { file: file.into(), source: e })?;
            new_metadata(group, Selection::default_sops(), req.mac_only_encrypted, &key, &mac_hex)
        }
    };
    let out = binary::render(&enc, &meta.to_tree());
    let changed = req.previous.is_none_or(|p| p != out.as_bytes());
    Ok(EncryptOutcome { output: Encrypted(out), changed, unverified: false, sealed })
}

/// The previous version of an encrypted binary output, verified like any file a write
/// builds on (see [`reuse_table`]): its metadata, data key, and its ciphertext when it
/// holds `plaintext` already.
fn binary_previous(
    file: &str,
    prev: &[u8],
    ids: &Identities,
    plaintext: &[u8],
    known: Option<&DataKey>,
) -> Result<Option<(Metadata, DataKey, Option<String>)>> {
    let Ok(text) = std::str::from_utf8(prev) else { return Ok(None) };
    let Ok(parsed) = document::parse(Format::Json, text) else { return Ok(None) };
    let Ok(Some(meta)) = file_metadata(file, &parsed) else { return Ok(None) };
    let Some(key) = previous_key(&meta, ids, known) else { return Ok(None) };
    let old = decrypt_binary(file, text, &parsed, &meta, &key, false)?;
    let reused = (old.as_bytes() == plaintext).then(|| {
        let leaf = parsed.docs[0].leaves.iter().find(|l| l.key(text) == Some("data") && l.parent == 0).expect("decrypt_binary found it");
        leaf.text(text).to_owned()
    });
    Ok(Some((meta, key, reused)))
}

fn decrypt_binary(file: &str, src: &str, parsed: &ParsedFile, meta: &Metadata, key: &DataKey, ignore_mac: bool) -> Result<Decrypted> {
    let doc = &parsed.docs[0];
    let leaf = doc.leaves.iter().find(|l| l.key(src) == Some("data") && l.parent == 0).ok_or_else(|| Error::InvalidValue {
        file: file.into(),
        line: 1,
        msg: "binary file without a \"data\" value".into(),
    })?;
    let ev = EncValue::parse(leaf.text(src)).map_err(|e| Error::InvalidValue { file: file.into(), line: leaf.line, msg: e.to_string() })?;
    let pt = ev.open(key, b"data:").map_err(|_| Error::Tampered { file: file.into(), line: leaf.line })?;
    let mut mac = MacBuilder::new(meta.mac_only_encrypted);
    mac.add(&pt);
    check_mac(file, meta, key, mac.finish(), ignore_mac)?;
    Ok(Decrypted(pt))
}

/// Encrypts an edited plaintext of an encrypted file: the original's data key,
/// recipients and rule are kept, and every value whose path and plaintext did not change
/// keeps its exact ciphertext. `edit`, `set` and `unset` write through this.
pub fn reencrypt(file: &str, format: Format, original: &[u8], plaintext: &[u8], identities: &Identities, check: Option<InputCheck>) -> Result<EncryptOutcome> {
    let no_recipients = Recipients::default();
    let out = encrypt(&EncryptRequest {
        file,
        format,
        src: plaintext,
        recipients: &no_recipients,
        selection: None,
        mac_only_encrypted: false,
        identities,
        previous: Some(original),
        check,
    })?;
    Ok(out)
}

/// The metadata and data key of an encrypted file, opened and verified (every ciphertext
/// and the MAC), for the writes that keep the data key or build on the file's content.
fn open_verified(file: &str, format: Format, src: &[u8], identities: &Identities) -> Result<(Metadata, DataKey)> {
    let text = as_text(file, src)?;
    let parse_format = if format == Format::Binary { Format::Json } else { format };
    let parsed = parse(file, parse_format, text)?;
    let meta = file_metadata(file, &parsed)?.ok_or_else(|| Error::NotEncrypted { file: file.into() })?;
    let key = keys::unwrap_data_key(&meta, identities).map_err(|e| Error::Key { file: file.into(), source: e })?;
    if format == Format::Binary {
        decrypt_binary(file, text, &parsed, &meta, &key, false)?;
    } else {
        let computed = open_values(file, parse_format, text, &parsed, &meta, &key, NewPlaintext::Refuse, |_| {})?;
        check_mac(file, &meta, &key, computed, false)?;
    }
    Ok((meta, key))
}

/// Gives a file a new data key: every value is re-encrypted for the same recipients
/// (key groups and threshold included). The MAC is checked first.
pub fn rotate(file: &str, format: Format, src: &[u8], identities: &Identities) -> Result<Encrypted> {
    let (plain, _, meta) = decrypt_opening(&DecryptRequest { file, format, src, identities, ignore_mac: false })?;
    if meta.groups().iter().any(|g| !g.foreign.is_empty()) {
        return Err(Error::Metadata {
            file: file.into(),
            line: 1,
            msg: "the file has master keys gitseal cannot write (KMS or PGP); rotate it with a tool that can".into(),
        });
    }
    let recipients = Recipients::from_metadata(&meta, identities).map_err(|e| Error::Key { file: file.into(), source: e })?;
    let out = encrypt(&EncryptRequest {
        file,
        format,
        src: plain.as_bytes(),
        recipients: &recipients,
        selection: Some(meta.selection.clone()),
        mac_only_encrypted: meta.mac_only_encrypted,
        identities,
        previous: None,
        // The values are the file's own, checked when they were first encrypted.
        check: None,
    })?;
    Ok(out.output)
}

/// What [`rewrap`] changed.
#[derive(Debug)]
pub struct Rewrapped {
    /// The file with its data key re-wrapped.
    pub output: Encrypted,
    /// Recipients the data key is now also wrapped for (public keys and Transit URIs).
    pub added: Vec<String>,
    /// Recipients it is no longer wrapped for.
    pub removed: Vec<String>,
    /// The key groups or the Shamir threshold change (recipients may stay the same).
    pub regrouped: bool,
}

impl Rewrapped {
    /// Whether anything changed, so the caller can leave the file untouched when not.
    pub fn changed(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty() || self.regrouped
    }
}

/// Re-wraps a file's data key for `recipients` (sops `updatekeys`): values, MAC and
/// `lastmodified` stay as they are; recipients kept from before keep their exact key
/// stanza. Master keys gitseal cannot write (Vault, KMS, PGP) are kept.
pub fn rewrap(file: &str, format: Format, src: &[u8], identities: &Identities, recipients: &Recipients) -> Result<Rewrapped> {
    let text = as_text(file, src)?;
    let parse_format = if format == Format::Binary { Format::Json } else { format };
    let parsed = parse(file, parse_format, text)?;
    let (mut meta, key) = open_verified(file, format, src, identities)?;
    let before: Vec<String> = meta.describe_keys().into_iter().filter(|k| k.starts_with("age:") || k.starts_with("hc_vault:")).collect();
    let after = recipients.describe();
    let added: Vec<String> = after.iter().filter(|r| !before.contains(r)).cloned().collect();
    let removed: Vec<String> = before.iter().filter(|r| !after.contains(r)).cloned().collect();
    let same_groups = meta.key_groups.as_ref().map_or(1, Vec::len) == recipients.key_groups.len().max(1)
        && meta.shamir_threshold == recipients.shamir_threshold.filter(|_| recipients.key_groups.len() > 1)
        && same_group_members(&meta, recipients);
    let regrouped = !same_groups;
    if added.is_empty() && removed.is_empty() && same_groups {
        return Ok(Rewrapped { output: Encrypted(text.to_owned()), added, removed, regrouped });
    }
    let key_err = |e| Error::Key { file: file.into(), source: e };
    let wrapped = if recipients.key_groups.len() <= 1 && meta.key_groups.is_none() {
        // One group before and after: keep the stanzas of recipients that stay.
        let mut group = meta.keys.clone();
        group.age.retain(|a| after.contains(&format!("age:{}", a.recipient)));
        group.hc_vault.retain(|v| after.contains(&format!("hc_vault:{}", v.uri())));
        let (wanted_age, wanted_vault) = match recipients.key_groups.first() {
            Some(g) => (&g.age, &g.hc_vault),
            None => (&recipients.age, &recipients.hc_vault),
        };
        for r in wanted_vault {
            if !group.hc_vault.iter().any(|v| keys::TransitKey::of_stanza(v) == r.key) {
                group.hc_vault.push(r.wrap(key.as_bytes()).map_err(key_err)?);
            }
        }
        for r in wanted_age {
            if !group.age.iter().any(|a| a.recipient == r.as_str()) {
                group.age.push(r.wrap(key.as_bytes()).map_err(key_err)?);
            }
        }
        keys::WrappedKeys { key_groups: None, keys: group, shamir_threshold: None }
    } else {
        recipients.wrap(&key).map_err(key_err)?
    };
    if wrapped.key_groups.is_none() && wrapped.keys.is_empty() {
        return Err(Error::NoRecipients { file: file.into() });
    }
    let foreign = std::mem::take(&mut meta.keys.foreign);
    meta.key_groups = wrapped.key_groups;
    meta.shamir_threshold = wrapped.shamir_threshold;
    meta.keys = wrapped.keys;
    if meta.key_groups.is_none() {
        meta.keys.foreign = foreign;
    }
    Ok(Rewrapped { output: Encrypted(write_metadata(format, text, &parsed, &meta)), added, removed, regrouped })
}

/// Asks Vault to re-encrypt every Transit copy of the data key with the latest version
/// of its key (after a Transit key rotation). The data key, values, MAC and
/// `lastmodified` stay as they are; the data key never leaves Vault. Returns the new
/// text and how many entries changed.
pub fn transit_rewrap(file: &str, format: Format, src: &[u8], identities: &Identities) -> Result<(Encrypted, usize)> {
    let text = as_text(file, src)?;
    let parse_format = if format == Format::Binary { Format::Json } else { format };
    let parsed = parse(file, parse_format, text)?;
    let mut meta = file_metadata(file, &parsed)?.ok_or_else(|| Error::NotEncrypted { file: file.into() })?;
    let mut stanzas: Vec<&mut crate::sops::metadata::VaultStanza> = meta.keys.hc_vault.iter_mut().collect();
    if let Some(groups) = meta.key_groups.as_mut() {
        stanzas.extend(groups.iter_mut().flat_map(|g| g.hc_vault.iter_mut()));
    }
    if stanzas.is_empty() {
        return Ok((Encrypted(text.to_owned()), 0));
    }
    // The data key itself is not needed to re-wrap, but the file is verified before it is
    // rewritten, as every write that keeps the data key does.
    open_verified(file, format, src, identities)?;
    let backend = identities.transit().ok_or_else(|| Error::Usage(format!("{file}: the file has Vault Transit keys but no Vault connection is configured")))?;
    let mut changed = 0;
    for stanza in stanzas {
        let key = keys::TransitKey::of_stanza(stanza);
        let enc = backend.rewrap(&key, &stanza.enc).map_err(|e| Error::Key {
            file: file.into(),
            source: keys::KeyError::Wrap { recipient: format!("hc_vault:{key}"), transient: e.is_transient(), reason: e.to_string() },
        })?;
        if enc != stanza.enc {
            stanza.enc = enc;
            changed += 1;
        }
    }
    if changed == 0 {
        return Ok((Encrypted(text.to_owned()), 0));
    }
    Ok((Encrypted(write_metadata(format, text, &parsed, &meta)), changed))
}

/// `text` with every document's metadata block replaced by `meta`.
fn write_metadata(format: Format, text: &str, parsed: &ParsedFile, meta: &Metadata) -> String {
    let parse_format = if format == Format::Binary { Format::Json } else { format };
    let tree = meta.to_tree();
    if format == Format::Binary {
        let leaf = parsed.docs[0].leaves.iter().find(|l| l.key(text) == Some("data"));
        let enc = leaf.map(|l| l.text(text)).unwrap_or_default();
        return binary::render(enc, &tree);
    }
    let mut edits = Vec::new();
    for doc in &parsed.docs {
        let block = document::render_metadata(parse_format, parsed, doc, &tree);
        let (span, text) = metadata_edit(parse_format, text, doc, block, parsed.newline);
        edits.push(Edit { span, text });
    }
    apply(text, edits)
}

/// With several key groups: whether each group holds the same recipients in the file as
/// in `recipients` (a key moved from one group to another changes who can recover the
/// data key, though the list of recipients stays the same).
fn same_group_members(meta: &Metadata, recipients: &Recipients) -> bool {
    if recipients.key_groups.len() <= 1 {
        return true;
    }
    let file: Vec<std::collections::BTreeSet<String>> = meta
        .groups()
        .iter()
        .map(|g| g.age.iter().map(|a| format!("age:{}", a.recipient)).chain(g.hc_vault.iter().map(|v| format!("hc_vault:{}", v.uri()))).collect())
        .collect();
    let want: Vec<std::collections::BTreeSet<String>> = recipients
        .key_groups
        .iter()
        .map(|g| g.age.iter().map(|r| format!("age:{}", r.as_str())).chain(g.hc_vault.iter().map(|r| format!("hc_vault:{}", r.key))).collect())
        .collect();
    file == want
}
