//! A fast path for the YAML most manifests are made of: block mappings and sequences of
//! single-line plain or quoted scalars, literal block scalars and comments.
//!
//! It reads the file line by line and produces exactly what the event-based parser in
//! [`super::yaml`] produces for the same input (a property test compares the two), at a
//! fraction of the cost. On anything outside that subset (flow collections, anchors,
//! tags, folded or multi-line scalars, escapes, odd indentation, duplicate keys, the
//! `sops` metadata block, ...) it gives up and the event-based parser takes over, so
//! errors are always reported by the full YAML parser.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use saphyr_parser::ScalarStyle;

use super::yaml::{attach_comments, insert_point, is_null, key_indent, parse_events, plain_type, scalar_extent, Collection, FoundComment};
use super::{Document, Format, Leaf, ParsedFile, PathEntry, Style, Text};
use crate::sops::value::ValueType;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

struct Frame {
    indent: usize,
    kind: Kind,
    path: u32,
    coll: usize,
    seen: KeyHashes,
}

/// The 64-bit SipHash of each key of a mapping. Two different keys with the same hash
/// look like a duplicate, which only sends the file to the full parser: exact enough
/// here, and one hash per key where storing the keys would hash them again on growth.
type KeyHashes = HashSet<u64, BuildHasherDefault<PassThrough>>;

/// Hashes a `u64` that already is a hash as itself.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A key whose value starts on a later line (a nested collection) or is null.
struct OpenKey {
    key: String,
    key_end: usize,
    map_indent: usize,
    top_level: bool,
}

/// Characters that cannot start a plain scalar handled here.
const AWKWARD_START: &[u8] = b"[]{}&*!|>'\"%@`?,#";

struct Fast<'a> {
    src: &'a str,
    hasher: RandomState,
    docs: Vec<Document>,
    doc_starts: Vec<usize>,
    stack: Vec<Frame>,
    colls: Vec<Collection>,
    comments: Vec<FoundComment>,
    indent_step: usize,
    /// Indentation of the last line holding a single-line scalar: a deeper line after it
    /// would continue that scalar, which is left to the full parser.
    scalar_indent: Option<usize>,
    doc_has_content: bool,
    /// Whether the current document began with `---` (else it starts at its first token).
    explicit_start: bool,
}

/// Parses `src`, or returns `None` when it is outside the fast path's subset.
pub(crate) fn parse(src: &str) -> Option<ParsedFile> {
    #[cfg(test)]
    if tests::FULL_PARSER_ONLY.with(std::cell::Cell::get) {
        return None;
    }
    let bytes = src.as_bytes();
    if !plain_text(bytes) {
        return None;
    }
    let mut p = Fast {
        src,
        hasher: RandomState::new(),
        docs: vec![Document::new(1)],
        doc_starts: vec![0],
        stack: Vec::new(),
        colls: Vec::new(),
        comments: Vec::new(),
        indent_step: 0,
        scalar_indent: None,
        doc_has_content: false,
        explicit_start: false,
    };
    p.docs[0].leaves.reserve(bytes.iter().filter(|&&b| b == b'\n').count());
    let mut open: Option<OpenKey> = None;
    let mut pos = 0;
    let mut line_no = 0u32;
    while pos < bytes.len() {
        line_no += 1;
        let ls = pos;
        let le = find_byte(&bytes[pos..], b'\n').map_or(bytes.len(), |i| pos + i);
        pos = (le + 1).min(bytes.len());
        let ce = if le > ls && bytes[le - 1] == b'\r' { le - 1 } else { le };
        let line = &src[ls..ce];
        if line.starts_with("---") || line.starts_with("...") || line.starts_with('%') {
            if line != "---" {
                return None;
            }
            if !p.doc_has_content {
                if p.docs.len() > 1 || p.explicit_start {
                    return None;
                }
                p.docs[0].line = line_no;
                p.explicit_start = true;
                continue;
            }
            p.close_key(open.take());
            p.scalar_indent = None;
            p.finish_doc(ls);
            p.docs.push(Document::new(line_no));
            p.doc_starts.push(ls);
            p.doc_has_content = false;
            p.explicit_start = true;
            continue;
        }
        let indent = line.bytes().take_while(|&b| b == b' ').count();
        let rest = &line[indent..];
        if rest.is_empty() {
            continue;
        }
        if rest.as_bytes()[0] == b'\t' {
            return None;
        }
        if rest.starts_with('#') {
            p.comments.push((p.docs.len() - 1, ls + indent, ce, indent));
            continue;
        }
        if p.scalar_indent.take().is_some_and(|si| indent > si) {
            return None;
        }
        let tok = ls + indent;
        let is_item = rest == "-" || rest.starts_with("- ");
        let mut nested = false;
        if let Some(o) = open.take() {
            if indent > o.map_indent || (indent == o.map_indent && is_item) {
                if p.stack.len() >= super::yaml::MAX_DEPTH {
                    return None; // the full parser names the line
                }
                p.open_collection(o, indent, if is_item { Kind::Seq } else { Kind::Map }, tok);
                nested = true;
            } else {
                p.close_key(Some(o));
            }
        }
        if !nested {
            while let Some(top) = p.stack.last() {
                let closes = top.indent > indent || (top.kind == Kind::Seq && top.indent == indent && !is_item);
                if !closes {
                    break;
                }
                let f = p.stack.pop().unwrap();
                p.colls[f.coll].end = tok;
            }
        }
        if p.stack.is_empty() {
            if is_item || !p.stack.is_empty() {
                return None;
            }
            if p.doc_has_content {
                return None; // a second root node
            }
            let doc = p.docs.len() - 1;
            if indent > 0 {
                p.docs[doc].member_indent = " ".repeat(indent);
            }
            p.colls.push(Collection { doc, region_start: p.doc_starts[doc], end: usize::MAX, indent, path: 0, flow: false, parent: None, first: ls + indent });
            p.stack.push(Frame { indent, kind: Kind::Map, path: 0, coll: p.colls.len() - 1, seen: KeyHashes::default() });
            p.doc_has_content = true;
            if !p.explicit_start {
                p.docs[doc].line = line_no;
            }
        }
        let top = p.stack.last().unwrap();
        if top.indent != indent {
            return None;
        }
        match top.kind {
            Kind::Seq => {
                if !is_item {
                    return None;
                }
                let after = &rest[1..];
                let vstart = tok + 1 + (after.len() - after.trim_start_matches(' ').len());
                if vstart >= ce || bytes[vstart] == b'#' {
                    // A null item (a deeper line after it would be its content). Which
                    // collection a comment after its dash belongs to is the event
                    // parser's call.
                    if vstart < ce {
                        return None;
                    }
                    p.scalar_indent = Some(indent);
                    continue;
                }
                let v = &src[vstart..ce];
                // sops writes an encrypted comment in a list as a list item; the event
                // parser reads it back as a comment.
                if v.starts_with("ENC[") && v.find(']').is_some_and(|end| v[..=end].ends_with("type:comment]")) {
                    return None;
                }
                let quoted = matches!(bytes[vstart], b'"' | b'\'');
                if v == "-" || v.starts_with("- ") || (!quoted && find_key(v).is_some()) {
                    return None;
                }
                let path = top.path;
                let resume = p.value(vstart, ce, line_no, path, None, indent, pos)?;
                line_no += count_newlines(&bytes[pos..resume]);
                pos = resume;
            }
            Kind::Map => {
                if is_item {
                    return None;
                }
                let klen = find_key(rest)?;
                let key = &rest[..klen];
                // The parser refuses implicit keys longer than 1024 characters.
                if klen > 1000 || !simple_key(key) {
                    return None;
                }
                let top = p.stack.last_mut().unwrap();
                if !top.seen.insert(p.hasher.hash_one(key)) {
                    return None; // a duplicate (or a hash collision): the full parser decides
                }
                let path = top.path;
                let key_span = tok..tok + klen;
                let after_colon = key_span.end + 1;
                let vstart = after_colon + (src[after_colon..ce].len() - src[after_colon..ce].trim_start_matches(' ').len());
                let top_level = p.stack.len() == 1;
                if top_level && key == "sops" && vstart == ce {
                    let resume = p.metadata(ls, indent, pos, line_no)?;
                    line_no += count_newlines(&bytes[pos..resume]);
                    pos = resume;
                    continue;
                }
                if vstart == ce || bytes[vstart] == b'#' {
                    if vstart < ce {
                        p.comments.push((p.docs.len() - 1, vstart, ce, vstart - ls));
                    }
                    if top_level && key == "sops" {
                        return None;
                    }
                    open = Some(OpenKey { key: key.to_owned(), key_end: key_span.end, map_indent: indent, top_level });
                    continue;
                }
                let key_text = Text::Source(key_span.start as u32, key_span.end as u32);
                let resume = p.value(vstart, ce, line_no, path, Some((key_text, key, top_level)), indent, pos)?;
                line_no += count_newlines(&bytes[pos..resume]);
                pos = resume;
            }
        }
    }
    p.close_key(open.take());
    if !p.doc_has_content && p.docs.len() == 1 && !p.explicit_start {
        // Comments alone: no document.
        return Some(ParsedFile { format: Format::Yaml, docs: Vec::new(), newline: newline_of(src), indent_step: 2 });
    }
    if !p.doc_has_content {
        // No document at all, or an empty one after a last `---`: left to the full parser
        // (which refuses them).
        return None;
    }
    p.finish_doc(src.len());
    p.finish()
}

