//! `gitseal create`: new Secret manifests, written already encrypted.
//!
//! The manifest is built in memory by `gitseal_core::k8s_create` and encrypted before any
//! byte of it is written; random tokens are shown on the terminal (`/dev/tty`), never on
//! stdout or stderr, so they stay out of files and CI logs.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use gitseal_core::encrypted_secret;
use gitseal_core::k8s_create::{self, SecretManifest, WebhookPreset};
use gitseal_core::keys::Recipients;
use gitseal_core::sops::select::Selection;
use gitseal_core::Error;

use crate::fsio;
use zeroize::Zeroizing;

use super::kind::{SealedKindArgs, SealedObject};
use super::recipients::{load_config, plan_for, FlagRecipients};

#[derive(Subcommand, Debug)]
pub enum CreateCommand {
    /// A generic Secret, like kubectl create secret generic (values under data, base64).
    Generic(GenericArgs),
    /// An image pull Secret (kubernetes.io/dockerconfigjson); the password is read from stdin.
    DockerRegistry(DockerRegistryArgs),
    /// A webhook Secret with a random token, laid out for Flux, Argo CD or Argo Events.
    Webhook(WebhookArgs),
    /// A TLS Secret (kubernetes.io/tls), like kubectl create secret tls: tls.crt and tls.key.
    Tls(TlsArgs),
}

/// Who can decrypt the new file. Every way of naming recipients for `create` is a field
/// here, and [`RecipientArgs::resolve`] is the only place that turns them into
/// [`Recipients`], so another key service is one more field and one more branch there.
#[derive(Args, Debug)]
struct RecipientArgs {
    /// age recipients (age1..., ssh-ed25519/ssh-rsa public keys), comma-separated or
    /// repeated. Without it, the creation rule of .sops.yaml matching -o FILE is used.
    #[arg(long = "age", value_name = "RECIPIENTS")]
    age: Vec<String>,
    /// Vault Transit key URIs (https://vault:8200/v1/transit/keys/NAME), comma-separated
    /// or repeated; the data key is wrapped by Vault (see docs/vault.md).
    #[arg(long = "hc-vault-transit", value_name = "URIS")]
    hc_vault_transit: Vec<String>,
    /// Use this .sops.yaml instead of searching from the current directory.
    #[arg(long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
}

/// How the new file is encrypted.
struct Sealing {
    recipients: Recipients,
    mac_only_encrypted: bool,
    /// A Secret manifest (sops) or an EncryptedSecret.
    object: SealedObject,
}

impl RecipientArgs {
    /// The recipients for a new file written to `output` (stdout when `None`): `--age`,
    /// else the creation rule matching `output`. The selection is always the Kubernetes
    /// one (`data`/`stringData` encrypted), whatever the rule says.
    fn resolve(&self, output: Option<&Path>) -> anyhow::Result<Sealing> {
        let flags = FlagRecipients::parse(&self.age, &self.hc_vault_transit)?;
        let Some(out) = output else {
            if flags.age.is_empty() && flags.hc_vault.is_empty() {
                return Err(Error::NoRecipientsFor {
                    file: "stdout".into(),
                    hint: "give --age RECIPIENT or --hc-vault-transit URI, or -o FILE where a creation rule of .sops.yaml matches FILE".into(),
                }
                .into());
            }
            return Ok(Sealing {
                recipients: Recipients { age: flags.age, hc_vault: flags.hc_vault, ..Recipients::default() },
                mac_only_encrypted: false,
                object: SealedObject::SopsFile,
            });
        };
        let cfg = load_config(self.config.as_deref())?;
        let plan = plan_for(out, &flags, Some(&Selection::k8s_default()), false, cfg.as_ref())?;
        if plan.recipients.is_empty() {
            let hint = match &cfg {
                None => {
                    "give --age RECIPIENT, or add a .sops.yaml whose creation rule matches this path (none was found from the current directory)".to_owned()
                }
                Some(c) => match c.rule_for(out) {
                    None => format!("no creation rule of {} matches this path; give --age RECIPIENT, or -o a path a rule matches", c.path.display()),
                    Some(r) => format!("creation rule {} of {} names no recipients; give --age RECIPIENT or --hc-vault-transit URI", r.index, c.path.display()),
                },
            };
            return Err(Error::NoRecipientsFor { file: out.display().to_string(), hint }.into());
        }
        Ok(Sealing { recipients: plan.recipients, mac_only_encrypted: plan.mac_only_encrypted, object: SealedObject::SopsFile })
    }
}

