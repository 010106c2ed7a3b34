//! `gitseal status`: whether a file is encrypted, and to whom, read from its metadata
//! alone (no identity needed).

use serde_json::{json, Value};

use crate::document::{self, Format, Tree};
use crate::error::{Error, Result};
use crate::pipeline;
use crate::sops::metadata::Metadata;

/// What `status` reports about one file.
#[derive(Debug, Clone)]
pub struct FileStatus {
    /// The file's name, as the caller gave it.
    pub file: String,
    /// The format the file was read as.
    pub format: Format,
    /// The sops metadata when the file is encrypted.
    pub metadata: Option<Metadata>,
}

/// Reads the status of a file. YAML, JSON and dotenv files must parse (the error names
/// the line); a binary file is encrypted when it is sops's JSON form.
pub fn file_status(file: &str, format: Format, src: &[u8]) -> Result<FileStatus> {
    let plain = |format| Ok(FileStatus { file: file.to_owned(), format, metadata: None });
    if format == Format::Binary {
        let parsed = std::str::from_utf8(src).ok().and_then(|t| document::json::parse(t).ok());
        return match parsed {
            Some(p) if p.docs.iter().any(|d| d.metadata.is_some()) => {
                Ok(FileStatus { file: file.to_owned(), format, metadata: pipeline::file_metadata(file, &p)? })
            }
            _ => plain(format),
        };
    }
    let text = std::str::from_utf8(src).map_err(|e| {
        let valid = String::from_utf8_lossy(&src[..e.valid_up_to()]);
        let (line, col) = document::line_col(&valid, valid.len());
        Error::Syntax { file: file.into(), line, col, msg: "the file is not valid UTF-8 text".into() }
    })?;
    let parsed = document::parse(format, text).map_err(|e| Error::Syntax { file: file.into(), line: e.line, col: e.col, msg: e.msg })?;
    Ok(FileStatus { file: file.to_owned(), format, metadata: pipeline::file_metadata(file, &parsed)? })
}

/// A foreign master key (KMS, PGP, ...) as JSON: its type and its scalar fields except
/// the wrapped key.
fn foreign_json(kind: &str, entry: &Tree, group: usize) -> String {
    let mut fields = vec![("type".to_owned(), json!(kind))];
    if let Tree::Map(entries) = entry {
        for (k, v) in entries {
            if let (Some(s), false) = (v.as_str(), matches!(k.as_str(), "enc" | "created_at")) {
                fields.push((k.clone(), json!(s)));
            }
        }
    }
    fields.push(("group".into(), json!(group)));
    object(fields.iter().map(|(k, v)| (k.as_str(), v.to_string())))
}

/// A JSON object with its members in the order given (values already serialised).
fn object<'a>(members: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let body: Vec<String> = members.into_iter().map(|(k, v)| format!("{}:{v}", Value::from(k))).collect();
    format!("{{{}}}", body.join(","))
}

/// `s` with control characters escaped (`\u{1b}`): the metadata is whatever the file
/// says, and must not drive the terminal it is printed on.
fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        s.chars().map(|c| if c.is_control() { c.escape_unicode().to_string() } else { c.to_string() }).collect::<String>().into()
    } else {
        s.into()
    }
}

/// The scalar fields of a foreign master key (KMS, PGP, ...) except the wrapped key, as
/// `field=value` words.
fn foreign_words(entry: &Tree) -> String {
    let mut words = Vec::new();
    if let Tree::Map(entries) = entry {
        for (k, v) in entries {
            if let (Some(s), false) = (v.as_str(), matches!(k.as_str(), "enc" | "created_at")) {
                words.push(format!("{}={}", printable(k), printable(s)));
            }
        }
    }
    words.join(" ")
}

impl FileStatus {
    /// Whether the file has sops metadata.
    pub(crate) fn encrypted(&self) -> bool {
        self.metadata.is_some()
    }

