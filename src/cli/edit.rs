use clap::Args;

#[derive(Args, Debug)]
pub struct EditArgs {
    file: std::path::PathBuf,
}

pub fn run(_args: EditArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}
