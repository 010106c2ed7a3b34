use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use gitseal::{fsio, tree_path, DecryptRequest, Decrypted, Error};
use rayon::prelude::*;

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
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// Files or directories.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn run(args: DecryptArgs) -> anyhow::Result<i32> {
    let files = fsio::expand_paths(&args.paths)?;
    let several = files.len() != 1 || args.paths.iter().any(|p| p.is_dir());
    if several && !args.in_place {
        return Err(Error::Usage("several files or a directory: use -i/--in-place".into()).into());
    }
    let extract = match &args.extract {
        Some(p) => Some(tree_path::parse(p).map_err(Error::Usage)?),
        None => None,
    };
    let ids = super::load_identities(&args.ids)?;
    if args.ignore_mac {
        eprintln!("gitseal: WARNING: --ignore-mac: the MAC is NOT checked; the output may have been tampered with");
    }
    let decrypt_one = |path: &PathBuf| -> anyhow::Result<Decrypted> {
        let src = fsio::read(path)?;
        let name = path.display().to_string();
        Ok(gitseal::decrypt(&DecryptRequest { file: &name, format: format_of(&args.fmt, path), src: &src, identities: &ids, ignore_mac: args.ignore_mac })?)
    };

    if !args.in_place {
        let path = &files[0];
        let plain = decrypt_one(path)?;
        let bytes: zeroize::Zeroizing<Vec<u8>> = match &extract {
            Some(steps) => extract_value(path, &args.fmt, &plain, steps, args.extract.as_deref().unwrap_or(""))?,
            None => zeroize::Zeroizing::new(plain.as_bytes().to_vec()),
        };
        match &args.output {
            Some(o) if extract.is_none() => fsio::write_decrypted(o, &plain)?,
            Some(o) => std::fs::write(o, &*bytes)?,
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)?;
                out.flush()?;
            }
        }
        return Ok(0);
    }

    let pb = progress(files.len(), "decrypting");
    let results: Vec<(PathBuf, anyhow::Result<()>)> = files
        .par_iter()
        .map(|path| {
            let r = super::lock_for_update(path)
                .map_err(anyhow::Error::from)
                .and_then(|_lock| decrypt_one(path).and_then(|p| Ok(fsio::write_decrypted(path, &p)?)));
            if let Some(pb) = &pb {
                pb.inc(1);
            }
            (path.clone(), r)
        })
        .collect();
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

fn extract_value(
    path: &std::path::Path,
    fmt: &FormatArgs,
    plain: &Decrypted,
    steps: &[tree_path::Step],
    raw: &str,
) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    let format = match format_of(fmt, path) {
        gitseal::document::Format::Binary => gitseal::document::Format::Json,
        f => f,
    };
    if format_of(fmt, path) == gitseal::document::Format::Binary {
        if steps == [tree_path::Step::Key("data".into())] {
            return Ok(zeroize::Zeroizing::new(plain.as_bytes().to_vec()));
        }
        return Err(Error::Usage(format!("{}: binary files only have [\"data\"]", path.display())).into());
    }
    let text = std::str::from_utf8(plain.as_bytes())?;
    let parsed = gitseal::document::parse(format, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for doc in &parsed.docs {
        let found = tree_path::find(doc, text, steps).map_err(|m| Error::Usage(format!("{}: {raw}: {m}", path.display())))?;
        if let Some(leaf) = found {
            let mut out = leaf.text(text).as_bytes().to_vec();
            // As sops prints them: strings bare, other scalars followed by a newline.
            if leaf.ty != gitseal::sops::value::ValueType::Str && format == gitseal::document::Format::Yaml {
                out.push(b'\n');
            }
            return Ok(zeroize::Zeroizing::new(out));
        }
    }
    Err(Error::Usage(format!("{}: no value at {raw}", path.display())).into())
}