    /// The status for people: a first line `FILE: encrypted|not encrypted (FORMAT)`, then
    /// for an encrypted file one indented line per recipient, the selection rule (its
    /// regex as written, not escaped) and the sops version and modification time.
    pub fn to_text(&self) -> String {
        let format = self.format.name();
        let Some(m) = &self.metadata else {
            return format!("{}: not encrypted ({format})\n", printable(&self.file));
        };
        let groups = m.groups();
        let several = groups.len() > 1;
        let mut lines = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let group = if several { format!("  (key group {})", i + 1) } else { String::new() };
            for a in &g.age {
                lines.push(format!("    age       {}{group}", printable(&a.recipient)));
            }
            for v in &g.hc_vault {
                lines.push(format!("    hc_vault  {}/v1/{}/keys/{}{group}", printable(&v.vault_address), printable(&v.engine_path), printable(&v.key_name)));
            }
            for (kind, list) in &g.foreign {
                for entry in list.as_list() {
                    lines.push(format!("    {kind:<9} {}{group}", foreign_words(entry)));
                }
            }
        }
        let recipients = lines.len();
        let mut out = format!("{}: encrypted ({format}), {recipients} recipient{}", printable(&self.file), if recipients == 1 { "" } else { "s" });
        if several {
            let threshold = m.shamir_threshold.unwrap_or(groups.len() as u64);
            out.push_str(&format!(" in {} key groups, {threshold} needed", groups.len()));
        }
        out.push('\n');
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        let (sel_field, sel_value) = m.selection.field();
        out.push_str(&format!("    selection {sel_field}: {}\n", printable(sel_value)));
        if m.mac_only_encrypted {
            out.push_str("    mac_only_encrypted: true (the MAC covers only the encrypted values)\n");
        }
        out.push_str(&format!("    sops version {}, last modified {}\n", printable(&m.version), printable(&m.lastmodified)));
        out
    }

    /// One JSON object on one line, fields in a fixed order: `file`, `encrypted`,
    /// `format`, then for encrypted files `lastmodified`, `mac_only_encrypted`,
    /// `recipients` (each with its `type` and its key group index `group`),
    /// `key_groups`, `shamir_threshold`, `selection` and `version`.
    pub fn to_json_line(&self) -> String {
        let mut fields: Vec<(&str, String)> =
            vec![("file", json!(self.file).to_string()), ("encrypted", json!(self.encrypted()).to_string()), ("format", json!(self.format.name()).to_string())];
        if let Some(m) = &self.metadata {
            let mut recipients = Vec::new();
            for (i, g) in m.groups().iter().enumerate() {
                for a in &g.age {
                    recipients.push(object([("type", json!("age").to_string()), ("recipient", json!(a.recipient).to_string()), ("group", i.to_string())]));
                }
                for v in &g.hc_vault {
                    recipients.push(object([
                        ("type", json!("hc_vault").to_string()),
                        ("vault_address", json!(v.vault_address).to_string()),
                        ("engine_path", json!(v.engine_path).to_string()),
                        ("key_name", json!(v.key_name).to_string()),
                        ("group", i.to_string()),
                    ]));
                }
                for (kind, list) in &g.foreign {
                    for entry in list.as_list() {
                        recipients.push(foreign_json(kind, entry, i));
                    }
                }
            }
            let (sel_field, sel_value) = m.selection.field();
            // sops recovers the key from every group when the file names no threshold.
            let threshold = match (&m.key_groups, m.shamir_threshold) {
                (Some(_), Some(t)) => json!(t),
                (Some(groups), None) if groups.len() > 1 => json!(groups.len()),
                _ => Value::Null,
            };
            fields.extend([
                ("lastmodified", json!(m.lastmodified).to_string()),
                ("mac_only_encrypted", json!(m.mac_only_encrypted).to_string()),
                ("recipients", format!("[{}]", recipients.join(","))),
                ("key_groups", m.groups().len().to_string()),
                ("shamir_threshold", threshold.to_string()),
                ("selection", object([(sel_field, json!(sel_value).to_string())])),
                ("version", json!(m.version).to_string()),
            ]);
        }
        object(fields)
    }
}
