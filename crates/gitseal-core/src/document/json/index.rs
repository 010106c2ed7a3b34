//! A structural index of JSON text the document parser has already accepted: every
//! value's span, and each object's and array's elements with their keys, for edits by
//! path (`gitseal set`/`unset`). It shares the parser's whitespace and depth rules.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar,
    Object,
    Array,
}

pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) span: Range<usize>,
    /// The container's elements, for objects and arrays.
    pub(crate) container: Option<usize>,
}

pub(crate) struct Elem {
    pub(crate) key: Option<String>,
    /// Where the element starts: its key's quote, or the value.
    pub(crate) start: usize,
    pub(crate) node: usize,
}

pub(crate) struct Container {
    pub(crate) open: usize,
    pub(crate) close: usize,
    pub(crate) elems: Vec<Elem>,
}

#[derive(Default)]
pub(crate) struct Index {
    pub(crate) nodes: Vec<Node>,
    pub(crate) containers: Vec<Container>,
}

/// A structural scan of JSON that the document parser has already accepted.
pub(crate) struct Scan<'a> {
    b: &'a [u8],
    src: &'a str,
    pos: usize,
    idx: Index,
}

impl Scan<'_> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// Moves past a string; returns its raw text, quotes included.
    fn skip_string(&mut self) -> std::result::Result<&str, ()> {
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.b.len() && self.b[self.pos] != b'"' {
            self.pos += if self.b[self.pos] == b'\\' { 2 } else { 1 };
        }
        self.pos += 1;
        self.src.get(start..self.pos).ok_or(())
    }

    /// A member name, decoded.
    fn key(&mut self) -> std::result::Result<String, ()> {
        let raw = self.skip_string()?;
        serde_json::from_str::<String>(raw).map_err(|_| ())
    }

    fn value(&mut self, depth: usize) -> std::result::Result<usize, ()> {
        if depth > super::MAX_DEPTH {
            return Err(());
        }
        self.ws();
        let start = self.pos;
        match self.b.get(self.pos).ok_or(())? {
            b'{' | b'[' => {
                let object = self.b[self.pos] == b'{';
                let close_char = if object { b'}' } else { b']' };
                self.pos += 1;
                let mut elems = Vec::new();
                loop {
                    self.ws();
                    match self.b.get(self.pos).ok_or(())? {
                        c if *c == close_char => break,
                        b',' => {
                            self.pos += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let el_start = self.pos;
                    let key = if object {
                        let k = self.key()?;
                        self.ws();
                        if self.b.get(self.pos) != Some(&b':') {
                            return Err(());
                        }
                        self.pos += 1;
                        Some(k)
                    } else {
                        None
                    };
                    let node = self.value(depth + 1)?;
                    elems.push(Elem { key, start: el_start, node });
                }
                let close = self.pos;
                self.pos += 1;
                self.idx.containers.push(Container { open: start, close, elems });
                let c = self.idx.containers.len() - 1;
                self.idx.nodes.push(Node { kind: if object { Kind::Object } else { Kind::Array }, span: start..self.pos, container: Some(c) });
            }
            b'"' => {
                self.skip_string()?;
                self.idx.nodes.push(Node { kind: Kind::Scalar, span: start..self.pos, container: None });
            }
            _ => {
                while self.pos < self.b.len() && !matches!(self.b[self.pos], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    self.pos += 1;
                }
                self.idx.nodes.push(Node { kind: Kind::Scalar, span: start..self.pos, container: None });
            }
        }
        Ok(self.idx.nodes.len() - 1)
    }
}

/// Indexes `src`; returns the index and the root value's node. `Err` for text the
/// document parser would not have accepted.
pub(crate) fn build(src: &str) -> Result<(Index, usize), ()> {
    let mut scan = Scan { b: src.as_bytes(), src, pos: 0, idx: Index::default() };
    let root = scan.value(0)?;
    Ok((scan.idx, root))
}