/// Where the encrypted manifest goes.
#[derive(Args, Debug)]
struct OutputArgs {
    /// Write to FILE (atomically, mode 0644; missing directories are created) instead of
    /// stdout. An existing FILE is refused unless --force.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace FILE when it exists.
    #[arg(long, requires = "output")]
    force: bool,
    #[command(flatten)]
    recipients: RecipientArgs,
    #[command(flatten)]
    kind: SealedKindArgs,
}

impl OutputArgs {
    /// Who can decrypt the output and what it is, from the flags and `.sops.yaml`, for a
    /// Secret in `namespace`. Checked before any value is read or made, so that a refusal
    /// costs nothing.
    fn sealing(&self, namespace: Option<&str>) -> anyhow::Result<Sealing> {
        let object = self.kind.resolve()?;
        if let (SealedObject::EncryptedSecret(scope), None) = (object, namespace) {
            if scope != encrypted_secret::Scope::Cluster {
                return Err(Error::Usage(format!(
                    "scope {scope} seals the {} to a namespace: give -n NAMESPACE, or choose --scope cluster",
                    encrypted_secret::KIND
                ))
                .into());
            }
        }
        let sealing = self.recipients.resolve(self.output.as_deref())?;
        Ok(Sealing { object, ..sealing })
    }

    /// The path `decrypt --extract` takes to a data value of the output.
    fn data_path(sealing: &Sealing, key: &str) -> String {
        match sealing.object {
            SealedObject::SopsFile => format!("[\"data\"][\"{key}\"]"),
            SealedObject::EncryptedSecret(_) => format!("[\"spec\"][\"data\"][\"{key}\"]"),
        }
    }

