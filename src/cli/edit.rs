//! `gitseal edit FILE`: decrypt to a private temporary copy, open an editor, re-encrypt.
//!
//! Unchanged values keep their ciphertext (and the file its data key), so the diff of an
//! edit shows only what was edited. The plaintext copy lives in a fresh 0700 directory,
//! on a memory-backed file system when there is one, and is removed on every way out:
//! return, error, panic (drop), and SIGINT/SIGTERM/SIGHUP (the signal thread).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::fsio;
use clap::Args;
use gitseal_core::document::Format;
use gitseal_core::shell_words;
use gitseal_core::{plaintext_edit, DecryptRequest, EncryptRequest, Error};

use super::recipients::{load_config, plan_for, FlagRecipients};
use super::signals::{self, SIGINT, SIGKILL};
use super::{format_of, FormatArgs, IdentityArgs};

#[derive(Args, Debug)]
pub struct EditArgs {
    /// New files only: age recipients (comma-separated or repeated). Without it, the
    /// matching creation rule of .sops.yaml is used.
    #[arg(long = "age", value_name = "RECIPIENTS")]
    age: Vec<String>,
    /// New files only: Vault Transit key URIs (comma-separated or repeated).
    #[arg(long = "hc-vault-transit", value_name = "URIS")]
    hc_vault_transit: Vec<String>,
    /// New files only: use this .sops.yaml instead of searching from the current directory.
    #[arg(long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// The encrypted file; a file that does not exist yet starts from a Secret template.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// What the signal thread must clean up.
struct Session {
    scratch_dir: Option<PathBuf>,
    editor: Option<u32>,
    /// The encrypted result has been written.
    saving: bool,
    /// SIGTERM or SIGHUP came while the editor ran: the editor was told to stop, and the
    /// main thread ends gitseal (without saving) once it has exited.
    interrupted: Option<i32>,
}

static SESSION: Mutex<Session> = Mutex::new(Session { scratch_dir: None, editor: None, saving: false, interrupted: None });

/// How long an editor told to stop by a passed-on signal may take before it is killed, so
/// that gitseal never ends while its editor lives on without it.
const EDITOR_GRACE: Duration = Duration::from_secs(3);

fn session() -> MutexGuard<'static, Session> {
    // A panic while holding the lock must not stop the cleanup.
    SESSION.lock().unwrap_or_else(|e| e.into_inner())
}

fn on_signal(signo: i32) {
    let mut s = session();
    if signo == SIGINT && s.editor.is_some() {
        // The terminal sent Ctrl-C to the editor too: it is the editor's to handle (many
        // use it as a key). If it quits, the main thread cleans up.
        return;
    }
    // The plaintext goes first, whatever happens next.
    let removed = s.scratch_dir.take().map(|dir| fsio::wipe_dir(&dir)).is_some();
    if let Some(pid) = s.editor {
        // Pass the signal on and let the main thread finish once the editor has exited:
        // ending now would orphan it.
        s.interrupted.get_or_insert(signo);
        signals::send(pid, signo);
        drop(s);
        std::thread::spawn(move || {
            std::thread::sleep(EDITOR_GRACE);
            let s = session();
            if s.editor == Some(pid) {
                signals::send(pid, SIGKILL);
            }
        });
        return;
    }
    let what = if s.saving { "the edit was saved" } else { "the file is unchanged" };
    let removed = if removed { ", the plaintext copy is removed" } else { "" };
    eprintln!("gitseal: interrupted by signal {signo}; {what}{removed}");
    std::process::exit(128 + signo);
}

/// The plaintext copy, registered with the signal thread while it exists.
struct Scratch(fsio::PlaintextScratch);

impl Scratch {
    fn create(path: &Path, content: &[u8]) -> anyhow::Result<Self> {
        let name = path.file_name().ok_or_else(|| Error::Usage(format!("{}: not a file name", path.display())))?;
        let mut s = session();
        let scratch = fsio::PlaintextScratch::create(name, content)?;
        s.scratch_dir = Some(scratch.dir().to_path_buf());
        Ok(Scratch(scratch))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Wiped under the lock: a signal arriving now must not end the process between
        // the deregistration and the wipe. (The inner value's own wipe then finds nothing.)
        let mut s = session();
        fsio::wipe_dir(self.0.dir());
        s.scratch_dir = None;
    }
}

/// The editor command: `$SOPS_EDITOR`, else `$EDITOR`, else `vi`, split into words.
fn editor_command() -> anyhow::Result<Vec<String>> {
    let (var, raw) =
        ["SOPS_EDITOR", "EDITOR"].iter().find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()).map(|s| (*v, s))).unwrap_or(("", "vi".to_owned()));
    let words = shell_words::split(&raw).map_err(|m| Error::Usage(format!("cannot read the editor command in ${var}: {m}")))?;
    if words.is_empty() {
        return Err(Error::Usage(format!("${var} names no command")).into());
    }
    Ok(words)
}

/// How the editor ended.
enum EditorOutcome {
    Saved,
    /// The exit code gitseal should return.
    Failed(i32),
    /// Stopped by this signal, passed on to the editor.
    Interrupted(i32),
}

