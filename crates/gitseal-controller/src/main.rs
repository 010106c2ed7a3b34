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
        Command::Recipients(opts) => {
            if let Err(e) = print_recipients(&opts) {
                eprintln!("gitseal-controller: {e:#}");
                return ExitCode::FAILURE;
            }
        }
        Command::Run(opts) => {
            if let Err(e) = run_controller(opts) {
                tracing::error!(error = format!("{e:#}"), "controller stopped");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// Prints the public recipients of the keys Secret, read through the API, one a line.
fn print_recipients(opts: &options::RunOptions) -> anyhow::Result<()> {
    let label = format!("{}/{}", opts.controller_namespace, opts.keys_secret);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let recipients = runtime.block_on(async {
        let client = kube::Client::try_default().await.context("cannot configure the Kubernetes client")?;
        let api: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::namespaced(client, &opts.controller_namespace);
        gitseal_controller::cluster_keys::read_recipients(&api, &opts.keys_secret, &label).await.with_context(|| format!("cannot read the keys Secret {label}"))
    })?;
    let recipients = recipients.ok_or_else(|| anyhow::anyhow!("the keys Secret {label} does not exist"))?;
    anyhow::ensure!(!recipients.is_empty(), "the keys Secret {label} holds no age identity in a *.agekey entry");
    print!("{}", gitseal_controller::cluster_keys::recipients_text(&recipients));
    Ok(())
}

fn run_controller(opts: options::RunOptions) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false).flatten_event(true).with_target(true).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(run::run(opts, run::shutdown_signal()))?;
    Ok(())
}
