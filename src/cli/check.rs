//! `gitseal check`: the commit gate. Lists the files (work tree or index), reads them,
//! and runs `gitseal_core::repo_check` on each in parallel.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fsio;
use crate::key_discovery as discovery;
use anyhow::Context;
use clap::Args;
use gitseal_core::config::Config;
use gitseal_core::repo_check::{self, CheckOptions, FileToCheck, Finding, DEFAULT_MAX_SIZE};
use gitseal_core::Error;
use regex::Regex;
use zeroize::Zeroizing;

use super::git::{self, Blob};
use super::{IdentityArgs, OutputFormat};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Check what is staged for the next commit (the index), not the work tree. This is
    /// what the pre-commit hook runs.
    #[arg(long)]
    staged: bool,
    /// Also report encrypted files that no identity at hand opens (without an identity
    /// their MAC is not checked, and nothing is said about it).
    #[arg(long)]
    require_decrypt: bool,
    /// Use this .sops.yaml for every file (default: SOPS_CONFIG, else the nearest
    /// .sops.yaml above each file).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Leave out files whose path matches REGEX (repeatable), e.g. 'charts/.*/templates/'.
    #[arg(long, value_name = "REGEX")]
    exclude: Vec<String>,
    /// Skip files larger than BYTES, with a note.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_SIZE)]
    max_size: u64,
    /// text: one `FILE:LINE: message` line per finding; json: one object
    /// `{"findings": [{"file", "line", "kind", "message"}, ...], "files_checked": N}`
    /// (the exit code is the same: 10 when there are findings).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    #[command(flatten)]
    ids: IdentityArgs,
    /// Files or directories (default: the current directory). Directories in a git work
    /// tree are listed with git (ignored files left out). With --staged: limits the staged
    /// files checked (git pathspecs).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Where a file's content comes from.
enum Source {
    WorkTree,
    Index(Blob),
}

struct Candidate {
    /// How findings name the file.
    name: String,
    /// Its place in the work tree: format, creation rule and config lookup.
    path: PathBuf,
    /// Index into the loaded configs.
    config: Option<usize>,
    source: Source,
}

/// What checking one file gave.
enum Outcome {
    Findings(Vec<Finding>),
    Skipped(u64),
    Gone,
    Failed(anyhow::Error),
}

/// The `.sops.yaml` of each file: one given for all, or the nearest above each file.
struct Configs {
    explicit: bool,
    loaded: Vec<Config>,
    by_path: HashMap<PathBuf, usize>,
    by_dir: HashMap<PathBuf, Option<usize>>,
    cwd: PathBuf,
}

impl Configs {
    fn new(explicit: Option<PathBuf>) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let mut c = Configs { explicit: explicit.is_some(), loaded: Vec::new(), by_path: HashMap::new(), by_dir: HashMap::new(), cwd };
        if let Some(p) = explicit {
            c.load(&p)?;
        }
        Ok(c)
    }

    fn load(&mut self, path: &Path) -> anyhow::Result<usize> {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(&i) = self.by_path.get(&abs) {
            return Ok(i);
        }
        let mut cfg = crate::config_file::load(path)?;
        for w in &cfg.warnings {
            eprintln!("gitseal: {w}");
        }
        // Messages name the config relative to where gitseal runs.
        if let Ok(rel) = abs.strip_prefix(&self.cwd) {
            cfg.path = rel.to_path_buf();
        }
        self.loaded.push(cfg);
        self.by_path.insert(abs, self.loaded.len() - 1);
        Ok(self.loaded.len() - 1)
    }

    fn for_file(&mut self, file: &Path) -> anyhow::Result<Option<usize>> {
        if self.explicit {
            return Ok(Some(0));
        }
        let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(&i) = self.by_dir.get(&dir) {
            return Ok(i);
        }
        let found = match crate::config_file::find(&dir) {
            Some(p) => Some(self.load(&p)?),
            None => None,
        };
        self.by_dir.insert(dir, found);
        Ok(found)
    }
}

/// `./a/b.yaml` → `a/b.yaml`, for messages.
fn display_name(p: &Path) -> String {
    p.strip_prefix(".").unwrap_or(p).display().to_string()
}

