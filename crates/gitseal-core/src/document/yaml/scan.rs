//! The byte-level scanning both YAML parsers share: exact scalar extents, comments and
//! their owners, indentation, where a metadata block goes, and YAML 1.1 plain-scalar
//! typing as sops's reader does it. Neither parser is imported here.

use std::ops::Range;

use saphyr_parser::ScalarStyle;

use crate::document::{Document, Leaf, Style, SyntaxError, Text};
use crate::sops::value::ValueType;

/// Where a document's metadata block goes: after its last non-blank line (its trailing
/// comments included), before the next `---`/`...` marker, and after a last block scalar
/// that keeps its trailing blank lines (`|+`).
pub(crate) fn insert_point(src: &str, region_start: usize, end_marker: usize, doc: &Document) -> usize {
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

/// A block or flow collection, for deciding which one a comment belongs to.
#[derive(Debug)]
pub(crate) struct Collection {
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

/// A comment found in the source: (document, position of `#`, end of its text, column).
pub(crate) type FoundComment = (usize, usize, usize, usize);

pub(crate) fn err_at(src: &str, pos: usize, msg: impl Into<String>) -> SyntaxError {
    let (line, col) = crate::document::line_col(src, pos);
    SyntaxError::new(line, col, msg)
}

/// Deeper nesting of block collections than this is refused: every level holds the keys
/// leading to it, so a file nested thousands of levels deep would cost memory quadratic
/// in its depth. Flow collections stop earlier (255 levels, in the YAML parser) and JSON
/// at the same depth.
pub const MAX_DEPTH: usize = 1000;

/// Refuses characters YAML does not allow in a file (sops's YAML reader stops at them:
/// "control characters are not allowed"), and the line separators YAML 1.1 readers (sops
/// among them) break lines at but YAML 1.2 readers do not, so both would read different
/// documents. Anything gitseal parsed past such a byte would not be what sops reads.
pub(crate) fn check_characters(src: &str) -> Result<(), SyntaxError> {
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

pub(crate) fn style_is_plain(style: &Style) -> bool {
    matches!(style, Style::YamlPlain { .. })
}

pub(crate) fn memchr_hash(hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == b'#')
}

/// Where a scalar sits in the source.
pub(crate) struct Extent {
    pub(super) span: Range<usize>,
    pub(super) header: Option<Range<usize>>,
    pub(super) block_indent: usize,
}

pub(crate) fn scalar_extent(src: &str, style: ScalarStyle, start: usize, parser_end: usize, prev_end: usize) -> Option<Extent> {
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
pub(crate) fn holder_column(b: &[u8], header: usize) -> Option<usize> {
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
pub(crate) fn line_end_after(src: &str, pos: usize) -> usize {
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
pub(crate) fn attach_comments(
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

pub(crate) fn line_start_of(src: &str, pos: usize) -> usize {
    src.as_bytes()[..pos.min(src.len())].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

pub(crate) fn col_of(src: &str, pos: usize) -> usize {
    pos - line_start_of(src, pos)
}

/// Indentation of the line holding `pos`, counting a sequence dash as indentation.
pub(crate) fn key_indent(src: &str, pos: usize) -> usize {
    let ls = line_start_of(src, pos);
    let b = src.as_bytes();
    let mut i = ls;
    while i < b.len() && (b[i] == b' ' || ((b[i] == b'-') && b.get(i + 1) == Some(&b' '))) {
        i += 1;
    }
    i - ls
}

pub(crate) fn dash_col(src: &str, pos: usize) -> Option<usize> {
    let ls = line_start_of(src, pos);
    src.as_bytes()[ls..pos].iter().rposition(|&b| b == b'-')
}

pub(crate) fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// The type go-yaml v3 (and so sops) gives a scalar; `None` for null.
pub(crate) fn resolve_type(text: &str, style: ScalarStyle, tag: Option<&str>) -> Option<ValueType> {
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
pub(crate) fn finite_or_special(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.trim_start_matches(['+', '-']).starts_with('.') && (lower.ends_with("inf") || lower.ends_with("nan")) || text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The YAML 1.2 core-schema type of a plain scalar, as go-yaml v3 resolves it.
pub fn plain_type(text: &str) -> ValueType {
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
pub(crate) fn is_yaml11_timestamp(s: &str) -> bool {
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
pub(crate) fn is_radix_int(s: &str) -> bool {
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
