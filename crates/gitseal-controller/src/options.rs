//! The command line: `gitseal-controller [run] [flags]`, `gitseal-controller crd`, `--help`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::time::Duration;

/// The default name of the Secret holding the age identities.
pub const DEFAULT_KEYS_SECRET: &str = "gitseal-keys";
/// The controller's namespace when neither the flag nor `POD_NAMESPACE` gives one.
pub const DEFAULT_CONTROLLER_NAMESPACE: &str = "gitseal-system";
/// Where `/healthz` and `/readyz` are served by default.
pub const DEFAULT_PROBE_ADDR: &str = "0.0.0.0:8081";
/// Where `/metrics` (with `/healthz` and `/readyz`) is served by default: the port deploy/service.yaml names.
pub const DEFAULT_METRICS_ADDR: &str = "0.0.0.0:8080";

/// The usage text of `--help`.
pub const USAGE: &str = "\
gitseal-controller: turns EncryptedSecret objects into Kubernetes Secrets, verifying them first

Usage:
  gitseal-controller [run] [OPTIONS]   run the controller (the default)
  gitseal-controller crd               print the EncryptedSecret CustomResourceDefinition (YAML)
  gitseal-controller recipients        print the public age recipients of the keys Secret, one a line
                                       (takes --keys-secret and --controller-namespace)
  gitseal-controller --help            print this help
  gitseal-controller --version         print the version

Options of run:
  --namespace NS              watch EncryptedSecrets in NS only (repeatable; default: all namespaces)
  --selector LABELSELECTOR    only EncryptedSecrets matching this label selector (e.g. shard=a)
  --keys-secret NAME          the Secret with the age identities (*.agekey entries) [default: gitseal-keys]
  --controller-namespace NS   where the keys Secret lives [default: $POD_NAMESPACE, else gitseal-system]
  --probe-addr ADDR           serve /healthz and /readyz on ADDR [default: 0.0.0.0:8081]
  --metrics-addr ADDR         serve /metrics (Prometheus), /healthz and /readyz on ADDR [default: 0.0.0.0:8080]
  --leader-elect              reconcile only while holding the Lease gitseal-controller in the
                              controller namespace (for more than one replica)
  --generate-key              create an age identity in the keys Secret when it has none (never
                              replaces one); needs the right to create Secrets there
  --lease-name NAME           the Lease's name, one per set of replicas [default: gitseal-controller]
  --lease-duration SECONDS    how long a Lease not renewed stays held, e.g. 15s [default: 15s]

Vault (Transit-wrapped data keys, <path:...> references to Vault KV); each flag overrides the
environment variable named, which overrides the --vault-config ConfigMap's key of that name:
  --vault-addr URL            the Vault server (VAULT_ADDR); hc_vault keys naming another are refused
  --vault-namespace NS        Vault Enterprise / OpenBao namespace (VAULT_NAMESPACE)
  --vault-cacert FILE         PEM CA certificates to trust instead of the system's (VAULT_CACERT)
  --vault-k8s-role ROLE       log in with the pod's service account token (VAULT_K8S_ROLE)
  --vault-k8s-mount MOUNT     where the Kubernetes auth method is mounted (VAULT_K8S_MOUNT) [default: kubernetes]
  --vault-approle-mount MOUNT where AppRole is mounted (VAULT_APPROLE_MOUNT); the role and secret
                              ids come from VAULT_ROLE_ID and VAULT_SECRET_ID [default: approle]
  --vault-kv-prefix PREFIX    a KV path prefix references may read, {namespace} standing for the
                              object's namespace, e.g. secret/data/{namespace}/ (repeatable;
                              GITSEAL_VAULT_KV_PREFIXES, comma-separated); none: references refused
  --vault-config NAME         a ConfigMap in the controller namespace with any of these settings
                              under their variable names (never VAULT_TOKEN or VAULT_SECRET_ID)
  --min-refresh-interval DUR  the shortest spec.refreshInterval honoured, e.g. 30s [default: 10s]

The API server is found as kubectl finds it: in a pod from its service account, elsewhere
from $KUBECONFIG or ~/.kube/config. Logs are JSON lines on standard output; RUST_LOG sets
their level (default: info).
";

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the controller.
    Run(RunOptions),
    /// Print the CRD.
    Crd,
    /// Print the recipients of the keys Secret (`keys_secret` in `controller_namespace`).
    Recipients(RunOptions),
    /// Print the usage.
    Help,
    /// Print the version.
    Version,
}

