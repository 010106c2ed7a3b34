//! `gitseal exec-env FILE -- COMMAND [ARGS...]`: run a command with the decrypted values
//! in its environment. Nothing is written to disk; the command is run directly (no shell).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::fsio;
use clap::Args;
use gitseal_core::{env_vars, DecryptRequest};

use super::signals::{self, SIGINT};
use super::{format_of, FormatArgs, IdentityArgs};

#[derive(Args, Debug)]
pub struct ExecEnvArgs {
    /// Run COMMAND with only the file's variables, not gitseal's own environment.
    #[arg(long)]
    pristine: bool,
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The command and its arguments, after `--`.
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

/// The running command. Locked while it is being started, so a signal is either
/// handled before it exists or passed on to it.
static CHILD: Mutex<Option<u32>> = Mutex::new(None);

fn on_signal(signo: i32) {
    match *CHILD.lock().unwrap_or_else(|e| e.into_inner()) {
        // Before the command runs: stop here; nothing was written anywhere.
        None => std::process::exit(128 + signo),
        // A terminal's Ctrl-C reaches the command directly (same process group).
        Some(_) if signo == SIGINT => {}
        Some(pid) => signals::send(pid, signo),
    }
}

pub fn run(args: ExecEnvArgs) -> anyhow::Result<i32> {
    signals::watch(on_signal)?;
    let path = &args.file;
    let name = path.display().to_string();
    let format = format_of(&args.fmt, path);
    let ids = super::load_identities(&args.ids)?;
    let src = fsio::read(path)?;
    let plain = gitseal_core::decrypt(&DecryptRequest { file: &name, format, src: &src, identities: &ids, ignore_mac: false })?;
    let vars = env_vars::from_plaintext(&name, format, plain.as_bytes())?;
    drop(plain);
    for s in &vars.skipped {
        eprintln!("gitseal: {name}: warning: key {:?} skipped: {}", s.key, s.reason);
    }

    let overrides: Vec<(&std::ffi::OsStr, &[u8])> = vars.vars.iter().map(|v| (std::ffi::OsStr::new(&v.name), &v.value[..])).collect();
    let pid = {
        let mut running = CHILD.lock().unwrap_or_else(|e| e.into_inner());
        match signals::spawn_clean(&args.command, &overrides, args.pristine) {
            Ok(pid) => {
                *running = Some(pid);
                pid
            }
            Err(e) => {
                eprintln!("gitseal: error: cannot run {:?}: {e}", args.command[0]);
                return Ok(signals::spawn_failure_code(&e));
            }
        }
    };
    // The values live on in the child's environment only.
    drop(overrides);
    drop(vars);
    // The command's own end decides gitseal's exit code, whatever signals come meanwhile.
    let status = signals::wait(pid)?;
    *CHILD.lock().unwrap_or_else(|e| e.into_inner()) = None;
    Ok(signals::exit_code_of(status))
}
