use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::fsio;
use clap::Args;
use gitseal_core::document::Format;
use gitseal_core::encrypted_secret::{self, Scope};
use gitseal_core::keys::Identities;
use gitseal_core::sops::select::Selection;
use gitseal_core::{EncryptRequest, Error};

use super::kind::{SealedKindArgs, SealedObject};
use super::recipients::{load_config, plan_for, FlagRecipients};
use super::{format_of, progress, FormatArgs, IdentityArgs};

/// The path argument that means standard input.
pub const STDIN: &str = "-";

/// The format of standard input: `--input-type`, else the extension of
/// `--filename-override`. Without either, the input is refused rather than taken for
/// binary data (which is what a YAML manifest would silently become).
pub fn stdin_format(fmt: &FormatArgs, filename_override: Option<&Path>) -> Result<Format, Error> {
    match (fmt.input_type, filename_override) {
        (Some(f), _) => Ok(f),
        (None, Some(p)) => Ok(Format::from_path(p)),
        (None, None) => Err(Error::Usage(
            "standard input has no file name to choose its format from: give --input-type yaml|json|dotenv|binary, or --filename-override PATH (which also chooses the .sops.yaml rule)".into(),
        )),
    }
}

/// Reads all of standard input into memory that is zeroized on drop.
pub fn read_stdin() -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    let mut buf = zeroize::Zeroizing::new(Vec::new());
    std::io::stdin().lock().read_to_end(&mut buf).map_err(|source| Error::Io { file: "<stdin>".into(), action: "cannot read", source })?;
    Ok(buf)
}

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
    kind: SealedKindArgs,
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// With `-` (standard input): the file name that chooses the format (by extension) and
    /// the .sops.yaml creation rule, as if the input were that file.
    #[arg(long, value_name = "PATH")]
    filename_override: Option<PathBuf>,
    /// Files or directories (directories are searched for .yaml, .yml, .json and .env files;
    /// files in which nothing is selected are skipped), or `-` for standard input.
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
    cfg: Option<&'a gitseal_core::config::Config>,
    ids: &'a Identities,
}

/// Where one file's ciphertext goes.
enum Target<'p> {
    Stdout,
    InPlace,
    File(&'p Path),
}

/// One input: where its bytes come from and which path chooses its rule and format.
struct Input<'p> {
    /// The path the creation rules are matched against (and, without `--input-type`, the
    /// one whose extension gives the format).
    rule_path: &'p Path,
    /// How messages name it.
    name: String,
    format: Format,
    /// Found by walking a directory (rather than named on the command line).
    walked: bool,
}

/// Why a file found in a directory walk was left as it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// kustomize's own configuration, which cannot carry a `sops` block.
    Kustomize,
    /// The selection picks no value in it.
    NothingSelected,
    /// No creation rule of .sops.yaml matches it (and no recipients were given).
    NoRule,
}

/// What happened to one file.
enum Done {
    Written,
    Unchanged,
    /// Encrypted already, no identity at hand to check its MAC: left as it is.
    Unverified,
    Skipped(Skip),
}

