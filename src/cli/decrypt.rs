use std::io::Write;
use std::path::PathBuf;

use crate::fsio;
use clap::Args;
use gitseal_core::document::Format;
use gitseal_core::{tree_path, DecryptRequest, Decrypted, Error};

use super::kind::{ReadKind, Reading};
use super::{format_of, progress, FormatArgs, IdentityArgs};

#[derive(Args, Debug)]
pub struct DecryptArgs {
    /// Decrypt files in place (required for several files).
    #[arg(short = 'i', long = "in-place")]
    in_place: bool,
    /// Write the plaintext to FILE.
    #[arg(short = 'o', long = "output", value_name = "FILE", conflicts_with = "in_place")]
    output: Option<PathBuf>,
    /// Print only the value at PATH, in sops's syntax: '["stringData"]["token"]'.
    #[arg(long, value_name = "PATH", conflicts_with = "in_place")]
    extract: Option<String>,
    /// Decrypt even when the MAC does not match (the file may have been tampered with).
    #[arg(long)]
    ignore_mac: bool,
    /// Secret: the file is an EncryptedSecret; give the Secret manifest the gitseal
    /// controller would create from it, after the checks it makes (MAC, binding of
    /// namespace, name, scope and template, sorted key order). Without it, the file's
    /// plaintext as sops gives it.
    #[arg(long = "kind", value_enum, value_name = "KIND", ignore_case = true, conflicts_with_all = ["extract", "ignore_mac"])]
    kind: Option<ReadKind>,
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// With `-` (standard input): the file name whose extension gives the format.
    #[arg(long, value_name = "PATH")]
    filename_override: Option<PathBuf>,
    /// Files or directories, or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn run(args: DecryptArgs) -> anyhow::Result<i32> {
    let stdin = args.paths.iter().any(|p| p.as_os_str() == super::encrypt::STDIN);
    if stdin && (args.paths.len() != 1 || args.in_place) {
        return Err(Error::Usage("`-` (standard input) is decrypted alone and not in place: give it as the only path, without -i".into()).into());
    }
    if !stdin && args.filename_override.is_some() {
        return Err(Error::Usage("--filename-override applies to standard input only (give `-` as the path)".into()).into());
    }
    let files = if stdin { vec![PathBuf::from(super::encrypt::STDIN)] } else { fsio::expand_paths(&args.paths)? };
    let several = files.len() != 1 || args.paths.iter().any(|p| p.is_dir());
    if several && !args.in_place {
        return Err(Error::Usage("several files or a directory: use -i/--in-place".into()).into());
    }
    let extract = match &args.extract {
        Some(p) => Some(tree_path::parse(p).map_err(Error::Usage)?),
        None => None,
    };
    let ids = super::load_identities(&args.ids)?;
    if Reading::of(args.kind) == Reading::Secret {
        return run_secret(&args, &files, stdin, &ids);
    }
    if args.ignore_mac {
        eprintln!("gitseal: WARNING: --ignore-mac: the MAC is NOT checked; the output may have been tampered with");
    }
    let decrypt_one = |path: &PathBuf| -> anyhow::Result<Decrypted> {
        let src = fsio::read(path)?;
        let name = path.display().to_string();
        Ok(gitseal_core::decrypt(&DecryptRequest {
            file: &name,
            format: format_of(&args.fmt, path),
            src: &src,
            identities: &ids,
            ignore_mac: args.ignore_mac,
        })?)
    };

    if !args.in_place {
        let path = &files[0];
        let (plain, format) = if stdin {
            let format = super::encrypt::stdin_format(&args.fmt, args.filename_override.as_deref())?;
            let src = super::encrypt::read_stdin()?;
            (gitseal_core::decrypt(&DecryptRequest { file: "<stdin>", format, src: &src, identities: &ids, ignore_mac: args.ignore_mac })?, format)
        } else {
            (decrypt_one(path)?, format_of(&args.fmt, path))
        };
        let bytes: zeroize::Zeroizing<Vec<u8>> = match &extract {
            Some(steps) => extract_value(path, format, &plain, steps, args.extract.as_deref().unwrap_or(""))?,
            None => zeroize::Zeroizing::new(plain.as_bytes().to_vec()),
        };
        match &args.output {
            Some(o) if extract.is_none() => fsio::write_decrypted(o, &plain)?,
            Some(o) => fsio::write_plaintext(o, &bytes)?,
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)?;
                out.flush()?;
            }
        }
        return Ok(0);
    }

    let pb = progress(files.len(), "decrypting");
    let results: Vec<(PathBuf, anyhow::Result<()>)> = crate::parallel::map_in_order(&files, |path| {
        let r =
            super::lock_for_update(path).map_err(anyhow::Error::from).and_then(|_lock| decrypt_one(path).and_then(|p| Ok(fsio::write_decrypted(path, &p)?)));
        if let Some(pb) = &pb {
            pb.inc(1);
        }
        (path.clone(), r)
    });
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let mut code = 0;
    for (_, r) in &results {
        if let Err(e) = r {
            let c = super::report(e);
            if code == 0 {
                code = c;
            }
        }
    }
    Ok(code)
}