    /// Refuses an output that exists (before any work, so nothing is asked for in vain).
    fn check_free(&self) -> anyhow::Result<()> {
        let Some(path) = &self.output else { return Ok(()) };
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => Err(Error::Usage(format!("{}: is a directory; give a file name", path.display())).into()),
            Ok(_) if !self.force => Err(Error::Usage(format!("{}: already exists; give --force to replace it", path.display())).into()),
            _ => Ok(()),
        }
    }

    /// Encrypts `manifest` and writes it; then reports on stderr.
    fn emit(&self, manifest: &SecretManifest, sealing: &Sealing) -> anyhow::Result<()> {
        let label = self.label();
        let encrypted = match sealing.object {
            SealedObject::SopsFile => manifest.seal(&label, &sealing.recipients, sealing.mac_only_encrypted)?,
            SealedObject::EncryptedSecret(scope) => manifest.seal_encrypted_secret(&label, scope, &sealing.recipients)?,
        };
        self.write(manifest, sealing, encrypted, &label, manifest.keys().collect())
    }

    /// How messages name the output.
    fn label(&self) -> String {
        match &self.output {
            Some(p) => p.display().to_string(),
            None => "stdout".to_owned(),
        }
    }

    /// Writes an encrypted manifest; then reports on stderr.
    fn write(
        &self,
        manifest: &SecretManifest,
        sealing: &Sealing,
        encrypted: gitseal_core::pipeline::Encrypted,
        label: &str,
        encrypted_keys: Vec<&str>,
    ) -> anyhow::Result<()> {
        let label = label.to_owned();
        match &self.output {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| Error::Io { file: dir.display().to_string(), action: "cannot create directory", source })?;
                }
                fsio::write_encrypted_new(path, &encrypted, 0o644, self.force)?;
                let ns = manifest.namespace().map(|n| format!("{n}/")).unwrap_or_default();
                let what = match sealing.object {
                    SealedObject::SopsFile => "Secret".to_owned(),
                    SealedObject::EncryptedSecret(scope) => format!("{} (scope {scope}) for the Secret", encrypted_secret::KIND),
                };
                eprintln!("gitseal: wrote {}: {what} {ns}{}, encrypted keys: {}", path.display(), manifest.name(), encrypted_keys.join(", "));
            }
            None => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(encrypted.as_bytes()).and_then(|()| stdout.flush()).map_err(|source| Error::Io {
                    file: label,
                    action: "cannot write output",
                    source,
                })?;
            }
        }
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct GenericArgs {
    /// Secret name.
    name: String,
    /// Namespace (left out of the manifest when not given).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Secret type.
    #[arg(long = "type", value_name = "TYPE", default_value = "Opaque")]
    secret_type: String,
    /// A value from the command line: KEY=VALUE (repeatable). It is visible in the
    /// process list and shell history; prefer --from-file or --random for real secrets.
    #[arg(long = "from-literal", value_name = "KEY=VALUE")]
    from_literal: Vec<String>,
    /// A file's content under KEY (default: the file name); a directory adds each regular
    /// file in it (repeatable).
    #[arg(long = "from-file", value_name = "[KEY=]PATH")]
    from_file: Vec<String>,
    /// KEY=VALUE lines, as kubectl reads them; a bare KEY line takes that environment
    /// variable (repeatable).
    #[arg(long = "from-env-file", value_name = "PATH")]
    from_env_file: Vec<PathBuf>,
    /// A random token under KEY: BYTES (default 32) from the OS random generator, stored
    /// as lowercase hex and shown once on the terminal (repeatable).
    #[arg(long = "random", value_name = "KEY[:BYTES]")]
    random: Vec<String>,
    /// A label KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// An annotation KEY=VALUE (repeatable).
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    annotation: Vec<String>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct DockerRegistryArgs {
    /// Secret name.
    name: String,
    /// Namespace (left out of the manifest when not given).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Registry server, as image references name it (e.g. harbor.example.com).
    #[arg(long = "docker-server", visible_alias = "server", value_name = "SERVER", required = true)]
    server: String,
    /// Registry user name (for Harbor robot accounts: robot$project+name).
    #[arg(long = "docker-username", visible_alias = "username", value_name = "USER", required = true)]
    username: String,
    /// Email address stored with the credentials (optional, as in kubectl).
    #[arg(long = "docker-email", visible_alias = "email", value_name = "EMAIL")]
    email: Option<String>,
    /// Read the password from stdin (one trailing newline is removed). There is no
    /// password flag: flags end up in shell history and process lists.
    #[arg(long = "password-stdin", required = true)]
    password_stdin: bool,
    #[command(flatten)]
    out: OutputArgs,
}

/// The consumers `create webhook` knows.
#[derive(ValueEnum, Clone, Copy, Debug)]
enum PresetArg {
    /// Flux Receiver: Secret webhook-token in flux-system, key token.
    FluxReceiver,
    /// Argo CD + GitHub: argocd-secret in argocd, key webhook.github.secret.
    ArgocdGithub,
    /// Argo CD + GitLab: argocd-secret in argocd, key webhook.gitlab.secret.
    ArgocdGitlab,
    /// Argo Events GitHub EventSource: github-webhook-secret in argo-events, key secret.
    ArgoEvents,
}

impl PresetArg {
    fn preset(self) -> WebhookPreset {
        match self {
            PresetArg::FluxReceiver => WebhookPreset::FluxReceiver,
            PresetArg::ArgocdGithub => WebhookPreset::ArgocdGithub,
            PresetArg::ArgocdGitlab => WebhookPreset::ArgocdGitlab,
            PresetArg::ArgoEvents => WebhookPreset::ArgoEvents,
        }
    }
}

#[derive(Args, Debug)]
pub struct WebhookArgs {
    /// Secret name (default: the one the consumer expects).
    name: Option<String>,
    /// Who checks the webhook: sets the Secret's name, namespace, key and labels.
    #[arg(long = "for", value_enum, value_name = "CONSUMER")]
    preset: PresetArg,
    /// Namespace (default: the consumer's usual one).
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Random bytes in the token (shown as twice as many hex characters).
    #[arg(long = "bytes", value_name = "N", default_value_t = k8s_create::DEFAULT_RANDOM_BYTES)]
    bytes: usize,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct TlsArgs {
    /// Secret name (as the Ingress's spec.tls[].secretName names it).
    name: String,
    /// Namespace (left out of the manifest when not given); the Ingress's namespace.
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// PEM certificate chain: the server certificate first, then intermediates.
    #[arg(long = "cert", value_name = "FILE", required = true)]
    cert: PathBuf,
    /// PEM private key of the certificate (unencrypted; PKCS#8, RSA or EC).
    #[arg(long = "key", value_name = "FILE", required = true)]
    key: PathBuf,
    /// Encrypt tls.key only and leave tls.crt readable (encrypted_regex '^tls\.key$'),
    /// so certificate changes can be reviewed. Default: both encrypted.
    #[arg(long = "readable-cert")]
    readable_cert: bool,
    #[command(flatten)]
    out: OutputArgs,
}

pub fn run(cmd: CreateCommand) -> anyhow::Result<i32> {
    match cmd {
        CreateCommand::Tls(a) => run_tls(a),
        CreateCommand::Generic(a) => run_generic(a),
        CreateCommand::DockerRegistry(a) => run_docker_registry(a),
        CreateCommand::Webhook(a) => run_webhook(a),
    }
}

fn run_generic(mut args: GenericArgs) -> anyhow::Result<i32> {
    // Zeroized however this returns.
    let literals = Zeroizing::new(std::mem::take(&mut args.from_literal));
    if literals.is_empty() && args.from_file.is_empty() && args.from_env_file.is_empty() && args.random.is_empty() {
        return Err(Error::Usage("nothing to put in the Secret: give --from-literal, --from-file, --from-env-file or --random".into()).into());
    }
    let mut manifest = SecretManifest::new(&args.name, args.namespace.as_deref(), &args.secret_type)?;
    for l in &args.label {
        let (k, v) = k8s_create::split_key_value("--label", l)?;
        manifest.add_label(k, v)?;
    }
    for a in &args.annotation {
        let (k, v) = k8s_create::split_key_value("--annotation", a)?;
        manifest.add_annotation(k, v)?;
    }
    // Checked before reading anything, so that a refusal costs nothing.
    let random: Vec<(String, usize)> = args.random.iter().map(|s| k8s_create::parse_random_spec(s)).collect::<Result<_, _>>()?;
    args.out.check_free()?;
    let sealing = args.out.sealing(manifest.namespace())?;

    for l in literals.iter() {
        manifest.add_literal(l)?;
    }
    for f in &args.from_file {
        add_file_source(&mut manifest, f)?;
    }
    let env = |name: &str| std::env::var(name).ok().map(Zeroizing::new);
    for f in &args.from_env_file {
        let text = Zeroizing::new(fsio::read(f)?);
        manifest.add_env_file(f, &text, &env)?;
    }
    let mut tokens = Vec::new();
    for (key, bytes) in &random {
        tokens.push(manifest.add_random(&format!("{key}:{bytes}"))?);
    }
    args.out.emit(&manifest, &sealing)?;
    show_tokens_once(&tokens, args.out.output.as_deref(), "paste it where it is needed", &|k| OutputArgs::data_path(&sealing, k));
    Ok(0)
}

fn run_docker_registry(args: DockerRegistryArgs) -> anyhow::Result<i32> {
    debug_assert!(args.password_stdin, "clap requires --password-stdin");
    if args.server.trim().is_empty() {
        return Err(Error::Usage("--docker-server is empty".into()).into());
    }
    if args.username.is_empty() {
        return Err(Error::Usage("--docker-username is empty".into()).into());
    }
    let mut manifest = SecretManifest::new(&args.name, args.namespace.as_deref(), k8s_create::DOCKER_CONFIG_JSON_TYPE)?;
    args.out.check_free()?;
    let sealing = args.out.sealing(manifest.namespace())?;
    let password = read_password_stdin()?;
    let password = std::str::from_utf8(&password).map_err(|_| Error::Usage("the password on stdin is not UTF-8 text".into()))?;
    let json = k8s_create::docker_config_json(&args.server, &args.username, password, args.email.as_deref());
    manifest.add_value(k8s_create::DOCKER_CONFIG_JSON_KEY, json, "docker-registry")?;
    args.out.emit(&manifest, &sealing)?;
    Ok(0)
}

/// The password from stdin, minus one trailing newline. Read into a fixed buffer: a
/// growing one would leave copies behind.
fn read_password_stdin() -> anyhow::Result<Zeroizing<Vec<u8>>> {
    const MAX: usize = 64 * 1024;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::Usage(
            "--password-stdin: stdin is a terminal, where the password would be echoed; pipe it in instead, e.g. read -rs PASSWORD && printf '%s' \"$PASSWORD\" | gitseal create docker-registry ...".into(),
        )
        .into());
    }
    let mut buf = Zeroizing::new(vec![0u8; MAX]);
    let mut len = 0;
    let mut input = stdin.lock();
    loop {
        if len == MAX {
            return Err(Error::Usage("the password on stdin is longer than 64 KiB".into()).into());
        }
        match input.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(Error::Io { file: "stdin".into(), action: "cannot read the password", source }.into()),
        }
    }
    let mut end = len;
    if buf[..end].ends_with(b"\n") {
        end -= 1;
        if buf[..end].ends_with(b"\r") {
            end -= 1;
        }
    }
    if end == 0 {
        return Err(Error::Usage("no password on stdin".into()).into());
    }
    if buf[..end].iter().any(|&b| b == b'\n' || b == b'\r') {
        return Err(Error::Usage("the password on stdin has several lines; give only the password".into()).into());
    }
    buf.truncate(end);
    Ok(buf)
}

