//! The `gitseal` command line.

#![forbid(unsafe_code)]

mod cli;

fn main() {
    std::process::exit(cli::run());
}
