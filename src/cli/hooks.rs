//! Git integration: `install-hooks` (pre-commit hook, diff driver, .gitattributes) and
//! the hidden `textconv` command git runs to show encrypted files decrypted.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use gitseal_core::keys::Identities;

use crate::fsio;
use crate::key_discovery as discovery;
use gitseal_core::repo_check::{self, Textconv};
use gitseal_core::Error;

use super::git;
use super::IdentityArgs;

#[derive(Args, Debug)]
pub struct InstallHooksArgs {
    /// Replace a pre-commit hook gitseal did not write (the old one is kept next to it as
    /// pre-commit.before-gitseal).
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
pub struct TextconvArgs {
    #[command(flatten)]
    ids: IdentityArgs,
    /// The file git wants shown (a temporary copy of a blob, or the work tree file).
    file: PathBuf,
}

/// The line that marks a pre-commit hook as gitseal's (safe to rewrite).
const HOOK_MARKER: &str = "# gitseal pre-commit hook";
const ATTR_BEGIN: &str = "# BEGIN gitseal: show sops-encrypted files decrypted in git diff and git log -p";
const ATTR_END: &str = "# END gitseal";
const ATTR_PATTERNS: [&str; 4] = ["*.yaml", "*.yml", "*.json", "*.env"];

/// Quotes `s` for POSIX sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn hook_script(exe: &str) -> String {
    format!(
        r#"#!/bin/sh
{HOOK_MARKER} (written by `gitseal install-hooks`; run it again to update this file)
#
# Blocks a commit that would record a plaintext Kubernetes Secret value, a file a
# .sops.yaml creation rule covers but that is not encrypted, an encrypted file whose MAC
# fails, or one encrypted to other recipients than its rule names. It checks the staged
# contents (what the commit records), not the work tree.
# To commit anyway, once: git commit --no-verify
gitseal={exe}
if [ ! -x "$gitseal" ]; then
    if command -v gitseal >/dev/null 2>&1; then
        gitseal=gitseal
    else
        echo "gitseal pre-commit hook: gitseal is neither at $gitseal nor on PATH; commit blocked" >&2
        echo "(install gitseal and run gitseal install-hooks again, or commit with --no-verify)" >&2
        exit 1
    fi
fi
"$gitseal" check --staged
status=$?
if [ "$status" -ne 0 ]; then
    echo "gitseal: commit blocked: fix the files listed above, stage them and commit again" >&2
fi
exit "$status"
"#,
        exe = sh_quote(exe)
    )
}

/// The `.gitattributes` block mapping the formats gitseal reads to its diff driver.
fn attributes_block(newline: &str) -> String {
    let mut s = String::new();
    s.push_str(ATTR_BEGIN);
    s.push_str(newline);
    for p in ATTR_PATTERNS {
        s.push_str(p);
        s.push_str(" diff=gitseal");
        s.push_str(newline);
    }
    s.push_str(ATTR_END);
    s.push_str(newline);
    s
}

/// `text` with gitseal's block added or brought up to date; `None` when it is current.
fn with_attributes_block(text: &str) -> Option<String> {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let block = attributes_block(newline);
    if let Some(start) = text.find(ATTR_BEGIN) {
        if let Some(end_rel) = text[start..].find(ATTR_END) {
            let mut end = start + end_rel + ATTR_END.len();
            if text[end..].starts_with("\r\n") {
                end += 2;
            } else if text[end..].starts_with('\n') {
                end += 1;
            }
            if text[start..end] == *block {
                return None;
            }
            return Some(format!("{}{block}{}", &text[..start], &text[end..]));
        }
    }
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(newline);
    }
    out.push_str(&block);
    Some(out)
}

/// Replaces `path` by a file holding `bytes` (temp file + rename), with `mode`.
fn write_file(path: &Path, bytes: &[u8], mode: Option<u32>) -> anyhow::Result<()> {
    let io = |action: &'static str| move |source| Error::Io { file: path.display().to_string(), action, source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".gitseal-").tempfile_in(dir).map_err(io("cannot create a temporary file next to it"))?;
    tmp.write_all(bytes).map_err(io("cannot write"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match mode {
            Some(m) => m,
            None => std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0o644),
        };
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode)).map_err(io("cannot set permissions"))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.as_file().sync_all().map_err(io("cannot sync"))?;
    tmp.persist(path).map_err(|e| Error::Io { file: path.display().to_string(), action: "cannot replace", source: e.error })?;
    Ok(())
}

fn git_config_get(key: &str) -> anyhow::Result<Option<String>> {
    // `git config --get` exits 1 for a missing key: not an error here.
    let out =
        std::process::Command::new("git").args(["config", "--local", "--get", key]).stdin(std::process::Stdio::null()).output().context("cannot run git")?;
    match out.status.code() {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out.stdout).trim_end_matches(['\n', '\r']).to_owned())),
        Some(1) => Ok(None),
        _ => Err(anyhow::anyhow!("git config --get {key}: {}", String::from_utf8_lossy(&out.stderr).trim())),
    }
}

