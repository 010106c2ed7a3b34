//! `gitseal render`: ready-to-apply manifests on stdout (decrypted, Vault references
//! resolved), for Argo CD config management plugins, kustomize and pipelines.

use std::io::{Read, Write};
use std::path::PathBuf;

use crate::fsio;
use clap::Args;
use gitseal_core::document::Format;
use gitseal_core::encrypted_secret;
use gitseal_core::render::{render, CachedKv, RenderRequest};
use gitseal_core::Error;
use zeroize::Zeroizing;

use super::{format_of, FormatArgs, IdentityArgs};

#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    ids: IdentityArgs,
    #[command(flatten)]
    fmt: FormatArgs,
    /// Manifest files or directories, or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn run(args: RenderArgs) -> anyhow::Result<i32> {
    let ids = super::load_identities(&args.ids)?;
    let vault = crate::vault_backend::shared();
    let mut kv = CachedKv::new(vault.as_ref());
    let mut inputs: Vec<(String, Format, Zeroizing<Vec<u8>>)> = Vec::new();
    for p in &args.paths {
        if p.as_os_str() == "-" {
            let mut buf = Zeroizing::new(Vec::new());
            std::io::stdin().lock().read_to_end(&mut buf).map_err(|source| Error::Io { file: "-".into(), action: "cannot read standard input", source })?;
            inputs.push(("-".into(), args.fmt.input_type.unwrap_or(Format::Yaml), buf));
            continue;
        }
        for file in fsio::expand_paths(std::slice::from_ref(p))? {
            let format = format_of(&args.fmt, &file);
            if format == Format::Dotenv || (format == Format::Binary && args.fmt.input_type.is_none()) {
                if p.is_dir() {
                    continue; // a directory's non-manifest files are not render's business
                }
                return Err(Error::Usage(format!("{}: render reads YAML and JSON manifests", file.display())).into());
            }
            inputs.push((file.display().to_string(), format, Zeroizing::new(fsio::read(&file)?)));
        }
    }
    // Everything is rendered before anything is printed: a failure prints no manifest.
    let mut out = Zeroizing::new(String::new());
    for (name, format, src) in &inputs {
        let rendered;
        let text = match encrypted_secret_text(name, *format, src)? {
            // An EncryptedSecret is applied as it is, for the controller to decrypt in the
            // cluster: decrypted here, its values would land in the cluster (and in the
            // GitOps tool's cache) in plaintext, in an object that is not a Secret.
            Some(text) => text,
            None => {
                rendered = render(&RenderRequest { file: name, format: *format, src, identities: &ids }, &mut kv)?;
                rendered.text.as_str()
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        if !out.is_empty() {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            if *format == Format::Yaml && !text.starts_with("---") {
                out.push_str("---\n");
            }
        }
        out.push_str(text);
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(0)
}

/// The text of an EncryptedSecret file, after the checks that need no key (what the
/// cluster would refuse is refused here); `None` for any other file.
fn encrypted_secret_text<'a>(name: &str, format: Format, src: &'a [u8]) -> anyhow::Result<Option<&'a str>> {
    let Ok(text) = std::str::from_utf8(src) else { return Ok(None) };
    if !text.contains(encrypted_secret::KIND) || !encrypted_secret::is_encrypted_secret(format, text) {
        return Ok(None);
    }
    encrypted_secret::check_file(name, format, text)?;
    Ok(Some(text))
}
