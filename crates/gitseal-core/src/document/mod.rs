//! Documents as gitseal sees them: the values ("leaves") of a file with the exact byte
//! spans they occupy, so values can be rewritten in place without touching anything else.
//!
//! Each format module parses its bytes into a [`ParsedFile`] and knows how to write a
//! scalar back in the style it found it in. Nothing here knows about keys or ciphers.

pub(crate) mod binary;
pub mod dotenv;
pub mod json;
pub mod splice;
pub mod tree;
pub mod yaml;

use std::ops::Range;
use std::path::Path;

use zeroize::Zeroizing;

pub use tree::Tree;

use crate::sops::value::ValueType;

/// The file formats sops knows, chosen by extension as sops chooses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`), read with the fast line parser or the event parser.
    Yaml,
    /// JSON (`.json`).
    Json,
    /// dotenv (`.env` files and `*.env`): `KEY=value` lines and `#` comments.
    Dotenv,
    /// Any other file: the whole content is one value, stored under `data` in a JSON wrapper as sops does.
    Binary,
}

impl Format {
    /// The format sops would pick for `path`: by extension, `.env` by name, everything else binary.
    pub fn from_path(path: &Path) -> Format {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "env" => Format::Dotenv,
            _ if name == ".env" => Format::Dotenv,
            _ => Format::Binary,
        }
    }

    /// The name `--input-type` takes for this format (the inverse of [`Format::parse_name`]).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Binary => "binary",
        }
    }

    /// The format an `--input-type`/`--output-type` name stands for (`yaml`, `json`, `dotenv`, `binary`); `None` for any other name.
    pub fn parse_name(s: &str) -> Option<Format> {
        Some(match s {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" => Format::Dotenv,
            "binary" => Format::Binary,
            _ => return None,
        })
    }
}

/// How a value is written in its file, so a replacement can be written the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Style {
    /// YAML plain scalar. `indent` is the indentation a block scalar replacing it would use.
    YamlPlain {
        /// Columns a block scalar replacing this value would be indented by.
        indent: u32,
    },
    /// YAML single-quoted scalar (`'...'`).
    YamlSingle {
        /// Columns a block scalar replacing this value would be indented by.
        indent: u32,
    },
    /// YAML double-quoted scalar (`"..."`).
    YamlDouble {
        /// Columns a block scalar replacing this value would be indented by.
        indent: u32,
    },
    /// YAML literal (`|`) or folded (`>`) block scalar. The leaf's span covers the content
    /// lines only; `header` is the indicator (`|-`, `>2`, ...) on the line above.
    YamlBlock {
        /// Byte range of the header indicator in the source.
        header: Range<u32>,
        /// Columns of the content lines' indentation.
        indent: u32,
        /// `>` (folded) rather than `|` (literal).
        folded: bool,
        /// Whether the source has a line break after the last content line (not so at the end of a
        /// file without a final newline).
        ends_with_newline: bool,
    },
    /// A JSON string (span includes the quotes).
    JsonString,
    /// A bare JSON number or boolean.
    JsonBare,
    /// A dotenv value: everything after the first `=` on the line.
    DotenvValue,
    /// The text of a comment after its `#`.
    Comment,
    /// The whole content of a binary file.
    BinaryData,
}

/// Text taken from the source: held by position when it reads exactly as written (most
/// plain scalars and keys, which keeps large files cheap), else owned and zeroized on
/// drop. `Debug` never shows the text.
#[derive(Clone)]
pub enum Text {
    /// Byte range `start..end` into the source, when the decoded text is exactly those bytes.
    Source(u32, u32),
    /// A decoded copy (escapes resolved, block scalars folded), wiped when dropped.
    Owned(Box<Zeroizing<String>>),
}

impl Text {
    /// Owned text, zeroized on drop.
    pub(crate) fn owned(s: impl Into<String>) -> Self {
        Text::Owned(Box::new(Zeroizing::new(s.into())))
    }

    /// `src[range]` when the text is exactly that slice, else an owned copy of `text`.
    pub(crate) fn from_source(src: &str, range: Range<usize>, text: &str) -> Self {
        if src.get(range.clone()) == Some(text) && range.end <= u32::MAX as usize {
            Text::Source(range.start as u32, range.end as u32)
        } else {
            Text::owned(text)
        }
    }