/// The options of `run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// The namespaces to watch; empty for all.
    pub namespaces: Vec<String>,
    /// A label selector for EncryptedSecrets.
    pub selector: Option<String>,
    /// The keys Secret's name.
    pub keys_secret: String,
    /// The keys Secret's namespace.
    pub controller_namespace: String,
    /// The probe server's address.
    pub probe_addr: SocketAddr,
    /// The metrics server's address.
    pub metrics_addr: SocketAddr,
    /// Whether to reconcile only while holding the Lease.
    pub leader_elect: bool,
    /// The Lease's name.
    pub lease_name: String,
    /// Whether to create an identity in the keys Secret when it has none.
    pub generate_key: bool,
    /// How long a Lease not renewed stays held.
    pub lease_duration: Duration,
    /// Vault settings given as flags, by the variable they override (`VAULT_ADDR`, ...).
    pub vault_flags: BTreeMap<String, String>,
    /// The ConfigMap (in the controller namespace) with Vault settings.
    pub vault_config: Option<String>,
    /// The shortest `spec.refreshInterval` honoured.
    pub min_refresh_interval: Duration,
}

/// A command line that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}\n(see gitseal-controller --help)")]
pub struct UsageError(String);

impl From<lexopt::Error> for UsageError {
    fn from(e: lexopt::Error) -> Self {
        UsageError(e.to_string())
    }
}

