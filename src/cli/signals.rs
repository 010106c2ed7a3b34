//! Signals while gitseal waits for a child process (`edit`, `exec-env`).
//!
//! On Unix, SIGINT, SIGTERM and SIGHUP are blocked in every gitseal thread and taken by one
//! thread with `sigwait`, so the action can depend on which signal came: a terminal's
//! Ctrl-C reaches the whole foreground process group, the child included, and the child
//! decides what it means (an editor may use it as a key), while SIGTERM and SIGHUP are
//! meant for gitseal, which passes them on.
//!
//! Children must start as if gitseal were not there: an empty signal mask and default
//! dispositions. The standard library hands the spawning thread's mask down to children,
//! which here would be the three blocked signals, and a signal gitseal inherited as
//! ignored (`nohup`, a shell's background job, a service manager) stays ignored across
//! `exec`. So children are started with `posix_spawn`, asking for an empty mask and the
//! default action for these signals (and SIGPIPE, which the standard library ignores).

pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;

/// Runs `on_signal(signal number)` on a dedicated thread for each SIGINT, SIGTERM or
/// SIGHUP. Call it before starting any other thread, so that every thread inherits the
/// blocked mask.
#[cfg(unix)]
pub fn watch(mut on_signal: impl FnMut(i32) + Send + 'static) -> anyhow::Result<()> {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    set.thread_block()?;
    std::thread::Builder::new().name("signals".into()).spawn(move || loop {
        if let Ok(sig) = set.wait() {
            on_signal(sig as i32);
        }
    })?;
    Ok(())
}

/// Elsewhere only Ctrl-C can be told apart; it is reported as SIGINT.
#[cfg(not(unix))]
pub fn watch(mut on_signal: impl FnMut(i32) + Send + 'static) -> anyhow::Result<()> {
    ctrlc::set_handler(move || on_signal(SIGINT))?;
    Ok(())
}

/// Sends signal `signo` to process `pid` (best effort: it may have exited already).
#[cfg(unix)]
pub fn send(pid: u32, signo: i32) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    if let (Ok(sig), Ok(pid)) = (Signal::try_from(signo), i32::try_from(pid)) {
        let _ = kill(Pid::from_raw(pid), sig);
    }
}

#[cfg(not(unix))]
pub fn send(_pid: u32, _signo: i32) {}

/// The exit code a shell reports for a finished child: its status, or 128 + the signal
/// that killed it.
pub fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    status.code().unwrap_or(1)
}

/// The exit code for a command that could not be started, as shells report it: 127 when
/// it was not found, 126 otherwise.
pub fn spawn_failure_code(e: &std::io::Error) -> i32 {
    if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}

/// Starts `argv[0]` (searched in `PATH`) with `argv` as its arguments, gitseal's
/// environment (or none, with `clear_env`) plus `overrides`, its standard streams, an
/// empty signal mask and the default action for SIGHUP, SIGINT, SIGTERM, SIGQUIT and
/// SIGPIPE. The copies of the environment made for the child are zeroed once it runs (the
/// values may be secrets). Returns its pid, for [`wait`].
#[cfg(unix)]
pub fn spawn_clean(argv: &[std::ffi::OsString], overrides: &[(&std::ffi::OsStr, &[u8])], clear_env: bool) -> std::io::Result<u32> {
    use nix::spawn::{posix_spawnp, PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags};
    use nix::sys::signal::{SigSet, Signal};
    use std::ffi::CString;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use zeroize::Zeroize;

    let cstring = |bytes: Vec<u8>| CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in an argument or variable"));
    let args: Vec<CString> = argv.iter().map(|a| cstring(a.as_bytes().to_vec())).collect::<io::Result<_>>()?;
    let program = args.first().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command"))?;
    let mut env: Vec<CString> = Vec::new();
    if !clear_env {
        for (k, v) in std::env::vars_os() {
            if !overrides.iter().any(|(name, _)| *name == k.as_os_str()) {
                env.push(cstring([k.as_bytes(), b"=", v.as_bytes()].concat())?);
            }
        }
    }
    for (k, v) in overrides {
        env.push(cstring([k.as_bytes(), b"=", v].concat())?);
    }

    let mut attr = PosixSpawnAttr::init()?;
    attr.set_sigmask(&SigSet::empty())?;
    let mut defaults = SigSet::empty();
    for s in [Signal::SIGHUP, Signal::SIGINT, Signal::SIGTERM, Signal::SIGQUIT, Signal::SIGPIPE] {
        defaults.add(s);
    }
    attr.set_sigdefault(&defaults)?;
    attr.set_flags(PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF)?;
    let actions = PosixSpawnFileActions::init()?;
    let spawned = posix_spawnp(program, &actions, &attr, &args, &env);
    for e in env {
        e.into_bytes_with_nul().zeroize();
    }
    let pid = spawned.map_err(io::Error::from)?;
    Ok(pid.as_raw() as u32)
}

/// Waits for a child started by [`spawn_clean`] to end.
#[cfg(unix)]
pub fn wait(pid: u32) -> std::io::Result<std::process::ExitStatus> {
    use nix::errno::Errno;
    use nix::sys::wait::{waitpid, WaitStatus};
    use std::os::unix::process::ExitStatusExt;
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(std::process::ExitStatus::from_raw((code & 0xff) << 8)),
            Ok(WaitStatus::Signaled(_, sig, core)) => return Ok(std::process::ExitStatus::from_raw(sig as i32 | if core { 0x80 } else { 0 })),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Children started elsewhere, kept until waited for.
#[cfg(not(unix))]
static CHILDREN: std::sync::Mutex<Vec<std::process::Child>> = std::sync::Mutex::new(Vec::new());

/// Elsewhere there are no signal masks to clean; the child is started as usual.
#[cfg(not(unix))]
pub fn spawn_clean(argv: &[std::ffi::OsString], overrides: &[(&std::ffi::OsStr, &[u8])], clear_env: bool) -> std::io::Result<u32> {
    let program = argv.first().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no command"))?;
    let mut c = std::process::Command::new(program);
    c.args(&argv[1..]);
    if clear_env {
        c.env_clear();
    }
    for (k, v) in overrides {
        c.env(k, String::from_utf8_lossy(v).into_owned());
    }
    let child = c.spawn()?;
    let id = child.id();
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).push(child);
    Ok(id)
}

#[cfg(not(unix))]
pub fn wait(pid: u32) -> std::io::Result<std::process::ExitStatus> {
    let child = {
        let mut all = CHILDREN.lock().unwrap_or_else(|e| e.into_inner());
        let at = all.iter().position(|c| c.id() == pid).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
        all.swap_remove(at)
    };
    let mut child = child;
    child.wait()
}
