//! File system work: atomic in-place writes and walking directories.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pipeline::{Decrypted, EncryptPlan, Encrypted};

/// Writes ciphertext to `path` atomically.
pub fn write_encrypted(path: &Path, content: &Encrypted) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(content.as_bytes()).map_err(|source| io_error(path, "cannot write", source)))
}

/// Streams a planned encryption into `path` atomically; returns the number of values
/// sealed. Memory stays proportional to the input, however large the output.
pub fn write_encrypted_plan(path: &Path, plan: &EncryptPlan<'_>) -> Result<usize> {
    let mut sealed = 0;
    write_atomic_with(path, |w| {
        sealed = plan.write_to(w)?;
        Ok(())
    })?;
    Ok(sealed)
}

fn io_error(path: &Path, action: &'static str, source: io::Error) -> Error {
    Error::Io { file: path.display().to_string(), action, source }
}

/// Writes plaintext to `path` atomically. Only `decrypt -i`/`-o` call this, on the user's
/// explicit request.
pub fn write_decrypted(path: &Path, content: &Decrypted) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(content.as_bytes()).map_err(|source| io_error(path, "cannot write", source)))
}

/// Writes through a temporary file in the same directory, fsyncs it, renames it over
/// `path` and fsyncs the directory: readers see the old file or the new one, never a
/// torn mix. The file's permission bits are kept (new files get 0600 & umask).
fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let io_err = |action: &'static str| move |source: io::Error| Error::Io { file: path.display().to_string(), action, source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existing_mode = fs::metadata(path).ok().map(|m| m.permissions());
    let mut tmp = tempfile::Builder::new().prefix(".gitseal-").suffix(".tmp").tempfile_in(&dir).map_err(io_err("cannot create a temporary file next to it"))?;
    fill(tmp.as_file_mut())?;
    if let Some(perm) = existing_mode {
        fs::set_permissions(tmp.path(), perm).map_err(io_err("cannot set permissions"))?;
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = 0o666 & !current_umask();
            fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).map_err(io_err("cannot set permissions"))?;
        }
    }
    tmp.as_file().sync_all().map_err(io_err("cannot sync"))?;
    tmp.persist(path).map_err(|e| Error::Io { file: path.display().to_string(), action: "cannot replace", source: e.error })?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn current_umask() -> u32 {
    // Reading the umask means setting it; there is no race-free getter without unsafe code,
    // so read it from /proc where available and assume the common 022 otherwise.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Umask:")).map(|l| l[6..].trim().to_owned()))
        .and_then(|m| u32::from_str_radix(&m, 8).ok())
        .unwrap_or(0o022)
}

/// Creates `path` with mode 0600 (for key files) and writes `bytes`, refusing to overwrite.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |action: &'static str| move |source: io::Error| Error::Io { file: path.display().to_string(), action, source };
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err("cannot create"))?;
    f.write_all(bytes).map_err(io_err("cannot write"))?;
    f.sync_all().map_err(io_err("cannot sync"))?;
    Ok(())
}

/// Files gitseal never treats as content when walking a directory.
fn skipped_name(name: &str) -> bool {
    matches!(name, ".sops.yaml" | ".sops.yml" | ".git" | ".gitattributes" | ".gitignore" | ".pre-commit-hooks.yaml" | ".pre-commit-config.yaml")
        || name.starts_with(".gitseal-")
}

