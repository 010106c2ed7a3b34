use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use gitseal::document::Format;
use gitseal::keys::Identities;
use gitseal::sops::select::Selection;
use gitseal::{fsio, EncryptRequest, Error};
use rayon::prelude::*;

use super::recipients::{load_config, plan_for, FlagRecipients};
use super::{format_of, progress, FormatArgs, IdentityArgs};

#[derive(Args, Debug)]
pub struct EncryptArgs {
    /// age recipients (age1... or ssh-ed25519/ssh-rsa public keys), comma-separated or
    /// repeated. Without it, the matching creation rule of .sops.yaml is used.
    #[arg(long = "age", value_name = "RECIPIENTS")]
    age: Vec<String>,
    /// Vault Transit keys that wrap the data key, as URIs
    /// (https://vault:8200/v1/transit/keys/NAME), comma-separated or repeated.
    #[arg(long = "hc-vault-transit", value_name = "URIS")]
    hc_vault_transit: Vec<String>,
    /// Encrypt files in place (required for several files or directories).
    #[arg(short = 'i', long = "in-place")]
    in_place: bool,
    /// Write to FILE; when FILE is already encrypted, its data key and the ciphertext of
    /// unchanged values are reused.
    #[arg(short = 'o', long = "output", value_name = "FILE", conflicts_with = "in_place")]
    output: Option<PathBuf>,
    /// Use this .sops.yaml instead of searching from the current directory.
    #[arg(long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Encrypt only values with a key on their path matching REGEX.
    #[arg(long, value_name = "REGEX", group = "selection")]
    encrypted_regex: Option<String>,
    /// Leave values with a key on their path matching REGEX in plaintext.
    #[arg(long, value_name = "REGEX", group = "selection")]
    unencrypted_regex: Option<String>,
    /// Encrypt only values with a key on their path ending in SUFFIX.
    #[arg(long, value_name = "SUFFIX", group = "selection")]
    encrypted_suffix: Option<String>,
    /// Leave values with a key on their path ending in SUFFIX in plaintext.
    #[arg(long, value_name = "SUFFIX", group = "selection")]
    unencrypted_suffix: Option<String>,
    /// Encrypt only values (and comments) after a comment matching REGEX, in its scope
    /// (as sops: the comments since the previous entry of each enclosing collection); the
    /// matching comment itself stays readable.
    #[arg(long, value_name = "REGEX", group = "selection")]
    encrypted_comment_regex: Option<String>,
    /// Leave values and comments after a comment matching REGEX (and that comment) in
    /// plaintext; encrypt everything else, other comments included.
    #[arg(long, value_name = "REGEX", group = "selection")]
    unencrypted_comment_regex: Option<String>,
    /// Compute the MAC over encrypted values only.
    #[arg(long)]
    mac_only_encrypted: bool,
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// Files or directories (directories are searched for .yaml, .yml, .json and .env files).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

impl EncryptArgs {
    fn selection(&self) -> Option<Selection> {
        let fields = [
            self.unencrypted_suffix.clone(),
            self.encrypted_suffix.clone(),
            self.unencrypted_regex.clone(),
            self.encrypted_regex.clone(),
            self.unencrypted_comment_regex.clone(),
            self.encrypted_comment_regex.clone(),
        ];
        let explicit = fields.iter().any(Option::is_some);
        let s = Selection::from_fields(fields).ok()?;
        explicit.then_some(s)
    }
}

struct Job<'a> {
    args: &'a EncryptArgs,
    flags: &'a FlagRecipients,
    selection: Option<&'a Selection>,
    cfg: Option<&'a gitseal::config::Config>,
    ids: &'a Identities,
}

/// Where one file's ciphertext goes.
enum Target<'p> {
    Stdout,
    InPlace,
    File(&'p Path),
}

/// What happened to one file.
struct Done {
    changed: bool,
    unverified: bool,
}

