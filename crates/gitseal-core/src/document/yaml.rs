//! YAML with byte spans: structure from saphyr's event parser, exact scalar extents and
//! comments from our own scanning, so values are replaced in place and nothing else moves.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::{Document, Format, Leaf, MetadataBlock, ParsedFile, PathEntry, Rendered, Style, SyntaxError, Text, Tree, WalkStep};
use crate::sops::value::ValueType;

/// Where a document's metadata block goes: after its last non-blank line (its trailing
/// comments included), before the next `---`/`...` marker, and after a last block scalar
/// that keeps its trailing blank lines (`|+`).
pub(super) fn insert_point(src: &str, region_start: usize, end_marker: usize, doc: &Document) -> usize {
    let bytes = src.as_bytes();
    let limit = end_marker.clamp(region_start, bytes.len());
    let mut p = limit;
    while p > region_start && bytes[p - 1].is_ascii_whitespace() {
        p -= 1;
    }
    let at = if p == region_start { region_start } else { line_end_after(src, p - 1).min(limit) };
    doc.leaves.iter().map(|l| l.span.end).max().map_or(at, |end| at.max(end))
}

/// Converts saphyr's character indices to byte offsets. Markers arrive in (nearly)
/// increasing order, so a forward-moving cursor keeps this linear.
pub(crate) struct ByteIndex<'a> {
    src: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> ByteIndex<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        ByteIndex { src, ascii: src.is_ascii(), chars: 0, bytes: 0 }
    }

    pub(crate) fn byte(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.src.len());
        }
        if char_index < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        let mut it = self.src[self.bytes..].chars();
        while self.chars < char_index {
            match it.next() {
                Some(c) => {
                    self.bytes += c.len_utf8();
                    self.chars += 1;
                }
                None => break,
            }
        }
        self.bytes
    }
}

#[derive(Debug)]
struct PendingKey {
    text: Text,
    start: usize,
    end: usize,
    line_start: usize,
}

/// Duplicate-key detection keeps 128-bit hashes of the keys rather than the keys, so a
/// mapping with 100,000 entries costs 16 bytes per key.
fn key_hash(state: &std::collections::hash_map::RandomState, key: &str) -> u128 {
    let mut a = state.build_hasher();
    0u8.hash(&mut a);
    key.hash(&mut a);
    let mut b = state.build_hasher();
    1u8.hash(&mut b);
    key.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

#[derive(Debug)]
enum Frame {
    Map { path: u32, key: Option<PendingKey>, seen: HashSet<u128>, coll: usize, flow: bool },
    Seq { path: u32, coll: usize, flow: bool },
}

/// A block or flow collection, for deciding which one a comment belongs to.
#[derive(Debug)]
pub(super) struct Collection {
    pub(super) doc: usize,
    /// From the end of the key it is the value of (or the document start).
    pub(super) region_start: usize,
    /// Where the parser closed it (the next token after it).
    pub(super) end: usize,
    pub(super) indent: usize,
    pub(super) path: u32,
    pub(super) flow: bool,
    /// The collection holding this one (`None` for a document's root).
    pub(super) parent: Option<usize>,
    /// Where its first entry starts.
    pub(super) first: usize,
}

/// An entry of a collection, for rebuilding sops's walk order.
#[derive(Debug)]
struct Entry {
    coll: usize,
    /// Position that orders it among its collection's entries.
    at: usize,
    /// Tie-break at equal positions: a comment goes before the entry on its line.
    rank: u8,
    kind: EntryKind,
}

#[derive(Debug)]
enum EntryKind {
    /// A leaf, by the start of its span.
    Leaf(usize),
    Null,
    Collection(usize),
}

/// A comment found in the source: (document, position of `#`, end of its text, column).
pub(super) type FoundComment = (usize, usize, usize, usize);

/// Builds the `sops` metadata subtree from events.
#[derive(Debug)]
enum TreeFrame {
    Map(Vec<(String, Tree)>, Option<String>),
    List(Vec<Tree>),
}

#[derive(Debug)]
struct Capture {
    stack: Vec<TreeFrame>,
    start: usize,
    line: u32,
    last_end: usize,
}

impl Capture {
    /// Adds a finished value; returns the tree when the capture is complete.
    fn push(&mut self, value: Tree) -> Option<Tree> {
        match self.stack.last_mut() {
            None => Some(value),
            Some(TreeFrame::Map(entries, key)) => {
                match key.take() {
                    Some(k) => entries.push((k, value)),
                    None => {
                        let k = match value {
                            Tree::Scalar(s) => s,
                            _ => String::new(),
                        };
                        *key = Some(k);
                    }
                }
                None
            }
            Some(TreeFrame::List(items)) => {
                items.push(value);
                None
            }
        }
    }
}

struct Parse<'a> {
    src: &'a str,
    idx: ByteIndex<'a>,
    docs: Vec<Document>,
    doc_starts: Vec<usize>,
    stack: Vec<Frame>,
    colls: Vec<Collection>,
    /// Comments are searched in the gaps between tokens, from here on.
    scan_pos: usize,
    /// Comments found: (document, `#` position, end of text, column).
    comments: Vec<(usize, usize, usize, usize)>,
    /// Every value and nested collection, by collection.
    entries: Vec<Entry>,
    hasher: std::collections::hash_map::RandomState,
    prev_end: usize,
    capture: Option<Capture>,
    indent_step: usize,
    doc_empty: bool,
    lines_hint: usize,
}

fn err_at(src: &str, pos: usize, msg: impl Into<String>) -> SyntaxError {
    let (line, col) = super::line_col(src, pos);
    SyntaxError::new(line, col, msg)
}

/// Deeper nesting of block collections than this is refused: every level holds the keys
/// leading to it, so a file nested thousands of levels deep would cost memory quadratic
/// in its depth. Flow collections stop earlier (255 levels, in the YAML parser) and JSON
/// at the same depth.
pub const MAX_DEPTH: usize = 1000;

const BOM: &str = "\u{feff}";

/// Parses a (multi-document) YAML file: the line-based fast path when the file is within
/// its subset, else the full event-based parser (which also reports every error).
///
/// A UTF-8 byte order mark at the start is not part of the document (as in sops, whose
/// YAML reader skips it): the rest is parsed, and every position still counts from the
/// start of `src`, so the mark stays where it is in everything written back.
pub fn parse(src: &str) -> Result<ParsedFile, SyntaxError> {
    if let Some(rest) = src.strip_prefix(BOM) {
        let mut parsed = parse_unmarked(rest)?;
        shift_positions(&mut parsed, BOM.len());
        return Ok(parsed);
    }
    parse_unmarked(src)
}

fn parse_unmarked(src: &str) -> Result<ParsedFile, SyntaxError> {
    if let Some(parsed) = super::yaml_fast::parse(src) {
        return Ok(parsed);
    }
    parse_events(src)
}

/// Moves every byte position of `parsed` `by` bytes on (for a prefix cut off before parsing).
fn shift_positions(parsed: &mut ParsedFile, by: usize) {
    let shift_text = |t: &mut Text| {
        if let Text::Source(a, b) = t {
            *a += by as u32;
            *b += by as u32;
        }
    };
    for doc in &mut parsed.docs {
        doc.insert_at += by;
        if let Some(m) = &mut doc.metadata {
            m.span = m.span.start + by..m.span.end + by;
        }
        for leaf in &mut doc.leaves {
            leaf.span = leaf.span.start + by..leaf.span.end + by;
            shift_text(&mut leaf.text);
            if let Some(k) = &mut leaf.key {
                shift_text(k);
            }
            if let Style::YamlBlock { header, .. } = &mut leaf.style {
                *header = header.start + by as u32..header.end + by as u32;
            }
        }
    }
}