/// Expands directories into the YAML, JSON and dotenv files below them (hidden
/// directories and `.git` skipped), sorted; plain files are kept as given.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = fs::metadata(p).map_err(|source| Error::Io { file: p.display().to_string(), action: "cannot read", source })?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(|source| Error::Io { file: dir.display().to_string(), action: "cannot list", source })?;
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if skipped_name(&name) {
            continue;
        }
        let path = e.path();
        let ft = match e.file_type() {
            Ok(t) => t,
            Err(_) => continue,
        };
        if ft.is_dir() {
            if !name.starts_with('.') {
                walk(&path, out)?;
            }
        } else if ft.is_file() {
            let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
            if matches!(ext, "yaml" | "yml" | "json" | "env") || name == ".env" {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// Reads a file, naming it on failure.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| Error::Io { file: path.display().to_string(), action: "cannot read", source })
}

/// A private place for the decrypted copy of a file while an editor has it open
/// (`gitseal edit`): a fresh directory (mode 0700) holding one file (mode 0600) named like
/// the original, so editors pick the right syntax highlighting. On drop its files are
/// overwritten with zeros (best effort) and the directory is removed.
pub struct PlaintextScratch {
    dir: PathBuf,
    file: PathBuf,
    memory_backed: bool,
}

impl PlaintextScratch {
    /// Creates the directory on a memory-backed file system when one is there:
    /// `$XDG_RUNTIME_DIR` when it is set and a writable directory, else `/dev/shm`; failing
    /// both, in the system temporary directory ([`Self::memory_backed`] is then false and
    /// the caller should say that plaintext touches the disk).
    pub fn create(file_name: &std::ffi::OsStr, content: &[u8]) -> Result<Self> {
        let mut bases: Vec<(PathBuf, bool)> = Vec::new();
        if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
            bases.push((PathBuf::from(x), true));
        }
        bases.push((PathBuf::from("/dev/shm"), true));
        bases.push((std::env::temp_dir(), false));
        let mut last_err = None;
        for (base, memory_backed) in bases {
            if !base.is_dir() {
                continue;
            }
            match private_dir_in(&base) {
                Ok(dir) => {
                    let scratch = PlaintextScratch { file: dir.join(file_name), dir, memory_backed };
                    scratch.write_file(content)?;
                    return Ok(scratch);
                }
                Err(e) => last_err = Some((base, e)),
            }
        }
        let (base, source) = last_err.unwrap_or_else(|| (std::env::temp_dir(), io::Error::from(io::ErrorKind::NotFound)));
        Err(io_error(&base, "cannot create a private temporary directory", source))
    }

    fn write_file(&self, content: &[u8]) -> Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&self.file).map_err(|e| io_error(&self.file, "cannot create", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(0o600)).map_err(|e| io_error(&self.file, "cannot set permissions", e))?;
        }
        f.write_all(content).map_err(|e| io_error(&self.file, "cannot write", e))?;
        Ok(())
    }

    /// The plaintext file to hand to the editor.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The private directory holding it (editors may add swap files there).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the directory is on a memory-backed file system.
    pub fn memory_backed(&self) -> bool {
        self.memory_backed
    }

    /// The file's current content.
    pub fn read(&self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        fs::read(&self.file).map(zeroize::Zeroizing::new).map_err(|e| io_error(&self.file, "cannot read the edited copy", e))
    }
}

impl Drop for PlaintextScratch {
    fn drop(&mut self) {
        wipe_dir(&self.dir);
    }
}

/// A new directory with a random name and mode 0700 inside `base`.
fn private_dir_in(base: &Path) -> io::Result<PathBuf> {
    for _ in 0..16 {
        let mut rnd = [0u8; 8];
        getrandom::getrandom(&mut rnd).map_err(|e| io::Error::other(e.to_string()))?;
        let name: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
        let dir = base.join(format!("gitseal-edit-{name}"));
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(&dir) {
            Ok(()) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
                }
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from(io::ErrorKind::AlreadyExists))
}

/// Overwrites every file directly in `dir` with zeros (best effort: an editor may have
/// replaced the file, and copies the file system keeps are out of reach) and removes the
/// directory with everything in it. Safe to call more than once.
pub fn wipe_dir(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let is_file = e.file_type().is_ok_and(|t| t.is_file());
            if !is_file {
                continue;
            }
            if let Ok(mut f) = OpenOptions::new().write(true).open(e.path()) {
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                let zeros = [0u8; 4096];
                let mut left = len;
                while left > 0 {
                    let n = left.min(zeros.len() as u64) as usize;
                    if f.write_all(&zeros[..n]).is_err() {
                        break;
                    }
                    left -= n as u64;
                }
                let _ = f.sync_data();
            }
        }
    }
    let _ = fs::remove_dir_all(dir);
}

/// Writes a new encrypted file atomically with exactly `mode` (not reduced by the
/// umask: a manifest meant for Git is readable by all). An existing file is replaced
/// only when `replace` is set; otherwise the rename refuses to clobber it, so a file
/// that appears meanwhile is not lost either.
pub fn write_encrypted_new(path: &Path, content: &Encrypted, mode: u32, replace: bool) -> Result<()> {
    let io_err = |action: &'static str| move |source: io::Error| Error::Io { file: path.display().to_string(), action, source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".gitseal-").suffix(".tmp").tempfile_in(&dir).map_err(io_err("cannot create a temporary file next to it"))?;
    tmp.as_file_mut().write_all(content.as_bytes()).map_err(io_err("cannot write"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).map_err(io_err("cannot set permissions"))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.as_file().sync_all().map_err(io_err("cannot sync"))?;
    if replace {
        tmp.persist(path).map_err(|e| Error::Io { file: path.display().to_string(), action: "cannot replace", source: e.error })?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| Error::Io { file: path.display().to_string(), action: "cannot create", source: e.error })?;
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
