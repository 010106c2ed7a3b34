//! JSON documents: a strict RFC 8259 parser that records the byte span of every scalar,
//! and writers for values and for the `"sops"` member.
//!
//! sops reads JSON with Go's `encoding/json`: every number is a float64 (so `1` has type
//! `float`), `null` is neither encrypted nor hashed, and the metadata lives in a top-level
//! member named `"sops"`, written as the last member, tab-indented, with Go's escaping.

pub(crate) mod index;

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use zeroize::Zeroizing;

use crate::document::{line_col, Document, Format, Leaf, MetadataBlock, ParsedFile, PathEntry, Rendered, Style, SyntaxError, Text, Tree};
use crate::sops::value::{format_go_float, parse_go_bool, parse_go_float, ValueType};

/// The member holding sops metadata.
const SOPS_KEY: &str = "sops";

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 1000;

/// Parses a JSON file whose top level must be an object.
pub fn parse(src: &str) -> Result<ParsedFile, SyntaxError> {
    let mut p = Parser { src, b: src.as_bytes(), pos: 0, depth: 0, doc: Document::new(1), line_at: (0, 1) };
    if src.starts_with('\u{feff}') {
        return Err(p.err_at(0, "the file starts with a byte order mark, which JSON does not allow"));
    }
    p.skip_ws();
    match p.peek() {
        Some(b'{') => {}
        None => return Err(p.err("the file is empty; a JSON object was expected")),
        Some(_) => return Err(p.err("the top level of a JSON file must be an object")),
    }
    p.parse_top()?;
    p.skip_ws();
    if p.pos < p.b.len() {
        return Err(p.err("unexpected text after the top-level object"));
    }
    let indent_step = p.doc.member_indent.len();
    Ok(ParsedFile { format: Format::Json, docs: vec![p.doc], newline: detect_newline(src), indent_step })
}

/// `"\r\n"` when the first line break of `src` is CRLF.
fn detect_newline(src: &str) -> &'static str {
    match src.find('\n') {
        Some(i) if i > 0 && src.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Writes `text` as a value of type `ty` for a JSON leaf.
///
/// Strings (and comments/bytes, which JSON cannot hold otherwise) become JSON strings;
/// numbers and booleans are written bare. Text that is not a valid bare JSON value of its
/// type is normalised (`+5` → `5`, `True` → `true`) or, failing that, written as a string,
/// so the output is always valid JSON.
pub(crate) fn render_value(_leaf: &Leaf, ty: ValueType, text: &str) -> Rendered {
    let value = match ty {
        ValueType::Str | ValueType::Comment | ValueType::Bytes => quote(text, false),
        ValueType::Bool => match parse_go_bool(text) {
            Some(true) => "true".to_owned(),
            Some(false) => "false".to_owned(),
            None => quote(text, false),
        },
        ValueType::Int | ValueType::Float => {
            if is_json_number(text.as_bytes()) {
                text.to_owned()
            } else {
                match parse_go_float(text) {
                    Some(f) if f.is_finite() => format_go_float(f),
                    _ => quote(text, false),
                }
            }
        }
    };
    Rendered::plain(value)
}

/// The text to insert at `doc.insert_at` (or to replace the metadata span with) so that
/// the top-level object gains `"sops": <tree>` as its last member.
///
/// With a multi-line file the member goes on its own line, indented like the other
/// top-level members and nested with that same unit, exactly as sops lays it out
/// (`json.Indent` with a tab for sops's own files). A one-line file gets the compact form
/// `,"sops":{...}`. Strings are escaped as Go's `json.Marshal` does (HTML characters as
/// `\u003c` etc.), which is what sops writes into its metadata.
pub(crate) fn render_metadata(doc: &Document, tree: &Tree, newline: &str) -> String {
    let mut out = String::new();
    if doc.needs_separator {
        out.push(',');
    }
    if doc.member_indent.is_empty() {
        out.push_str("\"sops\":");
        write_compact(&mut out, tree, None);
    } else {
        out.push_str(newline);
        out.push_str(&doc.member_indent);
        out.push_str("\"sops\": ");
        write_pretty(&mut out, tree, None, 1, &doc.member_indent, newline);
    }
    out
}

/// Writes `tree` as sops writes JSON (`json.Indent` with tabs, Go's escaping), starting
/// at nesting level `depth`. Used for whole files sops lays out itself (binary files).
pub(crate) fn write_tree(tree: &Tree, depth: usize, out: &mut String) {
    write_pretty(out, tree, None, depth, "\t", "\n");
}

/// Whether a metadata value sops writes as a bare JSON number or boolean.
fn bare_metadata(key: Option<&str>, text: &str) -> bool {
    match key {
        Some("shamir_threshold") => is_json_number(text.as_bytes()),
        Some("mac_only_encrypted") => text == "true" || text == "false",
        _ => false,
    }
}

fn write_scalar(out: &mut String, key: Option<&str>, text: &str) {
    if bare_metadata(key, text) {
        out.push_str(text);
    } else {
        out.push_str(&quote(text, true));
    }
}

fn write_compact(out: &mut String, tree: &Tree, key: Option<&str>) {
    match tree {
        Tree::Null => out.push_str("null"),
        Tree::Scalar(s) => write_scalar(out, key, s),
        Tree::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(out, item, None);
            }
            out.push(']');
        }
        Tree::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quote(k, true));
                out.push(':');
                write_compact(out, v, Some(k));
            }
            out.push('}');
        }
    }
}

/// Go's `json.Indent` layout: one member or item per line, empty collections as `{}`/`[]`.
fn write_pretty(out: &mut String, tree: &Tree, key: Option<&str>, level: usize, unit: &str, nl: &str) {
    let indent = |out: &mut String, n: usize| {
        out.push_str(nl);
        for _ in 0..n {
            out.push_str(unit);
        }
    };
    match tree {
        Tree::Null => out.push_str("null"),
        Tree::Scalar(s) => write_scalar(out, key, s),
        Tree::List(items) if items.is_empty() => out.push_str("[]"),
        Tree::Map(entries) if entries.is_empty() => out.push_str("{}"),
        Tree::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                write_pretty(out, item, None, level + 1, unit, nl);
            }
            indent(out, level);
            out.push(']');
        }
        Tree::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                out.push_str(&quote(k, true));
                out.push_str(": ");
                write_pretty(out, v, Some(k), level + 1, unit, nl);
            }
            indent(out, level);
            out.push('}');
        }
    }
}