/// Every file below `dir` worth looking at: listed by git in a work tree (so ignored
/// files, never committed, are left out), else walked with hidden directories skipped.
fn list_dir(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if let Some(files) = git::list_files(dir) {
        return Ok(files);
    }
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Io { file: dir.display().to_string(), action: "cannot list", source })?;
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        if ft.is_dir() {
            if !hidden {
                walk(&e.path(), out)?;
            }
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let excludes: Vec<Regex> =
        args.exclude.iter().map(|r| Regex::new(r).map_err(|e| Error::Usage(format!("--exclude {r:?}: invalid regex: {e}")))).collect::<Result<_, _>>()?;
    let explicit_config = args.config.clone().or_else(|| std::env::var_os("SOPS_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from));
    let mut configs = Configs::new(explicit_config)?;
    let ids = discovery::load_identities(&args.ids.identity)?;
    let opts = CheckOptions { require_decrypt: args.require_decrypt };
    let mut code = 0;
    let fail = |e: &anyhow::Error, code: &mut i32| {
        let c = super::report(e);
        if *code == 0 {
            *code = c;
        }
    };

    // The files, each with the config that applies to it; `listed` files (from a
    // directory or the index) only when their name or a creation rule makes them
    // candidates, named files always.
    let mut candidates: Vec<Candidate> = Vec::new();
    let add = |configs: &mut Configs, name: String, path: PathBuf, source: Source, listed: bool| -> anyhow::Result<Option<Candidate>> {
        if repo_check::is_skipped_path(&path) || excludes.iter().any(|r| r.is_match(&name)) {
            return Ok(None);
        }
        let config = configs.for_file(&path)?;
        if listed && !repo_check::wants_path(&path, config.map(|i| &configs.loaded[i])) {
            return Ok(None);
        }
        Ok(Some(Candidate { name, path, config, source }))
    };
    if args.staged {
        let top = git::toplevel()?;
        let staged = git::staged_files(&args.paths)?;
        let mut wanted = Vec::new();
        for f in staged {
            let path = top.join(&f.path);
            let path = path.strip_prefix(&configs.cwd).map(Path::to_path_buf).unwrap_or(path);
            if let Some(c) = add(&mut configs, f.path.clone(), path, Source::WorkTree, true)? {
                wanted.push((c, f.oid));
            }
        }
        let oids: Vec<&str> = wanted.iter().map(|(_, o)| o.as_str()).collect();
        let blobs = git::read_blobs(&oids, args.max_size)?;
        for ((mut c, _), blob) in wanted.into_iter().zip(blobs) {
            c.source = Source::Index(blob);
            candidates.push(c);
        }
    } else {
        let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
        for p in &paths {
            let meta = match std::fs::metadata(p) {
                Ok(m) => m,
                Err(source) => {
                    fail(&Error::Io { file: p.display().to_string(), action: "cannot read", source }.into(), &mut code);
                    continue;
                }
            };
            let (files, listed) = if meta.is_dir() { (list_dir(p)?, true) } else { (vec![p.clone()], false) };
            for f in files {
                if let Some(c) = add(&mut configs, display_name(&f), f, Source::WorkTree, listed)? {
                    candidates.push(c);
                }
            }
        }
    }

    let configs = &configs;
    let outcomes: Vec<(&Candidate, Outcome)> = crate::parallel::map_in_order(&candidates, |c| {
        let config = c.config.map(|i| &configs.loaded[i]);
        let check = |bytes: &[u8]| {
            let file = FileToCheck { name: &c.name, path: &c.path, bytes, config };
            Outcome::Findings(repo_check::check_file(&file, &ids, opts))
        };
        let outcome = match &c.source {
            Source::Index(Blob::Content(bytes)) => check(bytes),
            Source::Index(Blob::TooBig(size)) => Outcome::Skipped(*size),
            Source::WorkTree => match read_limited(&c.path, args.max_size) {
                Ok(Read::Bytes(bytes)) => check(&bytes),
                Ok(Read::TooBig(size)) => Outcome::Skipped(size),
                Ok(Read::Gone) => Outcome::Gone,
                Err(e) => Outcome::Failed(e),
            },
        };
        (c, outcome)
    });

    let mut findings = Vec::new();
    let mut looked_at = 0usize;
    for (c, outcome) in outcomes {
        match outcome {
            Outcome::Findings(f) => {
                looked_at += 1;
                findings.extend(f);
            }
            Outcome::Skipped(size) => {
                eprintln!("gitseal: {}: skipped: {} bytes, over the --max-size limit of {} bytes", c.name, size, args.max_size)
            }
            Outcome::Gone => {}
            Outcome::Failed(e) => fail(&e, &mut code),
        }
    }
    repo_check::sort_findings(&mut findings);
    let mut stdout = std::io::stdout().lock();
    match args.format {
        OutputFormat::Text => {
            for f in &findings {
                writeln!(stdout, "{f}")?;
            }
        }
        OutputFormat::Json => writeln!(stdout, "{}", findings_json(&findings, looked_at))?,
    }
    stdout.flush()?;
    let mut files: Vec<&str> = findings.iter().map(|f| f.file.as_str()).collect();
    files.dedup();
    let plural = |n: usize, one: &str, many: &str| if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") };
    if findings.is_empty() {
        eprintln!("gitseal: no problems ({} checked)", plural(looked_at, "file", "files"));
    } else {
        eprintln!(
            "gitseal: {} in {} ({} checked)",
            plural(findings.len(), "problem", "problems"),
            plural(files.len(), "file", "files"),
            plural(looked_at, "file", "files")
        );
    }
    if code != 0 {
        return Ok(code);
    }
    Ok(if findings.is_empty() { 0 } else { crate::exit_code::FINDINGS })
}

/// The JSON report: `{"findings": [{"file", "line", "kind", "message"}], "files_checked"}`,
/// findings sorted by file and line, `kind` one of [`repo_check::FindingKind::as_str`].
fn findings_json(findings: &[Finding], files_checked: usize) -> String {
    let list: Vec<serde_json::Value> =
        findings.iter().map(|f| serde_json::json!({"file": f.file, "line": f.line, "kind": f.kind.as_str(), "message": f.message})).collect();
    serde_json::json!({"findings": list, "files_checked": files_checked}).to_string()
}

enum Read {
    Bytes(Zeroizing<Vec<u8>>),
    TooBig(u64),
    /// Listed by git but deleted from the work tree since.
    Gone,
}

fn read_limited(path: &Path, max: u64) -> anyhow::Result<Read> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > max => return Ok(Read::TooBig(m.len())),
        Ok(m) if !m.is_file() => return Ok(Read::Gone),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::Gone),
        Err(source) => return Err(Error::Io { file: path.display().to_string(), action: "cannot read", source }.into()),
    }
    Ok(Read::Bytes(Zeroizing::new(fsio::read(path)?)))
}
