//! `gitseal-krm`: the kustomize generator. With no argument it is an exec KRM function
//! (ResourceList on stdin); with one argument, the path of a config file, a legacy exec
//! plugin. See docs/krm.md.

#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use gitseal_core::keys::discovery::discover_identities;
use gitseal_core::keys::Identities;
use gitseal_krm::{run_function, run_plugin, KrmError, Outcome, Sources};
use gitseal_process::{keep_memory_private, ProcessEnvironment};
use gitseal_vault::backend::LazyVault;
use gitseal_vault::VaultConfig;
use zeroize::Zeroizing;

const USAGE: &str = "usage: gitseal-krm               (exec KRM function: a ResourceList on stdin)
       gitseal-krm CONFIG_FILE   (legacy exec plugin: the SecretGenerator config file)

A kustomize generator: decrypts the sops-encrypted manifests a SecretGenerator lists,
checking their MAC, and resolves <path:...> Vault references. Keys: SOPS_AGE_KEY_FILE,
SOPS_AGE_KEY, SOPS_AGE_KEY_CMD, ~/.config/sops/age/keys.txt; Vault: VAULT_ADDR, VAULT_TOKEN.
See docs/krm.md.";

fn main() -> ExitCode {
    keep_memory_private();
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gitseal-krm: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let vault = Arc::new(LazyVault::new(VaultConfig::from_env, Box::new(|w| eprintln!("gitseal-krm: warning: {w}"))));
    let transit = vault.clone();
    let load_identities = move || -> Result<Identities, KrmError> {
        let mut ids = discover_identities(&[], &ProcessEnvironment)?;
        for w in &ids.warnings {
            eprintln!("gitseal-krm: warning: {w}");
        }
        ids.set_transit(transit.clone());
        Ok(ids)
    };
    let sources = Sources { identities: &load_identities, kv: vault.as_ref() };
    let outcome: Outcome = match args.as_slice() {
        [] => {
            let mut input = Zeroizing::new(Vec::new());
            std::io::stdin().lock().read_to_end(&mut input)?;
            let text = std::str::from_utf8(&input).map_err(|_| anyhow::anyhow!("<stdin>: the ResourceList is not UTF-8 text"))?;
            run_function(text, &std::env::current_dir()?, &sources)
        }
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        [flag] if flag == "--version" || flag == "-V" => {
            println!("gitseal-krm {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        [config] => {
            let config = PathBuf::from(config);
            let text =
                Zeroizing::new(std::fs::read_to_string(&config).map_err(|e| anyhow::anyhow!("{}: cannot read the generator config: {e}", config.display()))?);
            // kustomize names the kustomization directory; the working directory is it too.
            let root = match std::env::var_os("KUSTOMIZE_PLUGIN_CONFIG_ROOT").filter(|v| !v.is_empty()) {
                Some(dir) => PathBuf::from(dir),
                None => std::env::current_dir()?,
            };
            run_plugin(&text, &config.display().to_string(), &root, &sources)
        }
        _ => {
            eprintln!("{USAGE}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(outcome.stdout.as_bytes())?;
    stdout.flush()?;
    match outcome.error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            // kustomize shows a failing function's stderr; the result entry says the same.
            eprintln!("gitseal-krm: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
