use clap::Args;

#[derive(Args, Debug)]
pub struct RotateArgs {
    files: Vec<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct UpdatekeysArgs {
    files: Vec<std::path::PathBuf>,
}

pub fn run_rotate(_args: RotateArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}

pub fn run_updatekeys(_args: UpdatekeysArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}