/// A JSON string literal for `s`, escaped as Go's `encoding/json` does: `\"`, `\\`, `\n`,
/// `\r`, `\t`, `\b`, `\f`, other control characters as `\u00xx`, U+2028/U+2029 as
/// `\u2028`/`\u2029`, and with `html` also `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`.
/// Everything else, non-ASCII included, stays as it is.
fn quote(s: &str, html: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_quoted(&mut out, s, html);
    out
}

/// [`quote`] appending to `out` (which may be a zeroizing buffer: no copy is made).
pub(crate) fn push_quoted(out: &mut String, s: &str, html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            '<' | '>' | '&' if html => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xf] as char);
            }
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(b: &[u8]) -> bool {
    number_len(b, 0) == Some(b.len())
}

/// Length of the JSON number starting at `b[start]`, if one does.
fn number_len(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    Some(i - start)
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    doc: Document,
    /// A position and its line, so line numbers are counted incrementally.
    line_at: (usize, u32),
}

/// One member of an object, as located while parsing.
struct Member {
    is_sops: bool,
    key_start: usize,
    value_end: usize,
}

impl<'a> Parser<'a> {
    fn err_at(&self, pos: usize, msg: impl Into<String>) -> SyntaxError {
        let (line, col) = line_col(self.src, pos);
        SyntaxError::new(line, col, msg)
    }

