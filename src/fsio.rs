//! File system work: atomic in-place writes, the lock that serializes writers of one file,
//! walking directories, and the private scratch place for `edit`.
//!
//! Every rewrite of an existing file goes through [`write_atomic_with`]: it follows symlinks
//! to the file they name (the link stays a link), refuses files with more than one hard link
//! (the other names would keep the old content, plaintext after an encrypt), keeps owner
//! and mode, and renames a fully written and synced temporary file over the target.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use gitseal_core::error::{Error, Result};
use gitseal_core::pipeline::{Decrypted, EncryptPlan, Encrypted};

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

/// An I/O failure on `path`, as the core's error names it.
pub(crate) fn io_error(path: &Path, action: &'static str, source: io::Error) -> Error {
    Error::Io { file: path.display().to_string(), action, source }
}

/// Writes plaintext to `path` atomically. Only `decrypt -i`/`-o` call this, on the user's
/// explicit request.
pub fn write_decrypted(path: &Path, content: &Decrypted) -> Result<()> {
    write_plaintext(path, content.as_bytes())
}

/// Writes plaintext bytes (a value `decrypt --extract` took out of a file) to `path`
/// atomically, with the same rules as every other write: links followed, hard links
/// refused, owner and mode kept.
pub fn write_plaintext(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes).map_err(|source| io_error(path, "cannot write", source)))
}

/// Writes through a temporary file in the target's directory, fsyncs it, renames it over
/// the target and fsyncs the directory: readers see the old file or the new one, never a
/// torn mix. A symlink is followed and stays in place; an existing file keeps its owner
/// and permission bits (new files get 0666 & umask).
fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let target = rewrite_target(path)?;
    let io_err = |action: &'static str| move |source: io::Error| Error::Io { file: path.display().to_string(), action, source };
    let dir = parent_dir(&target);
    let existing = match fs::metadata(&target) {
        Ok(m) => {
            refuse_hard_links(path, &m)?;
            Some(m)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("cannot read")(e)),
    };
    remove_stale_temp_files(&dir);
    let mut tmp = new_temp_file(&dir).map_err(io_err("cannot create a temporary file next to it"))?;
    fill(tmp.as_file_mut())?;
    match &existing {
        Some(meta) => keep_owner_and_mode(tmp.as_file(), meta).map_err(io_err("cannot keep the owner and permissions"))?,
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = 0o666 & !current_umask();
                tmp.as_file().set_permissions(fs::Permissions::from_mode(mode)).map_err(io_err("cannot set permissions"))?;
            }
        }
    }
    tmp.as_file().sync_all().map_err(io_err("cannot sync"))?;
    tmp.persist(&target).map_err(|e| Error::Io { file: path.display().to_string(), action: "cannot replace", source: e.error })?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file a rewrite of `path` must replace: `path` itself, or for a symlink the file it
/// finally names (so the link keeps pointing at the now encrypted file instead of being
/// replaced by a copy while the target stays plaintext). A dangling link is refused.
pub fn rewrite_target(path: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).map_err(|source| Error::Io {
            file: path.display().to_string(),
            action: "is a symlink to a file that cannot be reached (gitseal writes through symlinks to the file they name)",
            source,
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// A file with several hard links cannot be rewritten atomically: the rename gives the new
/// content to this name only, and every other name keeps the old bytes (after `encrypt -i`,
/// a plaintext twin). Refused, with what to do.
fn refuse_hard_links(path: &Path, meta: &fs::Metadata) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.is_file() && meta.nlink() > 1 {
            return Err(Error::Io {
                file: path.display().to_string(),
                action: "refusing to rewrite a file with several hard links",
                source: io::Error::other(format!(
                    "it has {} names, and the others would keep the old content (plaintext, after an encrypt); \
                     make it a file of its own first (cp FILE FILE.new && mv FILE.new FILE)",
                    meta.nlink()
                )),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
    Ok(())
}

/// Gives the temporary file the owner, group and permission bits of the file it replaces.
/// Changing the owner needs root (or, for the group, membership); when it is not allowed
/// and differs, the write is refused rather than silently handing the file to someone else.
fn keep_owner_and_mode(tmp: &File, old: &fs::Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let now = tmp.metadata()?;
        if now.uid() != old.uid() || now.gid() != old.gid() {
            let uid = (now.uid() != old.uid()).then_some(old.uid());
            let gid = (now.gid() != old.gid()).then_some(old.gid());
            std::os::unix::fs::fchown(tmp, uid, gid)?;
        }
    }
    // After the chown, which may clear set-id bits.
    tmp.set_permissions(old.permissions())
}

/// The prefix of every temporary file gitseal writes next to a target: the writer's pid
/// follows, so leftovers of a killed process can be told from files being written.
const TEMP_PREFIX: &str = ".gitseal-";

/// Leftover temporary files younger than this are never removed, whatever their pid says
/// (a writer in another pid namespace sharing the directory may look dead from here).
const STALE_TEMP_AGE: Duration = Duration::from_secs(10 * 60);

fn new_temp_file(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(&format!("{TEMP_PREFIX}{}-", std::process::id())).suffix(".tmp").tempfile_in(dir)
}

/// Removes `.gitseal-<pid>-*.tmp` files in `dir` left by a killed gitseal (they hold
/// ciphertext or, from `decrypt -i`, plaintext): only regular files owned by this user,
/// older than [`STALE_TEMP_AGE`], whose writer is no longer running. Each directory is
/// looked at once per process.
fn remove_stale_temp_files(dir: &Path) {
    static SWEPT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
        let key = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if swept.contains(&key) {
            return;
        }
        swept.push(key);
    }
    let Ok(entries) = fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(temp_file_writer) else { continue };
        let Ok(meta) = fs::symlink_metadata(e.path()) else { continue };
        let old_enough = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age >= STALE_TEMP_AGE);
        if meta.is_file() && owned_by_me(&meta) && old_enough && !process_alive(pid) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The writer's pid in a temporary file name `.gitseal-<pid>-<random>.tmp`.
fn temp_file_writer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(".tmp")?;
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

fn owned_by_me(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.uid() == nix::unistd::geteuid().as_raw()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Whether a process with this pid exists (one of another user counts as alive).
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        use nix::errno::Errno;
        let Ok(raw) = i32::try_from(pid) else { return false };
        if raw <= 0 {
            return true;
        }
        !matches!(nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None), Err(Errno::ESRCH))
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
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
    /// `$XDG_RUNTIME_DIR` when it is set, a writable directory and really on tmpfs or
    /// ramfs, else `/dev/shm` under the same condition; failing both, in the system
    /// temporary directory ([`Self::memory_backed`] is then false and the caller should say
    /// that plaintext touches the disk).
    pub fn create(file_name: &std::ffi::OsStr, content: &[u8]) -> Result<Self> {
        let mut bases: Vec<(PathBuf, bool)> = Vec::new();
        for base in memory_scratch_candidates() {
            if is_memory_backed(&base) {
                bases.push((base, true));
            }
        }
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

/// Where memory-backed scratch directories are looked for, in order of preference.
fn memory_scratch_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(x));
    }
    out.push(PathBuf::from("/dev/shm"));
    out
}

