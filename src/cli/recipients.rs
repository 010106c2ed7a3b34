//! Which recipients and rules apply to a file: flags first, then `.sops.yaml`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gitseal::config::{self, Config};
use gitseal::keys::{AgeRecipient, Recipients};
use gitseal::sops::select::Selection;
use gitseal::Error;

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
            None => config::find(&std::env::current_dir().context("cannot read the current directory")?),
        },
    };
    match path {
        Some(p) => Ok(Some(config::load(&p)?)),
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

/// The plan for `file`: explicit flags win over the matching creation rule.
pub fn plan_for(
    file: &Path,
    flag_age: &[AgeRecipient],
    flag_selection: Option<&Selection>,
    flag_mac_only: bool,
    cfg: Option<&Config>,
) -> anyhow::Result<FilePlan> {
    let rule = cfg.and_then(|c| c.rule_for(file));
    let mut recipients = Recipients { age: flag_age.to_vec() };
    if recipients.is_empty() {
        if let Some(r) = rule {
            let mut ages = r.age.clone();
            match r.key_groups.len() {
                0 => {}
                1 => ages.extend(r.key_groups[0].age.iter().cloned()),
                _ => {
                    return Err(Error::Config {
                        file: cfg.map(|c| c.path.display().to_string()).unwrap_or_default(),
                        msg: format!("creation_rules[{}].key_groups: several key groups (Shamir) are not supported by encrypt yet", r.index),
                    }
                    .into())
                }
            }
            for a in &ages {
                recipients.age.push(AgeRecipient::parse(a)?);
            }
        }
    }
    Ok(FilePlan {
        recipients,
        selection: flag_selection.cloned().or_else(|| rule.and_then(|r| r.selection.clone())),
        mac_only_encrypted: flag_mac_only || rule.is_some_and(|r| r.mac_only_encrypted),
    })
}