impl Job<'_> {
    fn run_one(&self, input: &Input<'_>, src: &[u8], target: Target<'_>) -> anyhow::Result<Done> {
        let path = input.rule_path;
        if gitseal_core::k8s::is_kustomize_config(path, src) {
            if input.walked {
                return Ok(Done::Skipped(Skip::Kustomize));
            }
            return Err(Error::Usage(format!(
                "{}: kustomize configuration is never encrypted: kustomize refuses the sops block; encrypt the Secret manifests it lists instead",
                input.name
            ))
            .into());
        }
        // An EncryptedSecret keeps its own rules: it is made with --kind, and values added to
        // it by hand are only encrypted where the cluster will verify them (sorted order).
        let encrypted_secret_file = is_encrypted_secret(input.format, src);
        if encrypted_secret_file && !has_sops_metadata(input.format, src) {
            return Err(Error::Usage(format!(
                "{}: an {kind} that is not encrypted; make it from its Secret with gitseal encrypt --kind {kind}",
                input.name,
                kind = encrypted_secret::KIND
            ))
            .into());
        }
        let plan = plan_for(path, self.flags, self.selection, self.args.mac_only_encrypted, self.cfg)?;
        let no_rule = plan.recipients.is_empty() && self.cfg.is_some_and(|c| c.rule_for(path).is_none());
        let selection_used = plan.selection.clone();
        let mut previous = match target {
            Target::File(o) if o.exists() => Some(fsio::read(o)?),
            _ => None,
        };
        // The recipients asked for against those of the file being built on: never keep
        // one the user did not ask for without saying so.
        let explicit = !self.flags.age.is_empty() || !self.flags.hc_vault.is_empty();
        let (built_on, on_name) = match (&previous, &target) {
            (Some(p), Target::File(o)) => (p.as_slice(), o.display().to_string()),
            _ => (src, input.name.clone()),
        };
        if let Some((added, removed)) = recipient_changes(&on_name, input.format, built_on, &plan.recipients) {
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
            file: &input.name,
            format: input.format,
            src,
            recipients: &plan.recipients,
            selection: plan.selection,
            mac_only_encrypted: plan.mac_only_encrypted,
            identities: self.ids,
            previous: previous.as_deref(),
            check: Some(if encrypted_secret_file { encrypted_secret::check_plaintext } else { gitseal_core::k8s::check_secret_data }),
        };
        // Binary files are encrypted whole, in memory.
        if req.format == Format::Binary {
            let out = gitseal_core::encrypt(&req).map_err(|e| self.explain(e, input, no_rule))?;
            match target {
                Target::Stdout => write_stdout(out.output.as_bytes())?,
                Target::InPlace if out.changed => fsio::write_encrypted(path, &out.output)?,
                Target::File(o) if out.changed || previous.is_none() => fsio::write_encrypted(o, &out.output)?,
                _ => {}
            }
            return Ok(if out.unverified {
                Done::Unverified
            } else if out.changed {
                Done::Written
            } else {
                Done::Unchanged
            });
        }
        let plan = match gitseal_core::pipeline::plan_encrypt_if_selected(&req) {
            Ok(Some(p)) => p,
            Ok(None) if input.walked => return Ok(Done::Skipped(if no_rule { Skip::NoRule } else { Skip::NothingSelected })),
            Ok(None) if no_rule => return Err(self.explain(Error::NoRecipients { file: input.name.clone() }, input, no_rule).into()),
            Ok(None) => {
                // Named explicitly: encrypted as sops encrypts it (a sops block whose MAC
                // covers the plaintext values), but never silently.
                eprintln!("gitseal: warning: {}", nothing_selected(input, selection_used.as_ref(), self.cfg, src));
                gitseal_core::pipeline::plan_encrypt(&req).map_err(|e| self.explain(e, input, no_rule))?
            }
            Err(Error::NoRecipients { .. }) if input.walked && no_rule => return Ok(Done::Skipped(Skip::NoRule)),
            Err(e) => return Err(self.explain(e, input, no_rule).into()),
        };
        if plan.unverified() {
            return Ok(Done::Unverified);
        }
        let changed = plan.changes_input();
        match target {
            Target::Stdout => {
                let mut stdout = std::io::stdout().lock();
                plan.write_to(&mut stdout)?;
            }
            Target::InPlace if changed => {
                fsio::write_encrypted_plan(path, &plan)?;
            }
            Target::InPlace => {}
            Target::File(o) => {
                let mut out = Vec::with_capacity(src.len() + plan.values_to_seal() * 160);
                plan.write_to(&mut out)?;
                if previous.as_deref() == Some(&out[..]) {
                    return Ok(Done::Unchanged);
                }
                // New ciphertexts get fresh IVs on this second pass; only the comparison above
                // needed the first.
                fsio::write_encrypted_plan(o, &plan)?;
                return Ok(Done::Written);
            }
        }
        Ok(if changed { Done::Written } else { Done::Unchanged })
    }

    /// A clearer message for a file no creation rule matches: which config was read and
    /// which path its `path_regex`es were matched against.
    fn explain(&self, e: Error, input: &Input<'_>, no_rule: bool) -> Error {
        match (e, self.cfg) {
            (Error::NoRecipients { file }, Some(cfg)) if no_rule => Error::NoRecipientsFor { file, hint: cfg.no_rule_message(input.rule_path) },
            (e, _) => e,
        }
    }
}

