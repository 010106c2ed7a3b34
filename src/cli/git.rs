//! Running `git` for `check --staged`, directory listings and `install-hooks`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, Context};
use gitseal_core::Error;
use zeroize::Zeroizing;

/// Runs git with `args` (in `dir` when given) and returns its stdout. A failure carries
/// git's own message.
pub fn git<S: AsRef<OsStr>>(dir: Option<&Path>, args: &[S]) -> anyhow::Result<Vec<u8>> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    cmd.args(args).stdin(Stdio::null());
    let out = cmd.output().context("cannot run git (is it installed and on PATH?)")?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let msg = msg.trim().trim_start_matches("fatal: ");
        return Err(anyhow!("git {}: {msg}", args.first().map(|a| a.as_ref().to_string_lossy().into_owned()).unwrap_or_default()));
    }
    Ok(out.stdout)
}

/// The top directory of the work tree containing the current directory.
pub fn toplevel() -> anyhow::Result<PathBuf> {
    let out = git(None, &["rev-parse", "--show-toplevel"]).map_err(|e| Error::Usage(format!("not inside a git work tree ({e:#})")))?;
    let s = String::from_utf8(out).context("git printed a non-UTF-8 path")?;
    let top = s.trim_end_matches(['\n', '\r']);
    if top.is_empty() {
        return Err(Error::Usage("not inside a git work tree (a bare repository has none)".into()).into());
    }
    Ok(PathBuf::from(top))
}

/// One file of the index that a commit would add or change.
#[derive(Debug)]
pub struct StagedFile {
    /// Path relative to the top of the work tree, as git prints it.
    pub path: String,
    /// The blob id of the staged content.
    pub oid: String,
}

/// The staged files (added, copied, modified, renamed), limited to `pathspecs` when
/// given. Symlinks and submodules are left out: their blobs are not file content.
pub fn staged_files(pathspecs: &[PathBuf]) -> anyhow::Result<Vec<StagedFile>> {
    let mut args: Vec<&OsStr> =
        ["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--diff-filter=ACMR", "--no-ext-diff", "--"].iter().map(OsStr::new).collect();
    args.extend(pathspecs.iter().map(|p| p.as_os_str()));
    let out = git(None, &args).map_err(|e| Error::Usage(format!("--staged needs a git repository: {e:#}")))?;
    parse_raw_diff(&out)
}

/// Parses `git diff --raw -z` output: `:old new oldid newid status\0path\0` (two paths
/// for copies and renames).
fn parse_raw_diff(out: &[u8]) -> anyhow::Result<Vec<StagedFile>> {
    let mut files = Vec::new();
    let mut tokens = out.split(|&b| b == 0).filter(|t| !t.is_empty());
    while let Some(header) = tokens.next() {
        let header = std::str::from_utf8(header).context("unexpected output from git diff --raw")?;
        let fields: Vec<&str> = header.trim_start_matches(':').split(' ').collect();
        if fields.len() < 5 {
            return Err(anyhow!("unexpected output from git diff --raw: {header:?}"));
        }
        let (new_mode, new_oid, status) = (fields[1], fields[3], fields[4]);
        let mut path = tokens.next().ok_or_else(|| anyhow!("git diff --raw: missing path"))?;
        if status.starts_with(['R', 'C']) {
            path = tokens.next().ok_or_else(|| anyhow!("git diff --raw: missing new path"))?;
        }
        // 120000: symlink, 160000: submodule.
        if new_mode == "120000" || new_mode == "160000" {
            continue;
        }
        let path = String::from_utf8(path.to_vec()).map_err(|_| anyhow!("a staged path is not UTF-8: {}", String::from_utf8_lossy(path)))?;
        files.push(StagedFile { path, oid: new_oid.to_owned() });
    }
    Ok(files)
}

/// The content of a blob, or its size when over the limit.
pub enum Blob {
    Content(Zeroizing<Vec<u8>>),
    TooBig(u64),
}

/// Reads blobs through one `git cat-file --batch`, in the order asked. Blobs over
/// `max_size` are read past, not kept.
pub fn read_blobs(oids: &[&str], max_size: u64) -> anyhow::Result<Vec<Blob>> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot run git cat-file")?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let request: String = oids.iter().map(|o| format!("{o}\n")).collect();
    // Written from another thread: git answers while we ask, and both pipes are finite.
    let writer = std::thread::spawn(move || {
        let r = stdin.write_all(request.as_bytes());
        drop(stdin);
        r
    });
    let mut reader = BufReader::with_capacity(1 << 16, child.stdout.take().expect("piped stdout"));
    let mut blobs = Vec::with_capacity(oids.len());
    for oid in oids {
        let mut header = String::new();
        reader.read_line(&mut header).context("reading git cat-file output")?;
        let parts: Vec<&str> = header.split_whitespace().collect();
        let size: u64 = match parts.as_slice() {
            [_, "blob", size] => size.parse().map_err(|_| anyhow!("git cat-file: bad header {header:?}"))?,
            _ => return Err(anyhow!("git cat-file: cannot read blob {oid}: {}", header.trim())),
        };
        if size > max_size {
            std::io::copy(&mut (&mut reader).take(size + 1), &mut std::io::sink())?;
            blobs.push(Blob::TooBig(size));
            continue;
        }
        let mut buf = Zeroizing::new(vec![0u8; size as usize]);
        reader.read_exact(&mut buf).context("reading git cat-file output")?;
        let mut nl = [0u8; 1];
        reader.read_exact(&mut nl).context("reading git cat-file output")?;
        blobs.push(Blob::Content(buf));
    }
    drop(reader);
    writer.join().map_err(|_| anyhow!("git cat-file writer panicked"))?.context("writing to git cat-file")?;
    let status = child.wait()?;
    if !status.success() {
        return Err(anyhow!("git cat-file failed ({status})"));
    }
    Ok(blobs)
}

/// The files git knows below `dir` (tracked, and untracked ones not ignored), or `None`
/// when `dir` is not in a git work tree.
pub fn list_files(dir: &Path) -> Option<Vec<PathBuf>> {
    let out = git(Some(dir), &["ls-files", "-z", "--cached", "--others", "--exclude-standard"]).ok()?;
    let mut files: Vec<PathBuf> = out.split(|&b| b == 0).filter(|t| !t.is_empty()).filter_map(|t| std::str::from_utf8(t).ok()).map(|t| dir.join(t)).collect();
    files.sort();
    files.dedup();
    Some(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_diff_with_renames_links_and_submodules() {
        let z = |s: &str| s.replace('|', "\0").into_bytes();
        let out = z(
            ":000000 100644 0000 aaaa A|a.yaml|:100644 100644 bbbb cccc R090|old.yaml|new.yaml|:000000 120000 0000 dddd A|link|:000000 160000 0000 eeee A|sub|",
        );
        let files = parse_raw_diff(&out).unwrap();
        let got: Vec<(&str, &str)> = files.iter().map(|f| (f.path.as_str(), f.oid.as_str())).collect();
        assert_eq!(got, [("a.yaml", "aaaa"), ("new.yaml", "cccc")]);
    }
}
