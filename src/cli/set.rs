//! `gitseal set FILE PATH VALUE` and `gitseal unset FILE PATH`: change one value of an
//! encrypted file without an editor. Every other value keeps its ciphertext.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::fsio;
use clap::Args;
use gitseal_core::plaintext_edit::{self, NewValue};
use gitseal_core::sops::value::looks_encrypted;
use gitseal_core::tree_path::{self, Step};
use gitseal_core::{DecryptRequest, Error};
use zeroize::Zeroizing;

use super::{format_of, FormatArgs, IdentityArgs};

#[derive(Args, Debug)]
pub struct SetArgs {
    /// Read VALUE from standard input (one trailing newline is removed).
    #[arg(long, conflicts_with_all = ["value", "value_file"])]
    value_stdin: bool,
    /// Read VALUE from FILE, byte for byte.
    #[arg(long, value_name = "FILE", conflicts_with = "value")]
    value_file: Option<PathBuf>,
    /// Read VALUE as JSON, as `sops set` does: a string ("..."), a number, true, false or null.
    #[arg(long, conflicts_with = "base64")]
    json: bool,
    /// Store the base64 encoding of VALUE (for a Secret's `data`).
    #[arg(long)]
    base64: bool,
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Where, in sops's index syntax: '["stringData"]["token"]', '["items"][0]'.
    #[arg(value_name = "PATH")]
    path: String,
    /// The value: a JSON string ('"s3cr3t"', as sops set takes it) or plain text taken
    /// literally; always a string (see --json). Prefer --value-stdin or --value-file for
    /// secrets: arguments show up in shell history and process lists.
    #[arg(value_name = "VALUE", required_unless_present_any = ["value_stdin", "value_file"])]
    value: Option<String>,
}

#[derive(Args, Debug)]
pub struct UnsetArgs {
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The key or list item to remove, in sops's index syntax: '["stringData"]["token"]'.
    #[arg(value_name = "PATH")]
    path: String,
}

/// The raw bytes of the value, from wherever the flags say.
fn value_bytes(args: &SetArgs) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if let Some(v) = &args.value {
        return Ok(Zeroizing::new(v.as_bytes().to_vec()));
    }
    if let Some(f) = &args.value_file {
        return Ok(Zeroizing::new(fsio::read(f)?));
    }
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin().lock().read_to_end(&mut buf).map_err(|e| Error::Io { file: "<stdin>".into(), action: "cannot read the value", source: e })?;
    // `echo secret | gitseal set ...` adds a newline the user did not mean as part of it.
    if buf.ends_with(b"\r\n") {
        let n = buf.len() - 2;
        buf.truncate(n);
    } else if buf.ends_with(b"\n") {
        let n = buf.len() - 1;
        buf.truncate(n);
    }
    Ok(buf)
}

fn new_value(args: &SetArgs) -> anyhow::Result<NewValue> {
    let file = args.file.display();
    let bytes = value_bytes(args)?;
    let utf8 = |b: &[u8]| -> anyhow::Result<String> {
        let t = std::str::from_utf8(b).map_err(|_| Error::Usage(format!("{file}: the value is not UTF-8 text: pass --base64 to store its base64 encoding")))?;
        Ok(t.to_owned())
    };
    if args.json {
        let text = Zeroizing::new(utf8(&bytes)?);
        return Ok(NewValue::from_json(&text).map_err(|m| Error::Usage(format!("{file}: {m}")))?);
    }
    // The VALUE argument may be written as sops wants it, a JSON string ('"..."'); input
    // read from stdin or a file is taken byte for byte.
    let value = match &args.value {
        Some(arg) => NewValue::from_argument(arg),
        None if args.base64 => return Ok(NewValue::base64_of(&bytes)),
        None => NewValue::string(utf8(&bytes)?),
    };
    match value {
        NewValue::Str(s) if args.base64 => Ok(NewValue::base64_of(s.as_bytes())),
        v => Ok(v),
    }
}

/// Decrypts `path`, applies `change` to the plaintext, re-encrypts and writes. Returns the
/// number of values newly encrypted and the encrypted text.
fn change_file(
    path: &Path,
    fmt: &FormatArgs,
    ids: &IdentityArgs,
    change: impl FnOnce(&str, gitseal_core::document::Format, &str) -> gitseal_core::Result<Zeroizing<String>>,
) -> anyhow::Result<(usize, String)> {
    let name = path.display().to_string();
    let format = format_of(fmt, path);
    let ids = super::load_identities(ids)?;
    // Held until the new version is in place: a concurrent set/unset waits instead of
    // writing a version without this change.
    let _lock = super::lock_for_update(path)?;
    let src = fsio::read(path)?;
    // Opened once: the data key unwrapped here (one Vault Transit decrypt) seals the result.
    let opened = gitseal_core::pipeline::open(&DecryptRequest { file: &name, format, src: &src, identities: &ids, ignore_mac: false })?;
    let text = std::str::from_utf8(opened.plaintext().as_bytes()).map_err(|_| Error::Syntax {
        file: name.clone(),
        line: 1,
        col: 1,
        msg: "the file is not valid UTF-8 text".into(),
    })?;
    let edited = change(&name, format, text)?;
    let out = super::reseal::reseal(&opened, &name, format, edited.as_bytes(), &ids)?;
    if out.changed {
        fsio::write_encrypted(path, &out.output)?;
    }
    Ok((out.sealed, out.output.into_string()))
}