/// The warning for a file named on the command line in which nothing is encrypted.
fn nothing_selected(input: &Input<'_>, selection: Option<&Selection>, cfg: Option<&gitseal_core::config::Config>, src: &[u8]) -> String {
    let rule = match (selection, cfg.and_then(|c| c.rule_for(input.rule_path).map(|r| (c, r)))) {
        (Some(s), Some((c, r))) if r.selection.as_ref() == Some(s) => {
            format!("{} {:?} of creation_rules[{}] in {}", s.field().0, s.field().1, r.index, c.path.display())
        }
        (Some(s), _) => format!("{} {:?}", s.field().0, s.field().1),
        (None, _) => {
            // The default the pipeline picks: Kubernetes objects get data/stringData only.
            let format = if input.format == Format::Binary { Format::Json } else { input.format };
            let parsed = std::str::from_utf8(src).ok().and_then(|t| gitseal_core::document::parse(format, t).ok());
            if parsed.is_some_and(|p| p.docs.iter().all(gitseal_core::document::Document::is_k8s_object)) {
                format!("gitseal's Kubernetes default, encrypted_regex {:?}", gitseal_core::sops::select::K8S_ENCRYPTED_REGEX)
            } else {
                "sops's default selection".into()
            }
        }
    };
    format!(
        "{}: the selection ({rule}) picks no non-empty value: no value is encrypted, the sops block only adds a MAC (as sops does; a directory walk skips such files)",
        input.name
    )
}

/// The recipients `wanted` adds to and removes from those of the encrypted file `bytes`
/// (age and Vault Transit; master keys gitseal cannot write are left out). `None` when
/// the file is not encrypted, or nothing is asked for, or nothing differs.
fn recipient_changes(file: &str, format: Format, bytes: &[u8], wanted: &gitseal_core::keys::Recipients) -> Option<(Vec<String>, Vec<String>)> {
    if wanted.is_empty() {
        return None;
    }
    let meta = gitseal_core::status::file_status(file, format, bytes).ok()?.metadata?;
    let have: Vec<String> = meta.describe_keys().into_iter().filter(|k| k.starts_with("age:") || k.starts_with("hc_vault:")).collect();
    let want = wanted.describe();
    let added: Vec<String> = want.iter().filter(|r| !have.contains(r)).cloned().collect();
    let removed: Vec<String> = have.iter().filter(|r| !want.contains(r)).cloned().collect();
    (!added.is_empty() || !removed.is_empty()).then_some((added, removed))
}

/// The lock serializing writers of the file `target` writes (`path` itself for `-i`).
fn lock_target(path: Option<&Path>, target: &Target<'_>) -> gitseal_core::Result<Option<crate::fsio::UpdateLock>> {
    match (target, path) {
        (Target::InPlace, Some(p)) | (&Target::File(p), _) => super::lock_for_update(p).map(Some),
        _ => Ok(None),
    }
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}

/// The files to encrypt, each marked as found by a directory walk or named.
fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    for p in paths {
        let walked = p.is_dir();
        out.extend(fsio::expand_paths(std::slice::from_ref(p))?.into_iter().map(|f| (f, walked)));
    }
    Ok(out)
}