/// Refuses characters YAML does not allow in a file (sops's YAML reader stops at them:
/// "control characters are not allowed"), and the line separators YAML 1.1 readers (sops
/// among them) break lines at but YAML 1.2 readers do not, so both would read different
/// documents. Anything gitseal parsed past such a byte would not be what sops reads.
fn check_characters(src: &str) -> Result<(), SyntaxError> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..);
    let Some((pos, c)) = src.char_indices().find(|&(_, c)| !allowed(c) || matches!(c, '\u{2028}' | '\u{2029}')) else {
        return Ok(());
    };
    let what = match c {
        '\0' => "a NUL byte".to_owned(),
        '\u{85}' | '\u{2028}' | '\u{2029}' => format!("the line separator U+{:04X} (YAML readers disagree on where its lines break)", c as u32),
        _ => format!("the control character U+{:04X}", c as u32),
    };
    Err(err_at(src, pos, format!("{what} is not allowed in YAML; write it escaped inside a double-quoted string (\"\\x..\")")))
}

/// Parses a (multi-document) YAML file with saphyr's event parser.
pub fn parse_events(src: &str) -> Result<ParsedFile, SyntaxError> {
    check_characters(src)?;
    let mut p = Parse {
        src,
        idx: ByteIndex::new(src),
        docs: Vec::new(),
        doc_starts: Vec::new(),
        stack: Vec::new(),
        colls: Vec::new(),
        scan_pos: 0,
        comments: Vec::new(),
        entries: Vec::new(),
        hasher: std::collections::hash_map::RandomState::new(),
        prev_end: 0,
        capture: None,
        indent_step: 0,
        doc_empty: false,
        lines_hint: 0,
    };
    // One leaf per line is the common case: reserving it up front avoids a reallocation
    // that would briefly double the memory of a large file.
    let lines_hint = src.bytes().filter(|&b| b == b'\n').count();
    p.lines_hint = lines_hint;
    let mut parser = Parser::new_from_str(src);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let m = e.marker();
            SyntaxError::new(m.line() as u32, m.col() as u32 + 1, format!("invalid YAML: {}", e.info()))
        })?;
        p.event(event, span)?;
    }
    let newline = if src.contains("\r\n") { "\r\n" } else { "\n" };
    p.attach_comments();
    let indent_step = if p.indent_step == 0 { 2 } else { p.indent_step };
    Ok(ParsedFile { format: Format::Yaml, docs: p.docs, newline, indent_step })
}

impl<'a> Parse<'a> {
    fn span_bytes(&mut self, span: &Span) -> (usize, usize) {
        let a = self.idx.byte(span.start.index());
        let b = self.idx.byte(span.end.index());
        (a, b.max(a))
    }