    fn err(&self, msg: impl Into<String>) -> SyntaxError {
        self.err_at(self.pos, msg)
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        match self.src[self.pos.min(self.src.len())..].chars().next() {
            None => self.err(format!("unexpected end of file, expected {expected}")),
            Some(c) => self.err(format!("unexpected character {c:?}, expected {expected}")),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// 1-based line of `pos`; cheap for increasing positions (leaves come in order).
    fn line(&mut self, pos: usize) -> u32 {
        let (from, mut line) = if pos >= self.line_at.0 { self.line_at } else { (0, 1) };
        line += self.b[from..pos].iter().filter(|&&c| c == b'\n').count() as u32;
        self.line_at = (pos, line);
        line
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// Parses the top-level object: members become leaves, `"sops"` becomes metadata.
    fn parse_top(&mut self) -> Result<(), SyntaxError> {
        let open = self.pos;
        self.pos += 1; // '{'
        self.enter()?;
        let mut members: Vec<Member> = Vec::new();
        let mut seen: HashSet<Cow<'a, str>> = HashSet::new();
        let mut last_key_ws: Option<(usize, usize)> = None;
        let mut sops: Option<(usize, Tree)> = None; // (member index, tree)
        let mut sops_line = 0;
        let mut ws_start = self.pos;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                let key_start = self.pos;
                if self.peek() != Some(b'"') {
                    return Err(self.unexpected("a member name in double quotes"));
                }
                let (key, _) = self.parse_string()?;
                let name = self.cow(&key);
                let is_sops = name == SOPS_KEY;
                if seen.contains(&name) {
                    return Err(self.err_at(key_start, format!("duplicate key {name:?}")));
                }
                let is_api_version = name == "apiVersion";
                let is_kind = name == "kind";
                seen.insert(name);
                self.skip_ws();
                if self.peek() != Some(b':') {
                    return Err(self.unexpected("':' after the member name"));
                }
                self.pos += 1;
                self.skip_ws();
                if is_sops {
                    let tree = self.parse_tree()?;
                    sops = Some((members.len(), tree));
                    sops_line = self.line(key_start);
                } else {
                    last_key_ws = Some((ws_start, key_start));
                    if self.peek() == Some(b'"') {
                        if is_api_version {
                            self.doc.has_api_version = true;
                        } else if is_kind {
                            let save = self.pos;
                            let (kind, _) = self.parse_string()?;
                            self.doc.k8s_kind = Some(kind.get(self.src).to_owned());
                            self.pos = save;
                        }
                    }
                    self.parse_value(0, Some(key))?;
                }
                members.push(Member { is_sops, key_start, value_end: self.pos });
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        ws_start = self.pos;
                    }
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.unexpected("',' or '}' after an object member")),
                }
            }
        }
        self.depth -= 1;
        let close = self.pos - 1;

        // Indentation of top-level members: whatever follows the last line break before
        // the last (non-metadata) member's name, after which the metadata goes; no line
        // break there means a one-line object.
        let (ws_start, key_start) = last_key_ws
            .or_else(|| {
                sops.as_ref().map(|(i, _)| {
                    let k = members[*i].key_start;
                    (open + 1, k)
                })
            })
            .unwrap_or((open + 1, close));
        let ws = &self.src[ws_start..key_start];
        self.doc.member_indent = match ws.rfind('\n') {
            Some(nl) => ws[nl + 1..].to_owned(),
            None => String::new(),
        };
        if members.is_empty() && ws.contains('\n') {
            // `{` and `}` on separate lines with nothing between: lay out as sops does.
            self.doc.member_indent = "\t".to_owned();
        }
        // (Members on lines of their own but without indentation also give "", so such a
        // file gets its metadata in the compact form: valid, if not pretty.)

        let others: Vec<&Member> = members.iter().filter(|m| !m.is_sops).collect();
        self.doc.needs_separator = !others.is_empty();
        self.doc.insert_at = others.last().map_or(open + 1, |m| m.value_end);

        if let Some((idx, tree)) = sops {
            let m = &members[idx];
            let span = if idx + 1 == members.len() || idx > 0 {
                // Last or middle member: from the end of the previous value (taking the
                // comma and line break before the member) to the end of its value.
                let start = if idx == 0 { open + 1 } else { members[idx - 1].value_end };
                start..m.value_end
            } else {
                // First of several: the member, its comma and the space up to the next name.
                m.key_start..members[idx + 1].key_start
            };
            self.doc.metadata = Some(MetadataBlock { tree, span, line: sops_line });
        }
        Ok(())
    }

    /// Parses any value, recording leaves. `parent` is the path holding the value and
    /// `key` its member name (`None` inside arrays).
    fn parse_value(&mut self, parent: u32, key: Option<Text>) -> Result<(), SyntaxError> {
        let start = self.pos;
        let src = self.src;
        match self.peek() {
            Some(b'{') => {
                let idx = self.child_path(parent, key.as_ref().map(|k| k.get(src)));
                self.parse_object(idx)
            }
            Some(b'[') => {
                // Items of an array share the array's path; nested arrays add nothing.
                let idx = match &key {
                    Some(k) => self.child_path(parent, Some(k.get(src))),
                    None => parent,
                };
                self.parse_array(idx)
            }
            Some(b'"') => {
                let (text, span) = self.parse_string()?;
                self.push_leaf(parent, key, ValueType::Str, text, span, Style::JsonString);
                Ok(())
            }
            Some(b't') | Some(b'f') | Some(b'n') => {
                let word = self.parse_literal()?;
                if word != "null" {
                    let text = Text::from_source(src, start..self.pos, word);
                    self.push_leaf(parent, key, ValueType::Bool, text, start..self.pos, Style::JsonBare);
                }
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                let len = number_len(self.b, self.pos).ok_or_else(|| self.err("invalid number"))?;
                // sops reads numbers as 64-bit floats and stops at one beyond their range.
                if !src[start..start + len].parse::<f64>().is_ok_and(f64::is_finite) {
                    return Err(self.err("this number is beyond the range of a 64-bit float (sops cannot read it); write it as a string"));
                }
                self.pos += len;
                let text = Text::from_source(src, start..self.pos, &src[start..self.pos]);
                self.push_leaf(parent, key, ValueType::Float, text, start..self.pos, Style::JsonBare);
                Ok(())
            }
            _ => Err(self.unexpected("a value")),
        }
    }

    fn push_leaf(&mut self, parent: u32, key: Option<Text>, ty: ValueType, text: Text, span: Range<usize>, style: Style) {
        let line = self.line(span.start);
        self.doc.leaves.push(Leaf { parent, line, ty, key, text, span, style });
    }

    /// The text of a parsed string, borrowed from the source when it has no escapes.
    fn cow(&self, t: &Text) -> Cow<'a, str> {
        match t {
            Text::Source(a, b) => Cow::Borrowed(&self.src[*a as usize..*b as usize]),
            Text::Owned(s) => Cow::Owned(s.as_str().to_owned()),
        }
    }

    /// A new path entry: `parent`'s keys plus `key` (objects inside arrays: no new key).
    fn child_path(&mut self, parent: u32, key: Option<&str>) -> u32 {
        let mut keys = self.doc.paths[parent as usize].keys.clone();
        if let Some(k) = key {
            keys.push(k.into());
        }
        self.doc.paths.push(PathEntry { keys });
        (self.doc.paths.len() - 1) as u32
    }

    fn parse_object(&mut self, path: u32) -> Result<(), SyntaxError> {
        self.pos += 1; // '{'
        self.enter()?;
        let mut seen: HashSet<Cow<'a, str>> = HashSet::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key_start = self.pos;
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a member name in double quotes"));
            }
            let (key, _) = self.parse_string()?;
            let name = self.cow(&key);
            if seen.contains(&name) {
                return Err(self.err_at(key_start, format!("duplicate key {name:?}")));
            }
            seen.insert(name);
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.unexpected("':' after the member name"));
            }
            self.pos += 1;
            self.skip_ws();
            self.parse_value(path, Some(key))?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("',' or '}' after an object member")),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn parse_array(&mut self, path: u32) -> Result<(), SyntaxError> {
        self.pos += 1; // '['
        self.enter()?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            self.parse_value(path, None)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("',' or ']' after an array item")),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Parses any value into a [`Tree`] (used for the metadata).
    fn parse_tree(&mut self) -> Result<Tree, SyntaxError> {
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.enter()?;
                let mut entries: Vec<(String, Tree)> = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.skip_ws();
                        let key_start = self.pos;
                        if self.peek() != Some(b'"') {
                            return Err(self.unexpected("a member name in double quotes"));
                        }
                        let (key, _) = self.parse_string()?;
                        let key = key.get(self.src).to_owned();
                        if entries.iter().any(|(k, _)| *k == key) {
                            return Err(self.err_at(key_start, format!("duplicate key {key:?}")));
                        }
                        self.skip_ws();
                        if self.peek() != Some(b':') {
                            return Err(self.unexpected("':' after the member name"));
                        }
                        self.pos += 1;
                        self.skip_ws();
                        let value = self.parse_tree()?;
                        entries.push((key, value));
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.unexpected("',' or '}' after an object member")),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Tree::Map(entries))
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        self.skip_ws();
                        items.push(self.parse_tree()?);
                        self.skip_ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.unexpected("',' or ']' after an array item")),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Tree::List(items))
            }
            Some(b'"') => Ok(Tree::Scalar(self.parse_string()?.0.get(self.src).to_owned())),
            Some(b't' | b'f' | b'n') => {
                let word = self.parse_literal()?;
                Ok(if word == "null" { Tree::Null } else { Tree::Scalar(word.to_owned()) })
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                let len = number_len(self.b, self.pos).ok_or_else(|| self.err("invalid number"))?;
                self.pos += len;
                Ok(Tree::Scalar(self.src[start..self.pos].to_owned()))
            }
            _ => Err(self.unexpected("a value")),
        }
    }

    fn parse_literal(&mut self) -> Result<&'static str, SyntaxError> {
        for word in ["true", "false", "null"] {
            if self.b[self.pos..].starts_with(word.as_bytes()) {
                let end = self.pos + word.len();
                if self.b.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
                    break;
                }
                self.pos = end;
                return Ok(word);
            }
        }
        Err(self.err("invalid literal (expected true, false or null)"))
    }

    /// Parses a string literal at `pos`; returns the decoded text (borrowed from the
    /// source when the literal has no escapes) and the span with quotes.
    fn parse_string(&mut self) -> Result<(Text, Range<usize>), SyntaxError> {
        let start = self.pos;
        self.pos += 1; // opening quote
        let mut out = Zeroizing::new(String::new());
        let mut escaped = false;
        let mut run = self.pos; // start of the current unescaped run
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err_at(start, "unterminated string"));
            };
            match c {
                b'"' => {
                    let text = if escaped {
                        out.push_str(&self.src[run..self.pos]);
                        Text::Owned(Box::new(out))
                    } else {
                        Text::from_source(self.src, start + 1..self.pos, &self.src[start + 1..self.pos])
                    };
                    self.pos += 1;
                    return Ok((text, start..self.pos));
                }
                b'\\' => {
                    escaped = true;
                    out.push_str(&self.src[run..self.pos]);
                    let esc = self.pos;
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err_at(start, "unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4().ok_or_else(|| self.err_at(esc, "invalid \\u escape"))?;
                            let ch = if (0xD800..0xDC00).contains(&hi) {
                                // A surrogate pair, if a low surrogate follows; Go turns a
                                // lone surrogate into U+FFFD.
                                let save = self.pos;
                                let lo = if self.b[self.pos..].starts_with(b"\\u") {
                                    self.pos += 2;
                                    self.hex4()
                                } else {
                                    None
                                };
                                match lo {
                                    Some(lo) if (0xDC00..0xE000).contains(&lo) => char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)),
                                    _ => {
                                        self.pos = save;
                                        None
                                    }
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(ch.unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(self.err_at(esc, "invalid escape in string")),
                    }
                    run = self.pos;
                }
                c if c < 0x20 => {
                    return Err(self.err("control character in string (must be escaped)"));
                }
                _ => self.pos += 1,
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.pos..self.pos + 4)?;
        let s = std::str::from_utf8(h).ok()?;
        if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(s, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::splice::{apply, Edit};

    fn doc(src: &str) -> Document {
        parse(src).unwrap().docs.pop().unwrap()
    }

    fn leaves(d: &Document, src: &str) -> Vec<(String, String, ValueType)> {
        d.leaves.iter().map(|l| (d.aad(l, src), l.text(src).to_owned(), l.ty)).collect()
    }

    #[test]
    fn leaves_paths_and_types() {
        let src = r#"{
  "apiVersion": "v1",
  "kind": "Secret",
  "n": 1,
  "f": -1.50e+2,
  "b": true,
  "nul": null,
  "u": "h\u00e9\"\\\n\t\ud83d\ude00",
  "arr": [1, "x", {"k": "v", "in": {"z": "y"}}, [false, 3], null],
  "obj": {"a": {"b": "c"}, "empty": {}, "ea": []},
  "es": ""
}
"#;
        let d = doc(src);
        let got = leaves(&d, src);
        let want: Vec<(&str, &str, ValueType)> = vec![
            ("apiVersion:", "v1", ValueType::Str),
            ("kind:", "Secret", ValueType::Str),
            ("n:", "1", ValueType::Float),
            ("f:", "-1.50e+2", ValueType::Float),
            ("b:", "true", ValueType::Bool),
            ("u:", "hé\"\\\n\t😀", ValueType::Str),
            ("arr:", "1", ValueType::Float),
            ("arr:", "x", ValueType::Str),
            ("arr:k:", "v", ValueType::Str),
            ("arr:in:z:", "y", ValueType::Str),
            ("arr:", "false", ValueType::Bool),
            ("arr:", "3", ValueType::Float),
            ("obj:a:b:", "c", ValueType::Str),
            ("es:", "", ValueType::Str),
        ];
        let want: Vec<_> = want.into_iter().map(|(a, t, ty)| (a.to_owned(), t.to_owned(), ty)).collect();
        assert_eq!(got, want);
        for l in &d.leaves {
            let s = &src[l.span.clone()];
            match l.style {
                Style::JsonString => assert!(s.starts_with('"') && s.ends_with('"')),
                Style::JsonBare => assert_eq!(s, l.text(src)),
                _ => panic!(),
            }
        }
        assert_eq!(d.leaves[3].line, 5);
        assert_eq!(d.leaves[8].key(src), Some("k"));
        assert!(d.leaves[7].key.is_none());
        assert!(d.has_api_version);
        assert_eq!(d.k8s_kind.as_deref(), Some("Secret"));
        assert!(d.metadata.is_none());
        assert_eq!(d.member_indent, "  ");
        assert!(d.needs_separator);
        assert_eq!(&src[d.insert_at - 2..d.insert_at], "\"\"");
    }

    #[test]
    fn rejects_bad_input() {
        for (src, msg) in [
            ("[1]", "must be an object"),
            ("", "empty"),
            ("\"x\"", "must be an object"),
            ("{\"a\": 1, \"a\": 2}", "duplicate key \"a\""),
            ("{\"o\": {\"b\": 1, \"b\": 2}}", "duplicate key \"b\""),
            ("{\"a\": 01}", "expected ','"),
            ("{\"a\": 1,}", "member name"),
            ("{\"a\": tru}", "invalid literal"),
            ("{\"a\": \"x\ny\"}", "control character"),
            ("{\"a\": \"\\x\"}", "invalid escape"),
            ("{\"a\": 1} x", "after the top-level"),
            ("{\"a\": 1", "end of file"),
            ("{\"a\": \"b", "unterminated"),
            ("\u{feff}{}", "byte order mark"),
            ("{\"a\": -}", "invalid number"),
            ("{\"a\": 1.}", "invalid number"),
            ("{\"a\": .5}", "a value"),
        ] {
            let e = parse(src).unwrap_err();
            assert!(e.msg.contains(msg), "{src:?}: {e}");
        }
        let e = parse("{\n  \"a\": 1,\n  \"a\": 2\n}").unwrap_err();
        assert_eq!((e.line, e.col), (3, 3));
        let deep = "[".repeat(5000);
        assert!(parse(&format!("{{\"a\": {deep}}}")).unwrap_err().msg.contains("nesting"));
    }

    #[test]
    fn render_values() {
        let d = doc("{\"a\": 1}");
        let l = &d.leaves[0];
        let r = |ty, t| render_value(l, ty, t).value;
        assert_eq!(r(ValueType::Str, "ENC[AES256_GCM,data:x,type:float]"), "\"ENC[AES256_GCM,data:x,type:float]\"");
        assert_eq!(
            r(ValueType::Str, "a\"b\\c\nd\re\tf\u{8}\u{c}\u{1}\u{1f}é<>&\u{2028}\u{7f}"),
            "\"a\\\"b\\\\c\\nd\\re\\tf\\b\\f\\u0001\\u001fé<>&\\u2028\u{7f}\""
        );
        assert_eq!(r(ValueType::Float, "1.50"), "1.50");
        assert_eq!(r(ValueType::Float, "+5"), "5");
        assert_eq!(r(ValueType::Float, "NaN"), "\"NaN\"");
        assert_eq!(r(ValueType::Int, "42"), "42");
        assert_eq!(r(ValueType::Bool, "True"), "true");
        assert_eq!(r(ValueType::Bool, "false"), "false");
        assert_eq!(r(ValueType::Comment, "x"), "\"x\"");
        // Round trip of the decoded text through render and parse.
        let s = "a\"b\\c\nd\u{1}é\u{2028}<";
        let out = r(ValueType::Str, s);
        let src2 = format!("{{\"k\": {out}}}");
        let d2 = doc(&src2);
        assert_eq!(d2.leaves[0].text(&src2), s);
        assert!(matches!(d2.leaves[0].text, Text::Owned(_)));
        let d3 = doc("{\"k\": \"plain\", \"n\": 1.5}");
        assert!(matches!(d3.leaves[0].text, Text::Source(7, 12)));
        assert!(matches!(d3.leaves[1].text, Text::Source(..)));
        assert!(matches!(d3.leaves[1].key, Some(Text::Source(..))));
    }

    fn sample_tree() -> Tree {
        Tree::Map(vec![
            ("shamir_threshold".into(), Tree::Scalar("2".into())),
            (
                "key_groups".into(),
                Tree::List(vec![Tree::Map(vec![
                    ("hc_vault".into(), Tree::Null),
                    (
                        "age".into(),
                        Tree::List(vec![Tree::Map(vec![
                            ("recipient".into(), Tree::Scalar("age1xyz".into())),
                            ("enc".into(), Tree::Scalar("-----BEGIN-----\nAB\n-----END-----\n".into())),
                        ])]),
                    ),
                ])]),
            ),
            ("lastmodified".into(), Tree::Scalar("2026-11-22T15:07:05Z".into())),
            ("encrypted_regex".into(), Tree::Scalar("^a<b&$".into())),
            ("mac_only_encrypted".into(), Tree::Scalar("true".into())),
            ("empty".into(), Tree::List(vec![])),
            ("version".into(), Tree::Scalar("3.11.0".into())),
        ])
    }

    #[test]
    fn metadata_layouts() {
        let tree = sample_tree();
        let d = doc("{\n\t\"a\": \"b\"\n}\n");
        let text = render_metadata(&d, &tree, "\n");
        assert_eq!(
            text,
            ",\n\t\"sops\": {\n\t\t\"shamir_threshold\": 2,\n\t\t\"key_groups\": [\n\t\t\t{\n\t\t\t\t\"hc_vault\": null,\n\t\t\t\t\"age\": [\n\t\t\t\t\t{\n\t\t\t\t\t\t\"recipient\": \"age1xyz\",\n\t\t\t\t\t\t\"enc\": \"-----BEGIN-----\\nAB\\n-----END-----\\n\"\n\t\t\t\t\t}\n\t\t\t\t]\n\t\t\t}\n\t\t],\n\t\t\"lastmodified\": \"2026-11-22T15:07:05Z\",\n\t\t\"encrypted_regex\": \"^a\\u003cb\\u0026$\",\n\t\t\"mac_only_encrypted\": true,\n\t\t\"empty\": [],\n\t\t\"version\": \"3.11.0\"\n\t}"
        );
        let d = doc("{\"a\":\"b\"}");
        assert_eq!(d.member_indent, "");
        let text = render_metadata(
            &d,
            &Tree::Map(vec![
                ("shamir_threshold".into(), Tree::Scalar("2".into())),
                ("age".into(), Tree::List(vec![Tree::Map(vec![("recipient".into(), Tree::Scalar("r".into()))])])),
                ("x".into(), Tree::Null),
            ]),
            "\n",
        );
        assert_eq!(text, ",\"sops\":{\"shamir_threshold\":2,\"age\":[{\"recipient\":\"r\"}],\"x\":null}");
        // Two-space files nest with two spaces; CRLF is honoured.
        let d = doc("{\r\n  \"a\": {\r\n    \"b\": 1\r\n  }\r\n}\r\n");
        let text = render_metadata(&d, &Tree::Map(vec![("v".into(), Tree::Scalar("1".into()))]), "\r\n");
        assert_eq!(text, ",\r\n  \"sops\": {\r\n    \"v\": \"1\"\r\n  }");
    }

    /// Inserting metadata, reparsing, and removing it again gives back the input.
    fn insert_remove_round_trip(src: &str, tree: &Tree) -> String {
        let pf = parse(src).unwrap();
        let d = &pf.docs[0];
        let text = render_metadata(d, tree, pf.newline);
        let with = apply(src, vec![Edit { span: d.insert_at..d.insert_at, text }]);
        let pf2 = parse(&with).unwrap();
        let d2 = &pf2.docs[0];
        let md = d2.metadata.as_ref().unwrap();
        assert_eq!(&md.tree, tree);
        assert_eq!(d2.leaves.len(), d.leaves.len());
        assert_eq!(d2.insert_at, md.span.start);
        assert_eq!(d2.member_indent, d.member_indent);
        assert_eq!(d2.needs_separator, d.needs_separator);
        // Replacing the span with freshly rendered metadata is a no-op.
        let again = apply(&with, vec![Edit { span: md.span.clone(), text: render_metadata(d2, &md.tree, pf2.newline) }]);
        assert_eq!(again, with);
        let without = apply(&with, vec![Edit { span: md.span.clone(), text: String::new() }]);
        assert_eq!(without, src);
        with
    }

    #[test]
    fn metadata_insert_and_remove() {
        let tree = sample_tree();
        for src in [
            "{\n\t\"a\": \"b\"\n}\n",
            "{\n\t\"a\": \"b\",\n\t\"c\": [1, 2]\n}",
            "{\n  \"a\": {\n    \"b\": 1\n  }\n}\n",
            "{\r\n    \"a\": \"b\"\r\n}\r\n",
            "{\"a\":\"b\"}",
            "{ \"a\" : \"b\" , \"c\" : 1 }\n",
            "{}",
            "{\n}\n",
            "  {\n\t\"a\": null\n}  \n",
        ] {
            insert_remove_round_trip(src, &tree);
        }
        let with = insert_remove_round_trip("{}", &Tree::Map(vec![]));
        assert_eq!(with, "{\"sops\":{}}");
        let with = insert_remove_round_trip("{\n}\n", &Tree::Map(vec![("v".into(), Tree::Scalar("1".into()))]));
        assert_eq!(with, "{\n\t\"sops\": {\n\t\t\"v\": \"1\"\n\t}\n}\n");
    }

    #[test]
    fn indent_follows_last_member_and_lines_count() {
        let d = doc("{\"a\": 1,\n  \"b\": 2}");
        assert_eq!(d.member_indent, "  ");
        let src = "{\n\t\"a\": 1,\n\t\"sops\": {\n\t\t\"version\": \"3.11.0\"\n\t}\n}\n";
        let d = doc(src);
        assert_eq!(d.metadata.as_ref().unwrap().line, 3);
        assert_eq!(d.leaves[0].line, 2);
        // Many leaves on many lines: line numbers stay right and parsing stays linear.
        let mut big = String::from("{\n");
        for i in 0..100_000 {
            big.push_str(&format!("\t\"k{i}\": [\"v\", {{\"x\": {i}}}],\n"));
        }
        big.push_str("\t\"end\": true\n}\n");
        let t = std::time::Instant::now();
        let d = doc(&big);
        assert!(t.elapsed().as_secs() < 20);
        assert_eq!(d.leaves.len(), 200_001);
        assert_eq!(d.leaves[199_999].line, 100_001);
        assert_eq!(d.aad(&d.leaves[199_999], &big), "k99999:x:");
    }

    #[test]
    fn metadata_not_last() {
        let src = "{\n\t\"sops\": {\"version\": \"3.11.0\"},\n\t\"a\": 1,\n\t\"b\": 2\n}\n";
        let d = doc(src);
        let md = d.metadata.as_ref().unwrap();
        assert_eq!(apply(src, vec![Edit { span: md.span.clone(), text: String::new() }]), "{\n\t\"a\": 1,\n\t\"b\": 2\n}\n");
        assert_eq!(d.member_indent, "\t");
        assert!(d.needs_separator);
        assert_eq!(&src[..d.insert_at], "{\n\t\"sops\": {\"version\": \"3.11.0\"},\n\t\"a\": 1,\n\t\"b\": 2");
        assert_eq!(d.leaves.len(), 2);
        let src = "{\"a\": 1, \"sops\": {\"version\": \"3.11.0\"}, \"b\": 2}";
        let d = doc(src);
        let md = d.metadata.as_ref().unwrap();
        assert_eq!(apply(src, vec![Edit { span: md.span.clone(), text: String::new() }]), "{\"a\": 1, \"b\": 2}");
        assert_eq!(md.tree.get("version").and_then(Tree::as_str), Some("3.11.0"));
    }

    /// Written by `sops encrypt --age <throwaway recipient>` (3.11.0). The data key (from
    /// `age --decrypt` of the `enc` field) is given in hex so each value can be checked
    /// against the AAD this parser computes.
    const SOPS_JSON: &str = r##"{
	"apiVersion": "ENC[AES256_GCM,data:qT0=,iv:P5w/GCLDEBTqDf2N25q/cWZTxgXC7nL0cS7iRgv4IjQ=,tag:/2nB/M5sb8QZqzQwLSz0+g==,type:str]",
	"kind": "ENC[AES256_GCM,data:jBdgpl9R,iv:OFKp8+fvQ5m94XT3DhG6vyrM4L5GQ1QCc/abGK4SXVk=,tag:shtfnQiFThEbN0Pn7wMgOw==,type:str]",
	"n": "ENC[AES256_GCM,data:qA==,iv:ZUGTWRqW4KdXr2sNesVQDdIzVAUAtYidFp5egSMmuMg=,tag:oY0YtyKY7iJtFfxolHkmTw==,type:float]",
	"f": "ENC[AES256_GCM,data:EnLr,iv:VO07/MDKL7C3/y57ziXKM7PBMH1BWU5ytADQEVXM8MQ=,tag:2eaWH5zKSzmVbBq7ws5GUw==,type:float]",
	"big": "ENC[AES256_GCM,data:yInm+A==,iv:g+QiR7pVidE8pzcSS4Mpzo+oexPoJXwe9HSF0rCmloY=,tag:hVgCD9mhcHMUw65x0ciQZw==,type:float]",
	"b": "ENC[AES256_GCM,data:wec0Sw==,iv:YdmKa45KGPgGxvD2h1FfRJ9Y1FCoGRPCbCHiHIR/Gj0=,tag:qGy5G2fdGvr0hEvpU3hERQ==,type:bool]",
	"nul": null,
	"u": "ENC[AES256_GCM,data:UXKjFFS5oLS5FoB755I1MYYGRDiskobU,iv:RubLMzCXoAZCNvbE1c5XrTIb4LLd8+x6TUdvWtDsUiU=,tag:+VT6HOeIE97fa5KrWUXvZw==,type:str]",
	"arr": [
		"ENC[AES256_GCM,data:9w==,iv:fyj1CPzAumFxH8BcROGf8Zqo9Ip90EzbHqh9IOj/t7w=,tag:lBY2KaOVGLGQdKBYKJCGoQ==,type:float]",
		"ENC[AES256_GCM,data:nA==,iv:MLo/LEzOwn+AEoAgTzJcymmBORw72andca9iRHU+QaU=,tag:yAwOC9/pzKbepHc7UNW/Uw==,type:str]",
		{
			"k": "ENC[AES256_GCM,data:GA==,iv:LlVQVh5/JLtfGc9VLKBGwS4hpilsd2p367Vc8eFi8pY=,tag:1RjpBzXCxEl4o5+ZUgalMg==,type:str]",
			"in": {
				"z": "ENC[AES256_GCM,data:GA==,iv:D72wSrk4XvBeb7Vmmulxpdn4Btuectz2q7QGPELoXJ8=,tag:jIftPJjf4jJHY/BVokRvSQ==,type:str]"
			}
		},
		[
			"ENC[AES256_GCM,data:N+5xhpU=,iv:WXpG3Xh/s5h6bAkyVuzaFJsKu13eLQuQuRnNXa8qkoo=,tag:f6uciL4/lgc/frMkmqKD2w==,type:bool]",
			"ENC[AES256_GCM,data:yQ==,iv:qumKV35j1NgCJvK8kFGFEpoFiU3SQwaFe6WUiPEPJy8=,tag:fCAP1J/Pu9CoTLAxBHbJow==,type:float]"
		]
	],
	"obj": {
		"a": {
			"b": "ENC[AES256_GCM,data:Kw==,iv:rhRwAdEs5epspR01pusShG6w/y74V9krJdHEPKnpKJc=,tag:mczS0wHGSlbjqfTtbuiOfw==,type:str]"
		},
		"empty": {},
		"ea": []
	},
	"k\"ey": "ENC[AES256_GCM,data:BQ==,iv:HrhywS+4IbELX+0utgEnfTd1qOACakURPI9ViDN3QeU=,tag:e4nqoJOy0hSbUKsZmHMNfA==,type:str]",
	"es": "",
	"sops": {
		"age": [
			{
				"recipient": "age153zq9fv7ts0nur5jsk95dd8f72njrse0a5nknw5ch9w8m2et3eqsdz9a7d",
				"enc": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBOWGRkTHlmOHRtSFZCQTZV\nVVR2OXZEWEdhV3AxcGx5bm91MjhUS21RT1hrCjhtMHB0cnFjNk5nTXUvb0N5Wi9E\nQWt0b3RMeFl6eVY4UFl4VUVnTC9zb0kKLS0tIElzMVB5V3g3dFQrR05hYk9MT2Fn\nZzE4eU44Z2FwZXAwMUthRklLdGV6RWMK3dcSOM9qKhQ+VkchPBlG3C52zbfrbfPK\nAImn3xwN3QMzIxSxsC1dxGTNKQTCp2GzPm5DD5X6If4d5ZqO/IzPlg==\n-----END AGE ENCRYPTED FILE-----\n"
			}
		],
		"lastmodified": "2026-11-22T15:12:33Z",
		"mac": "ENC[AES256_GCM,data:JTJn8Yc2CXnG89pbxoav16iT+ZOiksJxGT764TKh1mrJeH4x8OyXWSoD3e6wtqf0c2IAVqrptBu00c76YMHx0ICWNCnktPfhkQJYD/Zwymw7d2yji6gzLpxryLlboF5T96Z9zOO4Zsw2iy3mGNSlj4520amwZRwUCv59dXOHjMo=,iv:XxMlKBAGAHpTar21+1Cig7hzJih38I+kfXFiHMc6sNk=,tag:8p2RB0lYzZfHxib/f4hmjw==,type:str]",
		"unencrypted_suffix": "_unencrypted",
		"version": "3.11.0"
	}
}
"##;
    const SOPS_JSON_KEY: &str = r##"dae4dc23da78f50b6058739d4b5e2e05a22055f3f31fb98d26cda115a98c3d6a"##;
    const SOPS_JSON_PLAIN: &str = r##"{
	"apiVersion": "v1",
	"kind": "Secret",
	"n": 1,
	"f": 1.50,
	"big": 1e3,
	"b": true,
	"nul": null,
	"u": "héllo \"q\" \\ \n\t\u0001 <>& \u2028",
	"arr": [1, "x", {"k": "v", "in": {"z": "y"}}, [false, 3]],
	"obj": {"a": {"b": "c"}, "empty": {}, "ea": []},
	"k\"ey": "w",
	"es": ""
}
"##;

    fn hex_key(s: &str) -> crate::crypto::DataKey {
        let s = s.trim();
        let bytes: Vec<u8> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
        crate::crypto::DataKey::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn sops_written_file() {
        use crate::sops::value::EncValue;
        let pf = parse(SOPS_JSON).unwrap();
        let d = &pf.docs[0];
        let md = d.metadata.as_ref().unwrap();
        assert_eq!(d.member_indent, "\t");
        // (a) the metadata re-renders to exactly sops's bytes.
        let rendered = apply(SOPS_JSON, vec![Edit { span: md.span.clone(), text: render_metadata(d, &md.tree, pf.newline) }]);
        assert_eq!(rendered, SOPS_JSON);
        // Removing it leaves the encrypted data with sops's layout.
        let bare = apply(SOPS_JSON, vec![Edit { span: md.span.clone(), text: String::new() }]);
        assert!(bare.ends_with("\"\n}\n"), "{bare}");
        assert!(parse(&bare).unwrap().docs[0].metadata.is_none());
        // (b) every value decrypts under the AAD computed here, to the plaintext's value.
        let key = hex_key(SOPS_JSON_KEY);
        let plain = parse(SOPS_JSON_PLAIN).unwrap();
        let plain = &plain.docs[0];
        let mut n = 0;
        let enc_leaves: Vec<&Leaf> = d.leaves.iter().filter(|l| l.text(SOPS_JSON).starts_with("ENC[")).collect();
        let plain_leaves: Vec<&Leaf> = plain.leaves.iter().filter(|l| !l.text(SOPS_JSON_PLAIN).is_empty()).collect();
        assert_eq!(enc_leaves.len(), plain_leaves.len());
        for (l, p) in enc_leaves.iter().zip(&plain_leaves) {
            let v = EncValue::parse(l.text(SOPS_JSON)).unwrap();
            let aad = d.aad(l, SOPS_JSON);
            assert_eq!(aad, plain.aad(p, SOPS_JSON_PLAIN));
            let pt = v.open_text(&key, aad.as_bytes()).unwrap_or_else(|e| panic!("{aad}: {e}"));
            let want = crate::sops::value::canonical_mac_text(p.ty, p.text(SOPS_JSON_PLAIN)).unwrap();
            assert_eq!(&*pt, &*want, "{aad}");
            assert_eq!(v.ty, p.ty, "{aad}");
            n += 1;
        }
        assert!(n >= 14);
        // The MAC decrypts with the lastmodified string as AAD.
        let lm = md.tree.get("lastmodified").and_then(Tree::as_str).unwrap();
        let mac = EncValue::parse(md.tree.get("mac").and_then(Tree::as_str).unwrap()).unwrap();
        assert_eq!(mac.open_text(&key, lm.as_bytes()).unwrap().len(), 128);
    }

    const SOPS_KEY_GROUPS_JSON: &str = r##"{
	"a": "ENC[AES256_GCM,data:aA==,iv:HHVuf9eKhSo4XAsyooFCkriteTBOFMgOrTAawzmn9Es=,tag:48vh8kfPs1TEXLbl8Bcz4w==,type:str]",
	"c": 1,
	"sops": {
		"shamir_threshold": 2,
		"key_groups": [
			{
				"hc_vault": null,
				"age": [
					{
						"recipient": "age153zq9fv7ts0nur5jsk95dd8f72njrse0a5nknw5ch9w8m2et3eqsdz9a7d",
						"enc": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBhWjFDRVpjVy9aUG5tTHVw\nc1k4cDU5eXJPVlNsRENjcG8zenU5TGdPK1NvCmptN1A3c0pNeWhzS3FMeHAyMC9r\nVWZvYW52VzJYR1ZFb3dSQm1hb1h1TmcKLS0tIGxMRmdLZzNBZnpOSWdJU0V0TzVF\nQTZOeGNRRlBmUmtPRWJxMi9EcCtnWFEKodcQftlUGAH6HXPSNAWBXZ1ch4U+cCc3\nPmlMwGoVT7+d7UqMnPhy51n8itPKcflMr3e6CWpy5yarHDnjIFcVcIc=\n-----END AGE ENCRYPTED FILE-----\n"
					}
				]
			},
			{
				"hc_vault": null,
				"age": [
					{
						"recipient": "age153zq9fv7ts0nur5jsk95dd8f72njrse0a5nknw5ch9w8m2et3eqsdz9a7d",
						"enc": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBuUWhkMExzSHVFeWVNNFVq\nd0dUR21oZ1plb3RlRDhuOS96cldjVzhrRjFBCnVyZ2FvNm5vak1NbmF5TUVKTVZk\neWc4bDJyMzUwUXZXcUh5S25MMlFyQ0EKLS0tIDZ0UC9aSmtDNHM5dlBQRC9mc1Js\nOHJmUmxBOXFaY3Z2MDE5VEVKWFA0SE0K6whCnH1hqm0ERNDIeUoO89i9eAh7ZW/Z\nJZ1TBgYiENopqei60HkEhhTpp0gwPUMfcgw1sh8E1rYKqEp0BGzGzDo=\n-----END AGE ENCRYPTED FILE-----\n"
					},
					{
						"recipient": "age1uxuhdfp9j6n7vqm48qtun7xkrcq8zyq66eqdnt96v9fzt5ahtcyqa0l7w3",
						"enc": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBVMkE4TFRtT1htUEZzTGxm\nZ1gwUVNjZDVQZ3dMcHNERjlTVnQzakE0TGhFCmRCTUNXQWxDWXNQdVZ0eTN4U2NU\nWlBZK1BpZ0xhNHU1RExHZ1dJMXhxdmsKLS0tIEdhbjc5YmR0VHRxZUdDWlNXSWM3\nTDM5Wmo0N1ExbUwzR05xUzVIY1BaaGMKlEWBYVDGtX98Fa3gD6rgNGNsqhdWPQ5P\nSMxyyQuad6kGj9uExYrkwi9gv2bwFRhORNhDQgXQJKIWTSu9QWNeA60=\n-----END AGE ENCRYPTED FILE-----\n"
					}
				]
			}
		],
		"lastmodified": "2026-11-22T15:12:33Z",
		"mac": "ENC[AES256_GCM,data:sglZRAzcHDk5Zmvmg9njQyQ3ztJyHDP1D5BjET4jcVnsfefQsUcOx+xYn8REYPdSukpiSPB28e8xVyYnTRHCgnuCjv3tKqIjuI8GdyMShfdqEaMuV6uQ2yGQ9fl6u6Zu2hURhsqdj3C2oZ0gPFmnHPZmXbJpzQXg2M6EQRUBhCI=,iv:SD5Hpeg4HQkGpp6Ge9f/oasZOdfQy840B1O639g09N8=,tag:cG3sbhW20hVKgB0qo0BvIA==,type:str]",
		"encrypted_regex": "^a$",
		"mac_only_encrypted": true,
		"version": "3.11.0"
	}
}
"##;

    #[test]
    fn sops_key_groups_layout() {
        let pf = parse(SOPS_KEY_GROUPS_JSON).unwrap();
        let d = &pf.docs[0];
        let md = d.metadata.as_ref().unwrap();
        assert_eq!(md.tree.get("shamir_threshold").and_then(Tree::as_str), Some("2"));
        assert_eq!(md.tree.get("mac_only_encrypted").and_then(Tree::as_str), Some("true"));
        let groups = md.tree.get("key_groups").unwrap().as_list();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].get("hc_vault"), Some(&Tree::Null));
        assert_eq!(groups[1].get("age").unwrap().as_list().len(), 2);
        let rendered = apply(SOPS_KEY_GROUPS_JSON, vec![Edit { span: md.span.clone(), text: render_metadata(d, &md.tree, pf.newline) }]);
        assert_eq!(rendered, SOPS_KEY_GROUPS_JSON);
        assert_eq!(d.leaves.len(), 2);
        assert_eq!(d.leaves[1].ty, ValueType::Float);
    }

    /// `sops encrypt` of a binary file: `{"data": ..., "sops": ...}`, tab-indented.
    const SOPS_BINARY: &str = r##"{
	"data": "ENC[AES256_GCM,data:N9htyoW0HMPLhg==,iv:xfCSqodSsKq6m6QHsMV94x7QSMb3MdIdqwjSSKOvsUo=,tag:UQ6esMCAOkE1mknGVrReNg==,type:str]",
	"sops": {
		"age": [
			{
				"recipient": "age153zq9fv7ts0nur5jsk95dd8f72njrse0a5nknw5ch9w8m2et3eqsdz9a7d",
				"enc": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBEOVVrZURqeHowZTBGRm1C\nSHM3N1Z0a0xscUhJTkVpaG1ra2E2bngwbFFRCnlVRGJNK09MT0JOdnc1Z3k5cmRr\ncFQ2TWk3RThZVUtWcEhCdVFndEIvaFkKLS0tIGF3Z3NseGpiR2ZTa1BlOGcycXc0\nWkRHVkc3Q1QwcXFuZWFQQmdQY3RxMjgKEIJoKiNVMrLGCmoRj3+FwbnaKppVOyoj\nFfay3NPKayg8XxZmQnW2pwGILJWX8EwP5Haxy0By2/zL9ovr0C+BiA==\n-----END AGE ENCRYPTED FILE-----\n"
			}
		],
		"lastmodified": "2026-11-22T15:16:43Z",
		"mac": "ENC[AES256_GCM,data:Q9hfx3TpC2oOh+IdBX42tMpBPFO7ryeOI+yzywu/t/AiURyn19uKwSiHF+2xKvYjamHPyiX+r48Ueu2KACdXf9cFV+vlFpapDeAIfHB0wU2bu+3FBQPenNeFDdE02ned3Fnk1jkubXfsG5yCAsYmx2P+WvF69gZ1BIimRbQ6G2o=,iv:J1XYc0EkVYXES7lNVPIiCTInSJOOXvNRTscCoI84qvA=,tag:D9/v6AHe3LP9R67GwcErLw==,type:str]",
		"version": "3.11.0"
	}
}
"##;

    #[test]
    fn write_tree_matches_sops_binary_layout() {
        let pf = parse(SOPS_BINARY).unwrap();
        let d = &pf.docs[0];
        let data = &d.leaves[0];
        assert_eq!(d.aad(data, SOPS_BINARY), "data:");
        let tree =
            Tree::Map(vec![("data".into(), Tree::Scalar(data.text(SOPS_BINARY).to_owned())), ("sops".into(), d.metadata.as_ref().unwrap().tree.clone())]);
        let mut out = String::new();
        write_tree(&tree, 0, &mut out);
        out.push('\n');
        assert_eq!(out, SOPS_BINARY);
    }
}