/// Whether `dir` is on a file system that lives in memory only (tmpfs or ramfs): a file
/// there never reaches a disk (unless the system swaps). A variable naming a directory is
/// no proof of that, so the file system type is asked.
pub fn is_memory_backed(dir: &Path) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use nix::sys::statfs::{statfs, TMPFS_MAGIC};
        const RAMFS_MAGIC: i64 = 0x8584_58f6;
        match statfs(dir) {
            Ok(st) => {
                let kind = st.filesystem_type();
                // The magic's integer type differs between C libraries (i64 on glibc x86-64, u32 or i32 elsewhere).
                #[allow(clippy::unnecessary_cast)]
                let magic = kind.0 as i64;
                kind == TMPFS_MAGIC || magic == RAMFS_MAGIC
            }
            Err(_) => false,
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dir;
        false
    }
}

/// The name prefix of `edit` scratch directories; the owner's pid follows, then a random
/// part: `gitseal-edit-<pid>-<hex>`.
const SCRATCH_PREFIX: &str = "gitseal-edit-";

/// A new directory with a random name and mode 0700 inside `base`.
fn private_dir_in(base: &Path) -> io::Result<PathBuf> {
    for _ in 0..16 {
        let mut rnd = [0u8; 8];
        getrandom::getrandom(&mut rnd).map_err(|e| io::Error::other(e.to_string()))?;
        let name: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
        let dir = base.join(format!("{SCRATCH_PREFIX}{}-{name}", std::process::id()));
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

/// The owner's pid in a scratch directory name `gitseal-edit-<pid>-<hex>`.
fn scratch_dir_owner(name: &str) -> Option<u32> {
    let (pid, random) = name.strip_prefix(SCRATCH_PREFIX)?.split_once('-')?;
    if pid.is_empty() || random.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    pid.parse().ok()
}

/// Wipes and removes the `edit` scratch directories (each may hold a plaintext copy) of
/// gitseal processes that no longer run, for example one killed with SIGKILL while its
/// editor was open. Only real directories (not symlinks) named like gitseal's and owned by
/// this user are touched, in every place `edit` may have used. Returns how many were
/// removed.
pub fn remove_abandoned_scratch_dirs() -> usize {
    let mut bases = memory_scratch_candidates();
    bases.push(std::env::temp_dir());
    bases.dedup();
    let mut removed = 0;
    for base in bases {
        let Ok(entries) = fs::read_dir(&base) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(scratch_dir_owner) else { continue };
            let path = e.path();
            let Ok(meta) = fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() && owned_by_me(&meta) && pid != std::process::id() && !process_alive(pid) {
                wipe_dir(&path);
                removed += 1;
            }
        }
    }
    removed
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
    let target = if replace { rewrite_target(path)? } else { path.to_path_buf() };
    if replace {
        if let Ok(m) = fs::metadata(&target) {
            refuse_hard_links(path, &m)?;
        }
    }
    let dir = parent_dir(&target);
    remove_stale_temp_files(&dir);
    let mut tmp = new_temp_file(&dir).map_err(io_err("cannot create a temporary file next to it"))?;
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
        tmp.persist(&target).map_err(|e| Error::Io { file: path.display().to_string(), action: "cannot replace", source: e.error })?;
    } else {
        tmp.persist_noclobber(&target).map_err(|e| Error::Io { file: path.display().to_string(), action: "cannot create", source: e.error })?;
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// An exclusive advisory lock (`flock`) on a file that is about to be rewritten, held from
/// before it is read until after the new version has been renamed over it, so that two
/// gitseal processes changing one file run one after the other instead of one silently
/// dropping the other's update. Released on drop.
///
/// The lock is taken on the file itself (through symlinks), not on a lock file beside it:
/// nothing is left in the repository. Because each rewrite renames a new inode over the
/// path, a waiter may get the lock on the inode that was just replaced; it then notices
/// that the path names another inode and locks again, so every holder holds the lock on
/// the file the path currently names. A file that does not exist yet is not locked.
/// Advisory only: writers other than gitseal (an editor, `sops`) are not held back.
pub struct UpdateLock {
    #[cfg(unix)]
    _locked: Option<nix::fcntl::Flock<File>>,
}

impl UpdateLock {
    /// Locks `path` for an update, calling `on_busy` once if another process holds the lock
    /// (so the caller can say what it is waiting for) before waiting for it. Files with
    /// several hard links are refused here already, before anything is read.
    pub fn acquire(path: &Path, on_busy: impl FnOnce()) -> Result<UpdateLock> {
        let target = rewrite_target(path)?;
        let io_err = |action: &'static str| move |source: io::Error| Error::Io { file: path.display().to_string(), action, source };
        #[cfg(unix)]
        {
            use nix::errno::Errno;
            use nix::fcntl::{Flock, FlockArg};
            use std::os::unix::fs::MetadataExt;
            let mut on_busy = Some(on_busy);
            loop {
                let file = match File::open(&target) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(UpdateLock { _locked: None }),
                    Err(e) => return Err(io_err("cannot open")(e)),
                };
                let locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                    Ok(l) => l,
                    Err((file, Errno::EWOULDBLOCK)) => {
                        if let Some(f) = on_busy.take() {
                            f();
                        }
                        lock_blocking(file).map_err(io_err("cannot lock"))?
                    }
                    Err((_, errno)) => return Err(io_err("cannot lock")(io::Error::from(errno))),
                };
                let held = locked.metadata().map_err(io_err("cannot read"))?;
                match fs::metadata(&target) {
                    Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                        refuse_hard_links(path, &held)?;
                        return Ok(UpdateLock { _locked: Some(locked) });
                    }
                    // Replaced (or removed) while we waited: lock what the path names now.
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_err("cannot read")(e)),
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = (on_busy, target, io_err);
            Ok(UpdateLock {})
        }
    }
}