    fn event(&mut self, event: Event<'a>, span: Span) -> Result<(), SyntaxError> {
        let (start, end) = self.span_bytes(&span);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                self.check_directives(start)?;
                let line = span.start.line() as u32;
                let mut doc = Document::new(line);
                if self.docs.is_empty() {
                    doc.leaves.reserve(self.lines_hint);
                }
                self.docs.push(doc);
                self.doc_starts.push(if self.docs.len() == 1 { 0 } else { start });
                self.doc_empty = true;
                self.prev_end = end;
            }
            Event::DocumentEnd => {
                self.scan_comments(start);
                self.finish_document(start);
            }
            Event::Alias(_) => {
                return Err(err_at(self.src, start, "YAML aliases (*name) are not supported in files gitseal encrypts"));
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                self.start_collection(is_map, start, span)?;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.end_collection(end);
            }
            Event::Scalar(value, style, _anchor, tag) => {
                // A core-schema tag by its name (`int` for `!!int`); any other tag as "",
                // which reads as a string, as sops reads it.
                let tag_suffix = tag.as_ref().map(|t| if t.is_yaml_core_schema() { t.suffix.clone() } else { String::new() });
                self.scalar(value.into_owned(), style, tag_suffix, start, end, span)?;
            }
        }
        Ok(())
    }

    /// Directives stand on lines of their own before a document's `---`. sops's YAML
    /// reader takes only `%YAML 1.1` and stops at any other version; a file it cannot
    /// read is refused here rather than written.
    fn check_directives(&self, doc_start: usize) -> Result<(), SyntaxError> {
        let from = self.prev_end.min(doc_start);
        let mut ls = from;
        for line in self.src[from..doc_start].split_inclusive('\n') {
            if let Some(rest) = line.strip_prefix("%YAML") {
                let version = rest.split('#').next().unwrap_or("").trim();
                if version != "1.1" {
                    return Err(err_at(
                        self.src,
                        ls,
                        format!("the directive %YAML {version} cannot be read by sops (it reads only %YAML 1.1); remove the line"),
                    ));
                }
            }
            ls += line.len();
        }
        Ok(())
    }

    fn start_collection(&mut self, is_map: bool, start: usize, span: Span) -> Result<(), SyntaxError> {
        let flow = matches!(self.src.as_bytes().get(start), Some(b'{') | Some(b'['));
        if self.capture.is_none() {
            self.scan_comments(start);
        }
        if let Some(cap) = &mut self.capture {
            if cap.stack.len() >= MAX_DEPTH {
                return Err(err_at(self.src, start, format!("collections nested more than {MAX_DEPTH} levels deep are not supported")));
            }
            cap.stack.push(if is_map { TreeFrame::Map(Vec::new(), None) } else { TreeFrame::List(Vec::new()) });
            return Ok(());
        }
        if self.stack.is_empty() {
            if !is_map {
                return Err(err_at(self.src, start, "the top level of a document must be a mapping"));
            }
            self.doc_empty = false;
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(err_at(self.src, start, format!("collections nested more than {MAX_DEPTH} levels deep are not supported")));
        }
        // A top-level `sops` key starts the metadata block.
        if self.stack.len() == 1 {
            if let Some(Frame::Map { key: Some(k), .. }) = self.stack.last() {
                if k.text.get(self.src) == "sops" {
                    let (line_start, line) = (k.line_start, span.start.line() as u32);
                    self.capture = Some(Capture {
                        stack: vec![if is_map { TreeFrame::Map(Vec::new(), None) } else { TreeFrame::List(Vec::new()) }],
                        start: line_start,
                        line,
                        last_end: start,
                    });
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = None;
                    }
                    return Ok(());
                }
            }
        }
        let doc = self.docs.len() - 1;
        let col = span.start.col();
        let (path, region_start, parent, at) = match self.stack.last_mut() {
            None => (0, self.doc_starts[doc], None, start),
            Some(Frame::Map { path, key, coll, .. }) => {
                let Some(k) = key.take() else {
                    return Err(err_at(self.src, start, "a collection as a mapping key is not supported; use a string key"));
                };
                let parent = *path;
                let d = &mut self.docs[doc];
                let mut keys = d.paths[parent as usize].keys.clone();
                keys.push(k.text.get(self.src).into());
                d.paths.push(PathEntry { keys });
                ((d.paths.len() - 1) as u32, k.end, Some(*coll), k.start)
            }
            Some(Frame::Seq { path, coll, .. }) => (*path, self.prev_end, Some(*coll), start),
        };
        // A block sequence's marker sits after its first `- `; its indentation is the dash's.
        let indent = if !is_map && !flow { dash_col(self.src, start).unwrap_or(col) } else { col };
        if is_map && !flow && self.stack.len() == 1 && col > 0 && (self.indent_step == 0 || col < self.indent_step) {
            self.indent_step = col;
        }
        if parent.is_none() && is_map && !flow && col > 0 {
            // An indented top-level mapping: the `sops` key must line up with its keys.
            self.docs[doc].member_indent = " ".repeat(col);
        }
        self.colls.push(Collection { doc, region_start, end: usize::MAX, indent, path, flow, parent, first: start });
        let coll = self.colls.len() - 1;
        if let Some(p) = parent {
            self.entries.push(Entry { coll: p, at, rank: 1, kind: EntryKind::Collection(coll) });
        }
        self.stack.push(if is_map { Frame::Map { path, key: None, seen: HashSet::new(), coll, flow } } else { Frame::Seq { path, coll, flow } });
        self.prev_end = start;
        Ok(())
    }

    fn end_collection(&mut self, end: usize) {
        if let Some(cap) = &mut self.capture {
            let value = match cap.stack.pop() {
                Some(TreeFrame::Map(entries, _)) => Tree::Map(entries),
                Some(TreeFrame::List(items)) => Tree::List(items),
                None => Tree::Null,
            };
            if cap.stack.is_empty() {
                let cap = self.capture.take().unwrap();
                self.finish_capture(cap, value);
            } else if let Some(done) = cap.push(value) {
                let cap = self.capture.take().unwrap();
                self.finish_capture(cap, done);
            }
            return;
        }
        if let Some(frame) = self.stack.pop() {
            let coll = match frame {
                Frame::Map { coll, .. } | Frame::Seq { coll, .. } => coll,
            };
            self.colls[coll].end = end;
        }
        self.prev_end = end;
    }

    fn finish_capture(&mut self, cap: Capture, tree: Tree) {
        let end = line_end_after(self.src, cap.last_end);
        self.scan_pos = self.scan_pos.max(end);
        let span = cap.start..end;
        let doc = self.docs.last_mut().unwrap();
        doc.metadata = Some(MetadataBlock { tree, span, line: cap.line });
        self.prev_end = end;
    }

    #[allow(clippy::too_many_arguments)]
    fn scalar(&mut self, text: String, style: ScalarStyle, tag: Option<String>, start: usize, parser_end: usize, span: Span) -> Result<(), SyntaxError> {
        let ext = scalar_extent(self.src, style, start, parser_end, self.prev_end)
            .ok_or_else(|| err_at(self.src, start, "could not locate this scalar in the source"))?;
        if self.capture.is_none() {
            self.scan_comments(ext.header.as_ref().map_or(ext.span.start, |h| h.start));
        }
        self.scan_pos = self.scan_pos.max(ext.span.end);
        self.prev_end = ext.span.end;
        // YAML 1.2 (8.1.1.2): without keep chomping, a block scalar whose lines are all
        // empty is "" (sops's reader agrees); the event parser reads one such line at the
        // end of a document as "\n", which would be encrypted where no value stands.
        // With keep chomping such a block is one or more line breaks, and a ciphertext has
        // no column to stand in: refused, rather than written where no reader finds it.
        let text = match (&style, &ext.header) {
            (ScalarStyle::Literal | ScalarStyle::Folded, Some(h)) if self.src[ext.span.clone()].bytes().all(|c| matches!(c, b' ' | b'\n' | b'\r')) => {
                if self.src[h.clone()].contains('+') && !text.is_empty() {
                    return Err(err_at(
                        self.src,
                        h.start,
                        "a block scalar with keep chomping (`|+`, `>+`) that holds only empty lines cannot be encrypted in place; write its value as a quoted string (\"\\n\")",
                    ));
                }
                String::new()
            }
            _ => text,
        };

        if let Some(cap) = &mut self.capture {
            cap.last_end = ext.span.end.saturating_sub(1).max(ext.span.start);
            let value = if style == ScalarStyle::Plain && is_null(&text) { Tree::Null } else { Tree::Scalar(text) };
            if let Some(done) = cap.push(value) {
                let cap = self.capture.take().unwrap();
                self.finish_capture(cap, done);
            }
            return Ok(());
        }

        let line = span.start.line() as u32;
        if self.stack.is_empty() {
            // An empty document (the parser reads it as a null of no width), such as the
            // one a trailing `---` opens: sops reads it as an empty mapping.
            if style == ScalarStyle::Plain && (text.is_empty() || (text == "~" && start == parser_end)) {
                return Ok(());
            }
            return Err(err_at(self.src, start, "the top level of a document must be a mapping"));
        }
        let depth = self.stack.len();
        let doc_idx = self.docs.len() - 1;
        let (path, key, flow, coll, at) = match self.stack.last_mut().unwrap() {
            Frame::Map { path, key, seen, flow, coll } => {
                if key.is_none() {
                    if style == ScalarStyle::Plain && tag.is_none() && (is_null(&text) || plain_type(&text) != ValueType::Str) {
                        return Err(err_at(self.src, start, format!("mapping key {text:?} is not a string (sops cannot read such a file); quote it")));
                    }
                    if !seen.insert(key_hash(&self.hasher, &text)) {
                        return Err(err_at(self.src, start, format!("duplicate key {text:?}")));
                    }
                    let line_start = line_start_of(self.src, ext.span.start);
                    let text = Text::from_source(self.src, ext.span.clone(), &text);
                    *key = Some(PendingKey { text, start: ext.span.start, end: ext.span.end, line_start });
                    return Ok(());
                }
                let k = key.take().unwrap();
                (*path, Some(k.text), *flow, *coll, k.start)
            }
            Frame::Seq { path, flow, coll } => (*path, None, *flow, *coll, ext.header.as_ref().map_or(ext.span.start, |h| h.start)),
        };

        if depth == 1 {
            let d = &mut self.docs[doc_idx];
            match key.as_ref().map(|k| k.get(self.src)) {
                Some("apiVersion") => d.has_api_version = true,
                Some("kind") => d.k8s_kind = Some(text.clone()),
                _ => {}
            }
        }
        if tag.as_deref() == Some("binary") {
            return Err(err_at(self.src, start, "YAML !!binary values are not supported (sops reads them differently); store base64 text instead"));
        }
        // Where the value starts in the file: at its tag when the tag names the type (the
        // `type:` of its ciphertext carries it then, and sops cannot read a tag such as
        // `!!int` on an `ENC[...]` string). `!!str` and other tags stay where they are:
        // sops reads `!!str ENC[...]` and `!custom ENC[...]` as the strings they tag.
        let mut value_start = ext.span.start;
        if let Some(t) = tag.as_deref().filter(|t| !t.is_empty()) {
            let at = ext.header.as_ref().map_or(start, |h| h.start);
            if let Some(tag_start) = self.check_tag(t, &text, style, at, ext.span.start)? {
                value_start = tag_start;
            }
        }
        let at = if value_start < ext.span.start && matches!(self.stack.last(), Some(Frame::Seq { .. })) { value_start } else { at };
        let ty = match resolve_type(&text, style, tag.as_deref()) {
            Some(ty) => ty,
            None => {
                // null: neither encrypted nor part of the MAC, but an entry all the same
                self.entries.push(Entry { coll, at, rank: 1, kind: EntryKind::Null });
                return Ok(());
            }
        };
        self.entries.push(Entry { coll, at, rank: 1, kind: EntryKind::Leaf(value_start) });
        let indent = (key_indent(self.src, ext.span.start) + self.indent_step.max(2)) as u32;
        let style = match style {
            ScalarStyle::Plain => Style::YamlPlain { indent: if flow { u32::MAX } else { indent } },
            ScalarStyle::SingleQuoted => Style::YamlSingle { indent: if flow { u32::MAX } else { indent } },
            ScalarStyle::DoubleQuoted => Style::YamlDouble { indent: if flow { u32::MAX } else { indent } },
            ScalarStyle::Literal | ScalarStyle::Folded => Style::YamlBlock {
                header: ext.header.clone().map_or(ext.span.start as u32..ext.span.start as u32, |h| h.start as u32..h.end as u32),
                indent: ext.block_indent as u32,
                folded: style == ScalarStyle::Folded,
                ends_with_newline: self.src[..ext.span.end].ends_with('\n'),
            },
        };
        let text = if style_is_plain(&style) { Text::from_source(self.src, ext.span.clone(), &text) } else { Text::owned(text) };
        self.docs[doc_idx].leaves.push(Leaf { parent: path, line, ty, key, text, span: value_start..ext.span.end, style });
        Ok(())
    }

    /// Checks a core-schema tag on a value (`tag` is its name: `int` for `!!int`) and
    /// returns where the tag starts when it names the type (the value's bytes then start
    /// there: the encrypted value's `type:` carries the type instead); `None` for a tag
    /// that stays.
    fn check_tag(&self, tag: &str, text: &str, style: ScalarStyle, start: usize, scalar_start: usize) -> Result<Option<usize>, SyntaxError> {
        let fits = match tag {
            "str" | "null" => return Ok(None),
            "int" => crate::sops::value::parse_go_int(text).is_some(),
            "float" => plain_type(text) != ValueType::Str && plain_type(text) != ValueType::Bool && finite_or_special(text),
            "bool" => plain_type(text) == ValueType::Bool,
            _ => return Err(err_at(self.src, start, format!("the YAML tag !!{tag} is not supported on a value (sops cannot read it); remove the tag"))),
        };
        if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
            return Err(err_at(self.src, start, format!("a block scalar tagged !!{tag} is not supported; write the value on the key's line")));
        }
        if !fits {
            return Err(err_at(
                self.src,
                start,
                format!("the value tagged !!{tag} does not read as one (sops cannot read it); fix the value or remove the tag"),
            ));
        }
        // The tag is the token before the scalar (an anchor may stand between them).
        let b = self.src.as_bytes();
        let mut p = scalar_start;
        loop {
            while p > 0 && b[p - 1].is_ascii_whitespace() {
                p -= 1;
            }
            let token_end = p;
            // In a flow collection the tag may follow `[`, `{` or `,` directly.
            while p > 0 && !b[p - 1].is_ascii_whitespace() && !matches!(b[p - 1], b'[' | b'{' | b',') {
                p -= 1;
            }
            match b.get(p) {
                Some(b'!') => return Ok(Some(p)),
                Some(b'&') if p < token_end => continue,
                _ => return Err(err_at(self.src, start, format!("could not locate the !!{tag} tag of this value; remove the tag"))),
            }
        }
    }

    fn finish_document(&mut self, end_marker: usize) {
        let Some(doc) = self.docs.last_mut() else { return };
        let region_start = *self.doc_starts.last().unwrap();
        doc.insert_at = insert_point(self.src, region_start, end_marker, doc);
        if self.doc_empty && doc.leaves.is_empty() && doc.metadata.is_none() {
            self.docs.pop();
            self.doc_starts.pop();
        }
    }

    /// Records the `#` comments between the last token and `until`.
    fn scan_comments(&mut self, until: usize) {
        let bytes = self.src.as_bytes();
        let until = until.min(bytes.len());
        let mut i = self.scan_pos;
        let doc = self.docs.len().saturating_sub(1);
        while i < until {
            let Some(off) = memchr_hash(&bytes[i..until]) else { break };
            let h = i + off;
            if h == 0 || matches!(bytes[h - 1], b' ' | b'\t' | b'\n' | b'\r') {
                let mut e = h;
                while e < bytes.len() && bytes[e] != b'\n' {
                    e += 1;
                }
                let text_end = if e > h && bytes[e - 1] == b'\r' { e - 1 } else { e };
                let col = h - line_start_of(self.src, h);
                self.comments.push((doc, h, text_end, col));
                i = e;
            } else {
                i = h + 1;
            }
        }
        self.scan_pos = self.scan_pos.max(until);
    }

    /// Adds the comments found as leaves of the collection each sits in, and records the
    /// order sops walks each document in.
    ///
    /// A comment on a line of its own belongs to the innermost collection that encloses
    /// it and is indented no deeper than it. A comment after an entry on the same line
    /// (`key: value # note`, `key: # note` above a nested block) belongs, as go-yaml
    /// reads it, to the collection holding that entry, and sops places it before the
    /// entry.
    fn attach_comments(&mut self) {
        if self.docs.is_empty() {
            return;
        }
        self.scan_comments(self.src.len());
        if self.comments.is_empty() {
            return;
        }
        let comments = std::mem::take(&mut self.comments);
        let entries = &mut self.entries;
        attach_comments(self.src, &mut self.docs, &self.colls, comments, |coll, at, leaf_start| {
            entries.push(Entry { coll, at, rank: 0, kind: EntryKind::Leaf(leaf_start) });
        });
        self.build_walks();
    }

    /// Lays out each document's entries in sops's walk order ([`Document::walk`]).
    fn build_walks(&mut self) {
        let mut children: Vec<Vec<Entry>> = (0..self.colls.len()).map(|_| Vec::new()).collect();
        for e in std::mem::take(&mut self.entries) {
            children[e.coll].push(e);
        }
        for c in &mut children {
            c.sort_by_key(|e| (e.at, e.rank));
        }
        for (i, root) in self.colls.iter().enumerate() {
            if root.parent.is_some() {
                continue;
            }
            let doc = &mut self.docs[root.doc];
            if !doc.leaves.iter().any(|l| l.ty == ValueType::Comment) {
                continue;
            }
            let mut walk = Vec::with_capacity(doc.leaves.len() + 8);
            // Depth-first, without recursion: deep documents must not exhaust the stack.
            let mut stack: Vec<(usize, usize)> = vec![(i, 0)];
            while let Some((coll, next)) = stack.pop() {
                let Some(e) = children[coll].get(next) else {
                    if !stack.is_empty() {
                        walk.push(WalkStep::Exit);
                    }
                    continue;
                };
                stack.push((coll, next + 1));
                match e.kind {
                    EntryKind::Leaf(start) => {
                        if let Ok(idx) = doc.leaves.binary_search_by_key(&start, |l| l.span.start) {
                            walk.push(WalkStep::Leaf(idx as u32));
                        }
                    }
                    EntryKind::Null => walk.push(WalkStep::Null),
                    EntryKind::Collection(c) => {
                        walk.push(WalkStep::Enter);
                        stack.push((c, 0));
                    }
                }
            }
            doc.walk = walk;
        }
    }
}