impl Fast<'_> {
    /// A key whose value turned out to be null: nothing to record but Kubernetes markers.
    fn close_key(&mut self, open: Option<OpenKey>) {
        if let Some(o) = open {
            if o.top_level {
                // The parser reads an empty value as `~`.
                self.mark_k8s(&o.key, "~");
            }
        }
    }

    fn mark_k8s(&mut self, key: &str, value: &str) {
        let d = self.docs.last_mut().unwrap();
        match key {
            "apiVersion" => d.has_api_version = true,
            "kind" => d.k8s_kind = Some(value.to_owned()),
            _ => {}
        }
    }

    fn open_collection(&mut self, o: OpenKey, indent: usize, kind: Kind, first: usize) {
        let parent = self.stack.last().map_or(0, |f| f.path);
        let doc = self.docs.len() - 1;
        let d = &mut self.docs[doc];
        let mut keys = d.paths[parent as usize].keys.clone();
        keys.push(o.key.into_boxed_str());
        d.paths.push(PathEntry { keys });
        let path = (d.paths.len() - 1) as u32;
        if kind == Kind::Map && self.stack.len() == 1 && indent > 0 && (self.indent_step == 0 || indent < self.indent_step) {
            self.indent_step = indent;
        }
        self.colls.push(Collection { doc, region_start: o.key_end, end: usize::MAX, indent, path, flow: false, parent: None, first });
        self.stack.push(Frame { indent, kind, path, coll: self.colls.len() - 1, seen: KeyHashes::default() });
    }

    /// The `sops` metadata block whose key line starts at `ls`, when it is the document's
    /// last key: every line after it up to the next `---` (or the end of the file) is
    /// blank or indented, and none holds a `#`. Its tree comes from the full parser run
    /// on those lines alone (a few hundred bytes), which reads them exactly as it would
    /// in the whole file; returns where the main loop continues.
    fn metadata(&mut self, ls: usize, indent: usize, from: usize, line_no: u32) -> Option<usize> {
        let b = self.src.as_bytes();
        if indent != 0 {
            return None;
        }
        let mut end = from;
        while end < b.len() {
            let le = find_byte(&b[end..], b'\n').map_or(b.len(), |i| end + i);
            let line = &b[end..le];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first().is_some_and(|&c| c != b' ') {
                if line != b"---" {
                    return None;
                }
                break;
            }
            end = (le + 1).min(b.len());
        }
        if find_byte(&b[ls..end], b'#').is_some() {
            return None;
        }
        let block = parse_events(&self.src[ls..end]).ok()?;
        let [doc] = &mut block.docs.try_into().ok()?;
        if !doc.leaves.is_empty() {
            return None;
        }
        let mut meta = doc.metadata.take()?;
        meta.span = meta.span.start + ls..meta.span.end + ls;
        meta.line += line_no - 1;
        self.docs.last_mut().unwrap().metadata = Some(meta);
        self.scalar_indent = None;
        Some(end)
    }

    /// Reads the scalar starting at `vstart` on the current line; returns where the main
    /// loop continues (after a block scalar's content when there is one).
    #[allow(clippy::too_many_arguments)]
    fn value(
        &mut self,
        vstart: usize,
        ce: usize,
        line_no: u32,
        path: u32,
        key: Option<(Text, &str, bool)>,
        line_indent: usize,
        next_line: usize,
    ) -> Option<usize> {
        let src = self.src;
        let b = src.as_bytes();
        let first = b[vstart];
        let mut resume = next_line;
        let (span, text, ty, style, line): (std::ops::Range<usize>, Option<Text>, ValueType, Style, u32) = match first {
            b'"' => {
                let close = vstart + 1 + b[vstart + 1..ce].iter().position(|&c| c == b'"' || c == b'\\')?;
                if b[close] == b'\\' {
                    return None;
                }
                self.trailing(close + 1, ce)?;
                self.scalar_indent = Some(line_indent);
                let indent = self.style_indent(vstart, key.is_some().then_some(line_indent));
                let inner = &src[vstart + 1..close];
                (vstart..close + 1, Some(Text::owned(inner)), ValueType::Str, Style::YamlDouble { indent }, line_no)
            }
            b'\'' => {
                let mut decoded = String::new();
                let mut i = vstart + 1;
                let mut seg = i;
                let close = loop {
                    if i >= ce {
                        return None;
                    }
                    if b[i] == b'\'' {
                        if i + 1 < ce && b[i + 1] == b'\'' {
                            decoded.push_str(&src[seg..i + 1]);
                            i += 2;
                            seg = i;
                            continue;
                        }
                        decoded.push_str(&src[seg..i]);
                        break i;
                    }
                    i += 1;
                };
                self.trailing(close + 1, ce)?;
                self.scalar_indent = Some(line_indent);
                let indent = self.style_indent(vstart, key.is_some().then_some(line_indent));
                (vstart..close + 1, Some(Text::owned(decoded)), ValueType::Str, Style::YamlSingle { indent }, line_no)
            }
            b'|' => {
                // `|`, `|-` or `|+`, then nothing but spaces: indentation indicators and
                // comments on the header line are left to the full parser.
                let mut h = vstart + 1;
                if h < ce && matches!(b[h], b'+' | b'-') {
                    h += 1;
                }
                if src[h..ce].bytes().any(|c| c != b' ') {
                    return None;
                }
                let keep = b[vstart + 1..h].contains(&b'+');
                let strip = b[vstart + 1..h].contains(&b'-');
                let block_indent = literal_indent(src, next_line, line_indent)?;
                let ext = scalar_extent(src, ScalarStyle::Literal, vstart, vstart, vstart)?;
                let header = ext.header.clone()?;
                // A block of empty lines only is the event parser's to judge.
                if ext.block_indent != block_indent
                    || header.end != h
                    || ext.span.start != next_line
                    || src[ext.span.clone()].bytes().all(|c| matches!(c, b' ' | b'\n' | b'\r'))
                {
                    return None;
                }
                let value = literal_value(src, ext.span.clone(), ext.block_indent, keep, strip);
                let first_content = src[ext.span.clone()].find(|c: char| c != ' ' && c != '\n' && c != '\r').map_or(ext.span.start, |o| ext.span.start + o);
                let line = line_no + src[next_line..first_content.max(next_line)].bytes().filter(|&c| c == b'\n').count() as u32 + 1;
                resume = ext.span.end.max(next_line);
                let style = Style::YamlBlock {
                    header: header.start as u32..header.end as u32,
                    indent: ext.block_indent as u32,
                    folded: false,
                    ends_with_newline: src[..ext.span.end].ends_with('\n'),
                };
                (ext.span, Some(Text::owned(value)), ValueType::Str, style, line)
            }
            c if AWKWARD_START.contains(&c) => return None,
            b'-' | b':' if vstart + 1 >= ce || b[vstart + 1] == b' ' => return None,
            _ => {
                // One pass for the comment (` #`) and for a `: ` or a final `:` before it,
                // which would make the line a mapping (an error) or a different scalar.
                // (Tabs never get here: `plain_text` refuses them.)
                let mut comment = None;
                let mut i = vstart;
                while let Some(o) = find_colon_or_hash(&b[i..ce]) {
                    let j = i + o;
                    if b[j] == b'#' {
                        // `#` cannot start the value (see AWKWARD_START), so j > vstart.
                        if b[j - 1] == b' ' {
                            comment = Some(j);
                            break;
                        }
                    } else if j + 1 == ce || b[j + 1] == b' ' {
                        return None;
                    }
                    i = j + 1;
                }
                let vend_raw = comment.unwrap_or(ce);
                let vend = vstart + src[vstart..vend_raw].trim_end_matches(' ').len();
                let v = &src[vstart..vend];
                if let Some(h) = comment {
                    self.comments.push((self.docs.len() - 1, h, ce, h - super::yaml::line_start_of(src, h)));
                }
                self.scalar_indent = Some(line_indent);
                if let Some((_, k, true)) = &key {
                    let k = (*k).to_owned();
                    self.mark_k8s(&k, v);
                }
                if is_null(v) {
                    return Some(resume);
                }
                let indent = self.style_indent(vstart, key.is_some().then_some(line_indent));
                (vstart..vend, None, plain_type(v), Style::YamlPlain { indent }, line_no)
            }
        };
        if let (Some((_, k, true)), Some(t)) = (&key, &text) {
            let (k, v) = ((*k).to_owned(), t.get(src).to_owned());
            self.mark_k8s(&k, &v);
        }
        let text = text.unwrap_or(Text::Source(span.start as u32, span.end as u32));
        let key = key.map(|(t, _, _)| t);
        self.docs.last_mut().unwrap().leaves.push(Leaf { parent: path, line, ty, key, text, span, style });
        Some(resume)
    }

    /// After a quoted scalar: only spaces, or spaces and a comment.
    fn trailing(&mut self, from: usize, ce: usize) -> Option<()> {
        let rest = &self.src[from..ce];
        let trimmed = rest.trim_start_matches(' ');
        if trimmed.is_empty() {
            return Some(());
        }
        if trimmed.starts_with('#') && trimmed.len() < rest.len() {
            let h = ce - trimmed.len();
            self.comments.push((self.docs.len() - 1, h, ce, h - super::yaml::line_start_of(self.src, h)));
            return Some(());
        }
        None
    }

    /// The indentation the full parser records for a scalar at `pos`; `map_indent` is
    /// the indentation of its line when that holds a key (which cannot start with `-`,
    /// so it is what [`key_indent`] would count).
    fn style_indent(&self, pos: usize, map_indent: Option<usize>) -> u32 {
        (map_indent.unwrap_or_else(|| key_indent(self.src, pos)) + self.indent_step.max(2)) as u32
    }

    fn finish_doc(&mut self, end_marker: usize) {
        while let Some(f) = self.stack.pop() {
            self.colls[f.coll].end = end_marker;
        }
        let region_start = *self.doc_starts.last().unwrap();
        let doc = self.docs.last_mut().unwrap();
        doc.insert_at = insert_point(self.src, region_start, end_marker, doc);
    }

    fn finish(mut self) -> Option<ParsedFile> {
        // sops's walk order (`Document::walk`), which only the comment-based selection
        // rules need, is left empty: `Selector::select` has the event parser work it out
        // for the files that use them.
        let comments = std::mem::take(&mut self.comments);
        attach_comments(self.src, &mut self.docs, &self.colls, comments, |_, _, _| {});
        let newline = newline_of(self.src);
        let indent_step = if self.indent_step == 0 { 2 } else { self.indent_step };
        Some(ParsedFile { format: Format::Yaml, docs: self.docs, newline, indent_step })
    }
}

