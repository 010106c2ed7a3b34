//! Rebuilding a file from its original bytes and a set of non-overlapping edits.

use std::ops::Range;

/// One replacement of a byte range.
#[derive(Debug)]
pub struct Edit {
    /// Bytes of the source to replace (may be empty, for an insertion).
    pub span: Range<usize>,
    /// What takes their place.
    pub text: String,
}

/// Applies `edits` (any order, non-overlapping; empty spans insert) to `src`.
pub fn apply(src: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let extra: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = String::with_capacity(src.len() + extra);
    let mut pos = 0;
    for e in &edits {
        debug_assert!(e.span.start >= pos, "overlapping edits");
        out.push_str(&src[pos..e.span.start]);
        out.push_str(&e.text);
        pos = e.span.end;
    }
    out.push_str(&src[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_order() {
        let out = apply(
            "a: 1\nb: 2\n",
            vec![Edit { span: 8..9, text: "X".into() }, Edit { span: 3..4, text: "Y".into() }, Edit { span: 10..10, text: "c: 3\n".into() }],
        );
        assert_eq!(out, "a: Y\nb: X\nc: 3\n");
    }
}