pub(super) fn style_is_plain(style: &Style) -> bool {
    matches!(style, Style::YamlPlain { .. })
}

fn memchr_hash(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == b'#')
}

/// Where a scalar sits in the source.
pub(super) struct Extent {
    pub(super) span: Range<usize>,
    pub(super) header: Option<Range<usize>>,
    pub(super) block_indent: usize,
}

pub(super) fn scalar_extent(src: &str, style: ScalarStyle, start: usize, parser_end: usize, prev_end: usize) -> Option<Extent> {
    let b = src.as_bytes();
    match style {
        ScalarStyle::Plain => Some(Extent { span: start..parser_end.max(start), header: None, block_indent: 0 }),
        ScalarStyle::DoubleQuoted => {
            if b.get(start) != Some(&b'"') {
                return None;
            }
            let mut i = start + 1;
            while i < b.len() {
                match b[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(Extent { span: start..i + 1, header: None, block_indent: 0 }),
                    _ => i += 1,
                }
            }
            None
        }
        ScalarStyle::SingleQuoted => {
            if b.get(start) != Some(&b'\'') {
                return None;
            }
            let mut i = start + 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some(Extent { span: start..i + 1, header: None, block_indent: 0 });
                }
                i += 1;
            }
            None
        }
        ScalarStyle::Literal | ScalarStyle::Folded => {
            // The indicator is the first `|`/`>` after the previous token, outside comments.
            let mut i = prev_end.min(start);
            let header_start = loop {
                if i >= b.len() {
                    return None;
                }
                match b[i] {
                    b'|' | b'>' => break i,
                    b'#' if i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'\n') => {
                        while i < b.len() && b[i] != b'\n' {
                            i += 1;
                        }
                    }
                    _ => i += 1,
                }
            };
            let mut h = header_start + 1;
            let mut explicit: Option<usize> = None;
            while h < b.len() && matches!(b[h], b'0'..=b'9' | b'+' | b'-') {
                if b[h].is_ascii_digit() {
                    explicit = Some((b[h] - b'0') as usize);
                }
                h += 1;
            }
            let keep = src[header_start..h].contains('+');
            let content_start = line_end_after(src, header_start);
            // Content indentation: explicit, else the first non-blank line's, provided it
            // stands deeper than the node holding the block (a line that does not is the
            // next entry, and the block holds only empty lines).
            let indent = match explicit {
                Some(_) => col_of(src, start.max(content_start)),
                None => {
                    let parent = holder_column(b, header_start);
                    let mut p = content_start;
                    let mut found = None;
                    while p < b.len() {
                        let ls = p;
                        while p < b.len() && b[p] == b' ' {
                            p += 1;
                        }
                        if p < b.len() && b[p] != b'\n' && b[p] != b'\r' {
                            found = (parent.is_none_or(|n| p - ls > n)).then_some(p - ls);
                            break;
                        }
                        p = line_end_after(src, p);
                    }
                    found.unwrap_or(0)
                }
            };
            let mut p = content_start;
            let mut content_end = content_start;
            while p < b.len() {
                let ls = p;
                let mut q = p;
                while q < b.len() && b[q] == b' ' {
                    q += 1;
                }
                let blank = q >= b.len() || b[q] == b'\n' || b[q] == b'\r';
                if !blank && (q - ls < indent || indent == 0) {
                    break;
                }
                p = line_end_after(src, ls);
                if !blank || keep {
                    content_end = p;
                }
            }
            Some(Extent { span: content_start..content_end, header: Some(header_start..h), block_indent: indent })
        }
    }
}

