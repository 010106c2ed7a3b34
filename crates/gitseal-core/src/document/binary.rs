//! Binary files: the whole content becomes one encrypted string under `data`, and the
//! file is written as sops writes it, tab-indented JSON.

use super::Tree;

/// The encrypted form of a binary file.
pub(crate) fn render(enc: &str, metadata: &Tree) -> String {
    let doc = Tree::Map(vec![("data".into(), Tree::Scalar(enc.to_owned())), ("sops".into(), metadata.clone())]);
    let mut out = String::new();
    super::json::write_tree(&doc, 0, &mut out);
    out.push('\n');
    out
}
