//! YAML as a tree of nodes, for programs that read and rewrite whole documents rather
//! than single values (the kustomize function reads a `ResourceList` and writes one
//! back). Scalars keep what a writer needs to give them the same meaning again: their
//! text, whether they were plain (unquoted, so typed by YAML's rules), their tag and
//! their line. Anchors and aliases are refused, as everywhere in gitseal.

use std::ops::ControlFlow;

use zeroize::Zeroizing;

use super::nodes::{self, Node};
use super::scan::MAX_DEPTH;
use crate::document::SyntaxError;

/// A YAML node. Mapping entries keep their order.
#[derive(Debug)]
pub enum YamlNode {
    /// A mapping and its entries in source order.
    Map {
        /// `(key, value)` pairs as written.
        entries: Vec<(YamlNode, YamlNode)>,
        /// 1-based line where the mapping starts.
        line: u32,
    },
    /// A sequence.
    Seq {
        /// The items in order.
        items: Vec<YamlNode>,
        /// 1-based line where the sequence starts.
        line: u32,
    },
    /// A scalar.
    Scalar(YamlScalar),
}

/// A scalar: its decoded text and how it was written. `Debug` does not show the text.
pub struct YamlScalar {
    /// The decoded text (escapes resolved, block scalars folded). May hold secrets: it
    /// is wiped when dropped and must not be logged.
    pub text: Zeroizing<String>,
    /// Written without quotes or block indicator, so YAML's typing rules apply to it.
    pub plain: bool,
    /// A plain, untagged null (`~`, `null`, empty).
    pub null: bool,
    /// The tag as written in short form (`!!str`, `!custom`), or `None`.
    pub tag: Option<String>,
    /// 1-based line of the scalar.
    pub line: u32,
}

impl std::fmt::Debug for YamlScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YamlScalar")
            .field("len", &self.text.len())
            .field("plain", &self.plain)
            .field("null", &self.null)
            .field("tag", &self.tag)
            .field("line", &self.line)
            .finish()
    }
}

impl YamlNode {
    /// The value of the first entry whose key is the scalar `key`, when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&YamlNode> {
        match self {
            YamlNode::Map { entries, .. } => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text when this is a scalar that is not null.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            YamlNode::Scalar(s) if !s.null => Some(&s.text),
            _ => None,
        }
    }

    /// Whether this is a null scalar.
    pub fn is_null(&self) -> bool {
        matches!(self, YamlNode::Scalar(s) if s.null)
    }

    /// The 1-based line where the node starts.
    pub fn line(&self) -> u32 {
        match self {
            YamlNode::Map { line, .. } | YamlNode::Seq { line, .. } => *line,
            YamlNode::Scalar(s) => s.line,
        }
    }
}

