//! `rotate` (new data key) and `updatekeys` (re-wrap the data key for the rule's recipients).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use crate::fsio;
use clap::Args;
use gitseal_core::pipeline::{rewrap, rotate, transit_rewrap};
use gitseal_core::Error;

use super::recipients::{load_config, rule_recipients};
use super::{format_of, FormatArgs, IdentityArgs};

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// Rewrite the files in place (required for several files).
    #[arg(short = 'i', long = "in-place")]
    in_place: bool,
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// Encrypted files or directories.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct UpdatekeysArgs {
    /// Do not ask for confirmation.
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    /// Use this .sops.yaml instead of searching from the current directory.
    #[arg(long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// Encrypted files or directories.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run_rotate(args: RotateArgs) -> anyhow::Result<i32> {
    let files = fsio::expand_paths(&args.files)?;
    if (files.len() != 1 || args.files.iter().any(|p| p.is_dir())) && !args.in_place {
        return Err(Error::Usage("several files or a directory: use -i/--in-place".into()).into());
    }
    let ids = super::load_identities(&args.ids)?;
    Ok(super::each_file(&files, |path| {
        let _lock = if args.in_place { Some(super::lock_for_update(path)?) } else { None };
        let src = fsio::read(path)?;
        let name = path.display().to_string();
        let out = rotate(&name, format_of(&args.fmt, path), &src, &ids)?;
        if args.in_place {
            fsio::write_encrypted(path, &out)?;
            eprintln!("gitseal: {}: new data key, every value re-encrypted", path.display());
        } else {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(out.as_bytes())?;
            stdout.flush()?;
        }
        Ok(())
    }))
}

#[derive(Args, Debug)]
pub struct RewrapArgs {
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// Encrypted files or directories (rewritten in place).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// `gitseal rewrap`: after a Transit key rotation, have Vault re-encrypt each file's
/// Transit copy of the data key with the key's latest version. Values are untouched.
pub fn run_rewrap(args: RewrapArgs) -> anyhow::Result<i32> {
    let files = fsio::expand_paths(&args.files)?;
    let ids = super::load_identities(&args.ids)?;
    Ok(super::each_file(&files, |path| {
        let _lock = super::lock_for_update(path)?;
        let src = fsio::read(path)?;
        let name = path.display().to_string();
        let (out, changed) = transit_rewrap(&name, format_of(&args.fmt, path), &src, &ids)?;
        if changed == 0 {
            eprintln!("gitseal: {}: no Vault Transit entry to re-wrap (or already at the latest key version)", path.display());
            return Ok(());
        }
        fsio::write_encrypted(path, &out)?;
        eprintln!("gitseal: {}: {changed} Vault Transit entr{} re-wrapped; values and MAC unchanged", path.display(), if changed == 1 { "y" } else { "ies" });
        Ok(())
    }))
}

pub fn run_updatekeys(args: UpdatekeysArgs) -> anyhow::Result<i32> {
    let files = fsio::expand_paths(&args.files)?;
    let cfg = load_config(args.config.as_deref())?
        .ok_or_else(|| Error::Usage("updatekeys needs a .sops.yaml (none found from the current directory; use --config)".into()))?;
    let ids = super::load_identities(&args.ids)?;
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        return Err(Error::Usage("updatekeys asks for confirmation: pass -y when not on a terminal".into()).into());
    }
    Ok(super::each_file(&files, |path| {
        let rule = cfg
            .rule_for(path)
            .ok_or_else(|| Error::Config { file: cfg.path.display().to_string(), msg: format!("no creation rule matches {}", path.display()) })?;
        let recipients = rule_recipients(rule)?;
        let _lock = super::lock_for_update(path)?;
        let src = fsio::read(path)?;
        let name = path.display().to_string();
        let out = rewrap(&name, format_of(&args.fmt, path), &src, &ids, &recipients)?;
        if !out.changed() {
            eprintln!("gitseal: {}: recipients already match creation_rules[{}]", path.display(), rule.index);
            return Ok(());
        }
        eprintln!("gitseal: {}: new recipients from creation_rules[{}]:", path.display(), rule.index);
        for a in &out.added {
            eprintln!("  + {a}");
        }
        for r in &out.removed {
            eprintln!("  - {r}");
        }
        if out.regrouped {
            eprintln!("  key groups and shamir_threshold as the rule names them");
        }
        if !args.yes {
            eprint!("Update this file? [y/N] ");
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                eprintln!("gitseal: {}: left as it was", path.display());
                return Ok(());
            }
        }
        fsio::write_encrypted(path, &out.output)?;
        eprintln!("gitseal: {}: data key re-wrapped; values and MAC unchanged", path.display());
        Ok(())
    }))
}
