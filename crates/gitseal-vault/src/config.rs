//! Client configuration read from the environment, with the variable names and value
//! syntax of the Vault CLI.
//!
//! Authentication is chosen in this order (the first that applies wins):
//! 1. `VAULT_TOKEN` (non-empty): that token.
//! 2. `VAULT_ROLE_ID` and `VAULT_SECRET_ID`: AppRole login at `auth/$VAULT_APPROLE_MOUNT`
//!    (default `approle`). Only one of the two set is an error.
//! 3. `VAULT_K8S_ROLE`: Kubernetes login at `auth/$VAULT_K8S_MOUNT` (default `kubernetes`)
//!    with the service account token read from `VAULT_K8S_TOKEN_PATH` (default
//!    `/var/run/secrets/kubernetes.io/serviceaccount/token`).
//! 4. `~/.vault-token` (what `vault login` writes), trimmed, if it exists and is not empty.
//! 5. No authentication (requests go out without `X-Vault-Token`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::error::VaultError;

/// Default of `VAULT_CLIENT_TIMEOUT`, as in the Vault CLI.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of `VAULT_MAX_RETRIES`, as in the Vault CLI.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Default AppRole mount.
pub const DEFAULT_APPROLE_MOUNT: &str = "approle";
/// Default Kubernetes auth mount.
pub const DEFAULT_K8S_MOUNT: &str = "kubernetes";
/// Where Kubernetes mounts a pod's service account token.
pub const DEFAULT_K8S_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// How to reach and authenticate to Vault. `Debug` never prints secrets.
#[derive(Clone, Debug)]
pub struct VaultConfig {
    /// `VAULT_ADDR`.
    pub addr: Option<String>,
    /// `VAULT_NAMESPACE`, sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// `VAULT_CACERT`: PEM file of CA certificates to trust (instead of the system roots).
    pub ca_cert: Option<PathBuf>,
    /// `VAULT_CAPATH`: directory of PEM files of CA certificates to trust.
    pub ca_path: Option<PathBuf>,
    /// `VAULT_SKIP_VERIFY`: accept any TLS certificate (a warning goes to stderr once).
    pub skip_verify: bool,
    /// `VAULT_CLIENT_CERT` and `VAULT_CLIENT_KEY`: the PEM certificate (chain) and private
    /// key this client presents to a server that asks for one (TLS client authentication,
    /// Vault's `cert` auth method or a listener with `tls_require_and_verify_client_cert`).
    /// Both or neither, as in the Vault CLI.
    pub client_cert: Option<ClientCertFiles>,
    /// `VAULT_TLS_SERVER_NAME`: not supported (the certificate is checked against the host
    /// of the address); kept so that the client can say so rather than ignore it.
    pub tls_server_name: Option<String>,
    /// How the client gets its token.
    pub auth: VaultAuth,
    /// `VAULT_CLIENT_TIMEOUT`: limit of one HTTP request, retries not included.
    pub timeout: Duration,
    /// `VAULT_MAX_RETRIES`: retries after the first attempt on 5xx, 429, 412 and
    /// connection failures.
    pub max_retries: u32,
}

/// The files of a TLS client certificate (`VAULT_CLIENT_CERT`, `VAULT_CLIENT_KEY`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertFiles {
    /// PEM certificate, optionally followed by its intermediate certificates.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PathBuf,
}

/// How the client gets its token.
#[derive(Clone)]
pub enum VaultAuth {
    /// A token given directly (`VAULT_TOKEN` or `~/.vault-token`).
    Token(SecretString),
    /// AppRole login (`POST /v1/auth/{mount}/login`).
    AppRole {
        /// Where the AppRole method is mounted (`approle`).
        mount: String,
        /// The role's id (not secret).
        role_id: String,
        /// The role's secret id.
        secret_id: SecretString,
    },
    /// Kubernetes login (`POST /v1/auth/{mount}/login`) with the JWT read from `jwt_path`
    /// at login time (kubelet rotates it).
    Kubernetes {
        /// Where the Kubernetes method is mounted (`kubernetes`).
        mount: String,
        /// The Vault role bound to the service account.
        role: String,
        /// The service account token file.
        jwt_path: PathBuf,
    },
    /// No token.
    None,
}

impl fmt::Debug for VaultAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultAuth::Token(_) => f.write_str("Token([REDACTED])"),
            VaultAuth::AppRole { mount, role_id: _, secret_id: _ } => {
                f.debug_struct("AppRole").field("mount", mount).field("role_id", &"[REDACTED]").field("secret_id", &"[REDACTED]").finish()
            }
            VaultAuth::Kubernetes { mount, role, jwt_path } => {
                f.debug_struct("Kubernetes").field("mount", mount).field("role", role).field("jwt_path", jwt_path).finish()
            }
            VaultAuth::None => f.write_str("None"),
        }
    }
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            addr: None,
            namespace: None,
            ca_cert: None,
            ca_path: None,
            skip_verify: false,
            client_cert: None,
            tls_server_name: None,
            auth: VaultAuth::None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }
}

