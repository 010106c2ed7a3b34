//! Editing a decrypted document by tree path (`gitseal set` / `unset`), and the template
//! of a new file for `gitseal edit`.
//!
//! Edits are made on the text, not on a re-serialised tree: the bytes of one value (or of
//! one entry's lines) change and every other byte stays as it was, so re-encryption keeps
//! the ciphertext of every other value and diffs stay small. After each edit the result is
//! parsed again and every other value is checked to be unchanged; an edit that would touch
//! anything else is refused rather than written.

use std::ops::Range;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use crate::document::splice::{apply, Edit};
use crate::document::yaml::scan::line_end_after;
use crate::document::{self, Format, Leaf, ParsedFile, Style, Text};
use crate::error::{Error, Result};
use crate::k8s;
use crate::sops::value::{looks_encrypted, ValueType};
use crate::tree_path::{self, Step};

/// A value to write at a path.
pub enum NewValue {
    /// A string, written in the format's string syntax (quoted where needed).
    Str(Zeroizing<String>),
    /// A number as JSON spells it; `integer` when it has no fraction or exponent.
    Number {
        /// The number's text, as JSON spells it.
        text: Zeroizing<String>,
        /// Whether it is an integer (sops's `int` type) rather than a float.
        integer: bool,
    },
    /// `true` or `false`.
    Bool(bool),
    /// A null, written as the bare word `null`.
    Null,
}

impl std::fmt::Debug for NewValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are secrets: show only what kind of value this is.
        match self {
            NewValue::Str(s) => write!(f, "Str({} bytes)", s.len()),
            NewValue::Number { .. } => write!(f, "Number"),
            NewValue::Bool(_) => write!(f, "Bool"),
            NewValue::Null => write!(f, "Null"),
        }
    }
}

impl NewValue {
    /// A literal string.
    pub fn string(s: impl Into<String>) -> Self {
        NewValue::Str(Zeroizing::new(s.into()))
    }

    /// The base64 encoding of `bytes`, as a Secret's `data` wants it.
    pub fn base64_of(bytes: &[u8]) -> Self {
        NewValue::Str(Zeroizing::new(B64.encode(bytes)))
    }

    /// The VALUE argument of `gitseal set` without `--json`: a JSON string literal
    /// (`'"s3cr3t"'`, as `sops set` wants it) is decoded; any other text is taken
    /// literally, so `s3cr3t` and `'"s3cr3t"'` set the same value. Numbers stay strings
    /// (`5432` sets the string "5432", which a Secret's `stringData` needs).
    pub fn from_argument(text: &str) -> Self {
        if text.starts_with('"') {
            if let Ok(serde_json::Value::String(s)) = serde_json::from_str::<serde_json::Value>(text) {
                return NewValue::Str(Zeroizing::new(s));
            }
        }
        NewValue::string(text)
    }

    /// Reads a JSON scalar the way `sops set` reads its value argument: a string, a number,
    /// `true`/`false` or `null`. Objects and arrays are refused. The error never quotes
    /// the input.
    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let trimmed = text.trim();
        let parsed: serde_json::Value = serde_json::from_str(trimmed).map_err(|e| format!("the value is not valid JSON ({})", json_error_kind(&e)))?;
        Ok(match parsed {
            serde_json::Value::String(s) => NewValue::Str(Zeroizing::new(s)),
            serde_json::Value::Number(n) => {
                let integer = n.is_i64() || n.is_u64();
                NewValue::Number { text: Zeroizing::new(trimmed.to_owned()), integer }
            }
            serde_json::Value::Bool(b) => NewValue::Bool(b),
            serde_json::Value::Null => NewValue::Null,
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err("--json accepts a string, a number, true, false or null; objects and arrays are not supported (set their members one by one, or use gitseal edit)".into())
            }
        })
    }

    /// The text and type written into YAML. `null` is written as the bare word, which the
    /// YAML writer emits verbatim for any non-string type.
    fn yaml_form(&self) -> (ValueType, &str) {
        match self {
            NewValue::Str(s) => (ValueType::Str, s.as_str()),
            NewValue::Number { text, integer: true } => (ValueType::Int, text.as_str()),
            NewValue::Number { text, integer: false } => (ValueType::Float, text.as_str()),
            NewValue::Bool(true) => (ValueType::Bool, "true"),
            NewValue::Bool(false) => (ValueType::Bool, "false"),
            NewValue::Null => (ValueType::Int, "null"),
        }
    }
}

/// Where a serde_json error is, without its message (which could echo input).
fn json_error_kind(e: &serde_json::Error) -> String {
    format!("line {}, column {}", e.line(), e.column())
}

/// What to change.
enum Op<'v> {
    Set(&'v NewValue),
    Unset,
}

/// Sets the value at `path` (sops index syntax) in the decrypted `text`: an existing
/// scalar is replaced; a missing key is added to its parent mapping (missing parent
/// mappings are created). `file` names the file in errors.
pub fn set(file: &str, format: Format, text: &str, path: &str, value: &NewValue) -> Result<Zeroizing<String>> {
    edit(file, format, text, path, Op::Set(value), Placement::Last)
}

/// [`set`], but a new key goes before the first sibling whose key sorts after it (byte
/// order), so a mapping in sorted key order stays sorted: what a file whose MAC is checked
/// in sorted order (an EncryptedSecret) needs. In an unsorted mapping it goes last.
pub fn set_sorted(file: &str, format: Format, text: &str, path: &str, value: &NewValue) -> Result<Zeroizing<String>> {
    edit(file, format, text, path, Op::Set(value), Placement::Sorted)
}

/// Removes the key (or list item) at `path`, with its value: whole lines in YAML (a block
/// scalar or nested mapping included), the member in JSON, the line in dotenv.
pub fn unset(file: &str, format: Format, text: &str, path: &str) -> Result<Zeroizing<String>> {
    edit(file, format, text, path, Op::Unset, Placement::Last)
}

/// Where a new key goes in its mapping.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// After the last entry.
    Last,
    /// Before the first entry whose key sorts after it, when the entries are sorted.
    Sorted,
}

/// The index of the sibling a new key `new` goes before, when `placement` asks for sorted
/// order and the sibling keys (in file order) are sorted; `None`: append.
fn sorted_position<'k>(placement: Placement, siblings: impl Iterator<Item = &'k str>, new: &str) -> Option<usize> {
    if placement != Placement::Sorted {
        return None;
    }
    let keys: Vec<&str> = siblings.collect();
    if keys.windows(2).any(|w| w[0] > w[1]) {
        return None;
    }
    keys.iter().position(|k| *k > new)
}

/// A request, with what every error message needs.
struct Ctx<'a> {
    file: &'a str,
    path: &'a str,
    text: &'a str,
    parsed: ParsedFile,
    steps: Vec<Step>,
    placement: Placement,
}

impl Ctx<'_> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error::Path { file: self.file.into(), path: self.path.into(), msg: msg.into() }
    }

    /// The keys of the path; the last step may be a list index.
    fn keys(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Key(k) => Some(k.clone()),
                Step::Index(_) => None,
            })
            .collect()
    }

    fn last_index(&self) -> Option<usize> {
        match self.steps.last() {
            Some(Step::Index(i)) => Some(*i),
            _ => None,
        }
    }
}