    /// The text, reading `src` (the source the leaf was parsed from) when it is held by position.
    pub(crate) fn get<'a>(&'a self, src: &'a str) -> &'a str {
        match self {
            Text::Source(a, b) => &src[*a as usize..*b as usize],
            Text::Owned(s) => s.as_str(),
        }
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Text::Source(a, b) => write!(f, "Text::Source({a}..{b})"),
            Text::Owned(s) => write!(f, "Text::Owned({} bytes)", s.len()),
        }
    }
}

/// One value of a document, located in the source.
#[derive(Debug)]
pub struct Leaf {
    /// The collection holding this value (index into [`Document::paths`]).
    pub parent: u32,
    /// 1-based line of the value.
    pub line: u32,
    /// The value's type as sops reads it.
    pub ty: ValueType,
    /// The map key naming this value; `None` for list items and comments.
    pub key: Option<Text>,
    /// The decoded value text (for an encrypted value, the `ENC[...]` string).
    pub text: Text,
    /// Bytes that hold the value in the source.
    pub span: Range<usize>,
    /// How the value is written, so its replacement is written the same way.
    pub style: Style,
}

impl Leaf {
    /// The decoded value text; `src` is the source the file was parsed from.
    pub fn text<'a>(&'a self, src: &'a str) -> &'a str {
        self.text.get(src)
    }

    /// The map key naming this value, if any; `src` is the source the file was parsed from.
    pub fn key<'a>(&'a self, src: &'a str) -> Option<&'a str> {
        self.key.as_ref().map(|k| k.get(src))
    }
}

/// A collection on the way from the document root to some values.
#[derive(Debug, Clone)]
pub struct PathEntry {
    /// Map keys from the root; list levels add nothing, as in sops.
    pub keys: Vec<Box<str>>,
}

impl PathEntry {
    /// The AAD sops uses for a value at this path: each key followed by `:`.
    pub(crate) fn aad(&self, key: Option<&str>) -> String {
        let mut s = String::new();
        self.aad_into(key, &mut s);
        s
    }

    /// Writes the AAD into `out` (cleared first), reusing its allocation.
    pub(crate) fn aad_into(&self, key: Option<&str>, out: &mut String) {
        out.clear();
        for k in self.keys.iter().map(|k| &**k).chain(key) {
            out.push_str(k);
            out.push(':');
        }
        if out.is_empty() {
            out.push(':');
        }
    }
}

/// The `sops` metadata found in a document, with the bytes it occupies.
#[derive(Debug, Clone)]
pub struct MetadataBlock {
    /// The metadata as a tree, as sops's `sops` key holds it.
    pub tree: Tree,
    /// Bytes the block occupies in the source.
    pub span: Range<usize>,
    /// 1-based line of the `sops` key.
    pub line: u32,
}

/// One step of sops's walk over a document's tree. The order sops visits values and
/// comments in, and the collection each sits in, decide which values the comment-based
/// rules (`encrypted_comment_regex`, ...) encrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkStep {
    /// A nested collection starts: comments before its first entry apply inside it.
    Enter,
    /// The collection entered last ends; it counts as one entry of the enclosing one.
    Exit,
    /// The leaf at this index of [`Document::leaves`] (a value or a comment).
    Leaf(u32),
    /// An entry without a leaf (a null value).
    Null,
}

/// One document (YAML files can hold several; other formats hold exactly one).
#[derive(Debug)]
pub struct Document {
    /// Collections holding values, by index ([`Leaf::parent`]); entry 0 is the root.
    pub paths: Vec<PathEntry>,
    /// Values in source order; comments included.
    pub leaves: Vec<Leaf>,
    /// The order sops walks the leaves in, with collection boundaries. Empty when the
    /// document is flat for that purpose: no comments, or one level (dotenv), in which
    /// case the leaves in source order are the walk.
    pub walk: Vec<WalkStep>,
    /// The document's `sops` metadata; `None` in a plaintext document.
    pub metadata: Option<MetadataBlock>,
    /// Where a new metadata block goes.
    pub insert_at: usize,
    /// Top-level `apiVersion` and `kind` when both are plain strings.
    pub k8s_kind: Option<String>,
    /// Whether the document has a top-level `apiVersion` key.
    pub has_api_version: bool,
    /// The indentation of top-level members (JSON, e.g. `"\t"`) or keys (an indented
    /// YAML mapping), which the added `sops` member must share; whether a `,` must
    /// precede it (JSON).
    pub member_indent: String,
    /// Whether a `,` must precede the added `sops` member (JSON with other members).
    pub needs_separator: bool,
    /// 1-based line where the document starts.
    pub line: u32,
}