fn run_tls(args: TlsArgs) -> anyhow::Result<i32> {
    // kubectl's own limit is the Secret's 1 MiB; a certificate chain is a few KiB.
    const MAX_PEM: u64 = 1024 * 1024;
    args.out.check_free()?;
    let read = |path: &Path| -> anyhow::Result<Zeroizing<Vec<u8>>> {
        match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_PEM => Err(Error::Usage(format!("{}: {} bytes is too big for a PEM file (at most 1 MiB)", path.display(), m.len())).into()),
            _ => Ok(Zeroizing::new(fsio::read(path)?)),
        }
    };
    let cert = read(&args.cert)?;
    let key = read(&args.key)?;
    let manifest = k8s_create::tls_secret(&args.name, args.namespace.as_deref(), (&args.cert, cert), (&args.key, key))?;
    let sealing = args.out.sealing(manifest.namespace())?;
    let label = args.out.label();
    if args.readable_cert && sealing.object != SealedObject::SopsFile {
        return Err(Error::Usage(format!("--readable-cert: every value of an {} is encrypted; drop one of the two", encrypted_secret::KIND)).into());
    }
    if args.readable_cert {
        let selection = Selection::EncryptedRegex(k8s_create::TLS_KEY_ONLY_REGEX.to_owned());
        let encrypted = manifest.seal_with(&label, &sealing.recipients, sealing.mac_only_encrypted, selection, 1)?;
        args.out.write(&manifest, &sealing, encrypted, &label, vec![k8s_create::TLS_KEY_KEY])?;
    } else {
        args.out.emit(&manifest, &sealing)?;
    }
    Ok(0)
}

