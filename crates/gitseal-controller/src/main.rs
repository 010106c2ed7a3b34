//! `gitseal-controller`: see `gitseal-controller --help`.

use std::process::ExitCode;

use anyhow::Context as _;
use gitseal_controller::options::{self, Command};
use gitseal_controller::{crd, run};

fn main() -> ExitCode {
    let command = match options::parse(std::env::args_os().skip(1), std::env::var("POD_NAMESPACE").ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gitseal-controller: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => print!("{}", options::USAGE),
        Command::Version => println!("gitseal-controller {}", env!("CARGO_PKG_VERSION")),
        Command::Crd => print!("{}", crd::crd_yaml()),
        Command::Run(opts) => {
            if let Err(e) = run_controller(opts) {
                tracing::error!(error = format!("{e:#}"), "controller stopped");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn run_controller(opts: options::RunOptions) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false).flatten_event(true).with_target(true).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(run::run(opts, run::shutdown_signal()))?;
    Ok(())
}
