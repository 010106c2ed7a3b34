use clap::Args;

#[derive(Args, Debug)]
pub struct StatusArgs {
    files: Vec<std::path::PathBuf>,
}

pub fn run(_args: StatusArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}