#[cfg(unix)]
fn lock_blocking(mut file: File) -> io::Result<nix::fcntl::Flock<File>> {
    use nix::errno::Errno;
    use nix::fcntl::{Flock, FlockArg};
    loop {
        match Flock::lock(file, FlockArg::LockExclusive) {
            Ok(l) => return Ok(l),
            Err((f, Errno::EINTR)) => file = f,
            Err((_, errno)) => return Err(io::Error::from(errno)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_file_names_give_their_writer_only_when_well_formed() {
        assert_eq!(temp_file_writer(".gitseal-4242-AbC123.tmp"), Some(4242));
        assert_eq!(temp_file_writer(".gitseal-AbC123.tmp"), None);
        assert_eq!(temp_file_writer(".gitseal-4242-.tmp"), None);
        assert_eq!(temp_file_writer(".gitseal--x.tmp"), None);
        assert_eq!(temp_file_writer(".gitseal-12x-abc.tmp"), None);
        assert_eq!(temp_file_writer(".gitseal-4242-abc.yaml"), None);
        assert_eq!(temp_file_writer("gitseal-4242-abc.tmp"), None);
    }

    #[test]
    fn scratch_directory_names_give_their_owner_only_when_well_formed() {
        assert_eq!(scratch_dir_owner("gitseal-edit-77-00ff"), Some(77));
        assert_eq!(scratch_dir_owner("gitseal-edit-00ff00ff00ff00ff"), None);
        assert_eq!(scratch_dir_owner("gitseal-edit-77-zz"), None);
        assert_eq!(scratch_dir_owner("gitseal-edit-77-"), None);
        assert_eq!(scratch_dir_owner("other-77-00ff"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn dev_shm_is_memory_backed_and_other_file_systems_are_not() {
        assert!(is_memory_backed(Path::new("/dev/shm")));
        // procfs: always there, never tmpfs.
        assert!(!is_memory_backed(Path::new("/proc")));
        assert!(!is_memory_backed(Path::new("/nonexistent/directory")));
    }
}