/// Whether `b` is free of what the line reader does not model: control characters
/// (tabs and NUL included; `\r` only before `\n`), a byte order mark, and a last line of
/// spaces alone without a line break (which the full parser reads into a block scalar).
fn plain_text(b: &[u8]) -> bool {
    // Blocks of 64 bytes are screened for any byte that needs a closer look (one vector
    // test each); only a block holding one is read byte by byte.
    // 0xC2, 0xE2 and 0xEF lead the C1 controls (NEL among them), U+2028/U+2029 and
    // U+FEFF/U+FFFE/U+FFFF, which the full parser refuses or reads with care.
    let suspect = |c: u8| ((c < 0x20) & (c != b'\n')) | (c == 0x7f) | (c == 0xC2) | (c == 0xE2) | (c == 0xEF);
    let mut start = 0;
    for block in b.chunks(64) {
        if block.iter().fold(false, |any, &c| any | suspect(c)) {
            for i in start..start + block.len() {
                let c = b[i];
                let next = b.get(i + 1).copied().unwrap_or(0);
                let c1_control = c == 0xC2 && (0x80..=0x9F).contains(&next);
                let separator = c == 0xE2 && next == 0x80 && matches!(b.get(i + 2), Some(0xA8 | 0xA9));
                let bom_or_nonchar = c == 0xEF && (b[i..].starts_with(b"\xEF\xBB\xBF") || (next == 0xBF && matches!(b.get(i + 2), Some(0xBE | 0xBF))));
                if (c < 0x20 && c != b'\n' && !(c == b'\r' && next == b'\n')) || c == 0x7f || c1_control || separator || bom_or_nonchar {
                    return false;
                }
            }
        }
        start += block.len();
    }
    let last_line = &b[b.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1)..];
    !last_line.iter().all(|&c| c == b' ') || last_line.is_empty()
}

/// The first `needle` in `hay`, looked for 16 bytes at a time (the compiler makes each
/// block one vector compare).
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let mut i = 0;
    while i + 16 <= hay.len() {
        let block: &[u8; 16] = hay[i..i + 16].try_into().unwrap();
        if block.iter().fold(false, |any, &c| any | (c == needle)) {
            break;
        }
        i += 16;
    }
    hay[i..].iter().position(|&c| c == needle).map(|p| i + p)
}

/// The first `:` or `#` in `hay`, looked for like [`find_byte`].
fn find_colon_or_hash(hay: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 16 <= hay.len() {
        let block: &[u8; 16] = hay[i..i + 16].try_into().unwrap();
        if block.iter().fold(false, |any, &c| any | (c == b':') | (c == b'#')) {
            break;
        }
        i += 16;
    }
    hay[i..].iter().position(|&c| c == b':' || c == b'#').map(|p| i + p)
}

fn newline_of(src: &str) -> &'static str {
    if src.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

fn count_newlines(b: &[u8]) -> u32 {
    b.iter().filter(|&&c| c == b'\n').count() as u32
}

/// The length of the key of a `key: value` or `key:` line, if it is one.
fn find_key(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b':' if i + 1 == b.len() || b[i + 1] == b' ' => return Some(i),
            b'#' if i > 0 && b[i - 1] == b' ' => return None,
            _ => i += 1,
        }
    }
    None
}

/// A plain key the fast path takes as it is: no quotes, indicators or odd spacing, and a
/// string (not a number, boolean or null) as sops requires.
fn simple_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && !AWKWARD_START.contains(&b[0])
        && b[0] != b'-'
        && b[0] != b':'
        && key == key.trim()
        && !key.contains(['\t', '"', '\''])
        && !is_null(key)
        && plain_type(key) == ValueType::Str
}

/// The content indentation of a literal block scalar whose content starts at `from`, when
/// the block is one the fast path reads exactly as the full parser does: some content,
/// indented deeper than the line holding the header (`parent`), no blank line before the
/// first content line deeper than it (that would set the indentation), and no line of
/// spaces alone deeper than it (the full parser keeps those spaces as content).
fn literal_indent(src: &str, from: usize, parent: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut p = from;
    let mut deepest_blank = 0;
    let mut indent = None;
    while p < b.len() {
        let ls = p;
        while p < b.len() && b[p] == b' ' {
            p += 1;
        }
        let spaces = p - ls;
        let blank = p >= b.len() || b[p] == b'\n' || (b[p] == b'\r' && b.get(p + 1) == Some(&b'\n'));
        match indent {
            None if blank => deepest_blank = deepest_blank.max(spaces),
            None => {
                if spaces <= parent || deepest_blank > spaces {
                    return None;
                }
                indent = Some(spaces);
            }
            Some(i) if blank && spaces > i => return None,
            Some(i) if !blank && spaces < i => break,
            Some(_) => {}
        }
        p = super::yaml::line_end_after(src, p);
    }
    indent
}

