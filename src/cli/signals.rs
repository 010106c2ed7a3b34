//! Signals while gitseal waits for a child process (`edit`, `exec-env`).
//!
//! On Unix, SIGINT, SIGTERM and SIGHUP are blocked in every gitseal thread and taken by one
//! thread with `sigwait`, so the action can depend on which signal came: a terminal's
//! Ctrl-C reaches the whole foreground process group, the child included, and the child
//! decides what it means (an editor may use it as a key), while SIGTERM and SIGHUP are
//! meant for gitseal. Children start with an empty signal mask (the standard library
//! resets it when spawning), so they see the signals as usual.

pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

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