/// When `path` names no value of the decrypted `text`, the note `set` prints: the key it
/// adds (and the mappings it creates), with the nearest existing keys at that level, so a
/// typo does not go unnoticed. `None` when the path replaces an existing value.
fn new_key_note(format: gitseal_core::document::Format, text: &str, raw: &str) -> Option<String> {
    let steps = tree_path::parse(raw).ok()?;
    let parsed = gitseal_core::document::parse(format, text).ok()?;
    if parsed.docs.iter().any(|d| matches!(tree_path::find(d, text, &steps), Ok(Some(_)))) || matches!(steps.last(), Some(Step::Index(_))) {
        return None;
    }
    let keys: Vec<String> = steps.iter().filter_map(|s| if let Step::Key(k) = s { Some(k.clone()) } else { None }).collect();
    let existing: Vec<Vec<String>> = parsed.docs.iter().flat_map(|d| tree_path::key_paths(d, text)).collect();
    // The longest prefix of the path that exists (as a mapping holding values).
    let depth = (0..keys.len()).rev().find(|&n| existing.iter().any(|p| p.len() > n && p[..n] == keys[..n])).unwrap_or(0);
    let mut siblings: Vec<&str> = existing.iter().filter(|p| p.len() > depth && p[..depth] == keys[..depth]).map(|p| p[depth].as_str()).collect();
    siblings.dedup();
    let near = tree_path::nearest(&keys[depth], siblings.iter().copied(), 1, false);
    let what = if depth + 1 == keys.len() {
        format!("adds the new key {}", tree_path::render(&keys))
    } else {
        format!("adds the new key {} and creates the mapping {}", tree_path::render(&keys), tree_path::render(&keys[..=depth]))
    };
    let hint = match near.first() {
        Some(n) => {
            let mut p = keys[..depth].to_vec();
            p.push((*n).to_owned());
            format!(" (nearest existing: {}; check the path for a typo)", tree_path::render(&p))
        }
        None => String::new(),
    };
    Some(format!("{what}{hint}"))
}

/// Whether the value at `raw` in the encrypted `output` is stored in plaintext (the
/// file's rule does not select it).
fn stored_in_plaintext(format: gitseal_core::document::Format, output: &str, raw: &str) -> bool {
    let (Ok(steps), Ok(parsed)) = (
        tree_path::parse(raw),
        gitseal_core::document::parse(if format == gitseal_core::document::Format::Binary { gitseal_core::document::Format::Json } else { format }, output),
    ) else {
        return false;
    };
    parsed.docs.iter().any(|d| matches!(tree_path::find(d, output, &steps), Ok(Some(l)) if !l.text(output).is_empty() && !looks_encrypted(l.text(output))))
}

pub fn run_set(args: SetArgs) -> anyhow::Result<i32> {
    let value = new_value(&args)?;
    let mut note = None;
    let format = format_of(&args.fmt, &args.file);
    let (sealed, output) = change_file(&args.file, &args.fmt, &args.ids, |file, format, text| {
        note = new_key_note(format, text, &args.path);
        // The cluster verifies an EncryptedSecret's MAC in sorted key order: a new key goes where it sorts.
        if super::reseal::is_encrypted_secret(format, text.as_bytes()) {
            plaintext_edit::set_sorted(file, format, text, &args.path, &value)
        } else {
            plaintext_edit::set(file, format, text, &args.path, &value)
        }
    })?;
    let file = args.file.display();
    if let Some(n) = note {
        eprintln!("gitseal: note: {file}: {n}");
    }
    // An EncryptedSecret's template is readable by design (its binding authenticates it).
    let readable_by_design = super::reseal::is_encrypted_secret(format, output.as_bytes());
    if !readable_by_design && stored_in_plaintext(format, &output, &args.path) {
        eprintln!("gitseal: warning: {file}: {} is stored in plaintext: the file's selection rule does not encrypt it", args.path);
    }
    eprintln!("gitseal: {file}: {} set{}", args.path, if sealed == 0 { " (unchanged)" } else { "" });
    Ok(0)
}

pub fn run_unset(args: UnsetArgs) -> anyhow::Result<i32> {
    change_file(&args.file, &args.fmt, &args.ids, |file, format, text| plaintext_edit::unset(file, format, text, &args.path))?;
    eprintln!("gitseal: {}: {} removed", args.file.display(), args.path);
    Ok(0)
}