/// The column of the node a block scalar header at `header` belongs to: the key of
/// `key: |` (after any `- ` entries), or the last `-` of `- |`. `None` when the header
/// line has another shape (a header on a line of its own, a flow context).
fn holder_column(b: &[u8], header: usize) -> Option<usize> {
    let line_start = b[..header].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    let mut i = line_start;
    let mut last_dash = None;
    loop {
        while i < header && b[i] == b' ' {
            i += 1;
        }
        if i + 1 < header && b[i] == b'-' && b[i + 1] == b' ' {
            last_dash = Some(i - line_start);
            i += 1;
            continue;
        }
        break;
    }
    if i == header {
        return last_dash;
    }
    // `key: |`: the key starts at i (quoted keys included); a flow collection is not ours.
    (!matches!(b[i], b'{' | b'[')).then_some(i - line_start)
}

/// The byte after the end of the line containing `pos` (after its `\n`), or EOF.
pub(super) fn line_end_after(src: &str, pos: usize) -> usize {
    let b = src.as_bytes();
    let mut i = pos.min(b.len());
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    (i + 1).min(b.len())
}

/// Adds comments as leaves of the collection each sits in (see `Parse::attach_comments`
/// for the rule), then sorts each document's leaves. `placed(collection, at, start)`
/// hears where each comment stands among its collection's entries (`at`) and where its
/// leaf starts, for sops's walk order.
pub(super) fn attach_comments(
    src: &str,
    docs: &mut [Document],
    colls: &[Collection],
    comments: Vec<FoundComment>,
    mut placed: impl FnMut(usize, usize, usize),
) {
    if docs.is_empty() || comments.is_empty() {
        return;
    }
    let bytes = src.as_bytes();
    let mut line = 1u32;
    let mut line_pos = 0usize;
    for (doc, h, text_end, col) in comments {
        line += bytes[line_pos..h].iter().filter(|&&b| b == b'\n').count() as u32;
        line_pos = h;
        let doc = doc.min(docs.len() - 1);
        let ls = line_start_of(src, h);
        let trailing = bytes[ls..h].iter().any(|b| !b.is_ascii_whitespace());
        let owner = colls
            .iter()
            .enumerate()
            .filter(|(_, c)| c.doc == doc && c.region_start <= h && h <= c.end && (c.flow || c.indent <= col))
            .filter(|(_, c)| !trailing || c.first < h)
            .max_by_key(|(_, c)| c.region_start)
            .map(|(i, _)| i)
            .or_else(|| colls.iter().position(|c| c.doc == doc && c.parent.is_none()));
        if let Some(coll) = owner {
            let at = if trailing { ls.max(colls[coll].first.min(h)) } else { h };
            placed(coll, at, h + 1);
        }
        docs[doc].leaves.push(Leaf {
            parent: owner.map_or(0, |c| colls[c].path),
            line,
            ty: ValueType::Comment,
            key: None,
            text: Text::Source((h + 1) as u32, text_end as u32),
            span: h + 1..text_end,
            style: Style::Comment,
        });
    }
    for d in docs.iter_mut() {
        d.leaves.sort_by_key(|l| l.span.start);
    }
}

