//! `gitseal completions SHELL` and `gitseal man`: generated from the argument parser, so
//! every subcommand must appear in each of them.

mod common;
use std::process::{Command, Output};

use common::assert_success;

/// The visible subcommands, as `gitseal --help` lists them.
fn subcommands() -> Vec<String> {
    let out = gitseal(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    let section = help.split("Commands:\n").nth(1).expect("a Commands section in --help");
    let names: Vec<String> = section
        .lines()
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions continue on lines indented further.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 15 && names.iter().any(|n| n == "completions") && names.iter().any(|n| n == "create"), "{names:?}");
    names
}

fn gitseal(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_gitseal")).args(args).output().unwrap();
    assert_success(&format!("gitseal {}", args.join(" ")), &out);
    out
}

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    let subs = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(gitseal(&["completions", shell]).stdout).unwrap();
        assert!(script.len() > 1000, "{shell}: {} bytes", script.len());
        for sub in &subs {
            assert!(script.contains(sub.as_str()), "{shell} completion lacks {sub}");
        }
    }
}

#[test]
fn bash_completion_script_parses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gitseal.bash");
    std::fs::write(&path, gitseal(&["completions", "bash"]).stdout).unwrap();
    let out = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert_success("bash -n", &out);
    // Sourcing it registers the completion function.
    let out = Command::new("bash").arg("-c").arg(format!("source {} && complete -p gitseal", path.display())).output().unwrap();
    assert_success("complete -p", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("gitseal"));
}

#[test]
fn unknown_completion_shell_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_gitseal")).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_page_is_roff_with_every_subcommand_and_renders() {
    let page = String::from_utf8(gitseal(&["man"]).stdout).unwrap();
    assert!(page.contains("\n.TH gitseal 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in subcommands() {
        assert!(page.contains(&format!("gitseal\\-{}", sub.replace('-', "\\-"))), "man page lacks {sub}");
    }
    // `man -l` renders it when man is installed (the roff must be well formed enough).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gitseal.1");
    std::fs::write(&path, &page).unwrap();
    match Command::new("man").arg("-l").arg(&path).env("MANPAGER", "cat").env("MANWIDTH", "100").output() {
        Ok(out) if out.status.success() => {
            let shown = String::from_utf8_lossy(&out.stdout);
            assert!(shown.contains("NAME") && shown.contains("SUBCOMMANDS"), "{shown}");
        }
        Ok(out) => panic!("man -l failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("man is not installed ({e}): rendering not checked"),
    }
}
