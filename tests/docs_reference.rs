//! The documentation tells the truth about the binary: no merge-conflict leftovers in any
//! document, a section in docs/commands.md for every subcommand `gitseal --help` lists,
//! every flag of a subcommand named in its section, and no placeholder a reader cannot
//! resolve in the pre-commit instructions.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn help(args: &[&str]) -> String {
    let out = Command::new(common::gitseal_bin()).args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "gitseal {args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The names listed under `Commands:` of a help text (`help` left out).
fn subcommands(help: &str) -> Vec<String> {
    let Some(start) = help.find("Commands:\n") else { return Vec::new() };
    help[start + "Commands:\n".len()..]
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect()
}

/// The flags of a help text's options, as (long form, short form) (`--help` and
/// `--version` left out): `-o, --output <FILE>` gives `("--output", Some("-o"))`.
fn flags(help: &str) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for line in help.lines().map(str::trim_start).filter(|l| l.starts_with('-')) {
        let mut words = line.split([' ', ',']).filter(|w| !w.is_empty());
        let first = words.next().unwrap_or("");
        let (short, long) = if first.starts_with("--") { (None, first) } else { (Some(first.to_owned()), words.next().unwrap_or("")) };
        let Some(name) = long.strip_prefix("--") else { continue };
        let name: String = name.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        if !name.is_empty() && name != "help" && name != "version" && !out.iter().any(|(l, _)| *l == format!("--{name}")) {
            out.push((format!("--{name}"), short));
        }
    }
    out
}

/// The sections of docs/commands.md: each `## ` heading with the text up to the next.
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut in_fence = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence {
            if let Some(h) = line.strip_prefix("## ") {
                out.push((h.to_owned(), String::new()));
                continue;
            }
        }
        if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The section whose heading names `command` as a word (`## set and unset`).
fn section_for<'a>(sections: &'a [(String, String)], command: &str) -> Option<&'a str> {
    sections.iter().find(|(h, _)| h.split(|c: char| c.is_whitespace() || c == ',' || c == '`').any(|w| w == command)).map(|(_, b)| b.as_str())
}

fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let mut out = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut out);
    out.push(root().join(".pre-commit-hooks.yaml"));
    out
}

#[test]
fn no_document_holds_merge_conflict_markers() {
    let files = markdown_files();
    assert!(files.len() > 10, "the docs were found: {files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let marker = line.starts_with("<<<<<<< ") || line.starts_with(">>>>>>> ") || line == "<<<<<<<" || line == ">>>>>>>" || line == "=======";
            assert!(!marker, "{}:{}: merge-conflict marker {line:?}", f.display(), i + 1);
        }
    }
}

#[test]
fn every_subcommand_has_a_section_naming_each_of_its_flags() {
    let doc = std::fs::read_to_string(root().join("docs/commands.md")).unwrap();
    let sections = sections(&doc);
    let commands = subcommands(&help(&[]));
    assert!(commands.len() >= 10 && commands.iter().any(|c| c == "encrypt"), "{commands:?}");
    let mut missing = Vec::new();
    for c in &commands {
        let Some(body) = section_for(&sections, c) else {
            missing.push(format!("no section for `gitseal {c}`"));
            continue;
        };
        // A command with subcommands (create) documents the flags of each.
        let mut helps = vec![help(&[c])];
        for sub in subcommands(&helps[0]) {
            helps.push(help(&[c, &sub]));
        }
        for h in &helps {
            for (long, short) in flags(h) {
                // `-o FILE` or `--output` both name it.
                let named = body.contains(&long) || short.as_ref().is_some_and(|s| body.contains(&format!("`{s}")) || body.contains(&format!("[{s}")));
                if !named {
                    missing.push(format!("`gitseal {c}`: {long} is not in its section"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "docs/commands.md is incomplete:\n{}", missing.join("\n"));
}

#[test]
fn create_section_does_not_deny_vault_transit_which_create_has() {
    let doc = std::fs::read_to_string(root().join("docs/commands.md")).unwrap();
    let sections = sections(&doc);
    let create = section_for(&sections, "create").unwrap();
    assert!(help(&["create", "generic"]).contains("--hc-vault-transit"));
    assert!(create.contains("--hc-vault-transit"), "{create}");
    assert!(!create.to_lowercase().contains("transit) are not supported"), "{create}");
}

#[test]
fn pre_commit_instructions_hold_no_unresolvable_placeholder() {
    let doc = std::fs::read_to_string(root().join("docs/commands.md")).unwrap();
    let start = doc.find("### The pre-commit framework").expect("the pre-commit section");
    let section = &doc[start..];
    let section = &section[..section[4..].find("\n## ").map_or(section.len(), |i| i + 4)];
    for placeholder in ["OWNER", "<rev>", "<version>", "vX.Y.Z", "REPLACE"] {
        assert!(!section.contains(placeholder), "placeholder {placeholder} in:\n{section}");
    }
    // The way to get the values is given.
    assert!(section.contains("rev-parse HEAD") && section.contains("remote get-url origin"), "{section}");
    assert!(section.contains("repo: local"), "{section}");
}

#[test]
fn the_helpers_read_help_output_as_clap_writes_it() {
    let h = "Usage: x\n\nCommands:\n  keygen  Make\n  set     Set one\n          value\n  help    Print\n\nOptions:\n  -i, --in-place  In place\n      --age <R>   Recipients\n  -h, --help      Help\n";
    assert_eq!(subcommands(h), ["keygen", "set"]);
    assert_eq!(flags(h), [("--in-place".to_owned(), Some("-i".to_owned())), ("--age".to_owned(), None)]);
    let s = sections("# T\n## set and unset\nbody --json\n```\n## not a heading\n```\n## check\nx\n");
    assert_eq!(s.len(), 2);
    assert!(section_for(&s, "unset").unwrap().contains("--json"));
    assert!(section_for(&s, "check").is_some() && section_for(&s, "heading").is_none());
}
