//! `gitseal status`: whether files are encrypted and to whom, from the metadata alone;
//! lines for people by default, one JSON object per line and file with `--format json`.

use std::io::Write;
use std::path::PathBuf;

use crate::fsio;
use clap::Args;
use gitseal_core::status;

use super::{format_of, FormatArgs, OutputFormat};

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    fmt: FormatArgs,
    /// text: a few lines per file; json: one JSON object per line and file (JSON Lines),
    /// fields `file`, `encrypted`, `format`, and for encrypted files `lastmodified`,
    /// `mac_only_encrypted`, `recipients`, `key_groups`, `shamir_threshold`, `selection`,
    /// `version`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Files or directories (directories are searched for .yaml, .yml, .json and .env files).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: StatusArgs) -> anyhow::Result<i32> {
    let mut code = 0;
    let mut fail = |e: anyhow::Error| {
        let c = super::report(&e);
        if code == 0 {
            code = c;
        }
    };
    let mut out = std::io::stdout().lock();
    for arg in &args.files {
        let files = match fsio::expand_paths(std::slice::from_ref(arg)) {
            Ok(f) => f,
            Err(e) => {
                fail(e.into());
                continue;
            }
        };
        for path in files {
            let name = path.display().to_string();
            let result = fsio::read(&path).and_then(|src| status::file_status(&name, format_of(&args.fmt, &path), &src));
            match result {
                Ok(s) => {
                    match args.format {
                        OutputFormat::Json => writeln!(out, "{}", s.to_json_line())?,
                        OutputFormat::Text => write!(out, "{}", s.to_text())?,
                    }
                    // Each line as soon as it is known: callers may stream.
                    out.flush()?;
                }
                Err(e) => fail(e.into()),
            }
        }
    }
    Ok(code)
}