/// `decrypt --kind Secret`: each EncryptedSecret opened as the cluster opens it, and the
/// Secret it stands for written (stdout, `-o FILE`, or in place of the file).
fn run_secret(args: &DecryptArgs, files: &[PathBuf], stdin: bool, ids: &gitseal_core::keys::Identities) -> anyhow::Result<i32> {
    // The Secret is written as YAML: a .json name would hold text that is not JSON.
    let yaml_only = |p: &std::path::Path| -> anyhow::Result<()> {
        match format_of(&args.fmt, p) {
            Format::Yaml => Ok(()),
            _ => Err(Error::Usage(format!("{}: the Secret is written as YAML; give -o a .yaml or .yml file", p.display())).into()),
        }
    };
    if let Some(o) = &args.output {
        yaml_only(o)?;
    }
    let open = |name: &str, format: Format, src: &[u8]| -> anyhow::Result<zeroize::Zeroizing<String>> {
        let secret = gitseal_core::encrypted_secret::open_file(name, format, src, ids)?;
        Ok(secret.to_secret_yaml())
    };
    if stdin {
        let src = super::encrypt::read_stdin()?;
        // An EncryptedSecret is YAML or JSON, which its first character tells apart: no
        // file name is needed to choose the format.
        let sniffed = if src.trim_ascii_start().starts_with(b"{") { Format::Json } else { Format::Yaml };
        let format = super::encrypt::stdin_format(&args.fmt, args.filename_override.as_deref()).unwrap_or(sniffed);
        let yaml = open("<stdin>", format, &src)?;
        write_secret(args.output.as_deref(), &yaml)?;
        return Ok(0);
    }
    if !args.in_place {
        let path = &files[0];
        let src = zeroize::Zeroizing::new(fsio::read(path)?);
        let yaml = open(&path.display().to_string(), format_of(&args.fmt, path), &src)?;
        write_secret(args.output.as_deref(), &yaml)?;
        return Ok(0);
    }
    Ok(super::each_file(files, |path| {
        yaml_only(path)?;
        let _lock = super::lock_for_update(path)?;
        let src = zeroize::Zeroizing::new(fsio::read(path)?);
        let yaml = open(&path.display().to_string(), format_of(&args.fmt, path), &src)?;
        write_secret(Some(path), &yaml)
    }))
}

/// Writes a Secret manifest to `output`, or to stdout.
fn write_secret(output: Option<&std::path::Path>, yaml: &str) -> anyhow::Result<()> {
    match output {
        Some(o) => fsio::write_plaintext(o, yaml.as_bytes())?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(yaml.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

fn extract_value(
    path: &std::path::Path,
    format: Format,
    plain: &Decrypted,
    steps: &[tree_path::Step],
    raw: &str,
) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    if format == Format::Binary {
        if steps == [tree_path::Step::Key("data".into())] {
            return Ok(zeroize::Zeroizing::new(plain.as_bytes().to_vec()));
        }
        return Err(Error::Usage(format!("{}: binary files only have [\"data\"]", path.display())).into());
    }
    let text = std::str::from_utf8(plain.as_bytes())?;
    let parsed = gitseal_core::document::parse(format, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for doc in &parsed.docs {
        let found = tree_path::find(doc, text, steps).map_err(|m| Error::Usage(format!("{}: {raw}: {m}", path.display())))?;
        if let Some(leaf) = found {
            let mut out = leaf.text(text).as_bytes().to_vec();
            // As sops prints them: strings bare, other scalars followed by a newline.
            if leaf.ty != gitseal_core::sops::value::ValueType::Str && format == Format::Yaml {
                out.push(b'\n');
            }
            return Ok(zeroize::Zeroizing::new(out));
        }
    }
    Err(Error::Path { file: path.display().to_string(), path: raw.to_owned(), msg: format!("no value there{}", suggestions(&parsed, text, raw)) }.into())
}

/// `; nearest existing paths: ...` for a path that names nothing: the value paths of the
/// file closest to it (key names only; values are never shown).
fn suggestions(parsed: &gitseal_core::document::ParsedFile, text: &str, raw: &str) -> String {
    let rendered: Vec<String> = parsed.docs.iter().flat_map(|d| tree_path::key_paths(d, text)).map(|p| tree_path::render(&p)).collect();
    let near = tree_path::nearest(raw.trim(), rendered.iter().map(String::as_str), 3, true);
    if near.is_empty() {
        String::new()
    } else {
        format!("; nearest existing paths: {}", near.join(", "))
    }
}
