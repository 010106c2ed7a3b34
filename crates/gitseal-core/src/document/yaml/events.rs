//! The full YAML parser: structure from saphyr's event parser, exact scalar extents and
//! comments from [`super::scan`]. It reads every YAML file and reports every error.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash, Hasher};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::document::{Document, Format, Leaf, MetadataBlock, ParsedFile, PathEntry, Style, SyntaxError, Text, Tree, WalkStep};
use crate::sops::value::ValueType;

use super::scan::*;

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