pub fn run(args: EncryptArgs) -> anyhow::Result<i32> {
    if let Some(sel) = args.selection() {
        sel.compile().map_err(|e| Error::Usage(format!("invalid {}: {e}", sel.field().0)))?;
    }
    let stdin = args.paths.iter().any(|p| p.as_os_str() == STDIN);
    if stdin && args.paths.len() != 1 {
        return Err(Error::Usage("`-` (standard input) cannot be combined with other paths".into()).into());
    }
    if stdin && args.in_place {
        return Err(Error::Usage("standard input cannot be encrypted in place: drop -i (the result goes to stdout, or to -o FILE)".into()).into());
    }
    if !stdin && args.filename_override.is_some() {
        return Err(Error::Usage("--filename-override applies to standard input only (give `-` as the path)".into()).into());
    }
    if let SealedObject::EncryptedSecret(scope) = args.kind.resolve()? {
        return run_encrypted_secret(&args, scope, stdin);
    }
    let files = if stdin { Vec::new() } else { collect(&args.paths)? };
    let several = files.len() != 1 || args.paths.iter().any(|p| p.is_dir());
    if !stdin && several && !args.in_place {
        return Err(Error::Usage("several files or a directory: use -i/--in-place".into()).into());
    }
    let flags = FlagRecipients::parse(&args.age, &args.hc_vault_transit)?;
    let cfg = load_config(args.config.as_deref())?;
    let ids = super::load_identities(&args.ids)?;
    let selection = args.selection();
    let job = Job { args: &args, flags: &flags, selection: selection.as_ref(), cfg: cfg.as_ref(), ids: &ids };
    let target = match &args.output {
        Some(o) => Target::File(o),
        None => Target::Stdout,
    };

    if stdin {
        let format = stdin_format(&args.fmt, args.filename_override.as_deref())?;
        let src = read_stdin()?;
        let rule_path = args.filename_override.clone().unwrap_or_default();
        let name = match &args.filename_override {
            Some(p) => format!("<stdin> ({})", p.display()),
            None => "<stdin>".into(),
        };
        let input = Input { rule_path: &rule_path, name, format, walked: false };
        let _lock = lock_target(None, &target)?;
        if let Done::Unverified = job.run_one(&input, &src, target)? {
            eprintln!("gitseal: {}: already encrypted; left as it is (no identity at hand to check its MAC)", input.name);
        }
        return Ok(0);
    }

    if !args.in_place {
        let (path, _) = &files[0];
        let input = Input { rule_path: path, name: path.display().to_string(), format: format_of(&args.fmt, path), walked: false };
        let _lock = lock_target(Some(path), &target)?;
        let src = fsio::read(path)?;
        if let Done::Unverified = job.run_one(&input, &src, target)? {
            eprintln!("gitseal: {}: already encrypted; left as it is (no identity at hand to check its MAC)", path.display());
        }
        return Ok(0);
    }

    let pb = progress(files.len(), "encrypting");
    let results: Vec<(&PathBuf, anyhow::Result<Done>)> = crate::parallel::map_in_order(&files, |(path, walked)| {
        let input = Input { rule_path: path, name: path.display().to_string(), format: format_of(&args.fmt, path), walked: *walked };
        // Held from the read to the rename, so no other writer's update is lost.
        let r = (|| -> anyhow::Result<Done> {
            let _lock = lock_target(Some(path), &Target::InPlace)?;
            let src = fsio::read(path)?;
            let done = job.run_one(&input, &src, Target::InPlace)?;
            if matches!(done, Done::Skipped(Skip::NoRule)) && holds_plaintext_secret(&input, &src) {
                eprintln!(
                    "gitseal: warning: {}: holds a Secret with plaintext values, but no creation rule of {} matches it: left unencrypted",
                    input.name,
                    cfg.as_ref().map(|c| c.path.display().to_string()).unwrap_or_default()
                );
            }
            Ok(done)
        })();
        if let Some(pb) = &pb {
            pb.inc(1);
        }
        (path, r)
    });
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let mut code = 0;
    let (mut written, mut unchanged, mut unverified) = (0, 0, 0);
    let (mut kustomize, mut unselected, mut unruled) = (0, 0, 0);
    for (path, r) in &results {
        match r {
            Ok(Done::Unverified) => {
                unverified += 1;
                eprintln!("gitseal: {}: already encrypted; left as it is (no identity at hand to check its MAC)", path.display());
            }
            Ok(Done::Written) => written += 1,
            Ok(Done::Unchanged) => unchanged += 1,
            Ok(Done::Skipped(Skip::Kustomize)) => kustomize += 1,
            Ok(Done::Skipped(Skip::NothingSelected)) => unselected += 1,
            Ok(Done::Skipped(Skip::NoRule)) => unruled += 1,
            Err(e) => {
                let c = super::report(e);
                if code == 0 {
                    code = c;
                }
            }
        }
    }
    // Always after a directory walk: a directory of one skipped file says so too.
    if files.len() > 1 || files.iter().any(|(_, walked)| *walked) {
        let failed = results.iter().filter(|(_, r)| r.is_err()).count();
        let skipped = kustomize + unselected + unruled;
        let mut why = Vec::new();
        for (n, what) in [(unselected, "nothing selected"), (unruled, "no creation rule matches"), (kustomize, "kustomize configuration")] {
            if n > 0 {
                why.push(format!("{n} {what}"));
            }
        }
        let why = if why.is_empty() { String::new() } else { format!(" ({})", why.join(", ")) };
        eprintln!(
            "gitseal: {} files: {written} encrypted, {unchanged} unchanged, {unverified} left as they were, {skipped} skipped{why}, {failed} failed",
            files.len()
        );
    }
    Ok(code)
}