/// The documents of the YAML stream `src`, each as its root node (an empty document is a
/// null scalar). Aliases, anchors on nothing, non-scalar mapping keys and nesting
/// deeper than the parser allows are syntax errors naming their line.
pub fn parse_documents(src: &str) -> Result<Vec<YamlNode>, SyntaxError> {
    /// A collection being filled: its node, and for a mapping the key waiting for its value.
    struct Open {
        node: YamlNode,
        key: Option<YamlNode>,
    }
    let mut docs = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<YamlNode> = None;
    let line_of = |line: usize| u32::try_from(line).unwrap_or(u32::MAX);
    let mut failure: Option<SyntaxError> = None;
    // Places a finished node in its parent, or as the document's root.
    fn place(stack: &mut [Open], root: &mut Option<YamlNode>, node: YamlNode) -> Result<(), SyntaxError> {
        let Some(top) = stack.last_mut() else {
            *root = Some(node);
            return Ok(());
        };
        match &mut top.node {
            YamlNode::Seq { items, .. } => items.push(node),
            YamlNode::Map { entries, .. } => match top.key.take() {
                None => {
                    if !matches!(node, YamlNode::Scalar(_)) {
                        return Err(SyntaxError::new(node.line(), 1, "a mapping key must be a scalar"));
                    }
                    top.key = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
            YamlNode::Scalar(_) => unreachable!("only collections are pushed on the stack"),
        }
        Ok(())
    }
    let walked = nodes::walk(
        src,
        |e| SyntaxError::new(line_of(e.line), 1, e.info),
        |node| {
            let step = match node {
                Node::DocumentStart => Ok(()),
                Node::DocumentEnd => {
                    docs.push(
                        root.take().unwrap_or_else(|| YamlNode::Scalar(YamlScalar { text: Zeroizing::default(), plain: true, null: true, tag: None, line: 1 })),
                    );
                    Ok(())
                }
                Node::Scalar { text, null, plain, tag, line, .. } => {
                    let scalar = YamlScalar { text: Zeroizing::new(text.into_owned()), plain, null, tag, line: line_of(line) };
                    place(&mut stack, &mut root, YamlNode::Scalar(scalar))
                }
                Node::CollectionStart { map, line, .. } => {
                    if stack.len() >= MAX_DEPTH {
                        Err(SyntaxError::new(line_of(line), 1, format!("nested deeper than {MAX_DEPTH} levels")))
                    } else {
                        let line = line_of(line);
                        let node = if map { YamlNode::Map { entries: Vec::new(), line } } else { YamlNode::Seq { items: Vec::new(), line } };
                        stack.push(Open { node, key: None });
                        Ok(())
                    }
                }
                Node::CollectionEnd => match stack.pop() {
                    Some(open) => place(&mut stack, &mut root, open.node),
                    None => Ok(()),
                },
                Node::Alias { line } => Err(SyntaxError::new(line_of(line), 1, "aliases (*name) are not supported")),
            };
            match step {
                Ok(()) => Ok(ControlFlow::Continue(())),
                Err(e) => {
                    failure = Some(e);
                    Ok(ControlFlow::Break(()))
                }
            }
        },
    );
    walked?;
    match failure {
        Some(e) => Err(e),
        None => Ok(docs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_their_style_tag_and_line() {
        let docs = parse_documents("a: 1\nb: \"1\"\nc: !!binary aGk=\nd: ~\ne: |\n  x\n").expect("parsed");
        assert_eq!(docs.len(), 1);
        let YamlNode::Scalar(a) = docs[0].get("a").expect("a") else { panic!("a is a scalar") };
        assert!(a.plain && !a.null && a.tag.is_none() && a.line == 1);
        let YamlNode::Scalar(b) = docs[0].get("b").expect("b") else { panic!("b is a scalar") };
        assert!(!b.plain && &*b.text == "1");
        let YamlNode::Scalar(c) = docs[0].get("c").expect("c") else { panic!("c is a scalar") };
        assert_eq!(c.tag.as_deref(), Some("!!binary"));
        assert!(docs[0].get("d").expect("d").is_null());
        assert_eq!(docs[0].get("e").and_then(YamlNode::as_str), Some("x\n"));
        assert!(!format!("{:?}", docs[0]).contains("aGk="), "Debug shows no scalar text");
    }

    #[test]
    fn streams_give_one_root_per_document() {
        let docs = parse_documents("a: [1, {b: 2}]\n---\n- x\n---\n").expect("parsed");
        assert_eq!(docs.len(), 3);
        assert!(matches!(&docs[1], YamlNode::Seq { items, line: 3 } if items.len() == 1));
        assert!(docs[2].is_null());
        let YamlNode::Seq { items, .. } = docs[0].get("a").expect("a") else { panic!("a is a sequence") };
        assert_eq!(items[1].get("b").and_then(YamlNode::as_str), Some("2"));
    }

    #[test]
    fn aliases_and_collection_keys_are_refused_with_their_line() {
        let err = parse_documents("a: &x 1\nb: *x\n").expect_err("alias");
        assert_eq!(err.line, 2, "{err}");
        assert!(parse_documents("? [a]\n: 1\n").is_err());
        assert!(parse_documents("a: [\n").is_err());
    }
}
