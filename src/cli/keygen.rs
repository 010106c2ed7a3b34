use std::path::PathBuf;

use clap::Args;
use gitseal_core::keys::age::{generate_hybrid_identity, generate_identity};
use gitseal_core::sops::metadata::now_rfc3339;

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Write the identity to FILE (created with mode 0600; never overwritten) and print
    /// only the recipient on stdout. Without it, the identity goes to stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// A post-quantum hybrid identity (ML-KEM-768 + X25519, `AGE-SECRET-KEY-PQ-1...`,
    /// recipient `age1pq1...`), as `age-keygen -pq` makes.
    #[arg(long = "pq")]
    pq: bool,
}

pub fn run(args: KeygenArgs) -> anyhow::Result<i32> {
    let (secret, recipient) = if args.pq { generate_hybrid_identity() } else { generate_identity() };
    let text = zeroize::Zeroizing::new(format!("# created: {}\n# public key: {recipient}\n{}\n", now_rfc3339(), &*secret));
    match args.output {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            crate::fsio::write_new_private(&path, text.as_bytes())?;
            eprintln!("Public key: {recipient}");
            println!("{recipient}");
        }
        None => {
            eprintln!("Public key: {recipient}");
            print!("{}", &*text);
        }
    }
    Ok(0)
}
