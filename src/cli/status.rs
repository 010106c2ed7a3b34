//! `gitseal status`: one JSON object per line and file, from the metadata alone.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use gitseal::{fsio, status};

use super::{format_of, FormatArgs};

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    fmt: FormatArgs,
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
                    writeln!(out, "{}", s.to_json_line())?;
                    // Each line as soon as it is known: callers may stream.
                    out.flush()?;
                }
                Err(e) => fail(e.into()),
            }
        }
    }
    Ok(code)
}
