//! A small generic value tree, used for the `sops` metadata block.

/// A YAML/JSON value, order kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    /// A mapping, entries in source order; [`Tree::get`] takes the first entry with a key.
    Map(Vec<(String, Tree)>),
    /// A sequence.
    List(Vec<Tree>),
    /// A scalar as its text (strings, numbers and booleans alike).
    Scalar(String),
    /// A null (`null`, `~` or an empty value).
    Null,
}

impl Tree {
    /// The value under `key` when this is a map holding it; `None` otherwise.
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar's text when this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Tree::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The items when this is a list; empty for anything else.
    pub fn as_list(&self) -> &[Tree] {
        match self {
            Tree::List(items) => items,
            _ => &[],
        }
    }
}
