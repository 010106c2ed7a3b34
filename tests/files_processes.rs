//! Files, processes and memory: concurrent writers of one file, symlinks and hard links,
//! owner and mode across rewrites, plaintext and temporary files left by killed processes,
//! core dumps and /proc access while plaintext is in memory, and the signal state children
//! start with. Every test drives the real binary.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_success, gitseal_bin, stderr, Fixture};

const SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: app
  namespace: prod
type: Opaque
stringData:
  token: t0k3n
  password: hunter2
";

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// An encrypted copy of `plain` at `name`.
fn encrypted(fx: &Fixture, name: &str, plain: &str) -> PathBuf {
    let p = fx.write(name, plain);
    assert_success("encrypt -i", &fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&p).output().unwrap());
    p
}

/// An executable script in the fixture directory.
fn script(fx: &Fixture, name: &str, body: &str) -> PathBuf {
    let p = fx.write(name, format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Waits until `path` exists (a script's sign that it has got to a point), at most 20 s.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn process_alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; its state says it is gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn wait_until_dead(pid: u32) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if !process_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

// ---------------------------------------------------------------------------------------
// 9. Concurrent writers of one file

#[test]
fn concurrent_set_on_one_file_loses_no_update() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    const WRITERS: usize = 8;
    let children: Vec<_> = (0..WRITERS)
        .map(|i| {
            fx.gitseal()
                .arg("set")
                .arg(&p)
                .arg(format!(r#"["stringData"]["key{i}"]"#))
                .arg(format!("value-{i}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_success("concurrent gitseal set", &out);
    }
    let plain = String::from_utf8(fx.decrypt(&p)).unwrap();
    for i in 0..WRITERS {
        assert!(plain.contains(&format!("  key{i}: value-{i}\n")), "update {i} was lost:\n{plain}");
    }
    assert!(plain.contains("  token: t0k3n\n") && plain.contains("  password: hunter2\n"), "{plain}");
}

#[test]
fn set_waits_for_an_edit_of_the_same_file_and_both_changes_survive() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let started = fx.path("editor-started");
    let go = fx.path("editor-go");
    let ed =
        script(&fx, "ed.sh", &format!("sed -i 's/t0k3n/edited/' \"$1\"\ntouch {}\nwhile [ ! -e {} ]; do sleep 0.05; done", started.display(), go.display()));
    let edit = fx.gitseal().arg("edit").arg(&p).env("EDITOR", &ed).env_remove("SOPS_EDITOR").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for(&started);
    let set = fx.gitseal().arg("set").arg(&p).arg(r#"["stringData"]["added"]"#).arg("by-set").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // The set must wait for the edit: give it time to (wrongly) finish first.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&go, "").unwrap();
    let edit = edit.wait_with_output().unwrap();
    assert_success("edit", &edit);
    let set = set.wait_with_output().unwrap();
    assert_success("set", &set);
    assert!(stderr(&set).contains("waiting for another gitseal"), "{}", stderr(&set));
    let plain = String::from_utf8(fx.decrypt(&p)).unwrap();
    assert!(plain.contains("  token: edited\n") && plain.contains("  added: by-set\n"), "{plain}");
}

// ---------------------------------------------------------------------------------------
// 10. Symlinks, hard links, owner and mode

#[test]
fn encrypt_in_place_through_a_symlink_encrypts_the_target_and_keeps_the_link() {
    let fx = Fixture::new();
    std::fs::create_dir_all(fx.path("real")).unwrap();
    let target = fx.write("real/app.yaml", SECRET);
    let link = fx.path("link.yaml");
    std::os::unix::fs::symlink("real/app.yaml", &link).unwrap();
    let out = fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&link).output().unwrap();
    assert_success("encrypt -i link", &out);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the symlink was replaced by a file");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real/app.yaml"));
    let text = read(&target);
    assert!(text.contains("sops:") && !text.contains("t0k3n") && !text.contains("hunter2"), "the target stayed plaintext:\n{text}");
    assert_eq!(String::from_utf8(fx.decrypt(&link)).unwrap(), SECRET);
    // No temporary file was left in either directory.
    for dir in [fx.dir.path().to_path_buf(), fx.path("real")] {
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".gitseal-")).collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[test]
fn set_through_a_symlink_updates_the_target() {
    let fx = Fixture::new();
    let target = encrypted(&fx, "app.yaml", SECRET);
    let link = fx.path("link.yaml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_success("set via link", &fx.gitseal().arg("set").arg(&link).args([r#"["stringData"]["token"]"#, "new"]).output().unwrap());
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(String::from_utf8(fx.decrypt(&target)).unwrap().contains("  token: new\n"));
}

#[test]
fn encrypt_in_place_of_a_hard_linked_file_is_refused_and_leaves_both_names_alone() {
    let fx = Fixture::new();
    let p = fx.write("app.yaml", SECRET);
    let twin = fx.path("twin.yaml");
    std::fs::hard_link(&p, &twin).unwrap();
    let out = fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&p).output().unwrap();
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(msg.contains("app.yaml") && msg.contains("hard links"), "{msg}");
    assert_eq!(read(&p), SECRET);
    assert_eq!(read(&twin), SECRET);
    assert_eq!(std::fs::metadata(&p).unwrap().ino(), std::fs::metadata(&twin).unwrap().ino());
}

#[test]
fn extract_to_an_output_file_was_written_non_atomically_through_hard_links() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    // The output has a second name elsewhere: a plaintext twin the user never asked for.
    let out_path = fx.write("token.txt", "old\n");
    let twin = fx.path("twin.txt");
    std::fs::hard_link(&out_path, &twin).unwrap();
    let out = fx.gitseal().args(["decrypt", "--extract", r#"["stringData"]["token"]"#, "-o"]).arg(&out_path).arg(&p).output().unwrap();
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("hard links"), "{}", stderr(&out));
    assert_eq!(read(&twin), "old\n", "plaintext reached the other name of the output");
    // A plain output file gets the value, atomically, keeping its mode.
    std::fs::remove_file(&twin).unwrap();
    std::fs::set_permissions(&out_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = fx.gitseal().args(["decrypt", "--extract", r#"["stringData"]["token"]"#, "-o"]).arg(&out_path).arg(&p).output().unwrap();
    assert_success("decrypt --extract -o", &out);
    assert_ne!(read(&out_path), "old\n");
    assert_eq!(std::fs::metadata(&out_path).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn rotate_in_place_keeps_owner_group_and_mode() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    // The tests run as root: hand the file to another user, as a repository checked out
    // by a deploy user and rotated by root would be.
    std::os::unix::fs::chown(&p, Some(4242), Some(4343)).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = read(&p);
    assert_success("rotate -i", &fx.gitseal().args(["rotate", "-i"]).arg(&p).output().unwrap());
    assert_ne!(read(&p), before, "rotate did not rewrite the file");
    let meta = std::fs::metadata(&p).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4242, 4343), "owner reset by rotate -i");
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert_eq!(String::from_utf8(fx.decrypt(&p)).unwrap(), SECRET);
}

// ---------------------------------------------------------------------------------------
// 11. Plaintext and temporary files left behind

/// A tmpfs directory private to one test (under /dev/shm), removed on drop.
struct MemoryDir(PathBuf);

impl MemoryDir {
    fn new() -> Self {
        let d = tempfile::Builder::new().prefix("gitseal-test-").tempdir_in("/dev/shm").expect("/dev/shm is a tmpfs on Linux").keep();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        MemoryDir(d)
    }
}

impl Drop for MemoryDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dirs(base: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(base).unwrap().flatten().map(|e| e.path()).filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("gitseal-edit-")).collect()
}

#[test]
fn edit_killed_with_sigkill_leaves_plaintext_that_the_next_run_removes() {
    let fx = Fixture::new();
    let runtime = MemoryDir::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let started = fx.path("editor.pid");
    let ed = script(&fx, "ed.sh", &format!("echo $$ > {}\nexec sleep 30", started.display()));
    let mut edit = fx
        .gitseal()
        .arg("edit")
        .arg(&p)
        .env("EDITOR", &ed)
        .env_remove("SOPS_EDITOR")
        .env("XDG_RUNTIME_DIR", &runtime.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&started);
    std::thread::sleep(Duration::from_millis(100));
    let editor = read(&started).trim().to_owned();
    let left = scratch_dirs(&runtime.0);
    assert_eq!(left.len(), 1, "{left:?}");
    let copy = left[0].join("app.yaml");
    assert!(read(&copy).contains("t0k3n"), "the editor's copy holds the plaintext");
    edit.kill().unwrap();
    edit.wait().unwrap();
    assert!(copy.exists(), "SIGKILL cannot clean up: the plaintext is still there");
    // A scratch directory of a live process is never touched, nor one of another name.
    let foreign = runtime.0.join("gitseal-edit-notapid-00");
    std::fs::create_dir(&foreign).unwrap();
    let live = runtime.0.join(format!("gitseal-edit-{}-abcd", std::process::id()));
    std::fs::create_dir(&live).unwrap();
    // Any later gitseal run cleans up.
    let out = fx.gitseal().arg("--version").env("XDG_RUNTIME_DIR", &runtime.0).output().unwrap();
    assert_success("gitseal --version", &out);
    assert!(!left[0].exists(), "the plaintext copy of the killed edit is still there");
    assert!(foreign.exists() && live.exists());
    // The editor was orphaned by the SIGKILL; stop it.
    let _ = Command::new("kill").arg(&editor).status();
}

#[test]
fn edit_does_not_trust_a_runtime_dir_on_disk_as_memory_backed() {
    let fx = Fixture::new();
    let disk_runtime = fx.path("runtime");
    std::fs::create_dir_all(&disk_runtime).unwrap();
    std::fs::set_permissions(&disk_runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let seen = fx.path("seen");
    let ed = script(&fx, "ed.sh", &format!("dirname \"$1\" > {}", seen.display()));
    let out = fx.gitseal().arg("edit").arg(&p).env("EDITOR", &ed).env_remove("SOPS_EDITOR").env("XDG_RUNTIME_DIR", &disk_runtime).output().unwrap();
    assert_success("edit", &out);
    let used = read(&seen);
    assert!(!used.starts_with(disk_runtime.to_str().unwrap()), "an XDG_RUNTIME_DIR on ext4/xfs was taken as memory-backed: {used}");
    assert!(used.starts_with("/dev/shm/"), "{used}");
}

#[test]
fn stale_temporary_files_of_dead_writers_are_removed_and_others_kept() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    // A pid that is not running: a child that has exited and been reaped.
    let mut child = Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let make = |name: &str, age: std::time::SystemTime| {
        let f = fx.write(name, "ENC[ciphertext only]");
        std::fs::File::options().write(true).open(&f).unwrap().set_modified(age).unwrap();
        f
    };
    let stale = make(&format!(".gitseal-{dead_pid}-AbC123.tmp"), old);
    let fresh = make(&format!(".gitseal-{dead_pid}-XyZ789.tmp"), std::time::SystemTime::now());
    let live_writer = make(&format!(".gitseal-{}-QqQ000.tmp", std::process::id()), old);
    let other = make(".gitseal-unrelated.tmp", old);
    assert_success("set", &fx.gitseal().arg("set").arg(&p).args([r#"["stringData"]["token"]"#, "x"]).output().unwrap());
    assert!(!stale.exists(), "an old temporary file of a dead writer was kept");
    assert!(fresh.exists(), "a recent temporary file was removed (its writer may be in another pid namespace)");
    assert!(live_writer.exists(), "a temporary file of a running process was removed");
    assert!(other.exists(), "a file not named by gitseal's pattern was removed");
}

// ---------------------------------------------------------------------------------------
// 12. Core dumps and /proc while plaintext is in memory

/// A world-readable copy of a fixture for a process running as `nobody`.
fn nobody_fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let fx = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let key = dir.path().join("key.txt");
    std::fs::copy(&fx.key_file, &key).unwrap();
    let p = dir.path().join("app.env");
    std::fs::write(&p, "A=1\n").unwrap();
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&p).output().unwrap());
    for f in [&key, &p] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    (dir, key, p)
}

#[test]
fn exec_env_process_is_not_dumpable_and_has_no_core_limit() {
    let (dir, key, p) = nobody_fixture();
    // As an unprivileged user, so that /proc ownership shows the dumpable flag: the /proc
    // files of a non-dumpable process belong to root, not to the process's user.
    let probe = "stat -c %u /proc/$PPID/environ; grep 'Max core file size' /proc/$PPID/limits; cat /proc/$PPID/environ >/dev/null 2>&1 && echo readable || echo unreadable";
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(gitseal_bin())
        .arg("exec-env")
        .arg(&p)
        .args(["--", "sh", "-c", probe])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("SOPS_AGE_KEY_FILE", &key)
        .output()
        .unwrap();
    assert_success("exec-env as nobody", &out);
    let report = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "0", "the gitseal process is dumpable (its /proc files belong to its user): {report}");
    let core: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&core[4..6], ["0", "0"], "core dumps allowed: {}", lines[1]);
    assert_eq!(lines[2], "unreadable", "another process of the same user could read gitseal's /proc environ");
}

#[test]
fn edit_process_is_not_dumpable_while_the_editor_runs() {
    let (dir, key, p) = nobody_fixture();
    let report = dir.path().join("report");
    let ed = dir.path().join("ed.sh");
    std::fs::write(&ed, format!("#!/bin/sh\n{{ stat -c %u /proc/$PPID/mem; grep 'Max core file size' /proc/$PPID/limits; }} > {}\n", report.display()))
        .unwrap();
    std::fs::set_permissions(&ed, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(gitseal_bin())
        .arg("edit")
        .arg(&p)
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("SOPS_AGE_KEY_FILE", &key)
        .env("EDITOR", &ed)
        .env_remove("SOPS_EDITOR")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    assert_success("edit as nobody", &out);
    let report = read(&report);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "0", "gitseal edit is dumpable: {report}");
    assert!(lines[1].split_whitespace().skip(4).take(2).all(|n| n == "0"), "{report}");
}

// ---------------------------------------------------------------------------------------
// 13. Signals of children

/// Runs gitseal under `sh` with SIGHUP, SIGINT and SIGTERM ignored, as `nohup`, a shell's
/// background job or a service manager may start it.
fn with_signals_ignored(fx: &Fixture, args: &[&str]) -> Command {
    let mut line = String::from("trap '' HUP INT TERM; exec \"$0\"");
    for i in 0..args.len() {
        line.push_str(&format!(" \"${}\"", i + 1));
    }
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(line).arg(gitseal_bin()).args(args);
    // Same isolation as the fixture's own gitseal command.
    sh.current_dir(fx.dir.path()).env("HOME", fx.dir.path()).env("SOPS_AGE_KEY_FILE", &fx.key_file).env_remove("SOPS_AGE_KEY").stdin(Stdio::null());
    sh
}

fn signal_lines(status: &str) -> Vec<String> {
    status.lines().filter(|l| l.starts_with("SigBlk:") || l.starts_with("SigIgn:")).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

#[test]
fn exec_env_child_starts_with_no_signal_blocked_or_ignored_even_when_gitseal_inherited_them_ignored() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.env", "A=1\n");
    let out = with_signals_ignored(&fx, &["exec-env", p.to_str().unwrap(), "--", "cat", "/proc/self/status"]).output().unwrap();
    assert_success("exec-env", &out);
    let lines = signal_lines(&String::from_utf8(out.stdout).unwrap());
    // SIGHUP (1), SIGINT (2) and SIGTERM (15) are bits 0x1, 0x2 and 0x4000.
    for l in &lines {
        let mask = u64::from_str_radix(l.split(' ').nth(1).unwrap(), 16).unwrap();
        assert_eq!(mask & 0x4003, 0, "the command starts with HUP/INT/TERM blocked or ignored: {lines:?}");
    }
    assert_eq!(lines.len(), 2);
}

#[test]
fn sigterm_to_exec_env_stops_the_command_even_when_gitseal_inherited_it_ignored() {
    let fx = Fixture::new();
    let p = encrypted(&fx, "app.env", "A=1\n");
    let pidfile = fx.path("child.pid");
    let body = format!("echo $$ > {}; exec sleep 30", pidfile.display());
    let mut gs =
        with_signals_ignored(&fx, &["exec-env", p.to_str().unwrap(), "--", "sh", "-c", &body]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for(&pidfile);
    std::thread::sleep(Duration::from_millis(100));
    let child: u32 = read(&pidfile).trim().parse().unwrap();
    assert!(process_alive(child));
    // `sh -c ... exec gitseal`: the spawned pid is gitseal's.
    Command::new("kill").args(["-TERM", &gs.id().to_string()]).status().unwrap();
    let status = gs.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{status:?}");
    assert!(wait_until_dead(child), "the command survived SIGTERM to gitseal exec-env");
}

#[test]
fn sigterm_to_edit_ends_the_editor_instead_of_orphaning_it() {
    let fx = Fixture::new();
    let runtime = MemoryDir::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let before = std::fs::read(&p).unwrap();
    let pidfile = fx.path("editor.pid");
    // An editor that changes the copy, then waits (in the foreground, as editors do).
    let ed = script(&fx, "ed.sh", &format!("sed -i 's/t0k3n/changed/' \"$1\"\necho $$ > {}\nexec sleep 30", pidfile.display()));
    let mut gs = fx
        .gitseal()
        .arg("edit")
        .arg(&p)
        .env("EDITOR", &ed)
        .env_remove("SOPS_EDITOR")
        .env("XDG_RUNTIME_DIR", &runtime.0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&pidfile);
    std::thread::sleep(Duration::from_millis(100));
    let editor: u32 = read(&pidfile).trim().parse().unwrap();
    Command::new("kill").args(["-TERM", &gs.id().to_string()]).status().unwrap();
    let status = gs.wait().unwrap();
    let mut msg = String::new();
    std::io::Read::read_to_string(gs.stderr.as_mut().unwrap(), &mut msg).unwrap();
    assert_eq!(status.code(), Some(143), "{status:?} {msg}");
    assert!(!process_alive(editor), "gitseal ended while its editor still runs (orphaned)");
    assert!(msg.contains("signal 15") && msg.contains("unchanged"), "{msg}");
    assert_eq!(std::fs::read(&p).unwrap(), before);
    assert!(scratch_dirs(&runtime.0).is_empty(), "plaintext left behind");
}

#[test]
fn edit_kills_an_editor_that_ignores_sigterm() {
    let fx = Fixture::new();
    let runtime = MemoryDir::new();
    let p = encrypted(&fx, "app.yaml", SECRET);
    let pidfile = fx.path("editor.pid");
    let ed = script(&fx, "ed.sh", &format!("trap '' TERM\necho $$ > {}\nwhile :; do sleep 0.1; done", pidfile.display()));
    let mut gs = fx
        .gitseal()
        .arg("edit")
        .arg(&p)
        .env("EDITOR", &ed)
        .env_remove("SOPS_EDITOR")
        .env("XDG_RUNTIME_DIR", &runtime.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&pidfile);
    std::thread::sleep(Duration::from_millis(100));
    let editor: u32 = read(&pidfile).trim().parse().unwrap();
    Command::new("kill").args(["-TERM", &gs.id().to_string()]).status().unwrap();
    let status = gs.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{status:?}");
    assert!(wait_until_dead(editor), "the editor outlived gitseal");
    assert!(scratch_dirs(&runtime.0).is_empty(), "plaintext left behind");
}
