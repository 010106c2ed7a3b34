//! Properties of gitseal's parsers and decoders over arbitrary input.
//!
//! Every function takes raw bytes, never panics on any input of its own accord, and
//! panics (with the property that failed) when the code under test misbehaves: a parser
//! that panics, a value that does not survive being written back in its own style, two
//! YAML parsers that read one file differently. The fuzz targets in `fuzz/` call these
//! under libFuzzer; `tests/fuzz_properties.rs` calls the same functions on stable Rust
//! over the seed corpus and random inputs.

use gitseal_core::document::splice::{apply, Edit};
use gitseal_core::document::{self, dotenv, json, yaml, Format, ParsedFile};
use gitseal_core::keys::shamir;
use gitseal_core::sops::metadata::Metadata;
use gitseal_core::sops::value::{EncValue, ValueType};
use gitseal_core::tree_path;

/// Files bigger than this are cut: the properties are about structure, not size, and
/// long inputs only slow the search down.
const MAX_INPUT: usize = 64 * 1024;

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(&data[..data.len().min(MAX_INPUT)]).ok()
}

/// Every value and comment of a parsed file: (document, path as AAD, type, text).
fn values(file: &ParsedFile, src: &str) -> Vec<(usize, String, ValueType, String)> {
    let mut out = Vec::new();
    for (d, doc) in file.docs.iter().enumerate() {
        for leaf in &doc.leaves {
            out.push((d, doc.aad(leaf, src), leaf.ty, leaf.text(src).to_owned()));
        }
    }
    out
}

/// Writes every value of `file` back in its own style and checks the result reads as
/// the same values: what decryption does after every value was replaced.
fn rewrite_reads_back(format: Format, file: &ParsedFile, src: &str) {
    let mut edits = Vec::new();
    for doc in &file.docs {
        // Empty values are never rewritten (they stay as they are, encrypted or not).
        for leaf in doc.leaves.iter().filter(|l| !l.text(src).is_empty()) {
            let r = document::render_value(format, file, leaf, leaf.ty, leaf.text(src));
            if let (Some(h), document::Style::YamlBlock { header, .. }) = (&r.header, &leaf.style) {
                let header = header.start as usize..header.end as usize;
                if header.end <= leaf.span.start && !header.is_empty() {
                    edits.push(Edit { span: header, text: h.clone() });
                } else {
                    // A value written on the header's line (a block turned into a scalar)
                    // is checked by the round-trip tests; not here.
                    return;
                }
            }
            edits.push(Edit { span: leaf.span.clone(), text: r.value });
        }
    }
    let out = apply(src, edits);
    let again = match document::parse(format, &out) {
        Ok(f) => f,
        Err(e) => panic!("values written back in their own style no longer parse: {e}\n--- input\n{src:?}\n--- output\n{out:?}"),
    };
    let before = values(file, src);
    let after = values(&again, &out);
    assert_eq!(before, after, "values changed when written back in their own style\n--- input\n{src:?}\n--- output\n{out:?}");
}

/// YAML: neither parser panics; where the fast path reads a file, the event parser reads
/// it the same way; values written back in their own style read back unchanged.
pub fn yaml_parsers(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let chosen = yaml::parse(src);
    // The event parser alone does not skip a byte order mark (`parse` does, for both).
    let events = yaml::parse_events(src.strip_prefix('\u{feff}').unwrap_or(src));
    let bom = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let events = events.map(|f| (f, bom));
    match (&chosen, &events) {
        (Ok(a), Ok((b, 0))) => {
            assert_eq!(values(a, src), values(b, src), "the two YAML parsers disagree on the values\n{src:?}");
            let spans = |f: &ParsedFile| -> Vec<_> {
                f.docs
                    .iter()
                    .map(|d| (d.insert_at, d.metadata.as_ref().map(|m| m.span.clone()), d.leaves.iter().map(|l| l.span.clone()).collect::<Vec<_>>()))
                    .collect()
            };
            assert_eq!(spans(a), spans(b), "the two YAML parsers disagree on positions\n{src:?}");
        }
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
        _ => panic!("one YAML parser accepts what the other refuses: {:?} / {:?}\n{src:?}", chosen.as_ref().err(), events.as_ref().err()),
    }
    if let Ok(file) = chosen {
        rewrite_reads_back(Format::Yaml, &file, src);
        for doc in &file.docs {
            if let Some(m) = &doc.metadata {
                metadata_tree_round_trip(&m.tree);
            }
        }
    }
}

