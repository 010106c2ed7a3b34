//! Writing YAML back: one scalar in the style it was written in (or the nearest style
//! that holds the new text), and the `sops` metadata block as sops 3.11 writes it.

use crate::document::{Leaf, ParsedFile, Rendered, Style, Tree};
use crate::sops::value::ValueType;

use super::scan::*;

/// Whether `s` can be written as a plain scalar and read back as the same string.
pub(crate) fn plain_safe(s: &str, flow: bool) -> bool {
    if s.is_empty() || s != s.trim() || s.contains(needs_escape) {
        return false;
    }
    // A tab inside a plain scalar is content; after `:` or before `#` it would end it.
    if s.contains(":\t") || s.contains("\t#") {
        return false;
    }
    let first = s.as_bytes()[0];
    if b"-?:,[]{}#&*!|>'\"%@`".contains(&first) {
        // `-`, `?`, `:` may start a plain scalar when a non-space follows, but quoting is
        // never wrong and rarely seen in secrets.
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    if is_null(s) || plain_type(s) != ValueType::Str {
        return false;
    }
    // YAML 1.1 readers (kubectl among them) take these for booleans or numbers.
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "on" | "off") {
        return false;
    }
    if is_radix_int(s) || is_yaml11_timestamp(s) || s == "<<" || s == "=" {
        return false;
    }
    // A decimal beyond the range of a float (`1e400`) is a string to every reader.
    if crate::sops::value::is_decimal_float(s) && !finite_or_special(s) {
        return true;
    }
    let numberish = s.trim_start_matches(['+', '-']);
    if numberish.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'_' | b'.' | b':' | b'e' | b'E' | b'+' | b'-'))
        && numberish.bytes().next().is_some_and(|c| c.is_ascii_digit() || c == b'.')
    {
        return false;
    }
    true
}

/// Whether `c` can only be written escaped, in a double-quoted string: YAML does not
/// allow it raw in a file, or YAML 1.1 and 1.2 readers break lines at it differently.
fn needs_escape(c: char) -> bool {
    (c < ' ' && c != '\t') || ('\u{7f}'..='\u{9f}').contains(&c) || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}')
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || ('\u{7f}'..='\u{9f}').contains(&c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            // Characters a YAML file may not hold raw (or that readers disagree on).
            '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A block scalar body for `text`: its chomping indicator and content lines.
fn block_body(text: &str, indent: usize, newline: &str) -> Option<(char, String)> {
    let chomp = if text.ends_with("\n\n") || (text == "\n") {
        '+'
    } else if text.ends_with('\n') {
        ' '
    } else {
        '-'
    };
    let body = text.strip_suffix('\n').unwrap_or(text);
    let lines: Vec<&str> = body.split('\n').collect();
    // A first line starting with a space would need an indentation indicator; tabs and
    // carriage returns inside lines are not representable: use quotes instead.
    if lines.first().is_some_and(|l| l.starts_with(' ')) || text.contains('\t') || body.contains(|c| c != '\n' && needs_escape(c)) {
        return None;
    }
    let pad = " ".repeat(indent);
    let mut out = String::with_capacity(text.len() + lines.len() * (indent + 1));
    for line in lines {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push_str(newline);
    }
    Some((chomp, out))
}

fn chomp_str(c: char) -> &'static str {
    match c {
        '+' => "+",
        '-' => "-",
        _ => "",
    }
}

/// Writes a value in the leaf's style.
pub fn render_value(file: &ParsedFile, leaf: &Leaf, ty: ValueType, text: &str) -> Rendered {
    let nl = file.newline;
    // sops stores booleans as Go prints them; YAML writes them in lower case.
    // Floats that Go spells `+Inf`/`NaN` are written as YAML spells them: YAML reads
    // `+Inf` as a string.
    let text = match (ty, text) {
        (ValueType::Bool, "True") => "true",
        (ValueType::Bool, "False") => "false",
        (ValueType::Float, "+Inf" | "Inf") => ".inf",
        (ValueType::Float, "-Inf") => "-.inf",
        (ValueType::Float, "NaN") => ".nan",
        _ => text,
    };
    let is_str = matches!(ty, ValueType::Str | ValueType::Bytes);
    match &leaf.style {
        Style::Comment => Rendered::plain(text.to_owned()),
        Style::YamlPlain { indent } => {
            let flow = *indent == u32::MAX;
            let indent = &(*indent as usize);
            if flow && text.starts_with("ENC[") {
                // A plain scalar in a flow collection cannot hold `ENC[...,...]`; single
                // quotes carry it, and tell decryption to write the value plain again.
                Rendered::plain(single_quoted(text))
            } else if !is_str || plain_safe(text, flow) || (!flow && text.starts_with("ENC[") && !text.contains(' ')) {
                Rendered::plain(text.to_owned())
            } else if !flow && text.contains('\n') {
                match block_body(text, *indent, nl) {
                    Some((chomp, body)) => {
                        let body = body.strip_suffix(nl).unwrap_or(&body).to_owned();
                        Rendered::plain(format!("|{}{nl}{body}", chomp_str(chomp)))
                    }
                    None => Rendered::plain(double_quoted(text)),
                }
            } else {
                Rendered::plain(double_quoted(text))
            }
        }
        Style::YamlSingle { indent } => {
            let flow = *indent == u32::MAX;
            if !is_str || (flow && !text.starts_with("ENC[") && plain_safe(text, true)) {
                Rendered::plain(text.to_owned())
            } else if text.contains(needs_escape) || text.contains('\t') {
                Rendered::plain(double_quoted(text))
            } else {
                Rendered::plain(single_quoted(text))
            }
        }
        Style::YamlDouble { .. } => {
            if is_str {
                Rendered::plain(double_quoted(text))
            } else {
                Rendered::plain(text.to_owned())
            }
        }
        Style::YamlBlock { header, indent, folded, ends_with_newline } => {
            let indent = (*indent as usize).max(1);
            if !is_str {
                return Rendered { value: String::new(), header: Some(text.to_owned()) };
            }
            if text.starts_with("ENC[") && !text.contains('\n') {
                // Ciphertext keeps the block's header; the value reads as `ENC[...]` plus
                // the newline the header's chomping keeps, which sops accepts.
                let end = if *ends_with_newline { nl } else { "" };
                return Rendered::plain(format!("{}{}{end}", " ".repeat(indent), text));
            }
            let interior_newline = text.trim_end_matches('\n').contains('\n');
            match block_body(text, indent, nl) {
                Some((chomp, body)) => {
                    let kind = if *folded && !interior_newline { '>' } else { '|' };
                    // A clipped block without a final line break only happens at the end
                    // of a file that lacks a final newline; keep its header as it is.
                    let old_clip = header.end - header.start == 1;
                    let chomp = if chomp == '-' && old_clip { ' ' } else { chomp };
                    let new_header = format!("{kind}{}", chomp_str(chomp));
                    Rendered { value: body, header: Some(new_header) }
                }
                None => Rendered { value: String::new(), header: Some(double_quoted(text)) },
            }
        }
        Style::JsonString | Style::JsonBare | Style::DotenvValue | Style::BinaryData => Rendered::plain(text.to_owned()),
    }
}

