use clap::Args;

#[derive(Args, Debug)]
pub struct InstallHooksArgs {}

#[derive(Args, Debug)]
pub struct TextconvArgs {
    file: std::path::PathBuf,
}

pub fn run_install(_args: InstallHooksArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}

pub fn run_textconv(_args: TextconvArgs) -> anyhow::Result<i32> {
    Err(gitseal::Error::Usage("this command is being built".into()).into())
}
