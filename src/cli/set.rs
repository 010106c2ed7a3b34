use clap::Args;

#[derive(Args, Debug)]
pub struct SetArgs {
    file: std::path::PathBuf,
}

#[derive(Args, Debug)]
pub struct UnsetArgs {
    file: std::path::PathBuf,
}

pub fn run_set(_args: SetArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}

pub fn run_unset(_args: UnsetArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}
