//! A small generic value tree, used for the `sops` metadata block.

/// A YAML/JSON value, order kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    Map(Vec<(String, Tree)>),
    List(Vec<Tree>),
    /// A scalar as text; `quoted` tells a JSON/YAML string from a bare number or bool.
    Scalar(String),
    Null,
}

impl Tree {
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Tree::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> &[Tree] {
        match self {
            Tree::List(items) => items,
            _ => &[],
        }
    }
}