/// Whether `src` is an EncryptedSecret (a cheap test on the bytes first: most files are not).
fn is_encrypted_secret(format: Format, src: &[u8]) -> bool {
    matches!(format, Format::Yaml | Format::Json)
        && std::str::from_utf8(src).is_ok_and(|t| t.contains(encrypted_secret::KIND) && encrypted_secret::is_encrypted_secret(format, t))
}

/// Whether a parsed file carries a `sops` block.
fn has_sops_metadata(format: Format, src: &[u8]) -> bool {
    std::str::from_utf8(src).ok().and_then(|t| gitseal_core::document::parse(format, t).ok()).is_some_and(|p| p.docs.iter().any(|d| d.metadata.is_some()))
}

/// Whether a file holds a Secret with a non-empty plaintext value under `data` or
/// `stringData`: skipping such a file deserves a warning.
fn holds_plaintext_secret(input: &Input<'_>, src: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(src) else { return false };
    let Ok(parsed) = gitseal_core::document::parse(input.format, text) else { return false };
    parsed.docs.iter().filter(|d| gitseal_core::k8s::is_secret(d) && d.metadata.is_none()).any(|d| {
        d.leaves.iter().any(|l| {
            let first = d.paths[l.parent as usize].keys.first().map(|k| &**k).or_else(|| l.key(text));
            l.ty != gitseal_core::sops::value::ValueType::Comment
                && matches!(first, Some("data" | "stringData"))
                && !l.text(text).is_empty()
                && !gitseal_core::sops::value::looks_encrypted(l.text(text))
        })
    })
}

