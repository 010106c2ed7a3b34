use clap::Args;

#[derive(Args, Debug)]
pub struct CheckArgs {
    paths: Vec<std::path::PathBuf>,
}

pub fn run(_args: CheckArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}
