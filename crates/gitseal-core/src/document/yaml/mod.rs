//! YAML with byte spans, so values are replaced in place and nothing else moves.
//!
//! One family of readers: [`fast`], a line-based parser for the subset most manifests
//! are made of, and [`events`], the full parser over saphyr's events, which reads
//! everything and reports every error. [`parse`] tries the first and falls back to the
//! second; neither imports the other, and both build on the scanning in [`scan`]. The
//! plaintext editor (`plaintext_edit`) and the `.sops.yaml` reader use the same family.
//! [`emit`] writes values and the metadata block back; [`value`] reads whole documents
//! as node trees.

mod emit;
mod events;
mod fast;
pub mod json;
pub(crate) mod nodes;
pub(crate) mod scan;
pub mod value;

pub use emit::{render_metadata, render_value};
pub use events::parse_events;
pub use scan::{plain_type, MAX_DEPTH};

use crate::document::{ParsedFile, Style, SyntaxError, Text};

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
    if let Some(parsed) = fast::parse(src, parse_events) {
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

#[cfg(test)]
mod tests {
    use super::emit::plain_safe;
    use super::scan::*;
    use super::*;
    use crate::document::Tree;
    use crate::sops::value::ValueType;

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
