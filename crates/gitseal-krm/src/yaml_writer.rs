//! Writing node trees back as block-style YAML that kustomize (go-yaml v3) reads with
//! the same meaning: plain scalars are written as they were (so `8080` stays a number
//! and `"8080"` a string), every other scalar double-quoted, tags kept.

use std::fmt::Write;

use gitseal_core::document::yaml::value::{YamlNode, YamlScalar};

/// Appends `node` as the value of a block entry whose key (or `- `) was just written at
/// column `indent`: a scalar or empty collection on the same line, a non-empty
/// collection on the lines below.
pub fn write_value(out: &mut String, node: &YamlNode, indent: usize) {
    match node {
        YamlNode::Map { entries, .. } if !entries.is_empty() => {
            out.push('\n');
            write_map_entries(out, entries, indent + 2, false);
        }
        YamlNode::Seq { items, .. } if !items.is_empty() => {
            out.push('\n');
            write_seq_items(out, items, indent);
        }
        _ => {
            out.push(' ');
            write_inline(out, node);
            out.push('\n');
        }
    }
}

/// Writes `node` as a whole document at column 0 (no `---`).
pub fn write_document(out: &mut String, node: &YamlNode) {
    match node {
        YamlNode::Map { entries, .. } if !entries.is_empty() => write_map_entries(out, entries, 0, false),
        YamlNode::Seq { items, .. } if !items.is_empty() => write_seq_items(out, items, 0),
        _ => {
            write_inline(out, node);
            out.push('\n');
        }
    }
}

/// Writes `items` as `- ` entries at column `indent`.
pub fn write_seq_items(out: &mut String, items: &[YamlNode], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            YamlNode::Map { entries, .. } if !entries.is_empty() => {
                out.push(' ');
                write_map_entries(out, entries, indent + 2, true);
            }
            YamlNode::Seq { items, .. } if !items.is_empty() => {
                out.push('\n');
                write_seq_items(out, items, indent + 2);
            }
            _ => {
                out.push(' ');
                write_inline(out, item);
                out.push('\n');
            }
        }
    }
}

/// Writes mapping entries at column `indent`; `continues_line` when the first key goes
/// on the current line (after `- `).
fn write_map_entries(out: &mut String, entries: &[(YamlNode, YamlNode)], indent: usize, continues_line: bool) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !continues_line {
            pad(out, indent);
        }
        write_inline(out, key);
        out.push(':');
        write_value(out, value, indent);
    }
}

/// A scalar, or an empty collection (`{}`, `[]`), on one line.
fn write_inline(out: &mut String, node: &YamlNode) {
    match node {
        YamlNode::Map { .. } => out.push_str("{}"),
        YamlNode::Seq { .. } => out.push_str("[]"),
        YamlNode::Scalar(s) => write_scalar(out, s),
    }
}

fn write_scalar(out: &mut String, s: &YamlScalar) {
    if let Some(tag) = &s.tag {
        out.push_str(tag);
        out.push(' ');
    }
    if s.null {
        out.push_str(if s.text.is_empty() { "null" } else { &s.text });
    } else if s.plain && !s.text.is_empty() && !s.text.contains(['\n', '\r']) {
        // A single-line plain scalar's text is exactly its source, which was a valid
        // plain scalar in block or flow context, and so is one in block context.
        out.push_str(&s.text);
    } else {
        write_double_quoted(out, &s.text);
    }
}

/// `text` as a YAML double-quoted scalar (a JSON string is one too).
pub fn write_double_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            // Controls, YAML 1.1's extra line breaks (NEL, LS, PS) and the byte order mark.
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitseal_core::document::yaml::value::parse_documents;

    fn rewrite(src: &str) -> String {
        let docs = parse_documents(src).expect("parsed");
        let mut out = String::new();
        write_document(&mut out, &docs[0]);
        out
    }

    #[test]
    fn block_output_keeps_types_and_text() {
        let src = "a: 1\nb: \"1\"\nc: |\n  line \"one\"\n  two\nd: [x, {e: ~}]\nf: {}\ng: !!binary aGk=\nh: 'it''s'\n";
        let out = rewrite(src);
        assert_eq!(out, "a: 1\nb: \"1\"\nc: \"line \\\"one\\\"\\ntwo\\n\"\nd:\n- x\n- e: ~\nf: {}\ng: !!binary aGk=\nh: \"it's\"\n");
    }

    #[test]
    fn rewritten_yaml_parses_to_the_same_tree() {
        let src = "k:\n  - - 1\n    - two\n  - a: b\n    c:\n      - d\n  - \"\\u0007 é\\t\"\n  - ''\n  -\nz: plain text, with {braces} and [brackets]\n";
        let once = rewrite(src);
        let twice = rewrite(&once);
        assert_eq!(once, twice, "a fixed point after one rewrite");
        let docs = parse_documents(&once).expect("parsed again");
        let YamlNode::Seq { items, .. } = docs[0].get("k").expect("k") else { panic!("k is a sequence") };
        assert_eq!(items.len(), 5);
        assert_eq!(items[2].as_str(), Some("\u{7} é\t"));
        assert_eq!(items[3].as_str(), Some(""));
        assert!(items[4].is_null());
        assert_eq!(docs[0].get("z").and_then(YamlNode::as_str), Some("plain text, with {braces} and [brackets]"));
    }
}