fn run_webhook(args: WebhookArgs) -> anyhow::Result<i32> {
    let preset = args.preset.preset();
    let (manifest, token) = preset.build(args.name.as_deref(), args.namespace.as_deref(), args.bytes)?;
    args.out.check_free()?;
    let sealing = args.out.sealing(manifest.namespace())?;
    args.out.emit(&manifest, &sealing)?;
    let ns = manifest.namespace().unwrap_or(preset.default_namespace());
    eprintln!("\n{}", preset.hint(manifest.name(), ns));
    show_tokens_once(&[(preset.key().to_owned(), token)], args.out.output.as_deref(), "paste it into the webhook settings", &|k| {
        OutputArgs::data_path(&sealing, k)
    });
    Ok(0)
}

/// Shows each random token once, on the terminal only. Without a terminal (CI, pipes
/// under setsid), says how to read it back from the encrypted file instead.
fn show_tokens_once(tokens: &[(String, Zeroizing<String>)], output: Option<&Path>, what_for: &str, data_path: &dyn Fn(&str) -> String) {
    if tokens.is_empty() {
        return;
    }
    if let Some(mut tty) = open_terminal() {
        let shown = tokens.iter().all(|(key, token)| {
            writeln!(tty, "\ngitseal: the random value of {key:?} (shown once; {what_for}):").is_ok()
                && tty.write_all(token.as_bytes()).is_ok()
                && tty.write_all(b"\n\n").is_ok()
        });
        if shown && tty.flush().is_ok() {
            return;
        }
    }
    let file = match output {
        Some(p) => shell_quote(&p.display().to_string()),
        None => "FILE".to_owned(),
    };
    for (key, _) in tokens {
        eprintln!("gitseal: no terminal, so the random value of {key:?} is not shown. Read it later with:");
        eprintln!("  gitseal decrypt --extract '{}' {file} | base64 -d", data_path(key));
    }
    if output.is_none() {
        eprintln!("  (FILE: where this output was saved)");
    }
}

