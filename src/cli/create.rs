use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum CreateCommand {
    /// A generic (Opaque) Secret.
    Generic(GenericArgs),
}

#[derive(Args, Debug)]
pub struct GenericArgs {
    name: String,
}

pub fn run(_cmd: CreateCommand) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}