/// `encrypt --kind EncryptedSecret`: each Secret manifest becomes an EncryptedSecret
/// (always YAML, always gitseal's selection), to stdout, `-o FILE` or in place.
fn run_encrypted_secret(args: &EncryptArgs, scope: Scope, stdin: bool) -> anyhow::Result<i32> {
    let kind = encrypted_secret::KIND;
    if let Some(sel) = args.selection() {
        return Err(Error::Usage(format!(
            "--{}: an {kind} is always sealed with encrypted_regex {} and mac_only_encrypted: true; drop the selection flag",
            sel.field().0.replace('_', "-"),
            encrypted_secret::ENCRYPTED_REGEX
        ))
        .into());
    }
    if args.mac_only_encrypted {
        eprintln!("gitseal: note: --mac-only-encrypted: an {kind} always has it");
    }
    if let Some(dir) = args.paths.iter().find(|p| p.is_dir()) {
        return Err(Error::Usage(format!("{}: is a directory; --kind {kind} takes the Secret manifests one by one, as files", dir.display())).into());
    }
    if !stdin && args.paths.len() > 1 && !args.in_place {
        return Err(Error::Usage("several files: use -i/--in-place".into()).into());
    }
    let yaml_only = |p: &Path, how: &str| -> anyhow::Result<()> {
        match format_of(&args.fmt, p) {
            Format::Yaml => Ok(()),
            _ => Err(Error::Usage(format!("{}: an {kind} is written as YAML; {how}", p.display())).into()),
        }
    };
    if let Some(o) = &args.output {
        yaml_only(o, "give -o a .yaml or .yml file")?;
    }
    let flags = FlagRecipients::parse(&args.age, &args.hc_vault_transit)?;
    let cfg = load_config(args.config.as_deref())?;
    let seal = |rule_path: &Path, name: &str, src: &[u8]| -> anyhow::Result<gitseal_core::Encrypted> {
        let plan = plan_for(rule_path, &flags, None, false, cfg.as_ref())?;
        if plan.recipients.is_empty() {
            return Err(match &cfg {
                Some(c) if c.rule_for(rule_path).is_none() => Error::NoRecipientsFor { file: name.into(), hint: c.no_rule_message(rule_path) },
                _ => Error::NoRecipients { file: name.into() },
            }
            .into());
        }
        if let (Some(c), Some(sel)) = (&cfg, &plan.selection) {
            if *sel != Selection::EncryptedRegex(encrypted_secret::ENCRYPTED_REGEX.into()) {
                let index = c.rule_for(rule_path).map_or(0, |r| r.index);
                eprintln!(
                    "gitseal: warning: {name}: creation_rules[{index}] of {} sets {} {:?}; an {kind} is sealed with encrypted_regex {} and mac_only_encrypted: true instead",
                    c.path.display(),
                    sel.field().0,
                    sel.field().1,
                    encrypted_secret::ENCRYPTED_REGEX
                );
            }
        }
        Ok(encrypted_secret::encrypt_secret_manifest(name, src, scope, &plan.recipients)?)
    };
    let target = match &args.output {
        Some(o) => Target::File(o),
        None => Target::Stdout,
    };
    let emit = |out: &gitseal_core::Encrypted, target: &Target<'_>, path: Option<&Path>| -> anyhow::Result<()> {
        match (target, path) {
            (Target::Stdout, _) => write_stdout(out.as_bytes()),
            (Target::File(o), _) => Ok(fsio::write_encrypted(o, out)?),
            (Target::InPlace, Some(p)) => Ok(fsio::write_encrypted(p, out)?),
            (Target::InPlace, None) => unreachable!("standard input is never encrypted in place"),
        }
    };
    if stdin {
        let src = read_stdin()?;
        let rule_path = args.filename_override.clone().unwrap_or_default();
        let name = match &args.filename_override {
            Some(p) => format!("<stdin> ({})", p.display()),
            None => "<stdin>".into(),
        };
        let _lock = lock_target(None, &target)?;
        let out = seal(&rule_path, &name, &src)?;
        emit(&out, &target, None)?;
        return Ok(0);
    }
    let target = if args.in_place { Target::InPlace } else { target };
    Ok(super::each_file(&args.paths, |path| {
        if matches!(target, Target::InPlace) {
            yaml_only(path, "a .json file cannot hold it: give -o NAME.yaml instead of -i")?;
        }
        let name = path.display().to_string();
        let _lock = lock_target(Some(path), &target)?;
        let src = zeroize::Zeroizing::new(fsio::read(path)?);
        let out = seal(path, &name, &src)?;
        emit(&out, &target, Some(path))
    }))
}
