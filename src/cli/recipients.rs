//! Which recipients and rules apply to a file: flags first, then `.sops.yaml`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gitseal_core::config::Config;
use gitseal_core::keys::{AgeRecipient, RecipientGroup, Recipients, TransitKey, TransitRecipient};
use gitseal_core::sops::select::Selection;
use gitseal_core::Error;

/// Settings for one file.
pub struct FilePlan {
    pub recipients: Recipients,
    pub selection: Option<Selection>,
    pub mac_only_encrypted: bool,
}

/// Loads the config named by `--config`, `SOPS_CONFIG`, or found from the current directory.
pub fn load_config(explicit: Option<&Path>) -> anyhow::Result<Option<Config>> {
    let path: Option<PathBuf> = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => match std::env::var_os("SOPS_CONFIG").filter(|v| !v.is_empty()) {
            Some(p) => Some(PathBuf::from(p)),
            None => crate::config_file::find(&std::env::current_dir().context("cannot read the current directory")?),
        },
    };
    match path {
        Some(p) => {
            let cfg = crate::config_file::load(&p)?;
            for w in &cfg.warnings {
                eprintln!("gitseal: {w}");
            }
            Ok(Some(cfg))
        }
        None => Ok(None),
    }
}

pub fn parse_age_list(list: &[String]) -> anyhow::Result<Vec<AgeRecipient>> {
    let mut out = Vec::new();
    for item in list {
        for r in item.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.push(AgeRecipient::parse(r).map_err(|e| Error::Usage(e.to_string()))?);
        }
    }
    Ok(out)
}

/// Transit keys from `hc_vault_transit_uri` values (comma-separated, as sops reads them),
/// bound to the process's Vault connection.
pub fn parse_transit_list(list: &[String]) -> anyhow::Result<Vec<TransitRecipient>> {
    let backend = crate::vault_backend::shared();
    let mut out = Vec::new();
    for item in list {
        for uri in item.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let key = TransitKey::parse(uri).map_err(|e| Error::Usage(e.to_string()))?;
            out.push(TransitRecipient::new(key, backend.clone()));
        }
    }
    Ok(out)
}

/// Recipients given on the command line (`--age`, `--hc-vault-transit`).
#[derive(Debug, Default)]
pub struct FlagRecipients {
    pub age: Vec<AgeRecipient>,
    pub hc_vault: Vec<TransitRecipient>,
}

impl FlagRecipients {
    pub fn parse(age: &[String], hc_vault: &[String]) -> anyhow::Result<Self> {
        Ok(FlagRecipients { age: parse_age_list(age)?, hc_vault: parse_transit_list(hc_vault)? })
    }
}

/// The plan for `file`: explicit flags win over the matching creation rule.
pub fn plan_for(
    file: &Path,
    flags: &FlagRecipients,
    flag_selection: Option<&Selection>,
    flag_mac_only: bool,
    cfg: Option<&Config>,
) -> anyhow::Result<FilePlan> {
    let rule = cfg.and_then(|c| c.rule_for(file));
    let mut recipients = Recipients { age: flags.age.clone(), hc_vault: flags.hc_vault.clone(), ..Recipients::default() };
    if recipients.is_empty() {
        if let Some(r) = rule {
            recipients = rule_recipients(r)?;
        }
    }
    Ok(FilePlan {
        recipients,
        selection: flag_selection.cloned().or_else(|| rule.and_then(|r| r.selection.clone())),
        mac_only_encrypted: flag_mac_only || rule.is_some_and(|r| r.mac_only_encrypted),
    })
}

/// The recipients a creation rule names: its `age` and `hc_vault_transit_uri` lists, or
/// its `key_groups` (with `shamir_threshold`), as sops reads them.
pub fn rule_recipients(r: &gitseal_core::config::CreationRule) -> anyhow::Result<Recipients> {
    let age = |list: &[String]| -> anyhow::Result<Vec<AgeRecipient>> { Ok(list.iter().map(|a| AgeRecipient::parse(a)).collect::<Result<_, _>>()?) };
    let mut out = Recipients { age: age(&r.age)?, hc_vault: parse_transit_list(&r.hc_vault_transit_uri)?, ..Recipients::default() };
    match r.key_groups.len() {
        0 => {}
        1 => {
            out.age.extend(age(&r.key_groups[0].age)?);
            out.hc_vault.extend(parse_transit_list(&r.key_groups[0].hc_vault)?);
        }
        _ => {
            for g in &r.key_groups {
                out.key_groups.push(RecipientGroup { age: age(&g.age)?, hc_vault: parse_transit_list(&g.hc_vault)? });
            }
            out.shamir_threshold = r.shamir_threshold;
        }
    }
    Ok(out)
}