#[cfg(unix)]
fn open_terminal() -> Option<std::fs::File> {
    std::fs::OpenOptions::new().write(true).open("/dev/tty").ok()
}

#[cfg(not(unix))]
fn open_terminal() -> Option<std::fs::File> {
    None
}

/// `s` as one word for a POSIX shell.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | ':' | '@' | '%')) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `--from-file [KEY=]PATH`: the file's bytes under KEY (default: the file's base
/// name); a directory gives one key per regular file in it (symlinks and
/// subdirectories are skipped, as kubectl does).
fn add_file_source(manifest: &mut SecretManifest, source: &str) -> Result<(), Error> {
    let (key, path) = k8s_create::parse_file_source(source)?;
    let path = Path::new(path);
    let meta = std::fs::metadata(path).map_err(|e| fsio::io_error(path, "cannot read", e))?;
    if meta.is_dir() {
        if key.is_some() {
            return Err(Error::Usage(format!("--from-file {source:?}: a directory cannot be given a key name")));
        }
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| fsio::io_error(path, "cannot list", e))?
            .collect::<std::io::Result<_>>()
            .map_err(|e| fsio::io_error(path, "cannot list", e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let is_file = entry.file_type().map_err(|e| fsio::io_error(&entry.path(), "cannot read", e))?.is_file();
            if !is_file {
                continue;
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::Usage(format!("{}: the file name is not UTF-8, so it cannot be a Secret key", entry.path().display())));
            };
            let value = Zeroizing::new(fsio::read(&entry.path())?);
            manifest.add_value(name, value, &entry.path().display().to_string())?;
        }
        return Ok(());
    }
    let key = match key {
        Some(k) => k.to_owned(),
        None => match path.file_name().and_then(|n| n.to_str()) {
            Some(n) => n.to_owned(),
            None => return Err(Error::Usage(format!("--from-file {source:?}: cannot take a key name from this path; give KEY=PATH"))),
        },
    };
    let value = Zeroizing::new(fsio::read(path)?);
    manifest.add_value(&key, value, &format!("--from-file {source:?}"))
}