pub(super) fn line_start_of(src: &str, pos: usize) -> usize {
    src.as_bytes()[..pos.min(src.len())].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

fn col_of(src: &str, pos: usize) -> usize {
    pos - line_start_of(src, pos)
}

/// Indentation of the line holding `pos`, counting a sequence dash as indentation.
pub(super) fn key_indent(src: &str, pos: usize) -> usize {
    let ls = line_start_of(src, pos);
    let b = src.as_bytes();
    let mut i = ls;
    while i < b.len() && (b[i] == b' ' || ((b[i] == b'-') && b.get(i + 1) == Some(&b' '))) {
        i += 1;
    }
    i - ls
}

pub(super) fn dash_col(src: &str, pos: usize) -> Option<usize> {
    let ls = line_start_of(src, pos);
    src.as_bytes()[ls..pos].iter().rposition(|&b| b == b'-')
}

pub(super) fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// The type go-yaml v3 (and so sops) gives a scalar; `None` for null.
pub(super) fn resolve_type(text: &str, style: ScalarStyle, tag: Option<&str>) -> Option<ValueType> {
    if let Some(t) = tag {
        return Some(match t {
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "null" => return None,
            _ => ValueType::Str,
        });
    }
    if style != ScalarStyle::Plain {
        return Some(ValueType::Str);
    }
    if is_null(text) {
        return None;
    }
    Some(plain_type(text))
}

/// Whether a float's spelling reads as a finite number or as one of YAML's infinities
/// or not-a-number: a decimal that overflows (`1e400`) is not a float to sops.
fn finite_or_special(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.trim_start_matches(['+', '-']).starts_with('.') && (lower.ends_with("inf") || lower.ends_with("nan")) || text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The YAML 1.2 core-schema type of a plain scalar, as go-yaml v3 resolves it.
pub(crate) fn plain_type(text: &str) -> ValueType {
    match text {
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return ValueType::Bool,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN" => return ValueType::Float,
        _ => {}
    }
    if crate::sops::value::parse_go_int(text).is_some() {
        return ValueType::Int;
    }
    // A decimal beyond the range of a float (`1e400`) stays a string, as go-yaml reads it.
    if crate::sops::value::is_decimal_float(text) && finite_or_special(text) {
        return ValueType::Float;
    }
    ValueType::Str
}

/// Whether `s` is a YAML 1.1 timestamp (`2026-11-01`, `2026-11-01T10:00:00Z`,
/// `2001-12-14 21:59:43.10 -5`): YAML 1.1 readers, kubectl among them, take those for
/// times, and sops types them `time`, so a string that looks like one is quoted.
fn is_yaml11_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit);
    if !(digits(0, 4) && b.get(4) == Some(&b'-')) {
        return false;
    }
    // year-month-day, month and day of one or two digits
    let mut i = 5;
    for last in [false, true] {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        if i == start {
            return false;
        }
        if !last {
            if b.get(i) != Some(&b'-') {
                return false;
            }
            i += 1;
        }
    }
    // Anything after the date (a time, a zone) is left to the reader: a date followed by
    // `T` or blanks and a digit is treated as a timestamp.
    i == b.len() || (matches!(b[i], b'T' | b't' | b' ' | b'\t') && b[i..].iter().any(u8::is_ascii_digit))
}

/// Whether `s` is an integer literal in one of the radix spellings YAML 1.1 or 1.2
/// readers know (`0x1F`, `0o17`, `0b101`, with a sign and `_` separators).
fn is_radix_int(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (digits, ok): (&str, fn(u8) -> bool) = if let Some(d) = t.strip_prefix("0x") {
        (d, |c| c.is_ascii_hexdigit())
    } else if let Some(d) = t.strip_prefix("0o") {
        (d, |c| matches!(c, b'0'..=b'7'))
    } else if let Some(d) = t.strip_prefix("0b") {
        (d, |c| matches!(c, b'0' | b'1'))
    } else {
        return false;
    };
    !digits.is_empty() && digits.bytes().all(|c| c == b'_' || ok(c))
}

/// Whether `s` can be written as a plain scalar and read back as the same string.
fn plain_safe(s: &str, flow: bool) -> bool {
    if s.is_empty() || s != s.trim() || s.contains(needs_escape) {
        return false;
    }
    // A tab inside a plain scalar is content; after `:` or before `#` it would end it.
    if s.contains(":\t") || s.contains("\t#") {
        return false;
    }
    let first = s.as_bytes()[0];
    if b"-?:,[]{}#&*!|>'\"%@`".contains(&first) {
        // `-`, `?`, `:` may start a plain scalar when a non-space follows, but quoting is
        // never wrong and rarely seen in secrets.
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    if is_null(s) || plain_type(s) != ValueType::Str {
        return false;
    }
    // YAML 1.1 readers (kubectl among them) take these for booleans or numbers.
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "on" | "off") {
        return false;
    }
    if is_radix_int(s) || is_yaml11_timestamp(s) || s == "<<" || s == "=" {
        return false;
    }
    // A decimal beyond the range of a float (`1e400`) is a string to every reader.
    if crate::sops::value::is_decimal_float(s) && !finite_or_special(s) {
        return true;
    }
    let numberish = s.trim_start_matches(['+', '-']);
    if numberish.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'_' | b'.' | b':' | b'e' | b'E' | b'+' | b'-'))
        && numberish.bytes().next().is_some_and(|c| c.is_ascii_digit() || c == b'.')
    {
        return false;
    }
    true
}

/// Whether `c` can only be written escaped, in a double-quoted string: YAML does not
/// allow it raw in a file, or YAML 1.1 and 1.2 readers break lines at it differently.
fn needs_escape(c: char) -> bool {
    (c < ' ' && c != '\t') || ('\u{7f}'..='\u{9f}').contains(&c) || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}')
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            // Characters a YAML file may not hold raw (or that readers disagree on).
            '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A block scalar body for `text`: its chomping indicator and content lines.
fn block_body(text: &str, indent: usize, newline: &str) -> Option<(char, String)> {
    let chomp = if text.ends_with("\n\n") || (text == "\n") {
        '+'
    } else if text.ends_with('\n') {
        ' '
    } else {
        '-'
    };
    let body = text.strip_suffix('\n').unwrap_or(text);
    let lines: Vec<&str> = body.split('\n').collect();
    // A first line starting with a space would need an indentation indicator; tabs and
    // carriage returns inside lines are not representable: use quotes instead.
    if lines.first().is_some_and(|l| l.starts_with(' ')) || text.contains('\t') || body.contains(|c| c != '\n' && needs_escape(c)) {
        return None;
    }
    let pad = " ".repeat(indent);
    let mut out = String::with_capacity(text.len() + lines.len() * (indent + 1));
    for line in lines {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push_str(newline);
    }
    Some((chomp, out))
}

fn chomp_str(c: char) -> &'static str {
    match c {
        '+' => "+",
        '-' => "-",
        _ => "",
    }
}