fn edit(file: &str, format: Format, text: &str, path: &str, op: Op<'_>, placement: Placement) -> Result<Zeroizing<String>> {
    let steps = tree_path::parse(path).map_err(|m| Error::Usage(format!("{file}: {m}")))?;
    if format == Format::Binary {
        return Err(Error::Path { file: file.into(), path: path.into(), msg: "a binary file holds a single value: change it with gitseal edit".into() });
    }
    let parsed = document::parse(format, text).map_err(|e| Error::Syntax { file: file.into(), line: e.line, col: e.col, msg: e.msg })?;
    let ctx = Ctx { file, path, text, parsed, steps, placement };
    if ctx.steps.len() > 1 && ctx.steps[..ctx.steps.len() - 1].iter().any(|s| matches!(s, Step::Index(_))) {
        return Err(ctx.err("list indices are supported only as the last step of a path"));
    }
    if ctx.steps.first() == Some(&Step::Key("sops".into())) {
        return Err(ctx.err("the sops metadata cannot be changed this way"));
    }
    if let Op::Set(v) = &op {
        if matches!(v, NewValue::Str(s) if looks_encrypted(s)) {
            return Err(ctx.err("the value looks like a sops ciphertext (ENC[...]); set takes plaintext"));
        }
        check_secret_data(&ctx, format, v)?;
    }
    let out = match format {
        Format::Yaml => yaml::edit(&ctx, &op)?,
        Format::Json => json::edit(&ctx, &op)?,
        Format::Dotenv => dotenv::edit(&ctx, &op)?,
        Format::Binary => unreachable!("refused above"),
    };
    verify(&ctx, format, &out, &op)?;
    Ok(out)
}

/// Values under a Kubernetes Secret's `data` must be base64, as the API server demands.
fn check_secret_data(ctx: &Ctx<'_>, format: Format, value: &NewValue) -> Result<()> {
    if format == Format::Dotenv || ctx.steps.len() != 2 || ctx.steps[0] != Step::Key("data".into()) {
        return Ok(());
    }
    let Ok(doc) = pick_doc(ctx, format) else { return Ok(()) };
    if !k8s::is_secret(&ctx.parsed.docs[doc]) {
        return Ok(());
    }
    let ok = match value {
        NewValue::Str(s) => k8s::is_base64_data(s),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ctx.err("values under a Secret's data must be base64: pass --base64 to have gitseal encode it, or set it under stringData as plain text"))
    }
}

/// Which document of a (multi-document YAML) file the path is in: the one holding the
/// value, else the one holding its parent. Several candidates are refused rather than
/// guessed between.
fn pick_doc(ctx: &Ctx<'_>, format: Format) -> Result<usize> {
    let docs = &ctx.parsed.docs;
    if docs.len() == 1 {
        return Ok(0);
    }
    if docs.is_empty() {
        return Err(ctx.err("the file holds no document"));
    }
    let index = match format {
        Format::Yaml => yaml::Index::build(ctx.text).map_err(|m| ctx.err(m))?,
        _ => return Ok(0),
    };
    let keys = ctx.keys();
    let holding = |n: usize| -> Vec<usize> { (0..index.docs.len()).filter(|&d| index.docs[d].iter().any(|e| e.keys[..] == keys[..n])).collect() };
    for n in (1..=keys.len()).rev() {
        let found = holding(n);
        match found.len() {
            0 => continue,
            1 => return Ok(found[0]),
            k => {
                // A key under `data`/`stringData` goes to the one Secret holding that
                // mapping, when a ConfigMap beside it has a `data` too.
                let secrets: Vec<usize> = found.iter().copied().filter(|&d| ctx.parsed.docs.get(d).is_some_and(k8s::is_secret)).collect();
                if matches!(keys[0].as_str(), "data" | "stringData") && secrets.len() == 1 {
                    return Ok(secrets[0]);
                }
                return Err(
                    ctx.err(format!("{k} documents of this file hold {}; gitseal changes a value only when one document matches", render_path(&keys[..n])))
                );
            }
        }
    }
    Err(ctx.err(format!("the file holds {} documents and none of them has {}; add it with gitseal edit", docs.len(), render_path(&keys[..1]))))
}

/// `["a"]["b"]`, for messages.
fn render_path(keys: &[String]) -> String {
    keys.iter().map(|k| format!("[{}]", serde_json::to_string(k).unwrap_or_default())).collect()
}

fn not_found(ctx: &Ctx<'_>) -> Error {
    ctx.err("no such key or list item in the file")
}

// ---------------------------------------------------------------------------------------
// Checking an edit: only the target changed.

/// Every non-comment value outside `keys` (or outside the list at `keys` when the path ends
/// in an index), as (document, path, type, text).
fn other_values(parsed: &ParsedFile, src: &str, keys: &[String], list: bool) -> Vec<(usize, String, ValueType, Zeroizing<String>)> {
    let mut out = Vec::new();
    for (d, doc) in parsed.docs.iter().enumerate() {
        for leaf in doc.leaves.iter().filter(|l| l.ty != ValueType::Comment) {
            let parent: Vec<&str> = doc.paths[leaf.parent as usize].keys.iter().map(|k| &**k).collect();
            let mut full = parent.clone();
            full.extend(leaf.key(src));
            let inside = if list {
                leaf.key.is_none() && parent.len() == keys.len() && parent.iter().zip(keys).all(|(a, b)| *a == b)
                    || full.len() > keys.len() && full.iter().zip(keys).all(|(a, b)| *a == b)
            } else {
                full.len() >= keys.len() && full.iter().zip(keys).all(|(a, b)| *a == b)
            };
            if !inside {
                out.push((d, doc.aad(leaf, src), leaf.ty, Zeroizing::new(leaf.text(src).to_owned())));
            }
        }
    }
    out
}

/// Scalar items of the list at `keys` in document `doc`.
fn list_items(parsed: &ParsedFile, doc: usize, keys: &[String]) -> usize {
    let d = &parsed.docs[doc];
    d.leaves
        .iter()
        .filter(|l| l.ty != ValueType::Comment && l.key.is_none() && d.paths[l.parent as usize].keys.iter().map(|k| &**k).eq(keys.iter().map(String::as_str)))
        .count()
}

