//! Argument parsing, output and exit codes.

mod check;
mod completions;
mod create;
mod decrypt;
mod edit;
mod encrypt;
mod exec_env;
mod git;
mod hooks;
mod keygen;
mod kind;
mod recipients;
mod render;
mod reseal;
mod rotate;
mod set;
mod signals;
mod status;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gitseal_core::document::Format;
use gitseal_core::Error;

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   unexpected internal error
  2   usage error (bad flags or arguments)
  3   invalid input: syntax error, duplicate key, bad base64 in Secret data,
      malformed ENC[...] value, plaintext value where ciphertext belongs
  4   file is not encrypted (decrypt)
  5   file cannot be read or written
  6   configuration error (.sops.yaml, selection regex)
  7   no recipients to encrypt to
  8   no identity can decrypt the data key (the message lists the recipients)
  9   an encrypted value fails authentication (tampered or moved)
  10  check found problems (gitseal check)
  11  a Vault reference cannot be resolved (render): missing path, key or
      version, or the read was denied
  12  an EncryptedSecret is outside the namespace or name it was sealed for
  51  MAC mismatch: the file was changed after encryption (same code as sops)
With several files, the exit code is that of the first failing file.";

/// Keeps Kubernetes Secrets safe in GitOps repositories (SOPS v3 compatible).
#[derive(Parser, Debug)]
#[command(name = "gitseal", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate an age identity (X25519, or post-quantum with --pq; file mode 0600) and print its recipient.
    Keygen(keygen::KeygenArgs),
    /// Encrypt the secret values of files, in place or to stdout.
    Encrypt(encrypt::EncryptArgs),
    /// Decrypt files after checking their MAC.
    Decrypt(decrypt::DecryptArgs),
    /// Edit an encrypted file in $EDITOR; unchanged values keep their ciphertext.
    Edit(edit::EditArgs),
    /// Set one value of an encrypted file: gitseal set FILE '["stringData"]["token"]' VALUE
    Set(set::SetArgs),
    /// Remove one value of an encrypted file.
    Unset(set::UnsetArgs),
    /// Give an encrypted file a new data key, re-encrypting every value.
    Rotate(rotate::RotateArgs),
    /// Re-wrap the data key for the recipients the creation rules now name.
    Updatekeys(rotate::UpdatekeysArgs),
    /// Re-wrap Vault Transit copies of the data key with the latest Transit key version.
    Rewrap(rotate::RewrapArgs),
    /// The commit gate: list plaintext Secrets, unencrypted files, bad MACs, wrong recipients.
    Check(check::CheckArgs),
    /// Install a git pre-commit hook and a decrypting diff driver in this repository.
    InstallHooks(hooks::InstallHooksArgs),
    /// The git textconv driver: print a file decrypted if possible, else as it is.
    #[command(hide = true)]
    Textconv(hooks::TextconvArgs),
    /// Show whether files are encrypted, and to whom (text, or JSON Lines).
    Status(status::StatusArgs),
    /// Print ready-to-apply manifests: decrypted, Vault references resolved.
    Render(render::RenderArgs),
    /// Run a command with the decrypted values as environment variables.
    ExecEnv(exec_env::ExecEnvArgs),
    /// Write a new, already encrypted Secret manifest.
    #[command(subcommand)]
    Create(create::CreateCommand),
    /// Print a shell completion script: gitseal completions bash|zsh|fish|elvish|powershell
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff): gitseal man | man -l -
    Man(completions::ManArgs),
}

/// How a report is printed: for people, or for programs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Lines for people.
    #[default]
    Text,
    /// JSON for programs.
    Json,
}

/// Options shared by commands that need private keys.
#[derive(Args, Debug, Clone, Default)]
pub struct IdentityArgs {
    /// age identity file or SSH private key (repeatable). Also read: GITSEAL_AGE_KEY_FILE,
    /// SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, $XDG_CONFIG_HOME/sops/age/keys.txt, SSH keys.
    #[arg(long = "identity", value_name = "FILE")]
    pub identity: Vec<PathBuf>,
}

/// The identities these options and the environment name, able to open Vault Transit
/// entries through the `VAULT_*` settings (read only when a file needs them).
pub fn load_identities(args: &IdentityArgs) -> anyhow::Result<gitseal_core::keys::Identities> {
    let mut ids = crate::key_discovery::load_identities(&args.identity)?;
    ids.set_transit(crate::vault_backend::shared());
    Ok(ids)
}

/// Options shared by commands that read files.
#[derive(Args, Debug, Clone, Default)]
pub struct FormatArgs {
    /// Input format (default: from the file extension: .yaml/.yml, .json, .env, else binary).
    #[arg(long = "input-type", value_name = "yaml|json|dotenv|binary", value_parser = parse_format)]
    pub input_type: Option<Format>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse_name(s).ok_or_else(|| format!("unknown format {s:?}: use yaml, json, dotenv or binary"))
}

pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Keygen(a) => keygen::run(a),
        Command::Encrypt(a) => encrypt::run(a),
        Command::Decrypt(a) => decrypt::run(a),
        Command::Edit(a) => edit::run(a),
        Command::Set(a) => set::run_set(a),
        Command::Unset(a) => set::run_unset(a),
        Command::Rotate(a) => rotate::run_rotate(a),
        Command::Updatekeys(a) => rotate::run_updatekeys(a),
        Command::Rewrap(a) => rotate::run_rewrap(a),
        Command::Check(a) => check::run(a),
        Command::InstallHooks(a) => hooks::run_install(a),
        Command::Textconv(a) => hooks::run_textconv(a),
        Command::Status(a) => status::run(a),
        Command::Render(a) => render::run(a),
        Command::ExecEnv(a) => exec_env::run(a),
        Command::Create(c) => create::run(c),
        Command::Completions(a) => completions::run_completions(a),
        Command::Man(a) => completions::run_man(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Prints an error and returns its exit code.
/// Runs `work` on each file, reporting each failure as it happens and going on with the
/// next file; the exit code is that of the first failure (0 when none failed).
pub fn each_file(files: &[PathBuf], mut work: impl FnMut(&std::path::Path) -> anyhow::Result<()>) -> i32 {
    let mut code = 0;
    for path in files {
        if let Err(e) = work(path) {
            let c = report(&e);
            if code == 0 {
                code = c;
            }
        }
    }
    code
}

pub fn report(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<Error>() {
        // Library errors already name their cause in their own message.
        Some(err) => {
            eprintln!("gitseal: error: {err}");
            crate::exit_code::of(err)
        }
        None => {
            eprintln!("gitseal: error: {e:#}");
            1
        }
    }
}

/// Takes the update lock of a file about to be rewritten (see [`crate::fsio::UpdateLock`]),
/// saying so when another gitseal holds it and this one waits.
pub fn lock_for_update(path: &std::path::Path) -> gitseal_core::Result<crate::fsio::UpdateLock> {
    crate::fsio::UpdateLock::acquire(path, || eprintln!("gitseal: {}: waiting for another gitseal that is rewriting it", path.display()))
}

/// A progress bar on a terminal, for batches.
pub fn progress(len: usize, verb: &str) -> Option<indicatif::ProgressBar> {
    if len < 2 || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {bar:30} {pos}/{len} files ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb.set_message(verb.to_owned());
    Some(pb)
}

/// The format of `path`, unless overridden.
pub fn format_of(args: &FormatArgs, path: &std::path::Path) -> Format {
    args.input_type.unwrap_or_else(|| Format::from_path(path))
}