/// Writes the `sops:` block as sops 3.11 (go-yaml v3, 4-space indent) writes it.
pub fn render_metadata(tree: &Tree, newline: &str) -> String {
    let mut out = String::new();
    out.push_str("sops:");
    out.push_str(newline);
    if let Tree::Map(entries) = tree {
        emit_map(entries, 4, 4, None, newline, &mut out);
    }
    out
}

/// Keys sops writes as YAML integers or booleans rather than strings.
fn is_typed_metadata_key(key: &str) -> bool {
    matches!(key, "shamir_threshold" | "mac_only_encrypted")
}

/// Writes a mapping as go-yaml v3 does with 4-space indentation. `indent` is the
/// mapping's indentation (for a mapping that is a list item, its dash's column); `key_col`
/// where its keys start. Nested collections and block scalars indent from `indent`.
fn emit_map(entries: &[(String, Tree)], indent: usize, key_col: usize, first_prefix: Option<&str>, nl: &str, out: &mut String) {
    for (i, (k, v)) in entries.iter().enumerate() {
        match (i, first_prefix) {
            (0, Some(prefix)) => out.push_str(prefix),
            _ => out.push_str(&" ".repeat(key_col)),
        }
        out.push_str(k);
        out.push(':');
        match v {
            // Metadata nulls are Go nil slices, which go-yaml writes as `[]`.
            Tree::Null => {
                out.push_str(" []");
                out.push_str(nl);
            }
            Tree::List(items) if items.is_empty() => {
                out.push_str(" []");
                out.push_str(nl);
            }
            Tree::Scalar(s) => {
                out.push(' ');
                // A multi-line string a literal block cannot hold (tabs, a first line
                // starting with a space) is written double-quoted, as go-yaml writes it.
                let block = if s.contains('\n') { block_body(s, indent + 4, nl) } else { None };
                if let Some((chomp, body)) = block {
                    out.push('|');
                    out.push_str(chomp_str(chomp));
                    out.push_str(nl);
                    out.push_str(&body);
                } else if s.contains('\n') {
                    out.push_str(&double_quoted(s));
                    out.push_str(nl);
                } else if is_typed_metadata_key(k) {
                    out.push_str(s);
                    out.push_str(nl);
                } else {
                    out.push_str(&go_yaml_string(s));
                    out.push_str(nl);
                }
            }
            Tree::Map(inner) => {
                out.push_str(nl);
                emit_map(inner, indent + 4, indent + 4, None, nl, out);
            }
            Tree::List(items) => {
                out.push_str(nl);
                for item in items {
                    let dash = format!("{}- ", " ".repeat(indent + 4));
                    match item {
                        Tree::Map(inner) => emit_map(inner, indent + 4, indent + 6, Some(&dash), nl, out),
                        Tree::Scalar(s) => {
                            out.push_str(&dash);
                            out.push_str(&go_yaml_string(s));
                            out.push_str(nl);
                        }
                        _ => {
                            out.push_str(&dash);
                            out.push_str("null");
                            out.push_str(nl);
                        }
                    }
                }
            }
        }
    }
}

/// A string scalar as go-yaml v3 writes it: plain when it reads back as the same string,
/// double-quoted otherwise (timestamps included, as go-yaml quotes them).
fn go_yaml_string(s: &str) -> String {
    let b = s.as_bytes();
    let looks_like_timestamp = b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    let special_start = b.first().is_none_or(|c| b"-?:,[]{}#&*!|>'\"%@`".contains(c));
    let lower = s.to_ascii_lowercase();
    let resolves_otherwise = is_null(s) || plain_type(s) != ValueType::Str || matches!(lower.as_str(), "y" | "n" | "yes" | "no" | "on" | "off");
    let awkward = s != s.trim() || s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t') || s.contains(needs_escape);
    if looks_like_timestamp || special_start || resolves_otherwise || awkward {
        double_quoted(s)
    } else {
        s.to_owned()
    }
}
