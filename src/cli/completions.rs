//! `gitseal completions` and `gitseal man`: the shell completion scripts and the manual
//! page, generated from the same argument definitions the parser uses, so they never
//! drift from the commands.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for. Install, e.g.: bash: `gitseal completions bash >
    /// ~/.local/share/bash-completion/completions/gitseal`; zsh: into a directory of
    /// `$fpath` as `_gitseal`; fish: `~/.config/fish/completions/gitseal.fish`.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {}

pub fn run_completions(args: CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "gitseal", &mut out);
    write_stdout(&out)
}

pub fn run_man(_args: ManArgs) -> anyhow::Result<i32> {
    let mut out = Vec::new();
    clap_mangen::Man::new(super::Cli::command()).render(&mut out)?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<i32> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(0)
}
