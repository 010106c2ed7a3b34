//! `gitseal-test-apiserver --listen 127.0.0.1:PORT --kubeconfig FILE`: runs the test API
//! server until SIGTERM or SIGINT. Port 0 picks a free port; the URL is printed once the
//! server accepts connections and the kubeconfig is written.

use gitseal_test_apiserver::TestApiServer;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: gitseal-test-apiserver --listen 127.0.0.1:PORT --kubeconfig FILE";

fn main() -> ExitCode {
    let mut listen: Option<String> = None;
    let mut kubeconfig: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "--listen" => listen = value(),
            "--kubeconfig" => kubeconfig = value().map(PathBuf::from),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("gitseal-test-apiserver: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(listen), Some(kubeconfig)) = (listen, kubeconfig) else {
        eprintln!("gitseal-test-apiserver: --listen and --kubeconfig are required\n{USAGE}");
        return ExitCode::from(2);
    };
    let addr: SocketAddr = match listen.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gitseal-test-apiserver: --listen {listen:?}: {e}");
            return ExitCode::from(2);
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = tx.send(());
    }) {
        eprintln!("gitseal-test-apiserver: cannot handle signals: {e}");
        return ExitCode::FAILURE;
    }
    let server = match TestApiServer::start(addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gitseal-test-apiserver: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = server.write_kubeconfig(&kubeconfig) {
        eprintln!("gitseal-test-apiserver: cannot write {}: {e}", kubeconfig.display());
        return ExitCode::FAILURE;
    }
    println!("{}", server.url());
    let _ = rx.recv();
    drop(server);
    ExitCode::SUCCESS
}