fn verify(ctx: &Ctx<'_>, format: Format, out: &str, op: &Op<'_>) -> Result<()> {
    let broken = |what: &str| ctx.err(format!("gitseal could not make this change in place ({what}); the file is unchanged: use gitseal edit"));
    let after = document::parse(format, out).map_err(|_| broken("the result does not parse"))?;
    if after.docs.len() != ctx.parsed.docs.len() {
        return Err(broken("the number of documents changed"));
    }
    let keys = ctx.keys();
    let list = ctx.last_index().is_some();
    if other_values(&ctx.parsed, ctx.text, &keys, list) != other_values(&after, out, &keys, list) {
        return Err(broken("other values would change"));
    }
    let doc = pick_doc(ctx, format)?;
    let found = tree_path::find(&after.docs[doc], out, &ctx.steps);
    match op {
        Op::Set(NewValue::Null) => {}
        Op::Set(v) => {
            let (_, want) = v.yaml_form();
            let ok = matches!(found, Ok(Some(leaf)) if leaf.text(out) == want);
            if !ok {
                return Err(broken("the value does not read back as written"));
            }
        }
        Op::Unset => {
            if ctx.last_index().is_some() {
                let before = list_items(&ctx.parsed, doc, &keys);
                let now = list_items(&after, doc, &keys);
                if now + 1 != before {
                    return Err(broken("the list item is still there"));
                }
            } else if !matches!(found, Ok(None)) {
                return Err(broken("the key is still there"));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Text helpers shared by the formats.

fn line_start(src: &str, pos: usize) -> usize {
    src.as_bytes()[..pos.min(src.len())].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

fn col(src: &str, pos: usize) -> usize {
    pos - line_start(src, pos)
}

/// Whether only spaces and tabs precede `pos` on its line.
fn first_on_line(src: &str, pos: usize) -> bool {
    src[line_start(src, pos)..pos].bytes().all(|b| b == b' ' || b == b'\t')
}

/// `range` without a line break at its end.
fn without_line_break(src: &str, range: Range<usize>) -> Range<usize> {
    let t = &src[range.clone()];
    let cut = if t.ends_with("\r\n") { 2 } else { usize::from(t.ends_with('\n')) };
    range.start..range.end - cut
}

/// The text of `value` rendered as a new YAML scalar, as if it replaced a plain scalar
/// whose block form would be indented by `indent`.
fn render_new_yaml(parsed: &ParsedFile, value: &NewValue, indent: usize) -> String {
    let leaf = Leaf {
        parent: 0,
        line: 1,
        ty: ValueType::Str,
        key: None,
        text: Text::owned(String::new()),
        span: 0..0,
        style: Style::YamlPlain { indent: indent as u32 },
    };
    let (ty, text) = value.yaml_form();
    document::render_value(Format::Yaml, parsed, &leaf, ty, text).value
}

// ---------------------------------------------------------------------------------------
// YAML

mod yaml {
    use super::*;
    use crate::document::yaml::nodes::{self, Node};
    use crate::document::yaml::scan::is_null;
    use std::ops::ControlFlow;

    /// What an addressable key holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Kind {
        Scalar,
        Null,
        Map { flow: bool },
        Seq { flow: bool },
    }

    /// A mapping entry whose whole path is made of keys (what a tree path can name).
    #[derive(Debug)]
    pub(crate) struct Entry {
        pub keys: Vec<String>,
        /// Byte where the key starts (its quote, when quoted).
        pub key_start: usize,
        pub kind: Kind,
        /// Bytes of the value as the parser reports them (exact for plain scalars, the
        /// opening bracket for flow collections).
        pub value: Range<usize>,
        /// Entries (mapping) or items (sequence) of a collection value.
        pub children: usize,
    }

    /// Per document: its addressable entries, and the root mapping.
    pub(crate) struct Index {
        pub docs: Vec<Vec<Entry>>,
        pub roots: Vec<Root>,
    }

    pub(crate) struct Root {
        pub flow: bool,
        pub children: usize,
    }

    enum Frame {
        Map { keys: Option<Vec<String>>, pending: Option<(String, usize)>, entry: Option<usize>, children: usize },
        Seq { entry: Option<usize>, children: usize },
    }

    impl Index {
        pub(crate) fn build(src: &str) -> std::result::Result<Index, String> {
            let mut idx = Index { docs: Vec::new(), roots: Vec::new() };
            let mut stack: Vec<Frame> = Vec::new();
            let mut entries: Vec<Entry> = Vec::new();
            let mut root: Option<Root> = None;
            nodes::walk(
                src,
                |e| format!("invalid YAML: {}", e.info),
                |node| {
                    match node {
                        Node::DocumentStart => {
                            entries = Vec::new();
                            root = None;
                        }
                        Node::DocumentEnd => {
                            // Empty documents are dropped, as the document parser drops them.
                            if let Some(r) = root.take() {
                                idx.docs.push(std::mem::take(&mut entries));
                                idx.roots.push(r);
                            }
                        }
                        Node::Scalar { text, null, bytes, .. } => {
                            if let Some(Frame::Map { pending: pending @ None, .. }) = stack.last_mut() {
                                *pending = Some((text.into_owned(), bytes.start));
                                return Ok(ControlFlow::Continue(()));
                            }
                            let kind = if null { Kind::Null } else { Kind::Scalar };
                            child(&mut stack, &mut entries, kind, bytes);
                        }
                        Node::CollectionStart { map, flow, bytes, .. } => {
                            if stack.is_empty() {
                                if !map {
                                    return Err("the top level of a document must be a mapping".into());
                                }
                                root = Some(Root { flow, children: 0 });
                                stack.push(Frame::Map { keys: Some(Vec::new()), pending: None, entry: None, children: 0 });
                                return Ok(ControlFlow::Continue(()));
                            }
                            if let Some(Frame::Map { pending: None, .. }) = stack.last() {
                                return Err("a mapping key that is a collection cannot be edited by path".into());
                            }
                            let kind = if map { Kind::Map { flow } } else { Kind::Seq { flow } };
                            let (keys, entry) = child(&mut stack, &mut entries, kind, bytes);
                            stack.push(if map { Frame::Map { keys, pending: None, entry, children: 0 } } else { Frame::Seq { entry, children: 0 } });
                        }
                        Node::CollectionEnd => {
                            let (entry, children) = match stack.pop() {
                                Some(Frame::Map { entry, children, .. }) | Some(Frame::Seq { entry, children }) => (entry, children),
                                None => (None, 0),
                            };
                            match entry {
                                Some(e) => entries[e].children = children,
                                None if stack.is_empty() => {
                                    if let Some(r) = root.as_mut() {
                                        r.children = children;
                                    }
                                }
                                None => {}
                            }
                        }
                        Node::Alias { .. } => return Err("YAML aliases are not supported".into()),
                    }
                    Ok(ControlFlow::Continue(()))
                },
            )?;
            Ok(idx)
        }
    }

    /// Records a value node under the top frame. Returns the key path of the node when it
    /// is addressable, and its entry.
    fn child(stack: &mut [Frame], entries: &mut Vec<Entry>, kind: Kind, value: Range<usize>) -> (Option<Vec<String>>, Option<usize>) {
        match stack.last_mut() {
            Some(Frame::Map { keys, pending, children, .. }) => {
                *children += 1;
                let (key, key_start) = pending.take().unwrap_or_default();
                match keys {
                    Some(ks) => {
                        let mut full = ks.clone();
                        full.push(key);
                        entries.push(Entry { keys: full.clone(), key_start, kind, value, children: 0 });
                        (Some(full), Some(entries.len() - 1))
                    }
                    None => (None, None),
                }
            }
            Some(Frame::Seq { children, .. }) => {
                *children += 1;
                (None, None)
            }
            None => (None, None),
        }
    }

    /// The end (after its line break) of the last line belonging to the node whose key
    /// (or list dash) sits at `pos`: following lines indented deeper, and for a mapping
    /// entry `- ` items at the same column (a block sequence may sit at its key's
    /// indentation). Blank lines and comments at the key's column or left of it are not
    /// part of it.
    pub(crate) fn extent_end(src: &str, pos: usize, dash_continues: bool) -> usize {
        let c = col(src, pos);
        let mut end = line_end_after(src, pos);
        let mut p = end;
        while p < src.len() {
            let next = line_end_after(src, p);
            let line = &src[p..next];
            let content = line.trim_end_matches(['\n', '\r']);
            let trimmed = content.trim_start_matches(' ');
            let ind = content.len() - trimmed.len();
            if trimmed.trim().is_empty() {
                p = next;
                continue;
            }
            if ind == 0 && (content == "---" || content.starts_with("--- ") || content == "..." || content.starts_with("... ")) {
                break;
            }
            if trimmed.starts_with('#') && ind <= c {
                p = next;
                continue;
            }
            let dash = trimmed == "-" || trimmed.starts_with("- ");
            if ind > c || (ind == c && dash_continues && dash) {
                end = next;
                p = next;
                continue;
            }
            break;
        }
        end
    }

    /// The `:` ending the block-mapping key that starts at `key_start`.
    pub(crate) fn colon_after_key(src: &str, key_start: usize) -> Option<usize> {
        let b = src.as_bytes();
        let mut i = key_start;
        match b.get(i)? {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => {
                while i < b.len() && b[i] != b'\n' {
                    if b[i] == b':' && matches!(b.get(i + 1), None | Some(b' ' | b'\t' | b'\n' | b'\r')) {
                        return Some(i);
                    }
                    i += 1;
                }
                return None;
            }
        }
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
        (b.get(i) == Some(&b':')).then_some(i)
    }

    /// A mapping key as YAML text: plain when it reads back as the same string.
    fn key_text(k: &str) -> String {
        let simple = !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'))
            && k.as_bytes()[0] != b'-'
            && crate::document::yaml::plain_type(k) == ValueType::Str
            && !is_null(k)
            && !matches!(k.to_ascii_lowercase().as_str(), "y" | "n" | "yes" | "no" | "on" | "off");
        if simple {
            k.to_owned()
        } else {
            serde_json::to_string(k).unwrap_or_default()
        }
    }

    /// Lines for `rest` nested under each other, starting at column `indent`, the last key
    /// holding `value`. Every line ends with `nl`.
    fn block(parsed: &ParsedFile, rest: &[String], indent: usize, value: &NewValue) -> String {
        let step = parsed.indent_step.max(1);
        let nl = parsed.newline;
        let mut out = String::new();
        for (i, k) in rest.iter().enumerate() {
            let pad = indent + i * step;
            out.push_str(&" ".repeat(pad));
            out.push_str(&key_text(k));
            out.push(':');
            if i + 1 == rest.len() {
                out.push(' ');
                out.push_str(&render_new_yaml(parsed, value, pad + step));
            }
            out.push_str(nl);
        }
        out
    }

    /// With sorted placement, the sibling (in file order) a new key `new` goes before.
    fn sorted_sibling<'e>(ctx: &Ctx<'_>, siblings: &[&'e Entry], new: &str) -> Option<&'e Entry> {
        let mut ordered: Vec<&Entry> = siblings.to_vec();
        ordered.sort_by_key(|e| e.key_start);
        let i = sorted_position(ctx.placement, ordered.iter().map(|e| e.keys.last().map_or("", String::as_str)), new)?;
        // A sibling that does not start its line (a flow or compact layout) is no place to insert lines.
        Some(ordered[i]).filter(|e| first_on_line(ctx.text, e.key_start))
    }

    /// The new entry `rest` as lines just before the entry `before` (and the comment lines
    /// directly above it, which belong to it), at its column.
    fn insert_before(ctx: &Ctx<'_>, before: &Entry, rest: &[String], v: &NewValue) -> Edit {
        let src = ctx.text;
        let column = col(src, before.key_start);
        let mut at = line_start(src, before.key_start);
        while at > 0 {
            let prev = line_start(src, at - 1);
            let line = &src[prev..at];
            let trimmed = line.trim_start_matches(' ');
            if trimmed.starts_with('#') && line.len() - trimmed.len() == column {
                at = prev;
            } else {
                break;
            }
        }
        Edit { span: at..at, text: block(&ctx.parsed, rest, column, v) }
    }

    /// The edits that replace a scalar leaf's value, keeping its style where it can.
    fn replace_leaf(parsed: &ParsedFile, src: &str, leaf: &Leaf, value: &NewValue) -> Vec<Edit> {
        if let Style::YamlBlock { header, indent, .. } = &leaf.style {
            // The block scalar writer keeps a clipping header for values without a final
            // line break (it serves decryption); a new value is written fresh instead.
            let nl = if src[..leaf.span.end].ends_with('\n') { parsed.newline } else { "" };
            let text = format!("{}{nl}", render_new_yaml(parsed, value, *indent as usize));
            return vec![Edit { span: header.start as usize..leaf.span.end, text }];
        }
        let (ty, text) = value.yaml_form();
        let r = document::render_value(Format::Yaml, parsed, leaf, ty, text);
        vec![Edit { span: leaf.span.clone(), text: r.value }]
    }

    /// The region after an entry's `:` up to the end of its value (without the final line
    /// break), for replacing the whole value.
    fn value_region(ctx: &Ctx<'_>, e: &Entry) -> Result<Range<usize>> {
        let colon = colon_after_key(ctx.text, e.key_start).ok_or_else(|| ctx.err("this key cannot be edited in place: use gitseal edit"))?;
        let end = extent_end(ctx.text, e.key_start, true);
        let r = without_line_break(ctx.text, colon + 1..end.max(colon + 1));
        Ok(r)
    }

    pub(crate) fn edit(ctx: &Ctx<'_>, op: &Op<'_>) -> Result<Zeroizing<String>> {
        let src = ctx.text;
        let d = pick_doc(ctx, Format::Yaml)?;
        let index = Index::build(src).map_err(|m| ctx.err(m))?;
        let (Some(entries), Some(root)) = (index.docs.get(d), index.roots.get(d)) else {
            return Err(ctx.err("the file holds no document"));
        };
        let doc = &ctx.parsed.docs[d];
        let keys = ctx.keys();
        let find = |ks: &[String]| entries.iter().find(|e| e.keys[..] == ks[..]);
        let nl = ctx.parsed.newline;
        let mut edits: Vec<Edit> = Vec::new();

        if ctx.last_index().is_some() {
            let leaf = tree_path::find(doc, src, &ctx.steps)
                .map_err(|m| ctx.err(m))?
                .ok_or_else(|| ctx.err("no such list item (set replaces list items; it does not append)"))?;
            match op {
                Op::Set(v) => edits = replace_leaf(&ctx.parsed, src, leaf, v),
                Op::Unset => {
                    let item_start = match &leaf.style {
                        Style::YamlBlock { header, .. } => header.start as usize,
                        _ => leaf.span.start,
                    };
                    let list = find(&keys).ok_or_else(|| not_found(ctx))?;
                    let before = &src[line_start(src, item_start)..item_start];
                    let dash = before.rfind('-');
                    let block_item = matches!(list.kind, Kind::Seq { flow: false })
                        && dash.is_some_and(|i| before[..i].bytes().all(|b| b == b' ') && before[i + 1..].bytes().all(|b| b == b' '));
                    if !block_item {
                        return Err(ctx.err("only items of block lists (one `- item` per line) can be removed in place: use gitseal edit"));
                    }
                    let dash = line_start(src, item_start) + dash.unwrap_or(0);
                    if list.children == 1 {
                        edits.push(Edit { span: value_region(ctx, list)?, text: " []".into() });
                    } else {
                        edits.push(Edit { span: line_start(src, dash)..extent_end(src, dash, false), text: String::new() });
                    }
                }
            }
            return Ok(Zeroizing::new(apply(src, edits)));
        }

        match (op, find(&keys)) {
            (Op::Set(v), Some(e)) => match e.kind {
                Kind::Scalar => {
                    let leaf = tree_path::find(doc, src, &ctx.steps).map_err(|m| ctx.err(m))?.ok_or_else(|| not_found(ctx))?;
                    edits = replace_leaf(&ctx.parsed, src, leaf, v);
                }
                Kind::Null => {
                    let colon = colon_after_key(src, e.key_start).ok_or_else(|| ctx.err("this key cannot be edited in place: use gitseal edit"))?;
                    let indent = col(src, e.key_start) + ctx.parsed.indent_step;
                    let rendered = render_new_yaml(&ctx.parsed, v, indent);
                    if e.value.start > colon && !src[e.value.clone()].trim().is_empty() {
                        edits.push(Edit { span: e.value.clone(), text: rendered });
                    } else {
                        edits.push(Edit { span: colon + 1..colon + 1, text: format!(" {rendered}") });
                    }
                }
                Kind::Map { .. } | Kind::Seq { .. } => {
                    return Err(ctx.err("the path names a mapping or a list; set writes single values"));
                }
            },
            (Op::Set(v), None) => {
                // The deepest existing mapping on the way; the keys after it are created.
                let mut p = keys.len() - 1;
                while p > 0 && find(&keys[..p]).is_none() {
                    p -= 1;
                }
                let rest = &keys[p..];
                let flow_refusal = || ctx.err("the parent is a flow mapping ({...}) with entries: add the key with gitseal edit");
                if p == 0 {
                    if root.flow {
                        return Err(flow_refusal());
                    }
                    let siblings: Vec<&Entry> = entries.iter().filter(|e| e.keys.len() == 1).collect();
                    if let Some(before) = sorted_sibling(ctx, &siblings, &rest[0]) {
                        edits.push(insert_before(ctx, before, rest, v));
                    } else {
                        let last = siblings.iter().max_by_key(|e| e.key_start).ok_or_else(|| not_found(ctx))?;
                        let at = extent_end(src, last.key_start, true);
                        let lead = if at == src.len() && !src.is_empty() && !src.ends_with('\n') { nl } else { "" };
                        edits.push(Edit { span: at..at, text: format!("{lead}{}", block(&ctx.parsed, rest, col(src, last.key_start), v)) });
                    }
                } else {
                    let parent = find(&keys[..p]).expect("found above");
                    let nested_at = col(src, parent.key_start) + ctx.parsed.indent_step;
                    match parent.kind {
                        Kind::Map { flow: false } => {
                            let siblings: Vec<&Entry> = entries.iter().filter(|e| e.keys.len() == p + 1 && e.keys[..p] == keys[..p]).collect();
                            if let Some(before) = sorted_sibling(ctx, &siblings, &rest[0]) {
                                edits.push(insert_before(ctx, before, rest, v));
                            } else {
                                let last = siblings.iter().max_by_key(|e| e.key_start).ok_or_else(|| not_found(ctx))?;
                                let at = extent_end(src, last.key_start, true);
                                let lead = if at == src.len() && !src.ends_with('\n') { nl } else { "" };
                                edits.push(Edit { span: at..at, text: format!("{lead}{}", block(&ctx.parsed, rest, col(src, last.key_start), v)) });
                            }
                        }
                        Kind::Map { flow: true } if parent.children > 0 => return Err(flow_refusal()),
                        Kind::Map { flow: true } | Kind::Null => {
                            // `key:`, `key: ~` or `key: {}` becomes a block mapping.
                            let colon =
                                colon_after_key(src, parent.key_start).ok_or_else(|| ctx.err("this key cannot be edited in place: use gitseal edit"))?;
                            let end = if parent.kind == Kind::Null {
                                let explicit = parent.value.start > colon && !src[parent.value.clone()].trim().is_empty();
                                if explicit {
                                    parent.value.end
                                } else {
                                    colon + 1
                                }
                            } else {
                                src[parent.value.start..].find('}').map_or(parent.value.end, |i| parent.value.start + i + 1)
                            };
                            let body = block(&ctx.parsed, rest, nested_at, v);
                            let body = body.strip_suffix(nl).unwrap_or(&body);
                            edits.push(Edit { span: colon + 1..end, text: format!("{nl}{body}") });
                        }
                        Kind::Scalar | Kind::Seq { .. } => {
                            return Err(ctx.err(format!("{} holds a value or a list, not a mapping", render_path(&keys[..p]))));
                        }
                    }
                }
            }
            (Op::Unset, None) => return Err(not_found(ctx)),
            (Op::Unset, Some(e)) => {
                if !first_on_line(src, e.key_start) {
                    return Err(ctx.err("this key does not start its line: remove it with gitseal edit"));
                }
                let (parent_flow, siblings) = if keys.len() == 1 {
                    (root.flow, root.children)
                } else {
                    let parent = find(&keys[..keys.len() - 1]).ok_or_else(|| not_found(ctx))?;
                    (matches!(parent.kind, Kind::Map { flow: true }), parent.children)
                };
                if parent_flow {
                    return Err(ctx.err("the key is in a flow mapping ({...}): remove it with gitseal edit"));
                }
                let lines = line_start(src, e.key_start)..extent_end(src, e.key_start, true);
                if siblings > 1 {
                    edits.push(Edit { span: lines, text: String::new() });
                } else if keys.len() == 1 {
                    edits.push(Edit { span: lines, text: format!("{{}}{nl}") });
                } else {
                    let parent = find(&keys[..keys.len() - 1]).expect("found above");
                    edits.push(Edit { span: value_region(ctx, parent)?, text: " {}".into() });
                }
            }
        }
        Ok(Zeroizing::new(apply(src, edits)))
    }
}

// ---------------------------------------------------------------------------------------
// JSON

mod json {
    use super::*;

    use crate::document::json::index::{self, Kind};

    fn literal(v: &NewValue) -> String {
        match v {
            NewValue::Str(s) => serde_json::to_string(s.as_str()).unwrap_or_default(),
            NewValue::Number { text, .. } => text.as_str().to_owned(),
            NewValue::Bool(b) => b.to_string(),
            NewValue::Null => "null".into(),
        }
    }

    /// `"k": {"k2": value}` for the keys in `rest`, laid out on several lines at `indent`
    /// (one `unit` deeper per level) unless `compact`.
    fn member(rest: &[String], v: &NewValue, indent: &str, unit: &str, nl: &str, compact: bool) -> String {
        let key = serde_json::to_string(&rest[0]).unwrap_or_default();
        if rest.len() == 1 {
            return format!("{key}: {}", literal(v));
        }
        if compact {
            return format!("{key}: {{{}}}", member(&rest[1..], v, indent, unit, nl, true));
        }
        let inner = format!("{indent}{unit}");
        format!("{key}: {{{nl}{inner}{}{nl}{indent}}}", member(&rest[1..], v, &inner, unit, nl, false))
    }

    fn indentation_of(src: &str, pos: usize) -> &str {
        let ls = line_start(src, pos);
        let line = &src[ls..];
        let n = line.len() - line.trim_start_matches([' ', '\t']).len();
        &line[..n]
    }

    pub(crate) fn edit(ctx: &Ctx<'_>, op: &Op<'_>) -> Result<Zeroizing<String>> {
        let src = ctx.text;
        let (idx, root) = index::build(src).map_err(|_| ctx.err("gitseal could not read this JSON structure"))?;
        let nl = ctx.parsed.newline;
        let unit = match ctx.parsed.docs[0].member_indent.as_str() {
            "" => "  ".to_owned(),
            u => u.to_owned(),
        };

        // Walk the path: the node reached, or how far it got.
        let mut node = root;
        let mut reached = 0;
        let mut parent: Option<(usize, usize)> = None; // (container, element index)
        for step in &ctx.steps {
            let Some(c) = idx.nodes[node].container else { break };
            let cont = &idx.containers[c];
            let found = match (step, idx.nodes[node].kind) {
                (Step::Key(k), Kind::Object) => cont.elems.iter().position(|e| e.key.as_deref() == Some(k.as_str())),
                (Step::Index(i), Kind::Array) => (*i < cont.elems.len()).then_some(*i),
                _ => None,
            };
            let Some(i) = found else { break };
            parent = Some((c, i));
            node = cont.elems[i].node;
            reached += 1;
        }
        let complete = reached == ctx.steps.len();
        let mut edits = Vec::new();
        match op {
            Op::Set(v) if complete => {
                if idx.nodes[node].kind != Kind::Scalar {
                    return Err(ctx.err("the path names an object or an array; set writes single values"));
                }
                edits.push(Edit { span: idx.nodes[node].span.clone(), text: literal(v) });
            }
            Op::Set(v) => {
                if ctx.last_index().is_some() {
                    return Err(ctx.err("no such list item (set replaces list items; it does not append)"));
                }
                let keys = ctx.keys();
                if idx.nodes[node].kind != Kind::Object {
                    return Err(ctx.err(format!("{} holds a value or a list, not an object", render_path(&keys[..reached]))));
                }
                let rest = &keys[reached..];
                let cont = &idx.containers[idx.nodes[node].container.expect("objects have a container")];
                let before = sorted_position(ctx.placement, cont.elems.iter().map(|e| e.key.as_deref().unwrap_or("")), &rest[0]).map(|i| &cont.elems[i]);
                if let Some(el) = before {
                    let own_line = first_on_line(src, el.start) && line_start(src, el.start) > cont.open;
                    let text = if own_line {
                        let indent = indentation_of(src, el.start);
                        format!("{},{nl}{indent}", member(rest, v, indent, &unit, nl, false))
                    } else {
                        format!("{}, ", member(rest, v, "", &unit, nl, true))
                    };
                    edits.push(Edit { span: el.start..el.start, text });
                    return Ok(Zeroizing::new(apply(src, edits)));
                }
                match cont.elems.last() {
                    Some(last) => {
                        let last_end = idx.nodes[last.node].span.end;
                        let own_line = first_on_line(src, last.start) && line_start(src, last.start) > cont.open;
                        if own_line {
                            let indent = indentation_of(src, last.start);
                            let m = member(rest, v, indent, &unit, nl, false);
                            edits.push(Edit { span: last_end..last_end, text: format!(",{nl}{indent}{m}") });
                        } else {
                            let m = member(rest, v, "", &unit, nl, true);
                            edits.push(Edit { span: last_end..last_end, text: format!(", {m}") });
                        }
                    }
                    None => {
                        let outer = indentation_of(src, cont.open);
                        let inner = format!("{outer}{unit}");
                        let m = member(rest, v, &inner, &unit, nl, false);
                        edits.push(Edit { span: cont.open + 1..cont.close, text: format!("{nl}{inner}{m}{nl}{outer}") });
                    }
                }
            }
            Op::Unset if !complete => return Err(not_found(ctx)),
            Op::Unset => {
                let (c, i) = parent.expect("a complete path has at least one step");
                let cont = &idx.containers[c];
                let el = &cont.elems[i];
                let span = if cont.elems.len() == 1 {
                    cont.open + 1..cont.close
                } else if i + 1 < cont.elems.len() {
                    let next = &cont.elems[i + 1];
                    if first_on_line(src, el.start) && first_on_line(src, next.start) {
                        line_start(src, el.start)..line_start(src, next.start)
                    } else {
                        el.start..next.start
                    }
                } else {
                    idx.nodes[cont.elems[i - 1].node].span.end..idx.nodes[el.node].span.end
                };
                edits.push(Edit { span, text: String::new() });
            }
        }
        Ok(Zeroizing::new(apply(src, edits)))
    }
}

// ---------------------------------------------------------------------------------------
// dotenv

mod dotenv {
    use super::*;

    fn value_text<'a>(ctx: &Ctx<'_>, v: &'a NewValue) -> Result<std::borrow::Cow<'a, str>> {
        let t = match v {
            NewValue::Str(s) => s.as_str(),
            NewValue::Number { text, .. } => text.as_str(),
            NewValue::Bool(true) => "true",
            NewValue::Bool(false) => "false",
            NewValue::Null => return Err(ctx.err("dotenv files have no null: set an empty string instead")),
        };
        if t.contains('\r') {
            return Err(ctx.err("a dotenv value cannot hold a carriage return"));
        }
        if t.contains("\\n") {
            return Err(ctx.err("a dotenv value cannot hold a backslash followed by n (it reads back as a line break)"));
        }
        Ok(std::borrow::Cow::Owned(t.replace('\n', "\\n")))
    }

    pub(crate) fn edit(ctx: &Ctx<'_>, op: &Op<'_>) -> Result<Zeroizing<String>> {
        let src = ctx.text;
        let key = match ctx.steps.as_slice() {
            [Step::Key(k)] => k,
            _ => return Err(ctx.err("dotenv files have only top-level keys: use a path like '[\"KEY\"]'")),
        };
        let doc = &ctx.parsed.docs[0];
        let leaf = doc.leaves.iter().find(|l| l.ty != ValueType::Comment && l.key(src) == Some(key.as_str()));
        let mut edits = Vec::new();
        match (op, leaf) {
            (Op::Set(v), Some(l)) => {
                let t = value_text(ctx, v)?;
                edits.push(Edit { span: l.span.clone(), text: t.into_owned() });
            }
            (Op::Set(v), None) => {
                if key.is_empty() || key.contains(['=', '\n', '\r']) || key.starts_with('#') || key.starts_with("sops_") {
                    return Err(ctx.err("not a valid dotenv key (empty, contains '=' or a line break, starts with '#' or 'sops_')"));
                }
                let t = value_text(ctx, v)?;
                let lead = if !src.is_empty() && !src.ends_with('\n') { ctx.parsed.newline } else { "" };
                edits.push(Edit { span: src.len()..src.len(), text: format!("{lead}{key}={t}{}", ctx.parsed.newline) });
            }
            (Op::Unset, None) => return Err(not_found(ctx)),
            (Op::Unset, Some(l)) => {
                edits.push(Edit { span: line_start(src, l.span.start)..line_end_after(src, l.span.start), text: String::new() });
            }
        }
        Ok(Zeroizing::new(apply(src, edits)))
    }
}

// ---------------------------------------------------------------------------------------
// New files

/// A Kubernetes object name from a file stem: lower case, characters other than letters,
/// digits, `-` and `.` replaced by `-`.
pub(crate) fn k8s_name(stem: &str) -> String {
    let mut s: String = stem
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s = s.trim_matches(['-', '.']).to_owned();
    if s.is_empty() {
        "my-secret".into()
    } else {
        s
    }
}

/// The starting content of a new file for `gitseal edit`: a Kubernetes Secret in YAML or
/// JSON, an example entry in dotenv, nothing for binary files.
pub fn new_file_template(format: Format, stem: &str) -> String {
    let name = k8s_name(stem);
    match format {
        Format::Yaml => format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: default\ntype: Opaque\nstringData:\n  example-key: example-value\n"
        ),
        Format::Json => format!(
            "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {{\n    \"name\": \"{name}\",\n    \"namespace\": \"default\"\n  }},\n  \"type\": \"Opaque\",\n  \"stringData\": {{\n    \"example-key\": \"example-value\"\n  }}\n}}\n"
        ),
        Format::Dotenv => "EXAMPLE_KEY=example-value\n".into(),
        Format::Binary => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s # the name\ntype: Opaque\ndata:\n  blob: aGVsbG8=\nstringData:\n  token: t0k3n\n  cert: |\n    line one\n    line two\n  password: \"p w\"\n";

    fn s(v: &str) -> NewValue {
        NewValue::string(v)
    }

    fn set_y(text: &str, path: &str, v: &NewValue) -> String {
        set("f.yaml", Format::Yaml, text, path, v).unwrap().to_string()
    }

    #[test]
    fn set_sorted_puts_a_new_key_in_its_sorted_place() {
        let text = "spec:\n  data:\n    # about b\n    b: Yg==\n    d: |\n      ZA==\n  scope: strict\n";
        let out = set_sorted("f.yaml", Format::Yaml, text, r#"["spec"]["data"]["c"]"#, &s("Yw==")).unwrap();
        assert_eq!(&*out, "spec:\n  data:\n    # about b\n    b: Yg==\n    c: Yw==\n    d: |\n      ZA==\n  scope: strict\n");
        let out = set_sorted("f.yaml", Format::Yaml, text, r#"["spec"]["data"]["a"]"#, &s("YQ==")).unwrap();
        assert_eq!(&*out, "spec:\n  data:\n    a: YQ==\n    # about b\n    b: Yg==\n    d: |\n      ZA==\n  scope: strict\n");
        let out = set_sorted("f.yaml", Format::Yaml, text, r#"["spec"]["data"]["e"]"#, &s("ZQ==")).unwrap();
        assert!(out.contains("      ZA==\n    e: ZQ==\n  scope"), "{}", &*out);
        // A new mapping goes in sorted order too.
        let out = set_sorted("f.yaml", Format::Yaml, text, r#"["spec"]["binding"]"#, &s("x")).unwrap();
        assert!(out.starts_with("spec:\n  binding: x\n  data:"), "{}", &*out);
        // An unsorted mapping: appended, as set does.
        let unsorted = "m:\n  z: 1\n  a: 2\n";
        assert_eq!(&*set_sorted("f.yaml", Format::Yaml, unsorted, r#"["m"]["b"]"#, &s("3")).unwrap(), "m:\n  z: 1\n  a: 2\n  b: \"3\"\n");
    }

    #[test]
    fn set_sorted_in_json() {
        let text = "{\n  \"spec\": {\n    \"data\": {\n      \"a\": \"YQ==\",\n      \"c\": \"Yw==\"\n    }\n  }\n}\n";
        let out = set_sorted("f.json", Format::Json, text, r#"["spec"]["data"]["b"]"#, &s("Yg==")).unwrap();
        assert_eq!(&*out, "{\n  \"spec\": {\n    \"data\": {\n      \"a\": \"YQ==\",\n      \"b\": \"Yg==\",\n      \"c\": \"Yw==\"\n    }\n  }\n}\n");
        let compact = r#"{"data": {"b": "Yg==", "c": "Yw=="}}"#;
        let out = set_sorted("f.json", Format::Json, compact, r#"["data"]["a"]"#, &s("YQ==")).unwrap();
        assert_eq!(&*out, r#"{"data": {"a": "YQ==", "b": "Yg==", "c": "Yw=="}}"#);
    }

    fn unset_y(text: &str, path: &str) -> String {
        unset("f.yaml", Format::Yaml, text, path).unwrap().to_string()
    }

    #[test]
    fn yaml_replace_keeps_everything_else() {
        let out = set_y(SECRET, r#"["stringData"]["token"]"#, &s("new"));
        assert_eq!(out, SECRET.replace("token: t0k3n", "token: new"));
        let out = set_y(SECRET, r#"["stringData"]["token"]"#, &s("123"));
        assert!(out.contains("token: \"123\"\n"), "{out}");
        let out = set_y(SECRET, r#"["stringData"]["cert"]"#, &s("single"));
        assert!(out.contains("  cert: single\n  password"), "{out}");
        let out = set_y(SECRET, r#"["stringData"]["cert"]"#, &s("one\ntwo"));
        assert!(out.contains("  cert: |-\n    one\n    two\n  password"), "{out}");
        let out = set_y(SECRET, r#"["stringData"]["password"]"#, &s("a\nb\n"));
        assert!(out.ends_with("  password: \"a\\nb\\n\"\n"), "{out}");
    }

    #[test]
    fn yaml_add_at_the_parent_indentation() {
        let out = set_y(SECRET, r#"["stringData"]["new"]"#, &s("v"));
        assert_eq!(out, format!("{SECRET}  new: v\n"));
        let out = set_y(SECRET, r#"["data"]["more"]"#, &s("d29ybGQ="));
        assert!(out.contains("  blob: aGVsbG8=\n  more: d29ybGQ=\nstringData:"), "{out}");
        let out = set_y(SECRET, r#"["stringData"]["multi"]"#, &s("l1\nl2\n"));
        assert!(out.ends_with("  multi: |\n    l1\n    l2\n"), "{out}");
        let four = "a:\n    b: 1\nc: 2\n";
        assert_eq!(set_y(four, r#"["a"]["x"]"#, &s("yv")), "a:\n    b: 1\n    x: yv\nc: 2\n");
        assert_eq!(set_y("a: 1", r#"["b"]"#, &s("2")), "a: 1\nb: \"2\"\n");
    }

    #[test]
    fn yaml_creates_missing_mappings() {
        let out = set_y("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n", r#"["stringData"]["token"]"#, &s("v"));
        assert_eq!(out, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  token: v\n");
        let out = set_y("a:\nb: 1\n", r#"["a"]["c"]["d"]"#, &s("v"));
        assert_eq!(out, "a:\n  c:\n    d: v\nb: 1\n");
        let out = set_y("a: {}\n", r#"["a"]["c"]"#, &s("v"));
        assert_eq!(out, "a:\n  c: v\n");
        let out = set_y("a: ~ # nothing\n", r#"["a"]"#, &s("v"));
        assert_eq!(out, "a: v # nothing\n");
        let out = set_y("a:\nb: 2\n", r#"["a"]"#, &s("v"));
        assert_eq!(out, "a: v\nb: 2\n");
    }

    #[test]
    fn argument_values_accept_sops_json_strings_and_raw_text() {
        let text = |v: NewValue| match v {
            NewValue::Str(s) => s.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(NewValue::from_argument("\"a \\\"b\\\" \\n\"")), "a \"b\" \n");
        assert_eq!(text(NewValue::from_argument("raw text")), "raw text");
        assert_eq!(text(NewValue::from_argument("5432")), "5432");
        assert_eq!(text(NewValue::from_argument("\"unterminated")), "\"unterminated");
        assert_eq!(text(NewValue::from_argument("\"a\" \"b\"")), "\"a\" \"b\"");
    }

    #[test]
    fn yaml_json_values() {
        let v = NewValue::from_json("42").unwrap();
        assert!(set_y("a: x\n", r#"["a"]"#, &v) == "a: 42\n");
        let v = NewValue::from_json("true").unwrap();
        assert_eq!(set_y("a: 'x'\n", r#"["a"]"#, &v), "a: true\n");
        let v = NewValue::from_json("null").unwrap();
        assert_eq!(set_y("a: x\nb: y\n", r#"["a"]"#, &v), "a: null\nb: y\n");
        let v = NewValue::from_json("\"x y\"").unwrap();
        assert_eq!(set_y("a: 1\n", r#"["a"]"#, &v), "a: x y\n");
        assert!(NewValue::from_json("{\"a\": 1}").is_err());
        assert!(NewValue::from_json("[1]").is_err());
        let e = NewValue::from_json("s3cr3t-not-json").unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn yaml_unset_removes_whole_lines() {
        let out = unset_y(SECRET, r#"["stringData"]["cert"]"#);
        assert_eq!(out, SECRET.replace("  cert: |\n    line one\n    line two\n", ""));
        let out = unset_y(SECRET, r#"["data"]["blob"]"#);
        assert!(out.contains("data: {}\nstringData:"), "{out}");
        let out = unset_y(SECRET, r#"["stringData"]"#);
        assert!(!out.contains("token") && out.ends_with("blob: aGVsbG8=\n"), "{out}");
        let list = "items:\n- a\n- |\n  b\n- c\nz: 1\n";
        assert_eq!(unset_y(list, r#"["items"][1]"#), "items:\n- a\n- c\nz: 1\n");
        assert_eq!(unset_y("items:\n  - a\nz: 1\n", r#"["items"][0]"#), "items: []\nz: 1\n");
        assert_eq!(set_y(list, r#"["items"][2]"#, &s("C")), "items:\n- a\n- |\n  b\n- C\nz: 1\n");
    }

    #[test]
    fn yaml_errors_name_the_path_never_the_value() {
        let e = unset("f.yaml", Format::Yaml, SECRET, r#"["stringData"]["nope"]"#).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
        assert!(e.to_string().contains(r#"["stringData"]["nope"]"#), "{e}");
        let e = set("f.yaml", Format::Yaml, SECRET, r#"["data"]["x"]"#, &s("not base64 s3cr3t!")).unwrap_err();
        assert!(e.to_string().contains("--base64") && !e.to_string().contains("s3cr3t"), "{e}");
        let e = set("f.yaml", Format::Yaml, SECRET, r#"["stringData"]"#, &s("v")).unwrap_err();
        assert!(e.to_string().contains("mapping"), "{e}");
        let e = set("f.yaml", Format::Yaml, SECRET, r#"["sops"]["mac"]"#, &s("v")).unwrap_err();
        assert!(e.to_string().contains("metadata"), "{e}");
        let e = set("f.yaml", Format::Yaml, "a: [1, 2]\n", r#"["a"][5]"#, &s("v")).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
    }

    #[test]
    fn yaml_multi_document_picks_the_one_holding_the_path() {
        let two = "kind: ConfigMap\napiVersion: v1\ndata:\n  a: b\n---\nkind: Secret\napiVersion: v1\nstringData:\n  t: x\n";
        let out = set_y(two, r#"["stringData"]["t"]"#, &s("yv"));
        assert_eq!(out, two.replace("t: x", "t: yv"));
        let out = set_y(two, r#"["stringData"]["u"]"#, &s("yv"));
        assert!(out.ends_with("  t: x\n  u: yv\n"), "{out}");
        let e = set("f.yaml", Format::Yaml, two, r#"["apiVersion"]"#, &s("v2")).unwrap_err();
        assert!(e.to_string().contains("2 documents"), "{e}");
    }

    #[test]
    fn adding_under_data_of_the_one_secret_beside_a_configmap_with_data_works() {
        let two = "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n---\napiVersion: v1\nkind: Secret\ndata:\n  t: eA==\n";
        let out = set_y(two, r#"["data"]["u"]"#, &s("eQ=="));
        assert!(out.ends_with("kind: Secret\ndata:\n  t: eA==\n  u: eQ==\n"), "{out}");
        assert!(out.starts_with("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n---"), "{out}");
        // Two Secrets holding data: still refused rather than guessed between.
        let three = format!("{two}---\napiVersion: v1\nkind: Secret\ndata:\n  z: eA==\n");
        let e = set("f.yaml", Format::Yaml, &three, r#"["data"]["u"]"#, &s("eQ==")).unwrap_err();
        assert!(e.to_string().contains("3 documents"), "{e}");
    }

    #[test]
    fn json_set_add_unset() {
        let j = "{\n  \"kind\": \"Secret\",\n  \"apiVersion\": \"v1\",\n  \"stringData\": {\n    \"a\": \"1\",\n    \"b\": \"2\"\n  }\n}\n";
        let f = |p: &str, v: &str| set("f.json", Format::Json, j, p, &s(v)).unwrap().to_string();
        assert_eq!(f(r#"["stringData"]["a"]"#, "x\"y"), j.replace("\"a\": \"1\"", "\"a\": \"x\\\"y\""));
        assert_eq!(f(r#"["stringData"]["c"]"#, "3"), j.replace("\"b\": \"2\"", "\"b\": \"2\",\n    \"c\": \"3\""));
        let out = f(r#"["x"]["y"]"#, "3");
        assert!(out.ends_with("  },\n  \"x\": {\n    \"y\": \"3\"\n  }\n}\n"), "{out}");
        let u = |p: &str| unset("f.json", Format::Json, j, p).unwrap().to_string();
        assert_eq!(u(r#"["stringData"]["a"]"#), j.replace("    \"a\": \"1\",\n", ""));
        assert_eq!(u(r#"["stringData"]["b"]"#), j.replace(",\n    \"b\": \"2\"", ""));
        let one = "{\"a\": {\"b\": 1}, \"c\": []}";
        assert_eq!(unset("f.json", Format::Json, one, r#"["a"]["b"]"#).unwrap().as_str(), "{\"a\": {}, \"c\": []}");
        assert_eq!(set("f.json", Format::Json, one, r#"["a"]["d"]"#, &NewValue::Bool(true)).unwrap().as_str(), "{\"a\": {\"b\": 1, \"d\": true}, \"c\": []}");
        assert_eq!(set("f.json", Format::Json, "{}", r#"["a"]"#, &s("v")).unwrap().as_str(), "{\n  \"a\": \"v\"\n}");
    }

    #[test]
    fn dotenv_set_add_unset() {
        let e = "A=1\n# c\nB=2\n";
        let f = |p: &str, v: &str| set("f.env", Format::Dotenv, e, p, &s(v)).unwrap().to_string();
        assert_eq!(f(r#"["A"]"#, "x\ny"), "A=x\\ny\n# c\nB=2\n");
        assert_eq!(f(r#"["C"]"#, "3"), "A=1\n# c\nB=2\nC=3\n");
        assert_eq!(set("f.env", Format::Dotenv, "A=1", r#"["C"]"#, &s("3")).unwrap().as_str(), "A=1\nC=3\n");
        assert_eq!(unset("f.env", Format::Dotenv, e, r#"["A"]"#).unwrap().as_str(), "# c\nB=2\n");
        assert!(set("f.env", Format::Dotenv, e, r#"["a"]["b"]"#, &s("v")).is_err());
        assert!(set("f.env", Format::Dotenv, e, r#"["A"]"#, &s("back\\nslash")).is_err());
    }

    #[test]
    fn templates_parse_and_name_from_the_stem() {
        assert_eq!(k8s_name("My_DB.credentials"), "my-db.credentials");
        for f in [Format::Yaml, Format::Json, Format::Dotenv] {
            let t = new_file_template(f, "db");
            let p = document::parse(f, &t).unwrap();
            assert_eq!(p.docs.len(), 1);
            if f != Format::Dotenv {
                assert!(k8s::is_secret(&p.docs[0]));
                assert!(t.contains("\"db\"") || t.contains("name: db"));
            }
        }
    }
}