/// The value of a literal block scalar whose content lines are `span`.
fn literal_value(src: &str, span: std::ops::Range<usize>, indent: usize, keep: bool, strip: bool) -> String {
    let mut lines: Vec<&str> = src[span].split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut out = String::new();
    for l in &lines {
        let body = if l.len() >= indent && l.bytes().take(indent).all(|c| c == b' ') { &l[indent..] } else { l.trim_start_matches(' ') };
        out.push_str(body);
        out.push('\n');
    }
    if keep {
        return out;
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if strip || out.trim_matches('\n').is_empty() {
        while out.ends_with('\n') {
            out.pop();
        }
    }
    out
}

/// The fast path is only worth having if it is indistinguishable from the full parser:
/// these tests compare everything either one produces, over the corpus, generated
/// manifests and generated line soup.
#[cfg(test)]
mod tests {
    use std::fmt::Write as _;
    use std::path::Path;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    use super::super::{yaml, MetadataBlock};
    use super::*;

    fn text_fp(t: &Text, src: &str) -> String {
        match t {
            Text::Source(a, b) => format!("S{a}..{b}={:?}", t.get(src)),
            Text::Owned(_) => format!("O{:?}", t.get(src)),
        }
    }

    // Turns the fast path off on this thread, to compare what the pipeline makes of a
    // file with and without it.
    thread_local! {
        pub(super) static FULL_PARSER_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Every field of a parsed file, texts included (`Debug` of `Text` hides them). The
    /// structs are destructured in full so that a new field fails to compile here.
    fn fingerprint(src: &str, f: &ParsedFile) -> String {
        let ParsedFile { format, docs, newline, indent_step } = f;
        let mut out = format!("format={format:?} newline={newline:?} indent_step={indent_step} docs={}\n", docs.len());
        for (i, d) in docs.iter().enumerate() {
            // `walk` is the event parser's alone (see `finish`); the comment rules'
            // results are compared instead (`selections`).
            let Document { paths, leaves, metadata, insert_at, k8s_kind, has_api_version, member_indent, needs_separator, line, walk: _ } = d;
            writeln!(out, "doc {i}: line={line} insert_at={insert_at} k8s_kind={k8s_kind:?} has_api_version={has_api_version} member_indent={member_indent:?} needs_separator={needs_separator} k8s={}", d.is_k8s_object()).unwrap();
            for (j, p) in paths.iter().enumerate() {
                let PathEntry { keys } = p;
                writeln!(out, "  path {j}: {keys:?} aad={:?}", p.aad(None)).unwrap();
            }
            for l in leaves {
                let Leaf { parent, line, ty, key, text, span, style } = l;
                let key = key.as_ref().map_or_else(|| "-".to_owned(), |k| text_fp(k, src));
                writeln!(
                    out,
                    "  leaf parent={parent} line={line} ty={ty:?} key={key} text={} span={span:?}={:?} style={style:?} aad={:?}",
                    text_fp(text, src),
                    src.get(span.clone()),
                    d.aad(l, src)
                )
                .unwrap();
            }
            match metadata {
                Some(MetadataBlock { tree, span, line }) => writeln!(out, "  metadata line={line} span={span:?} tree={tree:?}"),
                None => writeln!(out, "  metadata none"),
            }
            .unwrap();
        }
        out
    }

    fn first_difference(a: &str, b: &str) -> String {
        for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
            if x != y {
                return format!("line {i}:\n  fast:   {x}\n  events: {y}");
            }
        }
        format!("lengths differ: fast {} lines, events {} lines", a.lines().count(), b.lines().count())
    }

    /// Ok(true) when the fast path took the file and agrees with the full parser, Ok(false)
    /// when it declined, Err on any difference.
    fn check(src: &str) -> Result<bool, String> {
        let fast = parse(src);
        let events = yaml::parse_events(src);
        match (fast, events) {
            (None, _) => Ok(false),
            (Some(_), Err(e)) => Err(format!("fast path accepted input the parser refuses ({e}):\n{src:?}")),
            (Some(f), Ok(e)) => {
                let (a, b) = (fingerprint(src, &f), fingerprint(src, &e));
                // The fast path leaves sops's walk to the event parser, which the comment
                // rules then call on: their results must not depend on who parsed.
                let rule = crate::sops::select::Selection::EncryptedCommentRegex("e".into()).compile().unwrap();
                let same_selection = rule.select_all(&f, src) == rule.select_all(&e, src);
                if a == b && !same_selection {
                    Err(format!("comment selection differs with the fast path:\n{src:?}"))
                } else if a == b {
                    Ok(true)
                } else {
                    Err(format!("fast path differs: {}\ninput: {src:?}\nfast:\n{a}\nevents:\n{b}", first_difference(&a, &b)))
                }
            }
        }
    }

    fn corpus_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                corpus_files(&p, out);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }

    #[test]
    fn fast_path_matches_events_on_the_corpus_plain_and_encrypted() {
        use crate::keys::age::{generate_identity, AgeRecipient, Identities};
        use crate::keys::Recipients;
        let mut files = Vec::new();
        corpus_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus"), &mut files);
        assert!(files.len() >= 10, "corpus incomplete: {files:?}");
        let (secret, recipient) = generate_identity();
        let mut ids = Identities::default();
        ids.add_text("generated", &secret).unwrap();
        let recipients = Recipients { age: vec![AgeRecipient::parse(&recipient).unwrap()], ..Recipients::default() };
        let (mut fast, mut fast_encrypted) = (0, 0);
        for f in &files {
            let src = std::fs::read_to_string(f).unwrap();
            let plain_taken = check(&src).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            if plain_taken {
                fast += 1;
            }
            let enc = crate::pipeline::encrypt(&crate::pipeline::EncryptRequest {
                file: "corpus.yaml",
                format: Format::Yaml,
                src: src.as_bytes(),
                recipients: &recipients,
                selection: None,
                mac_only_encrypted: false,
                identities: &ids,
                previous: None,
            })
            .unwrap();
            let enc_taken = check(enc.output.as_str()).unwrap_or_else(|e| panic!("{} encrypted: {e}", f.display()));
            // The metadata block gitseal writes is in the subset: what the fast path read
            // in plaintext it reads once encrypted too.
            assert!(!plain_taken || enc_taken, "{}: the fast path declined the encrypted file", f.display());
            if enc_taken {
                fast_encrypted += 1;
            }
        }
        assert!(fast * 2 >= files.len(), "the fast path took only {fast} of {} corpus files", files.len());
        assert!(fast_encrypted >= fast, "the fast path took {fast_encrypted} encrypted corpus files, {fast} plaintext ones");
    }

    /// Secrets as they are usually written: the fast path must take every one of them but
    /// those with comments, which it leaves to the full parser.
    #[test]
    fn fast_path_takes_typical_secrets() {
        let cases = [
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  namespace: b\ntype: Opaque\ndata:\n  password: cGFzcw==\n",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  labels:\n    app.kubernetes.io/name: x\n  annotations:\n    note: \"quoted: yes\"\nstringData:\n  token: abc # trailing\n  # a comment\n  single: 'it''s'\n  empty: \"\"\n",
            "# header\n---\napiVersion: v1\nkind: Secret\nmetadata:\n    name: a\nstringData:\n    tls.key: |\n        -----BEGIN-----\n        AAAA\n\n        -----END-----\n    script: |-\n        echo hi\n---\napiVersion: v1\nkind: Secret\nmetadata:\n    name: b\ndata:\n    k: dg==\n",
            "apiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: crlf\r\nstringData:\r\n  a: b\r\n  c: |\r\n    d\r\n",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: nofinal\nstringData:\n  a: b",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  keep: |+\n    x\n\n  other: y\n",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  finalizers:\n  - one\n  - two\nstringData:\n  a: b\n",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  a: ENC[AES256_GCM,data:abc=,iv:aXY=,tag:dGFn,type:str]\n",
        ];
        for src in cases {
            assert_eq!(check(src), Ok(true), "{src:?}");
        }
    }

    /// Inputs at the edges of the subset, each compared with the full parser (most are
    /// declined; what is taken must agree).
    #[test]
    fn fast_path_matches_events_at_the_edges_of_its_subset() {
        let meta = "sops:\n    age:\n        - recipient: age1x\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            YWJj\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]\n    version: 3.11.0\n";
        let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\nstringData:\n  a: ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]\n";
        let mut cases: Vec<String> = [
            "",
            "\n",
            "\n\n",
            "# c",
            "# c\n",
            "  # c\n",
            "---",
            "---\n",
            "--- \n",
            "---\n---\n",
            "...\n",
            "a: b\n...\n",
            "a: b\n---\n",
            "a: b\n---\n# c\n",
            "a: b\n---\n\n",
            "---\na: b\n---\nc: d",
            "a: b\r\nc: d",
            "a: b\rc: d\n",
            "a: b\r",
            "a: b\r\n\r\n",
            "a: b\u{85}c\n",
            "a: \u{2028}\n",
            "a: b\u{2029}\nc: d\n",
            "a: b\u{80}\n",
            "a: \u{9f}x\n",
            "a: b\u{feff}\n",
            "\u{feff}a: b\n",
            "a: \u{fffe}\n",
            "a: b\u{7f}\n",
            "a: b\u{0}\n",
            "a: b\u{1b}\n",
            "a:\tb\n",
            "a: b\t\n",
            "a: b\n  \n",
            "a: b\n   ",
            "a: |\n  x\n  ",
            "a: |\n  x\n \n",
            "a: |\n  x\n   \n",
            "a: |\n\n  x\n",
            "a: |\n   \n  x\n",
            "a: |+\n  x\n\n",
            "a: |+\n  x\n\n---\nb: c\n",
            "a: |-\n  x\n\n",
            "a: |\n  x\n\n\nb: c\n",
            "a: |\nb: c\n",
            "a: |\n",
            "a: |",
            "a: |+",
            "a: |\n  x",
            "a: |+\n  x",
            "k:\n  - |\n    x\n",
            "a: b # c\n",
            "a: b #c\n",
            "a: b#c\n",
            "a: 'b' #c\n",
            "a: 'b'#c\n",
            "a: \"b\" # c\n",
            "a: # c\n  b: c\n",
            "a: # c\nb: c\n",
            "a: b:c\n",
            "a: b: c\n",
            "a: b:\n",
            "a: b :\n",
            "a: :b\n",
            "a: -b\n",
            "a: - b\n",
            "a: ?b\n",
            "a: b ?\n",
            "a:b: c\n",
            "a: yes\nb: null\nc: ~\nd: 0x1F\ne: 1e3\nf: .inf\ng: -.Inf\nh: .NaN\ni: 0o17\nj: 1_000\nk: 012\nl: +1\nm: 1.\n",
            "'a': b\n",
            "\"a\": b\n",
            "a b: c\n",
            "a: b\na: c\n",
            "a:\n  b: c\na: d\n",
            "1: a\n",
            "true: a\n",
            "null: a\n",
            "~: a\n",
            "<<: a\n",
            "=: a\n",
            "a:\n- b\n- c\n",
            "a:\n  - b\n  -\n  - c\n",
            "a:\n- b\nc: d\n",
            "a:\n  - b\n c: d\n",
            "a:\n  b: c\n   d: e\n",
            "a:\n   b: c\n  d: e\n",
            "a:\n b: c\nd:\n  e: f\n",
            " a: b\n c: d\n",
            " a: b\nc: d\n",
            "a: b\n  c\n",
            "a: b\n\n  c\n",
            "a: b\n# c\n  d\n",
            "a: 'b\n  c'\n",
            "a: \"b\n  c\"\n",
            "a: \"b\\\"c\"\n",
            "a: 'it''s'\n",
            "a: ''''\n",
            "a: ''\n",
            "a: \"\"\n",
            "- a\n",
            "a\n",
            "a: b\nc\n",
            "a: [b]\n",
            "a: {b: c}\n",
            "a: &x b\n",
            "a: *x\n",
            "a: !!str 1\n",
            "a: !!binary aGk=\n",
            "%YAML 1.2\n---\na: b\n",
            "a: >\n  x\n",
            "a: |2\n   x\n",
            "? a\n: b\n",
            "kind: Secret\napiVersion: v1\n",
            "kind:\napiVersion:\n",
            "kind: 'Se''cret'\n",
            "kind: ~\n",
            "kind:\n  a: b\n",
            "a: b\nsops: x\n",
            "a: b\nsops:\n",
            "a: b\nsops: ~\n",
            "a: b\nsops:\n  x\n",
            "a: b\nsops: {a: 1}\n",
            "a:\n  sops:\n    b: c\n",
            "a: b\nsops: # c\n  version: 3.11.0\n",
            "a: b\nsops:\n  version: 3.11.0 # c\n",
            "a: b\nsops:\n  # c\n  version: 3.11.0\n",
            "a: b\nsops:\n  version: 3.11.0\nc: d\n",
            "a: b\nsops:\n  version: 3.11.0\n# c\n",
            "a: b\nsops:\n  version: 3.11.0\n...\n",
            "a: b\nsops:\n  version: 3.11.0\n\n\n---\nc: d\n",
            "a: b\nsops:\n  version: 3.11.0\n---\nsops:\n  version: 3.11.0\n",
            "sops:\n  version: 3.11.0\na: b\n",
            "sops:\n  version: 3.11.0\n",
            "  a: b\n  sops:\n    version: 3.11.0\n",
            "a: b\nsops:\n- x\n",
            "a: b\nsops:\n  - x\n",
            "a: b\nsops:\n  version: 3.11.0\n  version: 3.11.0\n",
            "a: b\nsops:\n  k: |+\n    x\n\n",
            "a: b\nsops:\n  k: |+\n    x\n\n---\nc: d\n",
            "a: b\nsops:\n  k: [1, 2]\n  l: &a x\n",
            "a: b\nsops:\n  k: *a\n",
            "a: b\nsops:\n  k: '\n",
            "a: b\nsops:\n   k: v\n  l: w\n",
            "a: b\nsops:\n  version: 3.11.0\nsops:\n  version: 3.11.0\n",
            "a: b\r\nsops:\r\n  version: 3.11.0\r\n",
            "a: b\nsops:\n  version: 3.11.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        cases.push(format!("{secret}{meta}"));
        cases.push(format!("{secret}{meta}---\n{secret}{meta}"));
        cases.push(format!("# head\n---\n{secret}\n{meta}\n\n"));
        cases.push(format!("{secret}{meta}").replace('\n', "\r\n"));
        let mut taken = 0;
        for src in &cases {
            if check(src).unwrap_or_else(|e| panic!("{e}")) {
                taken += 1;
            }
        }
        for src in &cases[cases.len() - 4..] {
            assert_eq!(check(src), Ok(true), "the fast path declined {src:?}");
        }
        assert!(taken >= 40, "the fast path took only {taken} of {} edge cases", cases.len());
    }

    // ---- generated manifests ----

    #[derive(Debug, Clone)]
    enum Node {
        /// A scalar (or anything else) written after `key: ` or `- `.
        Inline(String),
        /// Block scalar header and content lines (`""` blank; leading spaces indent more).
        Block(String, Vec<String>),
        /// A scalar continued on more lines.
        Multi(String, Vec<String>),
        Map(Vec<MapItem>),
        Seq(Vec<SeqItem>),
    }

    #[derive(Debug, Clone)]
    enum MapItem {
        Pair(String, Node, u8),
        Comment(String, i8),
        Blank(u8),
    }

    #[derive(Debug, Clone)]
    enum SeqItem {
        Elem(Node, u8),
        Comment(String, i8),
        Blank(u8),
    }

    fn plain_scalar() -> BoxedStrategy<String> {
        prop_oneof![
            6 => "[a-zA-Z][a-zA-Z0-9 ._/=+-]{0,20}[a-zA-Z0-9=]",
            2 => "[a-z0-9]{1,8}",
            2 => (-100000i64..100000).prop_map(|n| n.to_string()),
            1 => (0u32..1000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
            3 => prop::sample::select(vec![
                "true", "false", "True", "FALSE", "yes", "no", "on", "off", "y", "~", "null", "Null", "NULL", "",
                "2024-01-02", "2024-01-02T10:00:00Z", "12:30:45", "1e3", "1.5e-3", "0x1F", "0o17", "0b101", "+12", "-3",
                ".5", "1_000", ".inf", "-.Inf", ".NaN", "0042", "00", "0.", "+", "-", ":", "?", "http://a.b/c?d=e#f",
                "a:b", "a#b", "a #b", "a # b", "-x", "- x", ":x", "?x", "%x", "@x", "`x`", "a: b", "a\tb", "ünïcödé €",
                "ENC[AES256_GCM,data:abc=,iv:aXY=,tag:dGFn,type:str]", "*alias", "&anc val", "!!str 12", "!!binary aGk=",
                "!tag x", "!!int 3", "!!null x", "[a, b]", "{a: 1}", "[]", "{}", "[a, {b: c}]", "'unterminated", "\"",
                "|", ">", "text with 'quote'", "say \"hi\"", "a,b", "100%", "a  b", "a b ", "x:", "x: ", "x:y: z", "~x",
                "=", "<<", "a\u{feff}b", "a\rb", "#", "--- x", "...", "a ---", "a...",
            ]).prop_map(str::to_owned),
        ]
        .boxed()
    }

    fn double_quoted_scalar() -> BoxedStrategy<String> {
        prop_oneof![
            4 => "[a-zA-Z0-9 ._:#'/-]{0,15}".prop_map(|s| format!("\"{s}\"")),
            1 => "[a-zA-Zäöü€ 0-9]{1,10}".prop_map(|s| format!("\"{s}\"")),
            2 => prop::sample::select(vec![
                r#""a\nb""#, r#""\t""#, r#""\"q\"""#, r#""\\""#, r#""\x41""#, r#""\u00e9""#, r#""\U0001F600""#, r#""\/""#,
                r#""\ ""#, r#""\0""#, r#""\e""#, r#""\N""#, r#""\_""#, r#""\L\P""#, r#""a\""#, r#""\q""#, "\"\"", "\"a\"b\"",
                "\"\" x", "\"a\"  # c", "\"a\"#c", "\"tab\there\"", "\"trail \"", "\" lead\"",
            ]).prop_map(str::to_owned),
        ]
        .boxed()
    }

    fn single_quoted_scalar() -> BoxedStrategy<String> {
        prop_oneof![
            4 => "[a-zA-Z0-9 ._:#\"/\\\\-]{0,15}".prop_map(|s| format!("'{s}'")),
            2 => prop::sample::select(vec![
                "''", "'it''s'", "''''", "'a # b'", "'a'b'", "'a'  # c", "'a'#c", "' lead'", "'trail '", "'\\n'", "'tab\there'",
                "''''''", "'a''", "'é'",
            ]).prop_map(str::to_owned),
        ]
        .boxed()
    }

    fn scalar() -> BoxedStrategy<String> {
        prop_oneof![6 => plain_scalar(), 2 => double_quoted_scalar(), 2 => single_quoted_scalar()].boxed()
    }

    fn block() -> BoxedStrategy<Node> {
        let header = prop::sample::select(vec![
            "|", "|", "|", "|-", "|-", "|+", "|+", ">", ">-", ">+", "|2", "|-2", "|2-", ">1", "|1", "| # c", "|  ", "|#", "|x", "|++",
        ]);
        let line = prop_oneof![
            6 => "[a-zA-Z0-9#\"'-][a-zA-Z0-9 #:'\"-]{0,20}",
            2 => Just(String::new()),
            1 => "[ ]{1,4}",
            1 => "[ ]{1,3}[a-z]{1,5}",
            1 => Just("\ttab".to_owned()),
            1 => Just("a  ".to_owned()),
        ];
        (header, prop::collection::vec(line, 0..5)).prop_map(|(h, l)| Node::Block(h.to_owned(), l)).boxed()
    }

    fn multi() -> BoxedStrategy<Node> {
        let cont = prop_oneof![
            "[a-z][a-z ]{0,8}",
            Just(String::new()),
            Just("b\"".to_owned()),
            Just("c'".to_owned()),
            Just("- x".to_owned()),
            Just("k: v".to_owned())
        ];
        (prop_oneof![Just("a"), Just("\"a"), Just("'a"), Just("\"a\\"), Just("[a,"), Just("{a: 1,")], prop::collection::vec(cont, 1..3))
            .prop_map(|(f, c)| Node::Multi(f.to_owned(), c))
            .boxed()
    }

    /// Scalars as manifests usually hold them (what the fast path is for).
    fn tame_scalar() -> BoxedStrategy<String> {
        prop_oneof![
            8 => "[a-zA-Z][a-zA-Z0-9 ._/=+-]{0,20}[a-zA-Z0-9=]",
            2 => "[a-z0-9]{1,8}",
            2 => (-100000i64..100000).prop_map(|n| n.to_string()),
            1 => (0u32..1000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
            2 => prop::sample::select(vec![
                "true", "false", "True", "yes", "on", "~", "null", "Null", "", "2024-01-02", "2024-01-02T10:00:00Z", "12:30:45", "1e3",
                "0x1F", "0o17", "+12", "-3", ".5", "1_000", ".inf", "0042", "http://a.b/c?d=e#f", "a:b", "a#b", "a #b", "-x", "ünïcödé €",
                "ENC[AES256_GCM,data:abc=,iv:aXY=,tag:dGFn,type:str]", "a,b", "100%", "a  b", "x-", "a=b",
            ]).prop_map(str::to_owned),
            2 => "[a-zA-Z0-9 ._:#'/-]{0,15}".prop_map(|s| format!("\"{s}\"")),
            2 => "[a-zA-Z0-9 ._:#\"/-]{0,15}".prop_map(|s| format!("'{s}'")),
            1 => prop::sample::select(vec!["''", "'it''s'", "\"\"", "\" lead\"", "'trail '", "\"ünï\"", "'a # b'", "\"a: b\""]).prop_map(str::to_owned),
        ]
        .boxed()
    }

    fn tame_block() -> BoxedStrategy<Node> {
        let header = prop::sample::select(vec!["|", "|", "|-", "|+"]);
        let line = prop_oneof![
            8 => "[a-zA-Z0-9#\"'-][a-zA-Z0-9 #:'\"-]{0,20}",
            2 => Just(String::new()),
            1 => "[ ]{1,3}[a-z]{1,5}",
        ];
        (header, "[a-z][a-z ]{0,10}", prop::collection::vec(line, 0..5))
            .prop_map(|(h, first, mut l)| {
                l.insert(0, first);
                Node::Block(h.to_owned(), l)
            })
            .boxed()
    }

    fn tame_key() -> BoxedStrategy<String> {
        prop_oneof![
            10 => "[a-z][a-zA-Z0-9_.-]{0,8}",
            2 => prop::sample::select(vec!["name", "data", "stringData", "kind", "apiVersion", "metadata", "type", "token", "x/y", "app.kubernetes.io/name", "a b", "ключ", "k#x", "k:", "a:b", "a[0]", "a{b}", "k-", "k'", "k\"", "a,b", "0a", "1.2.3", "Yes", "~k", "k~"]).prop_map(str::to_owned),
        ]
        .boxed()
    }

    fn key() -> BoxedStrategy<String> {
        prop_oneof![
            10 => "[a-z][a-zA-Z0-9_.-]{0,8}",
            3 => prop::sample::select(vec!["a", "b", "name", "data", "stringData", "kind", "apiVersion", "metadata", "type", "sops", "token", "x/y", "app.kubernetes.io/name"]).prop_map(str::to_owned),
            2 => prop::sample::select(vec![
                "\"a: b\"", "'k'", "\"k\"", "\"sops\"", "\"kind\"", "1", "true", "null", "~", "\"\"", "key with space", "a:b", "url:http",
                "? k", "-k", "k#x", "k #x", "&a k", "*a", "<<", "!!str k", "\"esc\\n\"", "'it''s'", "k ", "[a]", "{a: b}", "ключ", "-", "?",
                "\"a\" ", "'a' ",
            ]).prop_map(str::to_owned),
        ]
        .boxed()
    }

    fn comment(tame: bool) -> BoxedStrategy<String> {
        if tame {
            return "[a-zA-Z0-9 :#'\"-]{0,12}".boxed();
        }
        prop_oneof![4 => "[a-zA-Z0-9 :#'\"-]{0,12}", 1 => Just("\tx".to_owned())].boxed()
    }

    fn leaf(tame: bool) -> BoxedStrategy<Node> {
        if tame {
            prop_oneof![12 => tame_scalar().prop_map(Node::Inline), 3 => tame_block()].boxed()
        } else {
            prop_oneof![12 => scalar().prop_map(Node::Inline), 3 => block(), 1 => multi()].boxed()
        }
    }

    fn node(tame: bool) -> BoxedStrategy<Node> {
        let key = move || if tame { tame_key() } else { key() };
        leaf(tame)
            .prop_recursive(4, 48, 6, move |inner| {
                // Sequences of collections are not in the fast path's subset.
                let item = if tame { leaf(true) } else { inner.clone() };
                let pair = prop_oneof![
                    8 => (key(), inner.clone(), any::<u8>()).prop_map(|(k, n, f)| MapItem::Pair(k, n, f)),
                    1 => (comment(tame), -2i8..3).prop_map(|(c, o)| MapItem::Comment(c, o)),
                    1 => (0u8..3).prop_map(MapItem::Blank),
                ];
                let elem = prop_oneof![
                    8 => (item, any::<u8>()).prop_map(|(n, f)| SeqItem::Elem(n, f)),
                    1 => (comment(tame), -2i8..3).prop_map(|(c, o)| SeqItem::Comment(c, o)),
                    1 => (0u8..3).prop_map(SeqItem::Blank),
                ];
                prop_oneof![
                    3 => prop::collection::vec(pair, 1..6).prop_map(Node::Map),
                    1 => prop::collection::vec(elem, 1..5).prop_map(Node::Seq),
                ]
            })
            .boxed()
    }

    #[derive(Debug, Clone)]
    struct Doc {
        items: Vec<MapItem>,
        /// 0: a mapping; 1: a sequence; 2: a scalar; 3: comments alone.
        kind: u8,
        flags: u8,
    }

    fn doc(tame: bool) -> BoxedStrategy<Doc> {
        let key = if tame { tame_key() } else { key() };
        let kind = if tame { Just(0u8).boxed() } else { prop_oneof![20 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)].boxed() };
        let pair = prop_oneof![
            8 => (key, node(tame), any::<u8>()).prop_map(|(k, n, f)| MapItem::Pair(k, n, f)),
            1 => (comment(tame), -1i8..3).prop_map(|(c, o)| MapItem::Comment(c, o)),
            1 => (0u8..3).prop_map(MapItem::Blank),
        ];
        (prop::collection::vec(pair, 1..8), kind, any::<u8>()).prop_map(|(items, kind, flags)| Doc { items, kind, flags }).boxed()
    }

    struct Render {
        out: String,
        nl: &'static str,
        step: usize,
        seq_indented: bool,
    }

    impl Render {
        fn line(&mut self, s: &str, trailing: bool) {
            self.out.push_str(s);
            if trailing {
                self.out.push_str("  ");
            }
            self.out.push_str(self.nl);
        }

        fn comment(&mut self, ind: usize, c: &str, off: i8) {
            let col = (ind as isize + off as isize).max(0) as usize;
            self.line(&format!("{}#{c}", " ".repeat(col)), false);
        }

        fn blank(&mut self, n: u8) {
            self.line(&" ".repeat(n as usize), false);
        }

        /// Writes `node` after `head` (which ends with `key:` or `-`); nested lines at `ind`.
        fn value(&mut self, head: &str, node: &Node, ind: usize, flags: u8, in_seq: bool) {
            let sep = if flags & 1 != 0 { "  " } else { " " };
            let trailing = flags & 2 != 0;
            let cm = if flags & 4 != 0 { " # c" } else { "" };
            match node {
                Node::Inline(v) if v.is_empty() => self.line(&format!("{head}{cm}"), trailing),
                Node::Inline(v) => self.line(&format!("{head}{sep}{v}{cm}"), trailing),
                Node::Block(h, lines) => {
                    self.line(&format!("{head}{sep}{h}"), trailing && flags & 4 != 0);
                    for l in lines {
                        if l.is_empty() {
                            self.line("", false);
                        } else {
                            self.line(&format!("{}{l}", " ".repeat(ind)), false);
                        }
                    }
                }
                Node::Multi(first, cont) => {
                    self.line(&format!("{head}{sep}{first}"), false);
                    for c in cont {
                        self.line(&format!("{}{c}", " ".repeat(ind)), trailing);
                    }
                }
                Node::Map(items) => {
                    if in_seq && flags & 8 != 0 {
                        let prefix = format!("{head}{sep}");
                        let n = prefix.chars().count();
                        self.map(items, n, Some(prefix));
                    } else {
                        let c = if flags & 16 != 0 { " # c" } else { "" };
                        self.line(&format!("{head}{c}"), trailing);
                        self.map(items, ind, None);
                    }
                }
                Node::Seq(items) => {
                    if in_seq && flags & 8 != 0 {
                        let prefix = format!("{head}{sep}");
                        let n = prefix.chars().count();
                        self.seq(items, n, Some(prefix));
                    } else {
                        let c = if flags & 16 != 0 { " # c" } else { "" };
                        self.line(&format!("{head}{c}"), trailing);
                        let at = if in_seq || self.seq_indented || flags & 32 != 0 { ind } else { ind - self.step };
                        self.seq(items, at, None);
                    }
                }
            }
        }

        fn map(&mut self, items: &[MapItem], ind: usize, mut prefix: Option<String>) {
            for item in items {
                match item {
                    MapItem::Pair(k, n, f) => {
                        let pad = prefix.take().unwrap_or_else(|| " ".repeat(ind));
                        self.value(&format!("{pad}{k}:"), n, ind + self.step, *f, false);
                    }
                    MapItem::Comment(c, o) => self.comment(ind, c, *o),
                    MapItem::Blank(n) => self.blank(*n),
                }
            }
        }

        fn seq(&mut self, items: &[SeqItem], ind: usize, mut prefix: Option<String>) {
            for item in items {
                match item {
                    SeqItem::Elem(n, f) => {
                        let pad = prefix.take().unwrap_or_else(|| " ".repeat(ind));
                        let head = format!("{pad}-");
                        self.value(&head, n, ind + self.step.max(if f & 64 != 0 { 1 } else { 2 }), *f, true);
                    }
                    SeqItem::Comment(c, o) => self.comment(ind, c, *o),
                    SeqItem::Blank(n) => self.blank(*n),
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn render_docs(docs: &[Doc], step: usize, seq_indented: bool, crlf: bool, final_newline: bool, start: u8, tame: bool) -> String {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut r = Render { out: String::new(), nl, step, seq_indented };
        let start = if tame { [0, 1, 4][start as usize % 3] } else { start };
        match start % 8 {
            1 => r.line("---", false),
            2 => r.line("%YAML 1.2", false),
            3 => {
                r.line("%YAML 1.2", false);
                r.line("---", false);
            }
            4 => r.line("# leading comment", false),
            5 => r.line("--- # c", false),
            _ => {}
        }
        for (i, d) in docs.iter().enumerate() {
            if i > 0 && tame {
                r.line("---", false);
            } else if i > 0 {
                match d.flags % 6 {
                    0 => r.line("--- # c", false),
                    1 => {
                        r.line("...", false);
                        r.line("---", false);
                    }
                    2 => r.line("--- ", false),
                    _ => r.line("---", false),
                }
            }
            let top = if d.flags & 0x80 != 0 { (d.flags as usize >> 4) % 3 } else { 0 };
            match d.kind {
                1 => r.seq(&[SeqItem::Elem(Node::Inline("x".into()), 0)], top, None),
                2 => r.line("just a scalar", false),
                3 => r.line("# only a comment", false),
                _ => {}
            }
            if d.kind != 3 {
                r.map(&d.items, top, None);
            }
            if d.flags & 0x40 != 0 && !tame {
                r.line("...", false);
            }
        }
        let mut out = r.out;
        if !final_newline {
            while out.ends_with('\n') || out.ends_with('\r') {
                out.pop();
            }
        }
        out
    }

    fn manifests(tame: bool) -> impl Strategy<Value = String> {
        (prop::collection::vec(doc(tame), 1..4), 1usize..5, any::<bool>(), prop::bool::weighted(0.2), prop::bool::weighted(0.8), any::<u8>())
            .prop_map(move |(docs, step, seq_ind, crlf, fin, start)| render_docs(&docs, step, seq_ind, crlf, fin, start, tame))
    }

    /// Lines drawn from a pool of fragments at random indentation: mostly nonsense, which
    /// the fast path must leave to the full parser.
    fn line_soup() -> impl Strategy<Value = String> {
        let frag = prop::sample::select(vec![
            "a: 1",
            "b:",
            "c: d",
            "- x",
            "- k: v",
            "-",
            "- - y",
            "# c",
            "---",
            "...",
            "--- x",
            "e: |",
            "f: |-",
            "g: |+",
            "h: >",
            "  text",
            "text",
            "",
            "  ",
            "\t",
            "i: 'x'",
            "j: \"y\"",
            "k: [1, 2]",
            "l: {a: b}",
            "? q",
            ": v",
            "m: &a x",
            "n: *a",
            "o: !!str 3",
            "kind: Secret",
            "apiVersion: v1",
            "sops:",
            "version: 3.11.0",
            "  - a",
            "x #y",
            "z: a #c",
            "p: \"a\\nb\"",
            "q: 'it''s'",
            "r: ~",
            "s: null",
            "t: 2024-01-01",
            "u:  v",
            "w: x  ",
            "u: |2",
            "%YAML 1.2",
            "v: \"multi",
            "line\"",
            "w: 'multi",
            "line'",
            "data:",
            "stringData:",
            "token: abc",
            "a: b: c",
            "a:b",
            "'q k': v",
            "\"q k\": v",
            "1: num",
            "y: yes",
            "metadata:",
            "name: x",
            "a: 1 # c",
            "#",
            "- # c",
            "-   z",
            "key:\tv",
            "k: v\t",
            "mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]",
            "age:",
            "- recipient: r",
            "enc: |",
            "lastmodified: \"2024-01-01T00:00:00Z\"",
        ]);
        (prop::collection::vec((0usize..7, frag), 1..16), any::<bool>(), any::<bool>()).prop_map(|(lines, crlf, fin)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut s = String::new();
            for (ind, f) in lines {
                s.push_str(&" ".repeat(ind));
                s.push_str(f);
                s.push_str(nl);
            }
            if !fin {
                s.truncate(s.trim_end_matches(['\n', '\r']).len());
            }
            s
        })
    }

    fn run(name: &str, cases: u32, strategy: impl Strategy<Value = String>) -> (usize, usize) {
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let taken = std::cell::Cell::new(0usize);
        let total = std::cell::Cell::new(0usize);
        let result = runner.run(&strategy, |src| {
            total.set(total.get() + 1);
            match check(&src) {
                Ok(true) => taken.set(taken.get() + 1),
                Ok(false) => {}
                Err(e) => return Err(TestCaseError::fail(e)),
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
        (taken.get(), total.get())
    }

    #[test]
    fn fast_path_matches_events_on_generated_manifests() {
        run("manifests", 6000, manifests(false));
    }

    #[test]
    fn fast_path_matches_events_on_generated_plain_manifests() {
        let (taken, total) = run("plain manifests", 6000, manifests(true));
        eprintln!("fast path taken for {taken} of {total}");
        assert!(taken * 2 >= total, "the fast path took only {taken} of {total} generated manifests");
    }

    /// Whether a document's first line of content is indented.
    fn indented_top_level(src: &str) -> bool {
        let mut doc_start = true;
        for l in src.lines() {
            if l.starts_with("---") {
                doc_start = true;
            } else if !l.trim().is_empty() && !l.trim_start().starts_with('#') {
                if doc_start && l.starts_with(' ') {
                    return true;
                }
                doc_start = false;
            }
        }
        false
    }

    /// Every value of a file with where it sits, as the full parser reads it.
    fn values(src: &str) -> Vec<(usize, Vec<Box<str>>, String, String)> {
        let f = yaml::parse_events(src).unwrap();
        f.docs
            .iter()
            .enumerate()
            .flat_map(|(i, d)| {
                d.leaves.iter().map(move |l| {
                    (i, d.paths[l.parent as usize].keys.clone(), l.key.as_ref().map_or_else(String::new, |k| k.get(src).to_owned()), l.text.get(src).to_owned())
                })
            })
            .collect()
    }

    /// What the fast path reads, gitseal encrypts and decrypts back to the same bytes, and
    /// the fast path also reads the encrypted file, identically to the full parser.
    #[test]
    fn fast_path_inputs_round_trip_through_encrypt_and_decrypt() {
        use crate::keys::age::{generate_identity, AgeRecipient, Identities};
        use crate::keys::Recipients;
        use crate::pipeline::{decrypt, encrypt, DecryptRequest, EncryptRequest};
        let (secret, recipient) = generate_identity();
        let mut ids = Identities::default();
        ids.add_text("generated", &secret).unwrap();
        let recipients = Recipients { age: vec![AgeRecipient::parse(&recipient).unwrap()], ..Recipients::default() };
        let mut runner = TestRunner::new(Config { cases: 4000, failure_persistence: None, ..Config::default() });
        let (taken, total, strings) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
        let result = runner.run(&manifests(true), |src| {
            total.set(total.get() + 1);
            if !check(&src).map_err(TestCaseError::fail)? {
                return Ok(());
            }
            taken.set(taken.get() + 1);
            let req = EncryptRequest {
                file: "generated.yaml",
                format: Format::Yaml,
                src: src.as_bytes(),
                recipients: &recipients,
                selection: None,
                mac_only_encrypted: false,
                identities: &ids,
                previous: None,
            };
            // An indented top-level mapping gets an indented `sops:` block, which the fast
            // path leaves to the full parser. A value that looks encrypted makes encrypt
            // refuse the file, as it should.
            if indented_top_level(&src) || src.contains("ENC[") {
                return Ok(());
            }
            if parse(&src).unwrap().docs.is_empty() {
                prop_assert!(encrypt(&req).is_err(), "a file without a document was encrypted");
                return Ok(());
            }
            let enc = encrypt(&req).map_err(|e| TestCaseError::fail(format!("encrypt: {e}\n{src:?}")))?;
            let enc = enc.output.as_str();
            match check(enc) {
                Ok(true) => {}
                Ok(false) => return Err(TestCaseError::fail(format!("the fast path declined the encrypted file:\n{enc:?}"))),
                Err(e) => return Err(TestCaseError::fail(format!("encrypted: {e}"))),
            }
            let dec = decrypt(&DecryptRequest { file: "generated.yaml", format: Format::Yaml, src: enc.as_bytes(), identities: &ids, ignore_mac: false })
                .map_err(|e| TestCaseError::fail(format!("decrypt: {e}\n{enc:?}")))?;
            let dec = String::from_utf8(dec.as_bytes().to_vec()).unwrap();
            FULL_PARSER_ONLY.with(|f| f.set(true));
            let full = decrypt(&DecryptRequest { file: "generated.yaml", format: Format::Yaml, src: enc.as_bytes(), identities: &ids, ignore_mac: false });
            FULL_PARSER_ONLY.with(|f| f.set(false));
            let full = String::from_utf8(full.map_err(|e| TestCaseError::fail(format!("decrypt without the fast path: {e}")))?.as_bytes().to_vec()).unwrap();
            prop_assert_eq!(&dec, &full, "decrypt differs with and without the fast path");
            // Numbers, booleans and the like come back as sops writes them (`.inf` as
            // `+Inf`): byte comparisons are for files of strings.
            let parsed = yaml::parse_events(&src).unwrap();
            if parsed.docs.iter().flat_map(|d| &d.leaves).any(|l| !matches!(l.ty, ValueType::Str | ValueType::Comment)) {
                return Ok(());
            }
            prop_assert_eq!(values(&dec), values(&src), "{:?}", dec);
            // Byte for byte, but for what decrypt rewrites on purpose whatever the parser: a
            // plain string YAML 1.1 would misread comes back quoted, and block scalars are
            // written anew from their values (`|+` as `|` when one line break ends the
            // value, blank lines without their spaces).
            if src.contains('|') {
                return Ok(());
            }
            strings.set(strings.get() + 1);
            let (d, s): (Vec<&str>, Vec<&str>) = (dec.split('\n').collect(), src.split('\n').collect());
            prop_assert_eq!(d.len(), s.len(), "{:?}", dec);
            for (dl, sl) in d.iter().zip(&s) {
                // The same line with a pair of `"` added around the value.
                let requoted = dl.len() == sl.len() + 2 && {
                    let i = dl.bytes().zip(sl.bytes()).position(|(a, b)| a != b).unwrap_or(sl.len());
                    dl.as_bytes()[i] == b'"'
                        && dl[i + 1..].find('"').is_some_and(|o| format!("{}{}{}", &dl[..i], &dl[i + 1..i + 1 + o], &dl[i + 2 + o..]) == **sl)
                };
                prop_assert!(dl == sl || requoted, "line {:?} came back as {:?}", sl, dl);
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        assert!(taken.get() * 2 >= total.get(), "the fast path took only {} of {} generated manifests", taken.get(), total.get());
        eprintln!("round trips: {} of {} taken, {} compared byte for byte", taken.get(), total.get(), strings.get());
        assert!(strings.get() * 40 >= taken.get(), "only {} of {} files compared byte for byte", strings.get(), taken.get());
    }

    #[test]
    fn fast_path_matches_events_on_line_soup() {
        run("line soup", 6000, line_soup());
    }
}
