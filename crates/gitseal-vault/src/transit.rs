//! Transit encryption of data keys, exactly as sops' `hc_vault` key source does it. The
//! `https://vault:8200/v1/<engine>/keys/<name>` URIs that name keys are parsed by
//! [`gitseal_core::keys::TransitKey`].
//!
//! sops (3.11, `hcvault/keysource.go`) sends the raw data key bytes, standard-base64
//! encoded, as the only field of `POST /v1/{engine}/encrypt/{key}` (`{"plaintext": ..}`),
//! stores the returned `data.ciphertext` (`vault:vN:...`) verbatim as `enc`, and on
//! decryption sends `{"ciphertext": enc}` to `/v1/{engine}/decrypt/{key}` and
//! standard-base64-decodes `data.plaintext` back into the data key bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

use super::auth::json_body;
use super::client::VaultClient;
use super::error::VaultError;
use gitseal_core::keys::transit::clean_join;

impl VaultClient {
    /// Encrypts `plaintext` (for sops: the raw data key) with the Transit key
    /// `key_name` of the engine mounted at `engine_path`; returns `vault:vN:...`.
    pub fn transit_encrypt(&self, engine_path: &str, key_name: &str, plaintext: &[u8]) -> Result<String, VaultError> {
        let path = transit_path(engine_path, "encrypt", key_name)?;
        let encoded = Zeroizing::new(STANDARD.encode(plaintext));
        let (mut json, _) = self.post_json(&path, json_body(&[("plaintext", &encoded)]), true)?;
        let ciphertext = take_data_string(&mut json, "ciphertext", &path)?;
        super::scrub(&mut json);
        Ok(ciphertext.to_string())
    }

    /// Decrypts a `vault:vN:...` ciphertext (any key version the key still accepts)
    /// and returns the plaintext bytes.
    pub fn transit_decrypt(&self, engine_path: &str, key_name: &str, ciphertext: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let path = transit_path(engine_path, "decrypt", key_name)?;
        let (mut json, _) = self.post_json(&path, json_body(&[("ciphertext", ciphertext)]), true)?;
        let encoded = take_data_string(&mut json, "plaintext", &path)?;
        super::scrub(&mut json);
        let plaintext = STANDARD.decode(encoded.as_bytes()).map_err(|_| VaultError::InvalidResponse {
            method: "POST".into(),
            path: path.clone(),
            reason: "data.plaintext is not base64".into(),
        })?;
        Ok(Zeroizing::new(plaintext))
    }

    /// Re-encrypts a ciphertext under the key's latest version without revealing the
    /// plaintext (`POST /v1/{engine}/rewrap/{key}`); returns the new `vault:vN:...`.
    pub fn transit_rewrap(&self, engine_path: &str, key_name: &str, ciphertext: &str) -> Result<String, VaultError> {
        let path = transit_path(engine_path, "rewrap", key_name)?;
        let (mut json, _) = self.post_json(&path, json_body(&[("ciphertext", ciphertext)]), true)?;
        let new = take_data_string(&mut json, "ciphertext", &path)?;
        super::scrub(&mut json);
        Ok(new.to_string())
    }
}

/// `path.Join(engine, op, key)` as sops builds it.
fn transit_path(engine_path: &str, op: &str, key_name: &str) -> Result<String, VaultError> {
    let engine = clean_join(&[engine_path]);
    if key_name.is_empty() || key_name.contains('/') {
        return Err(VaultError::InvalidPath {
            path: format!("{engine}/{op}/{key_name}"),
            reason: "the Transit key name must be one non-empty path segment".into(),
        });
    }
    if engine.is_empty() || engine == "." {
        return Err(VaultError::InvalidPath { path: format!("{engine_path}/{op}/{key_name}"), reason: "empty Transit engine path".into() });
    }
    Ok(clean_join(&[engine_path, op, key_name]))
}

/// Moves the string `data.<field>` out of a response (into a zeroizing string).
fn take_data_string(json: &mut serde_json::Value, field: &str, path: &str) -> Result<Zeroizing<String>, VaultError> {
    match json.get_mut("data").and_then(|d| d.get_mut(field)) {
        Some(serde_json::Value::String(s)) => Ok(Zeroizing::new(std::mem::take(s))),
        _ => Err(VaultError::InvalidResponse { method: "POST".into(), path: path.to_owned(), reason: format!("no string data.{field} in the response") }),
    }
}