/// Writes a value in the leaf's style.
pub(crate) fn render_value(file: &ParsedFile, leaf: &Leaf, ty: ValueType, text: &str) -> Rendered {
    let nl = file.newline;
    // sops stores booleans as Go prints them; YAML writes them in lower case.
    // Floats that Go spells `+Inf`/`NaN` are written as YAML spells them: YAML reads
    // `+Inf` as a string.
    let text = match (ty, text) {
        (ValueType::Bool, "True") => "true",
        (ValueType::Bool, "False") => "false",
        (ValueType::Float, "+Inf" | "Inf") => ".inf",
        (ValueType::Float, "-Inf") => "-.inf",
        (ValueType::Float, "NaN") => ".nan",
        _ => text,
    };
    let is_str = matches!(ty, ValueType::Str | ValueType::Bytes);
    match &leaf.style {
        Style::Comment => Rendered::plain(text.to_owned()),
        Style::YamlPlain { indent } => {
            let flow = *indent == u32::MAX;
            let indent = &(*indent as usize);
            if flow && text.starts_with("ENC[") {
                // A plain scalar in a flow collection cannot hold `ENC[...,...]`; single
                // quotes carry it, and tell decryption to write the value plain again.
                Rendered::plain(single_quoted(text))
            } else if !is_str || plain_safe(text, flow) || (!flow && text.starts_with("ENC[") && !text.contains(' ')) {
                Rendered::plain(text.to_owned())
            } else if !flow && text.contains('\n') {
                match block_body(text, *indent, nl) {
                    Some((chomp, body)) => {
                        let body = body.strip_suffix(nl).unwrap_or(&body).to_owned();
                        Rendered::plain(format!("|{}{nl}{body}", chomp_str(chomp)))
                    }
                    None => Rendered::plain(double_quoted(text)),
                }
            } else {
                Rendered::plain(double_quoted(text))
            }
        }
        Style::YamlSingle { indent } => {
            let flow = *indent == u32::MAX;
            if !is_str || (flow && !text.starts_with("ENC[") && plain_safe(text, true)) {
                Rendered::plain(text.to_owned())
            } else if text.contains(needs_escape) || text.contains('\t') {
                Rendered::plain(double_quoted(text))
            } else {
                Rendered::plain(single_quoted(text))
            }
        }
        Style::YamlDouble { .. } => {
            if is_str {
                Rendered::plain(double_quoted(text))
            } else {
                Rendered::plain(text.to_owned())
            }
        }
        Style::YamlBlock { header, indent, folded, ends_with_newline } => {
            let indent = (*indent as usize).max(1);
            if !is_str {
                return Rendered { value: String::new(), header: Some(text.to_owned()) };
            }
            if text.starts_with("ENC[") && !text.contains('\n') {
                // Ciphertext keeps the block's header; the value reads as `ENC[...]` plus
                // the newline the header's chomping keeps, which sops accepts.
                let end = if *ends_with_newline { nl } else { "" };
                return Rendered::plain(format!("{}{}{end}", " ".repeat(indent), text));
            }
            let interior_newline = text.trim_end_matches('\n').contains('\n');
            match block_body(text, indent, nl) {
                Some((chomp, body)) => {
                    let kind = if *folded && !interior_newline { '>' } else { '|' };
                    // A clipped block without a final line break only happens at the end
                    // of a file that lacks a final newline; keep its header as it is.
                    let old_clip = header.end - header.start == 1;
                    let chomp = if chomp == '-' && old_clip { ' ' } else { chomp };
                    let new_header = format!("{kind}{}", chomp_str(chomp));
                    Rendered { value: body, header: Some(new_header) }
                }
                None => Rendered { value: String::new(), header: Some(double_quoted(text)) },
            }
        }
        Style::JsonString | Style::JsonBare | Style::DotenvValue | Style::BinaryData => Rendered::plain(text.to_owned()),
    }
}

/// Writes the `sops:` block as sops 3.11 (go-yaml v3, 4-space indent) writes it.
pub fn render_metadata(tree: &Tree, newline: &str) -> String {
    let mut out = String::new();
    out.push_str("sops:");
    out.push_str(newline);
    if let Tree::Map(entries) = tree {
        emit_map(entries, 4, 4, None, newline, &mut out);
    }
    out
}

/// Keys sops writes as YAML integers or booleans rather than strings.
fn is_typed_metadata_key(key: &str) -> bool {
    matches!(key, "shamir_threshold" | "mac_only_encrypted")
}

/// Writes a mapping as go-yaml v3 does with 4-space indentation. `indent` is the
/// mapping's indentation (for a mapping that is a list item, its dash's column); `key_col`
/// where its keys start. Nested collections and block scalars indent from `indent`.
fn emit_map(entries: &[(String, Tree)], indent: usize, key_col: usize, first_prefix: Option<&str>, nl: &str, out: &mut String) {
    for (i, (k, v)) in entries.iter().enumerate() {
        match (i, first_prefix) {
            (0, Some(prefix)) => out.push_str(prefix),
            _ => out.push_str(&" ".repeat(key_col)),
        }
        out.push_str(k);
        out.push(':');
        match v {
            // Metadata nulls are Go nil slices, which go-yaml writes as `[]`.
            Tree::Null => {
                out.push_str(" []");
                out.push_str(nl);
            }
            Tree::List(items) if items.is_empty() => {
                out.push_str(" []");
                out.push_str(nl);
            }
            Tree::Scalar(s) => {
                out.push(' ');
                // A multi-line string a literal block cannot hold (tabs, a first line
                // starting with a space) is written double-quoted, as go-yaml writes it.
                let block = if s.contains('\n') { block_body(s, indent + 4, nl) } else { None };
                if let Some((chomp, body)) = block {
                    out.push('|');
                    out.push_str(chomp_str(chomp));
                    out.push_str(nl);
                    out.push_str(&body);
                } else if s.contains('\n') {
                    out.push_str(&double_quoted(s));
                    out.push_str(nl);
                } else if is_typed_metadata_key(k) {
                    out.push_str(s);
                    out.push_str(nl);
                } else {
                    out.push_str(&go_yaml_string(s));
                    out.push_str(nl);
                }
            }
            Tree::Map(inner) => {
                out.push_str(nl);
                emit_map(inner, indent + 4, indent + 4, None, nl, out);
            }
            Tree::List(items) => {
                out.push_str(nl);
                for item in items {
                    let dash = format!("{}- ", " ".repeat(indent + 4));
                    match item {
                        Tree::Map(inner) => emit_map(inner, indent + 4, indent + 6, Some(&dash), nl, out),
                        Tree::Scalar(s) => {
                            out.push_str(&dash);
                            out.push_str(&go_yaml_string(s));
                            out.push_str(nl);
                        }
                        _ => {
                            out.push_str(&dash);
                            out.push_str("null");
                            out.push_str(nl);
                        }
                    }
                }
            }
        }
    }
}