fn run_editor(cmd: &[String], file: &Path) -> EditorOutcome {
    let mut argv: Vec<std::ffi::OsString> = cmd.iter().map(std::ffi::OsString::from).collect();
    argv.push(file.as_os_str().to_owned());
    let child = {
        let mut s = session();
        match signals::spawn_clean(&argv, &[], false) {
            Ok(pid) => {
                s.editor = Some(pid);
                pid
            }
            Err(e) => {
                eprintln!("gitseal: error: cannot start the editor {:?}: {e} (set $SOPS_EDITOR or $EDITOR)", cmd[0]);
                return EditorOutcome::Failed(signals::spawn_failure_code(&e));
            }
        }
    };
    let status = signals::wait(child);
    {
        let mut s = session();
        s.editor = None;
        if let Some(signo) = s.interrupted {
            // Whatever the editor wrote on its way out is not saved.
            return EditorOutcome::Interrupted(signo);
        }
    }
    match status {
        Ok(s) if s.success() => EditorOutcome::Saved,
        Ok(s) => {
            let code = signals::exit_code_of(s);
            if code > 128 {
                eprintln!("gitseal: the editor was stopped by signal {}", code - 128);
            } else {
                eprintln!("gitseal: the editor exited with status {code}");
            }
            EditorOutcome::Failed(code)
        }
        Err(e) => {
            eprintln!("gitseal: error: waiting for the editor: {e}");
            EditorOutcome::Failed(1)
        }
    }
}

/// Asks on the terminal whether to edit again; `false` when stdin is not a terminal.
fn ask_reopen() -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("Reopen the editor? [Y/n] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "" | "y" | "Y" | "yes" | "Yes")
}

pub fn run(args: EditArgs) -> anyhow::Result<i32> {
    // Before any other thread starts, so that all of them leave the signals to it.
    signals::watch(on_signal)?;
    let path = args.file.as_path();
    let name = path.display().to_string();
    let format = format_of(&args.fmt, path);
    let exists = path.exists();
    let ids = super::load_identities(&args.ids)?;
    let editor = editor_command()?;
    // Held for the whole edit, until the new version is in place: a `set` or another
    // `edit` of the file meanwhile would otherwise be overwritten by this one.
    let _lock = if exists { Some(super::lock_for_update(path)?) } else { None };

    // What the editor starts from, and how the result gets encrypted. An existing file is
    // opened once: the data key unwrapped for the editor's copy seals the result.
    let original_src: Vec<u8>;
    let mut opened = None;
    let start: zeroize::Zeroizing<Vec<u8>>;
    let mut new_file_plan = None;
    if exists {
        if !args.age.is_empty() || !args.hc_vault_transit.is_empty() {
            eprintln!("gitseal: {name}: --age and --hc-vault-transit apply to new files only (the file keeps its recipients; see updatekeys)");
        }
        original_src = fsio::read(path)?;
        let file = gitseal_core::pipeline::open(&DecryptRequest { file: &name, format, src: &original_src, identities: &ids, ignore_mac: false })?;
        start = zeroize::Zeroizing::new(file.plaintext().as_bytes().to_vec());
        opened = Some(file);
    } else {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            return Err(Error::Usage(format!("{name}: directory {} does not exist", parent.display())).into());
        }
        let flags = FlagRecipients::parse(&args.age, &args.hc_vault_transit)?;
        let cfg = load_config(args.config.as_deref())?;
        let plan = plan_for(path, &flags, None, false, cfg.as_ref())?;
        if plan.recipients.is_empty() {
            return Err(Error::NoRecipients { file: name }.into());
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("secret");
        start = zeroize::Zeroizing::new(plaintext_edit::new_file_template(format, stem).into_bytes());
        new_file_plan = Some(plan);
    }

    let scratch = Scratch::create(path, &start)?;
    if !scratch.0.memory_backed() {
        eprintln!(
            "gitseal: warning: no memory-backed directory ($XDG_RUNTIME_DIR, /dev/shm): the plaintext copy is on disk in {} until the editor closes",
            scratch.0.dir().display()
        );
    }
    loop {
        match run_editor(&editor, scratch.0.path()) {
            EditorOutcome::Saved => {}
            EditorOutcome::Failed(code) => {
                eprintln!("gitseal: {name}: {}", if exists { "left unchanged" } else { "not created" });
                return Ok(code);
            }
            EditorOutcome::Interrupted(signo) => {
                drop(scratch);
                let what = if exists { "left unchanged" } else { "not created" };
                eprintln!("gitseal: interrupted by signal {signo}; the editor has ended, {name} is {what}, the plaintext copy is removed");
                return Ok(128 + signo);
            }
        }
        let edited = scratch.0.read()?;
        if edited[..] == start[..] {
            if exists {
                eprintln!("gitseal: {name}: no changes");
            } else {
                eprintln!("gitseal: {name}: template left unchanged; nothing created");
            }
            return Ok(0);
        }
        let result = match (&opened, &new_file_plan) {
            (Some(file), _) => super::reseal::reseal(file, &name, format, &edited, &ids),
            (None, Some(plan)) => gitseal_core::encrypt(&EncryptRequest {
                file: &name,
                format,
                src: &edited,
                recipients: &plan.recipients,
                selection: plan.selection.clone(),
                mac_only_encrypted: plan.mac_only_encrypted,
                identities: &ids,
                previous: None,
                check: Some(gitseal_core::k8s::check_secret_data),
            }),
            (None, None) => unreachable!("a new file always has a plan"),
        };
        match result {
            Ok(out) => {
                // Under the lock, so that a signal waits for the write and reports it.
                let mut s = session();
                fsio::write_encrypted(path, &out.output)?;
                s.saving = true;
                drop(s);
                if exists {
                    let kept = if format == Format::Binary { "" } else { "; unchanged values kept their ciphertext" };
                    eprintln!("gitseal: {name}: saved ({} value(s) encrypted anew{kept})", out.sealed);
                } else {
                    eprintln!("gitseal: {name}: created, encrypted");
                }
                return Ok(0);
            }
            Err(e) if e.kind() == gitseal_core::error::ErrorKind::InvalidInput => {
                eprintln!("gitseal: error: {e}");
                if ask_reopen() {
                    continue;
                }
                eprintln!("gitseal: {name}: {}", if exists { "left unchanged" } else { "not created" });
                return Ok(crate::exit_code::of(&e));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