/// JSON: no panic; values written back in their own style read back unchanged.
pub fn json(data: &[u8]) {
    let Some(src) = text(data) else { return };
    if let Ok(file) = json::parse(src) {
        rewrite_reads_back(Format::Json, &file, src);
    }
}

/// dotenv: no panic; values written back read back unchanged.
pub fn dotenv(data: &[u8]) {
    let Some(src) = text(data) else { return };
    if let Ok(file) = dotenv::parse(src) {
        rewrite_reads_back(Format::Dotenv, &file, src);
    }
}

/// `ENC[...]`: no panic; a value that parses writes back to a string that parses to the
/// same value.
pub fn enc_value(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(v) = EncValue::parse(s) {
        let written = v.to_string();
        assert_eq!(EncValue::parse(&written).as_ref(), Ok(&v), "ENC value does not read back: {s:?} -> {written:?}");
    }
}

/// A metadata tree read as metadata, written as sops writes it and read again, is the
/// same metadata.
fn metadata_tree_round_trip(tree: &document::Tree) {
    let Ok(meta) = Metadata::from_tree(tree) else { return };
    let written = yaml::render_metadata(&meta.to_tree(), "\n");
    let file = match yaml::parse(&written) {
        Ok(f) => f,
        Err(e) => panic!("metadata written by gitseal does not parse: {e}\n{written}"),
    };
    let again = file.docs.first().and_then(|d| d.metadata.as_ref()).unwrap_or_else(|| panic!("metadata written by gitseal is not found again\n{written}"));
    let meta2 = Metadata::from_tree(&again.tree).unwrap_or_else(|e| panic!("metadata written by gitseal does not read back: {e}\n{written}"));
    assert_eq!(meta.to_tree(), meta2.to_tree(), "metadata changed on a write and read\n{written}");
}

/// The `sops` metadata block: no panic reading it from YAML or JSON; what reads as
/// metadata survives being written and read again.
pub fn metadata(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let mut yaml_src = String::from("sops:\n");
    for line in src.lines() {
        yaml_src.push_str("    ");
        yaml_src.push_str(line);
        yaml_src.push('\n');
    }
    for (format, s) in [(Format::Yaml, src), (Format::Yaml, yaml_src.as_str()), (Format::Json, src)] {
        if let Ok(file) = document::parse(format, s) {
            for doc in &file.docs {
                if let Some(m) = &doc.metadata {
                    metadata_tree_round_trip(&m.tree);
                }
            }
        }
    }
}

/// `.sops.yaml`: no panic parsing it or choosing a rule with it.
pub fn sops_config(data: &[u8]) {
    let Some(src) = text(data) else { return };
    let _ = gitseal_core::config::parse_tree(src);
    let dir = std::path::Path::new("/repo");
    if let Ok(cfg) = gitseal_core::config::parse(&dir.join(".sops.yaml"), dir, src) {
        let _ = cfg.rule_for(&dir.join("a/secret.yaml"));
    }
}

/// Shamir shares: combining arbitrary shares never panics; a secret split and combined
/// from any `threshold` of its shares comes back.
pub fn shamir(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let (head, rest) = data.split_at(3);
    let parts = usize::from(head[0] % 8) + 1;
    let threshold = usize::from(head[1]) % parts + 1;
    let secret = &rest[..rest.len().min(64)];
    // Arbitrary bytes as shares, split where the third byte says.
    let cut = usize::from(head[2]).min(rest.len());
    let _ = shamir::combine(&[&rest[..cut], &rest[cut..]]);
    let _ = shamir::combine(&[rest]);
    if secret.is_empty() || parts < 2 || threshold < 2 {
        let _ = shamir::split(secret, parts, threshold);
        return;
    }
    let shares = shamir::split(secret, parts, threshold).expect("split a non-empty secret");
    assert_eq!(shares.len(), parts);
    let start = usize::from(head[2]) % (parts - threshold + 1);
    let chosen: Vec<&[u8]> = shares[start..start + threshold].iter().map(|s| s.as_slice()).collect();
    let back = shamir::combine(&chosen).expect("combine threshold shares");
    assert_eq!(back.as_slice(), secret, "secret does not come back from {threshold} of {parts} shares");
}

/// Tree paths (`["a"][0]`): no panic parsing; looking one up in a document never panics.
pub fn tree_path(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let (path, doc) = s.split_once('\n').unwrap_or((s, "a:\n  b: [x, {c: d}]\n  e: f\n"));
    if let Ok(steps) = tree_path::parse(path) {
        if let Ok(file) = yaml::parse(doc) {
            for d in &file.docs {
                let _ = tree_path::find(d, doc, &steps);
            }
        }
    }
}