impl Job<'_> {
    fn run_one(&self, path: &Path, target: Target<'_>) -> anyhow::Result<Done> {
        let _lock = match target {
            Target::InPlace => Some(super::lock_for_update(path)?),
            Target::File(o) => Some(super::lock_for_update(o)?),
            Target::Stdout => None,
        };
        let src = fsio::read(path)?;
        let plan = plan_for(path, self.flags, self.selection, self.args.mac_only_encrypted, self.cfg)?;
        let name = path.display().to_string();
        let mut previous = match target {
            Target::File(o) if o.exists() => Some(fsio::read(o)?),
            _ => None,
        };
        let format = format_of(&self.args.fmt, path);
        // The recipients asked for against those of the file being built on: never keep
        // one the user did not ask for without saying so.
        let explicit = !self.flags.age.is_empty() || !self.flags.hc_vault.is_empty();
        let (built_on, on_name) = match (&previous, &target) {
            (Some(p), Target::File(o)) => (p.as_slice(), o.display().to_string()),
            _ => (src.as_slice(), name.clone()),
        };
        if let Some((added, removed)) = recipient_changes(&on_name, format, built_on, &plan.recipients) {
            let diff = added.iter().map(|r| format!("+ {r}")).chain(removed.iter().map(|r| format!("- {r}"))).collect::<Vec<_>>().join(", ");
            match target {
                Target::File(_) => {
                    // As sops does: the output gets a new data key for exactly the
                    // recipients asked for (a recipient removed must not keep the key).
                    eprintln!("gitseal: {on_name}: recipients differ from the file's ({diff}); writing it with a new data key for the recipients asked for");
                    previous = None;
                }
                _ if explicit => {
                    return Err(Error::Usage(format!(
                        "{on_name}: already encrypted to other recipients ({diff}); encrypt keeps a file's data key and recipients: change them with `gitseal updatekeys` (after updating .sops.yaml), and run `gitseal rotate -i` after removing one"
                    ))
                    .into())
                }
                _ => eprintln!("gitseal: {on_name}: note: the file's recipients differ from its creation rule ({diff}); they are kept: run `gitseal updatekeys {on_name}`"),
            }
        }
        let req = EncryptRequest {
            file: &name,
            format,
            src: &src,
            recipients: &plan.recipients,
            selection: plan.selection,
            mac_only_encrypted: plan.mac_only_encrypted,
            identities: self.ids,
            previous: previous.as_deref(),
        };
        // Binary files and writes onto an existing output are done in memory (the output
        // is compared with what is there); the rest streams.
        if req.format == Format::Binary || matches!(target, Target::File(_)) {
            let out = gitseal::encrypt(&req)?;
            match target {
                Target::Stdout => write_stdout(out.output.as_bytes())?,
                Target::InPlace if out.changed => fsio::write_encrypted(path, &out.output)?,
                Target::File(o) if out.changed || previous.is_none() => fsio::write_encrypted(o, &out.output)?,
                _ => {}
            }
            return Ok(Done { changed: out.changed, unverified: out.unverified });
        }
        let plan = gitseal::pipeline::plan_encrypt(&req)?;
        let changed = plan.changes_input();
        match target {
            Target::Stdout => {
                let mut stdout = std::io::stdout().lock();
                plan.write_to(&mut stdout)?;
            }
            Target::InPlace if changed => {
                fsio::write_encrypted_plan(path, &plan)?;
            }
            _ => {}
        }
        Ok(Done { changed, unverified: plan.unverified() })
    }
}

/// The recipients `wanted` adds to and removes from those of the encrypted file `bytes`
/// (age and Vault Transit; master keys gitseal cannot write are left out). `None` when
/// the file is not encrypted, or nothing is asked for, or nothing differs.
fn recipient_changes(file: &str, format: Format, bytes: &[u8], wanted: &gitseal::keys::Recipients) -> Option<(Vec<String>, Vec<String>)> {
    if wanted.is_empty() {
        return None;
    }
    let meta = gitseal::status::file_status(file, format, bytes).ok()?.metadata?;
    let have: Vec<String> = meta.describe_keys().into_iter().filter(|k| k.starts_with("age:") || k.starts_with("hc_vault:")).collect();
    let want = wanted.describe();
    let added: Vec<String> = want.iter().filter(|r| !have.contains(r)).cloned().collect();
    let removed: Vec<String> = have.iter().filter(|r| !want.contains(r)).cloned().collect();
    (!added.is_empty() || !removed.is_empty()).then_some((added, removed))
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}

pub fn run(args: EncryptArgs) -> anyhow::Result<i32> {
    if let Some(sel) = args.selection() {
        sel.compile().map_err(|e| Error::Usage(format!("invalid {}: {e}", sel.field().0)))?;
    }
    let files = fsio::expand_paths(&args.paths)?;
    let several = files.len() != 1 || args.paths.iter().any(|p| p.is_dir());
    if several && !args.in_place {
        return Err(Error::Usage("several files or a directory: use -i/--in-place".into()).into());
    }
    let flags = FlagRecipients::parse(&args.age, &args.hc_vault_transit)?;
    let cfg = load_config(args.config.as_deref())?;
    let ids = super::load_identities(&args.ids)?;
    let selection = args.selection();
    let job = Job { args: &args, flags: &flags, selection: selection.as_ref(), cfg: cfg.as_ref(), ids: &ids };

    if !args.in_place {
        let path = &files[0];
        let target = match &args.output {
            Some(o) => Target::File(o),
            None => Target::Stdout,
        };
        let outcome = job.run_one(path, target)?;
        if outcome.unverified {
            eprintln!("gitseal: {}: already encrypted; left as it is (no identity at hand to check its MAC)", path.display());
        }
        return Ok(0);
    }

    let pb = progress(files.len(), "encrypting");
    let results: Vec<(PathBuf, anyhow::Result<Done>)> = files
        .par_iter()
        .map(|path| {
            let r = job.run_one(path, Target::InPlace);
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
    let (mut written, mut unchanged, mut unverified) = (0, 0, 0);
    for (path, r) in &results {
        match r {
            Ok(o) if o.unverified => {
                unverified += 1;
                eprintln!("gitseal: {}: already encrypted; left as it is (no identity at hand to check its MAC)", path.display());
            }
            Ok(o) if o.changed => written += 1,
            Ok(_) => unchanged += 1,
            Err(e) => {
                let c = super::report(e);
                if code == 0 {
                    code = c;
                }
            }
        }
    }
    if files.len() > 1 {
        let failed = results.iter().filter(|(_, r)| r.is_err()).count();
        eprintln!("gitseal: {} files: {written} encrypted, {unchanged} unchanged, {unverified} left as they were, {failed} failed", files.len());
    }
    Ok(code)
}
