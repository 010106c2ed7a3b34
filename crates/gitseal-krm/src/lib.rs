//! gitseal-krm: a kustomize generator for sops-encrypted manifests.
//!
//! kustomize parses and reorders every resource it loads, after which a sops MAC can no
//! longer be checked (`kustomize build | gitseal render -` fails for that reason). This
//! generator reads the files its `SecretGenerator` config lists as they are in Git,
//! verifies each MAC and decrypts with [`gitseal_core`], resolves `<path:...>` Vault KV
//! references as `gitseal render` does, and hands the resulting resources to kustomize.
//!
//! It runs two ways (docs/krm.md):
//! - as an exec KRM function (kustomize `--enable-alpha-plugins --enable-exec`): a
//!   `ResourceList` on stdin, the same list with the generated resources appended on
//!   stdout, failures as `results` entries ([`run_function`]);
//! - as a legacy exec plugin (`kubectl kustomize --enable-alpha-plugins`, which cannot
//!   run exec functions): the config file's path as the only argument, the resources as a
//!   YAML stream on stdout ([`run_plugin`]).
//!
//! Nothing is written but stdout; decrypted text lives in zeroizing buffers.

#![forbid(unsafe_code)]

pub mod error;
pub mod generate;
pub mod generator;
pub mod resource_list;
pub mod yaml_writer;

use std::path::Path;

use gitseal_core::document::yaml::value::{parse_documents, YamlNode};
use gitseal_core::keys::Identities;
use gitseal_core::render::CachedKv;
use gitseal_core::KvSource;
use zeroize::Zeroizing;

pub use error::KrmError;
use generator::SecretGenerator;
use resource_list::{write_resource_list, write_stream, KrmResult, ResourceList};

/// What a run prints and whether it failed.
pub struct Outcome {
    /// Standard output: the `ResourceList` or the YAML stream. May hold decrypted values.
    pub stdout: Zeroizing<String>,
    /// The failure, when there was one (already reported in `stdout` as a result in
    /// function mode); the process then exits non-zero.
    pub error: Option<KrmError>,
}

/// Where the generator gets its keys and Vault values.
pub struct Sources<'a> {
    /// Called once, after the config has been read (a bad config fails before any key
    /// command runs).
    pub identities: &'a dyn Fn() -> Result<Identities, KrmError>,
    /// Vault KV, for `<path:...>` references.
    pub kv: &'a dyn KvSource,
}

/// Function mode: `input` is the `ResourceList` from stdin, `root` the kustomization
/// directory (the working directory kustomize gives exec functions).
pub fn run_function(input: &str, root: &Path, sources: &Sources<'_>) -> Outcome {
    let list = match ResourceList::parse(input, "<stdin>") {
        Ok(list) => list,
        Err(e) => return failed(&[], e),
    };
    let generated = match list.function_config.as_ref() {
        Some(config) => SecretGenerator::from_node(config, "functionConfig").and_then(|g| generate_all(&g, root, sources)),
        None => Err(KrmError::Input { file: "<stdin>".into(), line: 1, msg: "the ResourceList has no functionConfig (the SecretGenerator)".into() }),
    };
    let input_items: Vec<&YamlNode> = list.items.iter().collect();
    match generated {
        Ok(resources) => {
            let items: Vec<&YamlNode> = input_items.into_iter().chain(resources.iter()).collect();
            Outcome { stdout: write_resource_list(&items, &[]), error: None }
        }
        Err(e) => failed(&input_items, e),
    }
}

/// Legacy exec plugin mode: `config_text` is the content of the config file kustomize
/// wrote (named `config_name` in messages), `root` the kustomization directory.
pub fn run_plugin(config_text: &str, config_name: &str, root: &Path, sources: &Sources<'_>) -> Outcome {
    let generated = parse_documents(config_text)
        .map_err(|e| KrmError::Input { file: config_name.to_owned(), line: e.line, msg: format!("not YAML: {}", e.msg) })
        .and_then(|docs| {
            let config = docs.into_iter().find(|d| !d.is_null());
            let config = config.ok_or_else(|| KrmError::Input { file: config_name.to_owned(), line: 1, msg: "the generator config is empty".into() })?;
            let generator = SecretGenerator::from_node(&config, config_name)?;
            generate_all(&generator, root, sources)
        });
    match generated {
        Ok(resources) => Outcome { stdout: write_stream(&resources), error: None },
        Err(e) => Outcome { stdout: Zeroizing::default(), error: Some(e) },
    }
}

fn generate_all(generator: &SecretGenerator, root: &Path, sources: &Sources<'_>) -> Result<Vec<YamlNode>, KrmError> {
    let identities = (sources.identities)()?;
    let mut kv = CachedKv::new(sources.kv);
    generate::generate(generator, root, &identities, &mut kv)
}

/// The output of a failed function run: the input items unchanged and one error result.
fn failed(items: &[&YamlNode], error: KrmError) -> Outcome {
    let result = KrmResult { message: error.to_string(), severity: "error", file: error.file().map(str::to_owned) };
    Outcome { stdout: write_resource_list(items, &[result]), error: Some(error) }
}