impl VaultConfig {
    /// Reads the process environment (see the module documentation for the variables and
    /// the order in which authentication methods are chosen).
    pub fn from_env() -> Result<Self, VaultError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`VaultConfig::from_env`], with the variables given by `get` (`HOME` included,
    /// for `~/.vault-token`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, VaultError> {
        // The Vault CLI treats an empty variable as unset.
        let var = |name: &str| get(name).filter(|v| !v.is_empty());

        let skip_verify = match var("VAULT_SKIP_VERIFY") {
            Some(v) => {
                parse_go_bool(v.trim()).ok_or_else(|| VaultError::Config(format!("could not parse VAULT_SKIP_VERIFY={v:?} (expected true/false/1/0/t/f)")))?
            }
            None => false,
        };
        let timeout = match var("VAULT_CLIENT_TIMEOUT") {
            Some(v) => parse_duration_second(&v)
                .ok_or_else(|| VaultError::Config(format!("could not parse VAULT_CLIENT_TIMEOUT={v:?} (expected seconds or a duration like \"30s\")")))?,
            None => DEFAULT_TIMEOUT,
        };
        let max_retries = match var("VAULT_MAX_RETRIES") {
            Some(v) => v.trim().parse::<u32>().map_err(|_| VaultError::Config(format!("could not parse VAULT_MAX_RETRIES={v:?} (expected a number)")))?,
            None => DEFAULT_MAX_RETRIES,
        };

        let client_cert = match (var("VAULT_CLIENT_CERT"), var("VAULT_CLIENT_KEY")) {
            (Some(cert), Some(key)) => Some(ClientCertFiles { cert: PathBuf::from(cert), key: PathBuf::from(key) }),
            (None, None) => None,
            (Some(_), None) => return Err(VaultError::Config("VAULT_CLIENT_CERT is set but VAULT_CLIENT_KEY is not (a client certificate needs both)".into())),
            (None, Some(_)) => return Err(VaultError::Config("VAULT_CLIENT_KEY is set but VAULT_CLIENT_CERT is not (a client certificate needs both)".into())),
        };

        let auth = if let Some(token) = var("VAULT_TOKEN") {
            VaultAuth::Token(SecretString::from(token.trim().to_owned()))
        } else if var("VAULT_ROLE_ID").is_some() || var("VAULT_SECRET_ID").is_some() {
            match (var("VAULT_ROLE_ID"), var("VAULT_SECRET_ID")) {
                (Some(role_id), Some(secret_id)) => VaultAuth::AppRole {
                    mount: var("VAULT_APPROLE_MOUNT").unwrap_or_else(|| DEFAULT_APPROLE_MOUNT.to_owned()),
                    role_id,
                    secret_id: SecretString::from(secret_id),
                },
                (Some(_), None) => return Err(VaultError::Config("VAULT_ROLE_ID is set but VAULT_SECRET_ID is not (AppRole login needs both)".into())),
                _ => return Err(VaultError::Config("VAULT_SECRET_ID is set but VAULT_ROLE_ID is not (AppRole login needs both)".into())),
            }
        } else if let Some(role) = var("VAULT_K8S_ROLE") {
            VaultAuth::Kubernetes {
                mount: var("VAULT_K8S_MOUNT").unwrap_or_else(|| DEFAULT_K8S_MOUNT.to_owned()),
                role,
                jwt_path: PathBuf::from(var("VAULT_K8S_TOKEN_PATH").unwrap_or_else(|| DEFAULT_K8S_TOKEN_PATH.to_owned())),
            }
        } else if let Some(token) = var("HOME").map(|home| read_token_file(&Path::new(&home).join(".vault-token"))).transpose()?.flatten() {
            VaultAuth::Token(token)
        } else {
            VaultAuth::None
        };

        Ok(VaultConfig {
            addr: var("VAULT_ADDR"),
            namespace: var("VAULT_NAMESPACE"),
            ca_cert: var("VAULT_CACERT").map(PathBuf::from),
            ca_path: var("VAULT_CAPATH").map(PathBuf::from),
            skip_verify,
            client_cert,
            tls_server_name: var("VAULT_TLS_SERVER_NAME"),
            auth,
            timeout,
            max_retries,
        })
    }

    /// What a user should hear about these settings before they are used: a disabled
    /// certificate check, a variable that is read but not supported. The CLI prints
    /// these, the controller logs them.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.skip_verify {
            warnings.push("VAULT_SKIP_VERIFY is set: the Vault server's TLS certificate is not verified".to_owned());
        }
        if let Some(name) = &self.tls_server_name {
            warnings.push(format!(
                "VAULT_TLS_SERVER_NAME={name} is not supported and is ignored: the server's certificate must name the host of the Vault address"
            ));
        }
        warnings
    }
}

