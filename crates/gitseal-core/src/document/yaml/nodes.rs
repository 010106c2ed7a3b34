//! The YAML reader for code that needs a file's structure but not its values' exact
//! spans (the plaintext editor's index of addressable keys, `.sops.yaml`): saphyr's
//! events as nodes with byte offsets and lines, nulls resolved as the document parser
//! resolves them. Everything that reads YAML goes through this module family, so
//! aliases, nulls and error positions are treated alike everywhere.

use std::borrow::Cow;
use std::ops::{ControlFlow, Range};

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::scan::{is_null, ByteIndex};

/// One node of a YAML stream.
pub(crate) enum Node<'a> {
    /// A document begins.
    DocumentStart,
    /// A document ends.
    DocumentEnd,
    /// A scalar (a mapping key or a value). `null` is true for a plain, untagged (or
    /// `!!null`-tagged) null: empty, `~`, `null`, `Null`, `NULL`. `plain` when written
    /// without quotes or block indicator; `tag` in short form (`!!str`, `!custom`).
    Scalar { text: Cow<'a, str>, null: bool, plain: bool, tag: Option<String>, bytes: Range<usize>, line: usize },
    /// A mapping (`map`) or sequence begins; `flow` when written `{...}`/`[...]`; `line`
    /// is 1-based.
    CollectionStart { map: bool, flow: bool, bytes: Range<usize>, line: usize },
    /// The innermost open collection ends.
    CollectionEnd,
    /// An alias (`*name`), which gitseal does not follow.
    Alias { line: usize },
}

/// Where a YAML syntax error is, and saphyr's description of it.
pub(crate) struct NodeError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong (no file content beyond what the parser quotes).
    pub info: String,
}

/// Calls `visit` with each node of `src` in order until it breaks or the stream ends.
/// A syntax error stops the walk and is returned through `on_error`.
pub(crate) fn walk<'a, E>(src: &'a str, on_error: impl FnOnce(NodeError) -> E, mut visit: impl FnMut(Node<'a>) -> Result<ControlFlow<()>, E>) -> Result<(), E> {
    let mut pos = ByteIndex::new(src);
    let mut parser = Parser::new_from_str(src);
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(e) => e,
            Err(e) => return Err(on_error(NodeError { line: e.marker().line(), info: e.info().to_owned() })),
        };
        let start = pos.byte(span.start.index());
        let end = pos.byte(span.end.index()).max(start);
        let line = span.start.line();
        let node = match event {
            Event::DocumentStart(_) => Node::DocumentStart,
            Event::DocumentEnd => Node::DocumentEnd,
            Event::Scalar(text, style, _, tag) => {
                let null = style == ScalarStyle::Plain && tag.as_ref().is_none_or(|t| t.suffix == "null") && is_null(&text);
                let plain = style == ScalarStyle::Plain;
                let tag = tag.map(|t| if t.is_yaml_core_schema() { format!("!!{}", t.suffix) } else { format!("{}{}", t.handle, t.suffix) });
                Node::Scalar { text, null, plain, tag, bytes: start..end, line }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let map = matches!(event, Event::MappingStart(..));
                let flow = matches!(src.as_bytes().get(start), Some(b'{') | Some(b'['));
                Node::CollectionStart { map, flow, bytes: start..end, line }
            }
            Event::MappingEnd | Event::SequenceEnd => Node::CollectionEnd,
            Event::Alias(_) => Node::Alias { line },
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
        };
        if visit(node)?.is_break() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk(
            src,
            |e| e.info,
            |n| {
                out.push(match n {
                    Node::DocumentStart => "doc".to_owned(),
                    Node::DocumentEnd => "/doc".to_owned(),
                    Node::Scalar { text, null, bytes, line, .. } => format!("{text}{}@{}..{}:{line}", if null { "(null)" } else { "" }, bytes.start, bytes.end),
                    Node::CollectionStart { map, flow, bytes, .. } => {
                        format!("{}{}@{}", if map { "map" } else { "seq" }, if flow { "(flow)" } else { "" }, bytes.start)
                    }
                    Node::CollectionEnd => "end".to_owned(),
                    Node::Alias { line } => format!("alias:{line}"),
                });
                Ok::<_, String>(ControlFlow::Continue(()))
            },
        )
        .unwrap();
        out
    }

    #[test]
    fn nodes_carry_byte_offsets_lines_and_resolved_nulls() {
        assert_eq!(
            kinds("é: Null\nb: [x, ~]\n"),
            ["doc", "map@0", "é@0..2:1", "Null(null)@4..8:1", "b@9..10:2", "seq(flow)@12", "x@13..14:2", "~(null)@16..17:2", "end", "end", "/doc"]
        );
        assert_eq!(kinds("a: 'null'\n")[3], "null@3..9:1", "a quoted null is a string");
    }

    #[test]
    fn errors_name_their_line() {
        let err = walk("a: 1\nb: [\n", |e| e, |_| Ok::<_, NodeError>(ControlFlow::Continue(()))).expect_err("unclosed flow sequence");
        assert!(err.line >= 2, "{}", err.line);
    }
}