/// Parses the arguments (without the program name). `pod_namespace` is `$POD_NAMESPACE`.
pub fn parse(args: impl IntoIterator<Item = OsString>, pod_namespace: Option<String>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut command: Option<String> = None;
    let mut namespaces = Vec::new();
    let mut selector = None;
    let mut keys_secret = DEFAULT_KEYS_SECRET.to_owned();
    let mut controller_namespace = pod_namespace.filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_CONTROLLER_NAMESPACE.to_owned());
    let mut probe_addr: SocketAddr = DEFAULT_PROBE_ADDR.parse().map_err(|_| UsageError("bad default probe address".into()))?;
    let mut metrics_addr: SocketAddr = DEFAULT_METRICS_ADDR.parse().map_err(|_| UsageError("bad default metrics address".into()))?;
    let mut leader_elect = false;
    let mut lease_duration = crate::leader::DEFAULT_LEASE_DURATION;
    let mut lease_name = crate::leader::LEASE_NAME.to_owned();
    let mut generate_key = false;
    let mut vault_flags = BTreeMap::new();
    let mut kv_prefixes: Vec<String> = Vec::new();
    let mut vault_config = None;
    let mut min_refresh_interval = crate::refresh::DEFAULT_MIN_REFRESH_INTERVAL;
    let mut run_flag_seen = false;
    // Flags other than the keys Secret's name and namespace (which `recipients` takes too).
    let mut controller_flag_seen = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Long("namespace") | Short('n') => {
                let ns = non_empty("--namespace", parser.value()?.string()?)?;
                if !namespaces.contains(&ns) {
                    namespaces.push(ns);
                }
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("selector") | Short('l') => {
                selector = Some(non_empty("--selector", parser.value()?.string()?)?);
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("keys-secret") => {
                keys_secret = non_empty("--keys-secret", parser.value()?.string()?)?;
                run_flag_seen = true;
            }
            Long("controller-namespace") => {
                controller_namespace = non_empty("--controller-namespace", parser.value()?.string()?)?;
                run_flag_seen = true;
            }
            Long("probe-addr") => {
                let text = parser.value()?.string()?;
                probe_addr = text.parse().map_err(|_| UsageError(format!("--probe-addr {text:?}: expected HOST:PORT, e.g. 0.0.0.0:8081")))?;
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("metrics-addr") => {
                let text = parser.value()?.string()?;
                metrics_addr = text.parse().map_err(|_| UsageError(format!("--metrics-addr {text:?}: expected HOST:PORT, e.g. 0.0.0.0:8080")))?;
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("generate-key") => {
                generate_key = true;
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("leader-elect") => {
                leader_elect = true;
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("lease-name") => {
                lease_name = non_empty("--lease-name", parser.value()?.string()?)?;
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("lease-duration") => {
                let text = parser.value()?.string()?;
                lease_duration =
                    parse_seconds(&text).ok_or_else(|| UsageError(format!("--lease-duration {text:?}: expected whole seconds from 2 to 3600, e.g. 15s")))?;
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long(flag @ ("vault-addr" | "vault-namespace" | "vault-cacert" | "vault-k8s-role" | "vault-k8s-mount" | "vault-approle-mount")) => {
                let var = match flag {
                    "vault-addr" => "VAULT_ADDR",
                    "vault-namespace" => "VAULT_NAMESPACE",
                    "vault-cacert" => "VAULT_CACERT",
                    "vault-k8s-role" => "VAULT_K8S_ROLE",
                    "vault-k8s-mount" => "VAULT_K8S_MOUNT",
                    _ => "VAULT_APPROLE_MOUNT",
                };
                let flag = format!("--{flag}");
                vault_flags.insert(var.to_owned(), non_empty(&flag, parser.value()?.string()?)?);
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("vault-kv-prefix") => {
                let prefix = non_empty("--vault-kv-prefix", parser.value()?.string()?)?;
                if prefix.contains(',') {
                    return Err(UsageError(format!("--vault-kv-prefix {prefix:?}: one prefix per flag (no commas)")));
                }
                kv_prefixes.push(prefix);
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("vault-config") => {
                vault_config = Some(non_empty("--vault-config", parser.value()?.string()?)?);
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Long("min-refresh-interval") => {
                let text = parser.value()?.string()?;
                min_refresh_interval = gitseal_core::duration::parse_go_duration(&text)
                    .filter(|d| *d >= Duration::from_secs(1))
                    .ok_or_else(|| UsageError(format!("--min-refresh-interval {text:?}: expected a duration of at least 1s, e.g. 30s or 5m")))?;
                run_flag_seen = true;
                controller_flag_seen = true;
            }
            Value(v) if command.is_none() => command = Some(v.string()?),
            Value(v) => return Err(UsageError(format!("unexpected argument {:?}", v.to_string_lossy()))),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let mut options = RunOptions {
        namespaces,
        selector,
        keys_secret,
        controller_namespace,
        probe_addr,
        metrics_addr,
        leader_elect,
        lease_name,
        lease_duration,
        generate_key,
        vault_flags,
        vault_config,
        min_refresh_interval,
    };
    if !kv_prefixes.is_empty() {
        options.vault_flags.insert(crate::vault::KV_PREFIXES_VAR.to_owned(), kv_prefixes.join(","));
    }
    match command.as_deref() {
        None | Some("run") => Ok(Command::Run(options)),
        Some("recipients") if !controller_flag_seen => Ok(Command::Recipients(options)),
        Some("recipients") => Err(UsageError("recipients takes only --keys-secret and --controller-namespace".into())),
        Some("crd") if !run_flag_seen => Ok(Command::Crd),
        Some("crd") => Err(UsageError("crd takes no options".into())),
        Some(other) => Err(UsageError(format!("unknown command {other:?}: expected run, crd or recipients"))),
    }
}

/// Whole seconds, with or without an `s`: `15s`, `15`.
fn parse_seconds(text: &str) -> Option<Duration> {
    let seconds: u64 = text.strip_suffix('s').unwrap_or(text).parse().ok()?;
    (2..=3600).contains(&seconds).then(|| Duration::from_secs(seconds))
}

fn non_empty(flag: &str, value: String) -> Result<String, UsageError> {
    if value.trim().is_empty() {
        Err(UsageError(format!("{flag} needs a non-empty value")))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str], pod_ns: Option<&str>) -> Result<Command, UsageError> {
        parse(args.iter().map(OsString::from), pod_ns.map(str::to_owned))
    }

    fn run(args: &[&str], pod_ns: Option<&str>) -> RunOptions {
        match parse_args(args, pod_ns).unwrap() {
            Command::Run(o) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn run_is_the_default_with_all_namespaces_and_the_default_keys_secret() {
        let o = run(&[], None);
        assert_eq!(o, run(&["run"], None));
        assert!(o.namespaces.is_empty());
        assert_eq!(o.selector, None);
        assert_eq!(o.keys_secret, "gitseal-keys");
        assert_eq!(o.controller_namespace, "gitseal-system");
        assert_eq!(o.probe_addr.to_string(), "0.0.0.0:8081");
        assert_eq!(o.metrics_addr.to_string(), "0.0.0.0:8080");
        assert!(!o.leader_elect);
        assert_eq!(o.lease_duration, Duration::from_secs(15));
    }

    #[test]
    fn leader_election_takes_a_lease_duration_in_seconds() {
        let o = run(&["--leader-elect", "--lease-duration", "4s", "--lease-name", "gitseal-shard-a"], None);
        assert!(o.leader_elect);
        assert_eq!(o.lease_name, "gitseal-shard-a");
        assert_eq!(run(&[], None).lease_name, "gitseal-controller");
        assert_eq!(o.lease_duration, Duration::from_secs(4));
        assert_eq!(run(&["--lease-duration=30"], None).lease_duration, Duration::from_secs(30));
    }

    #[test]
    fn the_controller_namespace_comes_from_the_flag_then_pod_namespace() {
        assert_eq!(run(&[], Some("platform")).controller_namespace, "platform");
        assert_eq!(run(&["--controller-namespace", "ops"], Some("platform")).controller_namespace, "ops");
        assert_eq!(run(&[], Some("")).controller_namespace, "gitseal-system");
    }

    #[test]
    fn namespaces_repeat_and_flags_take_values() {
        let o = run(
            &[
                "run",
                "--namespace",
                "a",
                "--namespace=b",
                "--namespace",
                "a",
                "--selector",
                "shard=1",
                "--keys-secret",
                "k",
                "--probe-addr",
                "127.0.0.1:9",
                "--metrics-addr",
                "127.0.0.1:10",
            ],
            None,
        );
        assert_eq!(o.namespaces, ["a", "b"]);
        assert_eq!(o.selector.as_deref(), Some("shard=1"));
        assert_eq!(o.keys_secret, "k");
        assert_eq!(o.probe_addr.to_string(), "127.0.0.1:9");
        assert_eq!(o.metrics_addr.to_string(), "127.0.0.1:10");
    }

    #[test]
    fn recipients_takes_the_keys_secret_flags_only() {
        match parse_args(&["recipients", "--keys-secret", "k", "--controller-namespace", "ops"], None).unwrap() {
            Command::Recipients(o) => assert_eq!((o.keys_secret.as_str(), o.controller_namespace.as_str()), ("k", "ops")),
            other => panic!("{other:?}"),
        }
        let err = parse_args(&["recipients", "--namespace", "apps"], None).unwrap_err().to_string();
        assert!(err.contains("recipients takes only"), "{err}");
        assert!(run(&["--generate-key"], None).generate_key);
        assert!(!run(&[], None).generate_key);
    }

    #[test]
    fn vault_flags_name_the_variables_they_override() {
        let o = run(
            &[
                "--vault-addr",
                "https://vault:8200",
                "--vault-k8s-role",
                "gitseal",
                "--vault-kv-prefix",
                "secret/data/{namespace}/",
                "--vault-kv-prefix=kv/shared",
                "--vault-config",
                "gitseal-vault",
                "--min-refresh-interval",
                "1m",
            ],
            None,
        );
        assert_eq!(o.vault_flags.get("VAULT_ADDR").map(String::as_str), Some("https://vault:8200"));
        assert_eq!(o.vault_flags.get("VAULT_K8S_ROLE").map(String::as_str), Some("gitseal"));
        assert_eq!(o.vault_flags.get(crate::vault::KV_PREFIXES_VAR).map(String::as_str), Some("secret/data/{namespace}/,kv/shared"));
        assert_eq!(o.vault_config.as_deref(), Some("gitseal-vault"));
        assert_eq!(o.min_refresh_interval, Duration::from_secs(60));
        assert!(run(&[], None).vault_flags.is_empty());
        assert_eq!(run(&[], None).min_refresh_interval, Duration::from_secs(10));
        for (args, expected) in [
            (&["--vault-kv-prefix", "a/b,c/d"][..], "one prefix per flag"),
            (&["--min-refresh-interval", "500ms"][..], "at least 1s"),
            (&["--vault-addr", ""][..], "non-empty"),
        ] {
            let err = parse_args(args, None).unwrap_err().to_string();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }

    #[test]
    fn crd_help_and_version_are_commands() {
        assert_eq!(parse_args(&["crd"], None).unwrap(), Command::Crd);
        assert_eq!(parse_args(&["--help"], None).unwrap(), Command::Help);
        assert_eq!(parse_args(&["run", "-h"], None).unwrap(), Command::Help);
        assert_eq!(parse_args(&["--version"], None).unwrap(), Command::Version);
    }

    #[test]
    fn bad_command_lines_are_refused_with_a_message() {
        for (args, expected) in [
            (&["deploy"][..], "unknown command"),
            (&["--namespace"][..], "--namespace"),
            (&["--namespace", ""][..], "non-empty"),
            (&["--probe-addr", "8081"][..], "HOST:PORT"),
            (&["--metrics-addr", "localhost"][..], "HOST:PORT"),
            (&["--lease-duration", "1s"][..], "whole seconds"),
            (&["--lease-duration", "1.5s"][..], "whole seconds"),
            (&["--bogus"][..], "--bogus"),
            (&["crd", "--namespace", "x"][..], "crd takes no options"),
            (&["run", "extra"][..], "unexpected argument"),
        ] {
            let err = parse_args(args, None).unwrap_err().to_string();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }
}