pub fn run_install(args: InstallHooksArgs) -> anyhow::Result<i32> {
    let top = git::toplevel()?;
    let exe = std::env::current_exe().context("cannot find the path of the running gitseal")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let exe = exe.to_str().ok_or_else(|| Error::Usage(format!("the path of gitseal is not UTF-8: {}", exe.display())))?.to_owned();
    let mut out = std::io::stdout().lock();

    // 1. The pre-commit hook, where git looks for hooks (core.hooksPath respected).
    let hooks = git::git(None, &["rev-parse", "--git-path", "hooks"])?;
    let hooks = PathBuf::from(String::from_utf8(hooks).context("git printed a non-UTF-8 path")?.trim_end_matches(['\n', '\r']));
    let hook = hooks.join("pre-commit");
    let script = hook_script(&exe);
    match std::fs::read(&hook) {
        Ok(old) if old == script.as_bytes() => writeln!(out, "gitseal: {}: already installed", hook.display())?,
        Ok(old) => {
            let ours = String::from_utf8_lossy(&old).lines().any(|l| l.starts_with(HOOK_MARKER));
            if !ours {
                if !args.force {
                    return Err(Error::Usage(format!(
                        "{} exists and was not written by gitseal; merge `{} check --staged` into it by hand, or rerun with --force to replace it (the old hook is then kept as pre-commit.before-gitseal)",
                        hook.display(),
                        exe
                    ))
                    .into());
                }
                let backup = hooks.join("pre-commit.before-gitseal");
                std::fs::rename(&hook, &backup).map_err(|source| Error::Io {
                    file: hook.display().to_string(),
                    action: "cannot move the old hook aside",
                    source,
                })?;
                writeln!(out, "gitseal: {}: the previous hook was moved to {}", hook.display(), backup.display())?;
            }
            write_file(&hook, script.as_bytes(), Some(0o755))?;
            writeln!(out, "gitseal: {}: pre-commit hook written (runs {exe} check --staged)", hook.display())?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&hooks).map_err(|source| Error::Io { file: hooks.display().to_string(), action: "cannot create", source })?;
            write_file(&hook, script.as_bytes(), Some(0o755))?;
            writeln!(out, "gitseal: {}: pre-commit hook written (runs {exe} check --staged)", hook.display())?;
        }
        Err(source) => return Err(Error::Io { file: hook.display().to_string(), action: "cannot read", source }.into()),
    }

    // 2. The diff driver, in this repository's own config. Git's textconv cache would
    //    store the decrypted text under refs/notes/textconv/gitseal, in the object
    //    database where any push or backup could take it: keep it off.
    let textconv = format!("{} textconv", sh_quote(&exe));
    for (key, value) in [("diff.gitseal.textconv", textconv.as_str()), ("diff.gitseal.cachetextconv", "false")] {
        if git_config_get(key)?.as_deref() == Some(value) {
            writeln!(out, "gitseal: git config {key} already set")?;
        } else {
            git::git(None, &["config", "--local", key, value])?;
            writeln!(out, "gitseal: git config {key} = {value}")?;
        }
    }

    // 3. Which files go through the driver.
    let attributes = top.join(".gitattributes");
    let text = match std::fs::read(&attributes) {
        Ok(b) => String::from_utf8(b).map_err(|_| Error::Usage(format!("{} is not UTF-8 text", attributes.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(Error::Io { file: attributes.display().to_string(), action: "cannot read", source }.into()),
    };
    match with_attributes_block(&text) {
        None => writeln!(out, "gitseal: {}: diff=gitseal lines already present", attributes.display())?,
        Some(new) => {
            write_file(&attributes, new.as_bytes(), if text.is_empty() { Some(0o644) } else { None })?;
            writeln!(
                out,
                "gitseal: {}: added {} diff=gitseal (commit it; every clone still runs gitseal install-hooks for the rest)",
                attributes.display(),
                ATTR_PATTERNS.join(" ")
            )?;
        }
    }
    out.flush()?;
    Ok(0)
}

pub fn run_textconv(args: TextconvArgs) -> anyhow::Result<i32> {
    let bytes = zeroize::Zeroizing::new(fsio::read(&args.file)?);
    // A broken identity setup must not break `git diff`: show the file as it is.
    let mut ids = discovery::load_identities(&args.ids.identity).unwrap_or_else(|e| {
        eprintln!("gitseal textconv: warning: {e}; showing encrypted files as they are");
        Identities::default()
    });
    // Vault Transit only when the user has pointed at a Vault: otherwise every `git diff`
    // of a Transit file would wait on connection retries to a server they cannot reach.
    if std::env::var_os("VAULT_ADDR").is_some_and(|v| !v.is_empty()) {
        ids.set_transit(crate::vault_backend::shared());
    }
    let name = args.file.display().to_string();
    let mut out = std::io::stdout().lock();
    match repo_check::textconv(&name, &args.file, &bytes, &ids) {
        Textconv::Decrypted(plain) => out.write_all(plain.as_bytes())?,
        Textconv::AsIs => out.write_all(&bytes)?,
        Textconv::Unverified(e) => {
            eprintln!("gitseal textconv: warning: {e}; showing the encrypted text");
            out.write_all(&bytes)?;
        }
    }
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_block_is_added_once_and_updated_in_place() {
        let first = with_attributes_block("*.png binary").unwrap();
        assert!(first.starts_with("*.png binary\n# BEGIN gitseal"), "{first}");
        assert_eq!(with_attributes_block(&first), None);
        let stale = first.replace("*.env diff=gitseal\n", "");
        assert_eq!(with_attributes_block(&stale).as_deref(), Some(first.as_str()));
        let crlf = with_attributes_block("a -text\r\n").unwrap();
        assert!(crlf.ends_with("# END gitseal\r\n") && !crlf.replace("\r\n", "").contains('\n'), "{crlf:?}");
    }

    #[test]
    fn quoting_for_sh() {
        assert_eq!(sh_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
