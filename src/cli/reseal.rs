//! Resealing an edited plaintext (`set`, `unset`, `edit`), with the rules of an
//! EncryptedSecret when the file is one.

use gitseal_core::document::Format;
use gitseal_core::encrypted_secret;
use gitseal_core::keys::Identities;
use gitseal_core::{EncryptOutcome, OpenedFile};

/// Whether the plaintext `text` of a file is an EncryptedSecret.
pub fn is_encrypted_secret(format: Format, text: &[u8]) -> bool {
    std::str::from_utf8(text).is_ok_and(|t| encrypted_secret::is_encrypted_secret(format, t))
}

/// Encrypts `edited`, the new plaintext of `opened`, with the file's data key. A Secret's
/// `data` must be base64. An EncryptedSecret (before or after the edit) gets its binding
/// re-sealed to its namespace, name, scope and template, is checked as the cluster will
/// check it (fields, base64, key names), and the result must be in the sorted key order
/// the cluster verifies the MAC in: anything the cluster would refuse is refused here,
/// before it is written.
pub fn reseal(opened: &OpenedFile<'_>, name: &str, format: Format, edited: &[u8], ids: &Identities) -> gitseal_core::Result<EncryptOutcome> {
    if !is_encrypted_secret(format, opened.plaintext().as_bytes()) && !is_encrypted_secret(format, edited) {
        return opened.reseal(edited, ids, Some(gitseal_core::k8s::check_secret_data));
    }
    let rebound = encrypted_secret::rebind(name, format, edited)?;
    let plaintext = rebound.as_deref().map_or(edited, |r| r.as_slice());
    let out = opened.reseal(plaintext, ids, Some(encrypted_secret::check_plaintext))?;
    encrypted_secret::check_file(name, format, out.output.as_str())?;
    Ok(out)
}