/// `~/.vault-token`: missing or empty means no token; unreadable is an error (as in the
/// Vault CLI's token helper).
fn read_token_file(path: &Path) -> Result<Option<SecretString>, VaultError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = zeroize::Zeroizing::new(bytes);
            let text = std::str::from_utf8(&bytes).map_err(|_| VaultError::Config(format!("{} is not UTF-8 text", path.display())))?;
            let token = text.trim();
            Ok((!token.is_empty()).then(|| SecretString::from(token.to_owned())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(VaultError::Io { path: path.to_owned(), source }),
    }
}

/// Go's `strconv.ParseBool`, which the Vault CLI uses for `VAULT_SKIP_VERIFY`.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Vault's `parseutil.ParseDurationSecond`: an integer is seconds; otherwise a Go
/// duration (`"1m30s"`, `"1.5h"`, `"250ms"`), or a whole number of days (`"2d"`).
pub(crate) fn parse_duration_second(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return Some(Duration::ZERO);
    }
    if let Some(days) = s.strip_suffix('d') {
        let days: u64 = days.parse().ok()?;
        return Some(Duration::from_secs(days.checked_mul(86_400)?));
    }
    if let Ok(secs) = s.parse::<i64>() {
        return u64::try_from(secs).ok().map(Duration::from_secs);
    }
    gitseal_core::duration::parse_go_duration(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<VaultConfig, VaultError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        VaultConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn durations_parse_as_the_vault_cli_does() {
        assert_eq!(parse_duration_second("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration_second("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration_second("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration_second("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration_second("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration_second("2d"), Some(Duration::from_secs(2 * 86400)));
        assert_eq!(parse_duration_second("0"), Some(Duration::ZERO));
        for bad in ["30x", "s", "-5", "1..5s", "abc", "5 s"] {
            assert_eq!(parse_duration_second(bad), None, "{bad}");
        }
    }

    #[test]
    fn booleans_parse_as_go_strconv() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(parse_go_bool(t), Some(true));
        }
        for f in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(parse_go_bool(f), Some(false));
        }
        assert_eq!(parse_go_bool("yes"), None);
        assert!(cfg(&[("VAULT_SKIP_VERIFY", "yes")]).is_err());
        let both = cfg(&[("VAULT_CLIENT_CERT", "/c.pem"), ("VAULT_CLIENT_KEY", "/k.pem")]).unwrap();
        assert_eq!(both.client_cert, Some(ClientCertFiles { cert: "/c.pem".into(), key: "/k.pem".into() }));
        for (name, other) in [("VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY"), ("VAULT_CLIENT_KEY", "VAULT_CLIENT_CERT")] {
            let e = cfg(&[(name, "/x.pem")]).unwrap_err().to_string();
            assert!(e.contains(&format!("{name} is set but {other} is not")), "{e}");
        }
        assert_eq!(cfg(&[("VAULT_TLS_SERVER_NAME", "vault.internal")]).unwrap().tls_server_name.as_deref(), Some("vault.internal"));
        assert!(cfg(&[("VAULT_SKIP_VERIFY", "1")]).unwrap().skip_verify);
    }

    #[test]
    fn defaults_and_precedence() {
        let c = cfg(&[]).unwrap();
        assert!(matches!(c.auth, VaultAuth::None));
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        assert_eq!(c.max_retries, 2);

        let all = [("VAULT_TOKEN", "tok"), ("VAULT_ROLE_ID", "r"), ("VAULT_SECRET_ID", "s"), ("VAULT_K8S_ROLE", "k")];
        match cfg(&all).unwrap().auth {
            VaultAuth::Token(t) => assert_eq!(t.expose_secret(), "tok"),
            other => panic!("{other:?}"),
        }
        match cfg(&all[1..]).unwrap().auth {
            VaultAuth::AppRole { mount, role_id, .. } => assert_eq!((mount.as_str(), role_id.as_str()), ("approle", "r")),
            other => panic!("{other:?}"),
        }
        match cfg(&all[3..]).unwrap().auth {
            VaultAuth::Kubernetes { mount, role, jwt_path } => {
                assert_eq!((mount.as_str(), role.as_str()), ("kubernetes", "k"));
                assert_eq!(jwt_path, PathBuf::from(DEFAULT_K8S_TOKEN_PATH));
            }
            other => panic!("{other:?}"),
        }
        assert!(cfg(&[("VAULT_ROLE_ID", "r")]).is_err());
        assert!(cfg(&[("VAULT_SECRET_ID", "s")]).is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = cfg(&[("VAULT_ROLE_ID", "role-id-value"), ("VAULT_SECRET_ID", "secret-id-value")]).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("secret-id-value") && !text.contains("role-id-value"), "{text}");
        let c = cfg(&[("VAULT_TOKEN", "hvs.tokenvalue")]).unwrap();
        assert!(!format!("{c:?}").contains("hvs.tokenvalue"));
    }
}