/// A string scalar as go-yaml v3 writes it: plain when it reads back as the same string,
/// double-quoted otherwise (timestamps included, as go-yaml quotes them).
fn go_yaml_string(s: &str) -> String {
    let b = s.as_bytes();
    let looks_like_timestamp = b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    let special_start = b.first().is_none_or(|c| b"-?:,[]{}#&*!|>'\"%@`".contains(c));
    let lower = s.to_ascii_lowercase();
    let resolves_otherwise = is_null(s) || plain_type(s) != ValueType::Str || matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "on" | "off");
    let awkward = s != s.trim() || s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t') || s.contains(needs_escape);
    if looks_like_timestamp || special_start || resolves_otherwise || awkward {
        double_quoted(s)
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(src: &str) -> Vec<(String, String, String)> {
        let f = parse(src).unwrap();
        f.docs.iter().flat_map(|d| d.leaves.iter().map(move |l| (d.aad(l, src), l.text(src).to_owned(), src[l.span.clone()].to_owned()))).collect()
    }

    #[test]
    fn spans_cover_exactly_the_value() {
        let src = "a: \"q\\tx\"  # c\nb: |\n  multi\n  line\n\nc: plain text\nd: 'it''s'\n";
        let l = leaves(src);
        assert_eq!(l[0], ("a:".into(), "q\tx".into(), "\"q\\tx\"".into()));
        assert_eq!(l[1], (":".into(), " c".into(), " c".into()));
        assert_eq!(l[2], ("b:".into(), "multi\nline\n".into(), "  multi\n  line\n".into()));
        assert_eq!(l[3], ("c:".into(), "plain text".into(), "plain text".into()));
        assert_eq!(l[4], ("d:".into(), "it's".into(), "'it''s'".into()));
    }

    #[test]
    fn aad_paths_follow_sops() {
        let src = "# top\nsub:\n  # head\n  x: 1\nlist:\n  # in list\n  - p: q\n    r: [1, 2]\n";
        let l = leaves(src);
        let got: Vec<_> = l.iter().map(|(a, t, _)| (a.as_str(), t.as_str())).collect();
        assert_eq!(got, vec![(":", " top"), ("sub:", " head"), ("sub:x:", "1"), ("list:", " in list"), ("list:p:", "q"), ("list:r:", "1"), ("list:r:", "2")]);
    }

    #[test]
    fn metadata_block_is_found_and_spans_whole_lines() {
        let src = "a: b\nsops:\n    version: 3.11.0\n    age:\n        - recipient: x\n          enc: |\n            line\n---\nc: d\n";
        let f = parse(src).unwrap();
        let m = f.docs[0].metadata.as_ref().unwrap();
        assert_eq!(&src[m.span.clone()], "sops:\n    version: 3.11.0\n    age:\n        - recipient: x\n          enc: |\n            line\n");
        assert_eq!(m.tree.get("version").unwrap().as_str(), Some("3.11.0"));
        assert_eq!(f.docs.len(), 2);
        assert_eq!(f.docs[0].leaves.len(), 1);
    }

    #[test]
    fn words_starting_like_radix_numbers_and_interior_tabs_came_back_quoted() {
        for s in ["0bar-token", "0xygen", "0o", "0b", "a\tb", "v2026-11-01"] {
            assert!(plain_safe(s, false), "{s:?} should stay plain");
        }
        for s in ["0b101", "-0x1F", "0o17", "0x_1f", "a\t#b", "a:\tb", "\tx"] {
            assert!(!plain_safe(s, false), "{s:?} must be quoted");
        }
    }

    #[test]
    fn yaml11_timestamps_decrypted_from_sops_files_came_back_bare() {
        for s in ["2026-11-01T10:00:00Z", "2026-11-01", "2001-12-14 21:59:43.10 -5", "2001-1-2t1:00:00"] {
            assert!(!plain_safe(s, false), "{s:?} must be quoted");
        }
        assert!(plain_safe("2026-11-01x", false));
    }

    #[test]
    fn infinities_came_back_spelled_as_go_prints_them() {
        let f = parse("a: 1.5\n").unwrap();
        let leaf = &f.docs[0].leaves[0];
        for (go, yaml) in [("+Inf", ".inf"), ("-Inf", "-.inf"), ("NaN", ".nan")] {
            assert_eq!(render_value(&f, leaf, ValueType::Float, go).value, yaml);
        }
    }

    #[test]
    fn control_characters_in_decrypted_values_are_written_escaped() {
        let f = parse("a: x\nb: 'y'\n").unwrap();
        for leaf in &f.docs[0].leaves {
            for c in ["\u{85}", "\u{2028}", "\u{9b}", "\u{1}", "\u{feff}"] {
                let out = render_value(&f, leaf, ValueType::Str, &format!("p{c}q")).value;
                assert!(out.starts_with('"') && out.is_ascii(), "{c:?}: {out}");
                let again = parse(&format!("k: {out}\n")).unwrap();
                assert_eq!(again.docs[0].leaves[0].text(&format!("k: {out}\n")), format!("p{c}q"));
            }
        }
    }

    #[test]
    fn bom_became_part_of_the_first_key() {
        let src = "\u{feff}apiVersion: v1\nkind: Secret\nstringData:\n  a: |\n    x\n";
        let f = parse(src).unwrap();
        assert!(f.docs[0].is_k8s_object());
        let l = &f.docs[0].leaves;
        assert_eq!(f.docs[0].aad(&l[0], src), "apiVersion:");
        assert_eq!(&src[l[0].span.clone()], "v1");
        assert_eq!(&src[l[2].span.clone()], "    x\n");
        assert_eq!(f.docs[0].insert_at, src.len());
    }

    #[test]
    fn nested_deeper_than_the_limit_is_refused_with_line() {
        let mut src = String::new();
        for i in 0..MAX_DEPTH {
            src.push_str(&format!("{}k:\n", " ".repeat(i)));
        }
        src.push_str(&format!("{}k: v\n", " ".repeat(MAX_DEPTH)));
        let e = parse(&src).unwrap_err();
        assert_eq!(e.line as usize, MAX_DEPTH + 1);
        let flow = format!("a: {}{}\n", "[".repeat(300), "]".repeat(300));
        assert!(parse(&flow).is_err());
    }

    #[test]
    fn duplicate_keys_are_refused_with_line() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.msg.contains("duplicate key"));
    }

    #[test]
    fn metadata_string_a_literal_block_cannot_hold_was_written_empty() {
        for value in ["a\tb\nc\n", " lead\nx\n"] {
            let tree = Tree::Map(vec![("x".into(), Tree::Scalar(value.into()))]);
            let out = render_metadata(&tree, "\n");
            let f = parse(&out).unwrap();
            assert_eq!(f.docs[0].metadata.as_ref().unwrap().tree.get("x").unwrap().as_str(), Some(value), "{out}");
        }
    }

    #[test]
    fn metadata_string_with_a_line_separator_was_written_raw() {
        let tree = Tree::Map(vec![("x".into(), Tree::Scalar("a\u{85}b".into()))]);
        let out = render_metadata(&tree, "\n");
        let f = parse(&out).unwrap();
        assert_eq!(f.docs[0].metadata.as_ref().unwrap().tree.get("x").unwrap().as_str(), Some("a\u{85}b"), "{out}");
    }

    #[test]
    fn metadata_renders_like_sops() {
        let tree = Tree::Map(vec![
            (
                "age".into(),
                Tree::List(vec![Tree::Map(vec![
                    ("recipient".into(), Tree::Scalar("age1xyz".into())),
                    ("enc".into(), Tree::Scalar("-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\n-----END AGE ENCRYPTED FILE-----\n".into())),
                ])]),
            ),
            ("lastmodified".into(), Tree::Scalar("2026-11-22T14:55:15Z".into())),
            ("encrypted_regex".into(), Tree::Scalar("^(data|stringData)$".into())),
            ("version".into(), Tree::Scalar("3.11.0".into())),
        ]);
        assert_eq!(
            render_metadata(&tree, "\n"),
            "sops:\n    age:\n        - recipient: age1xyz\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            AAAA\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2026-11-22T14:55:15Z\"\n    encrypted_regex: ^(data|stringData)$\n    version: 3.11.0\n"
        );
    }
}