impl Document {
    /// An empty document starting at 1-based `line`, with only the root collection.
    pub(crate) fn new(line: u32) -> Self {
        Document {
            paths: vec![PathEntry { keys: Vec::new() }],
            leaves: Vec::new(),
            walk: Vec::new(),
            metadata: None,
            insert_at: 0,
            k8s_kind: None,
            has_api_version: false,
            member_indent: String::new(),
            needs_separator: false,
            line,
        }
    }

    /// The additional authenticated data sops binds `leaf`'s ciphertext to (its tree path); `src` is the parsed source.
    pub fn aad(&self, leaf: &Leaf, src: &str) -> String {
        self.paths[leaf.parent as usize].aad(leaf.key(src))
    }

    /// Whether this document is a Kubernetes object (has `apiVersion` and `kind`).
    pub fn is_k8s_object(&self) -> bool {
        self.has_api_version && self.k8s_kind.is_some()
    }
}

/// A whole file, parsed.
#[derive(Debug)]
pub struct ParsedFile {
    /// The format the file was parsed as.
    pub format: Format,
    /// The documents in source order; exactly one except in multi-document YAML.
    pub docs: Vec<Document>,
    /// `"\r\n"` when the file uses CRLF line ends.
    pub newline: &'static str,
    /// Indentation step used by the file (YAML), for writing new nested content.
    pub indent_step: usize,
}

/// A problem in the input, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {msg}")]
pub struct SyntaxError {
    /// 1-based line of the problem.
    pub line: u32,
    /// 1-based column of the problem.
    pub col: u32,
    /// What the parser expected or found.
    pub msg: String,
}

impl SyntaxError {
    /// A syntax error at 1-based `line` and `col`.
    pub(crate) fn new(line: u32, col: u32, msg: impl Into<String>) -> Self {
        SyntaxError { line, col, msg: msg.into() }
    }
}

/// Parses `src` in `format`.
pub fn parse(format: Format, src: &str) -> Result<ParsedFile, SyntaxError> {
    match format {
        Format::Yaml => yaml::parse(src),
        Format::Json => json::parse(src),
        Format::Dotenv => dotenv::parse(src),
        Format::Binary => json::parse(src),
    }
}

/// Writes `text` of type `ty` in the form `style` asks for. Returns the replacement for
/// the leaf's span, and for block scalars possibly a new header indicator.
pub fn render_value(format: Format, file: &ParsedFile, leaf: &Leaf, ty: ValueType, text: &str) -> Rendered {
    // `text` is the new value; the leaf only lends its style and position.
    match format {
        Format::Yaml => yaml::render_value(file, leaf, ty, text),
        Format::Json => json::render_value(leaf, ty, text),
        Format::Dotenv => dotenv::render_value(leaf, ty, text),
        Format::Binary => json::render_value(leaf, ty, text),
    }
}

/// The text that replaces a leaf.
#[derive(Debug)]
pub struct Rendered {
    /// The text that takes the leaf's span.
    pub value: String,
    /// Replacement for a block scalar's header indicator, when it must change.
    pub header: Option<String>,
}

impl Rendered {
    /// A replacement that leaves any block-scalar header as it is.
    pub(crate) fn plain(value: String) -> Self {
        Rendered { value, header: None }
    }
}

/// Writes the metadata block for a document in `format`.
pub(crate) fn render_metadata(format: Format, file: &ParsedFile, doc: &Document, tree: &Tree) -> String {
    match format {
        Format::Yaml => yaml::render_metadata(tree, file.newline),
        Format::Json | Format::Binary => json::render_metadata(doc, tree, file.newline),
        // sops cannot read metadata lines ending in CRLF: they are always LF.
        Format::Dotenv => dotenv::render_metadata(tree, "\n"),
    }
}

/// 1-based line and column of byte `pos`.
pub(crate) fn line_col(src: &str, pos: usize) -> (u32, u32) {
    let before = &src.as_bytes()[..pos.min(src.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line as u32, col as u32)
}
