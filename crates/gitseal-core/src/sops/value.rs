//! The `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` codec and the plaintext types sops knows.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use crate::crypto::DataKey;

/// The `type:` of an encrypted value: how its plaintext bytes are to be read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A string (`str`).
    Str,
    /// An integer (`int`), written in Go's decimal syntax.
    Int,
    /// A float (`float`), written as Go's `strconv.FormatFloat(f, 'f', -1, 64)` does.
    Float,
    /// A boolean (`bool`): `true` or `false`.
    Bool,
    /// An encrypted YAML comment (`comment`): the text after `#`.
    Comment,
    /// Bytes (`bytes`, sops's type for byte-slice values), read back as text like a string.
    Bytes,
}

impl ValueType {
    /// The name sops writes after `type:`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ValueType::Str => "str",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Comment => "comment",
            ValueType::Bytes => "bytes",
        }
    }

    /// The type for a `type:` name; `None` for names sops does not write.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "str" => ValueType::Str,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "comment" => ValueType::Comment,
            "bytes" => ValueType::Bytes,
            _ => return None,
        })
    }
}

/// Why an `ENC[...]` string could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncError {
    /// The string is not `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]` with valid base64 (the part that is wrong).
    #[error("malformed encrypted value: {0}")]
    Malformed(&'static str),
    /// AES-GCM authentication failed with this data key and additional data.
    #[error("encrypted value does not decrypt with this file's data key (tampered, moved to another key, or from another file)")]
    Authentication,
    /// The plaintext is not valid for its declared type (the type's name).
    #[error("encrypted value of type {0} holds a plaintext that is not a valid {0}")]
    BadPlaintext(&'static str),
}

/// A parsed `ENC[...]` value, still encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncValue {
    /// The ciphertext, as long as the plaintext.
    pub data: Vec<u8>,
    /// The nonce: 32 random bytes as sops and gitseal write it (12 and 16 are read too).
    pub iv: Vec<u8>,
    /// The 16-byte GCM authentication tag.
    pub tag: Vec<u8>,
    /// How the plaintext is to be read back.
    pub ty: ValueType,
}

/// True when `s` looks like an sops-encrypted value (it may still be malformed).
pub fn looks_encrypted(s: &str) -> bool {
    s.starts_with("ENC[")
}

impl EncValue {
    /// Parses the string form. Follows sops's regex
    /// `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`, which tolerates text after
    /// the closing bracket (a block scalar's newline, for one).
    pub fn parse(s: &str) -> Result<Self, EncError> {
        let rest = s.strip_prefix("ENC[AES256_GCM,").ok_or(EncError::Malformed("expected ENC[AES256_GCM,"))?;
        let close = rest.rfind(']').ok_or(EncError::Malformed("missing closing ]"))?;
        if !rest[close + 1..].trim().is_empty() {
            return Err(EncError::Malformed("text after closing ]"));
        }
        let body = &rest[..close];
        let data = field(body, "data:", ",iv:")?;
        let after_data = &body["data:".len() + data.len()..];
        let iv = field(after_data, ",iv:", ",tag:")?;
        let after_iv = &after_data[",iv:".len() + iv.len()..];
        let tag = field(after_iv, ",tag:", ",type:")?;
        let ty_str = &after_iv[",tag:".len() + tag.len() + ",type:".len()..];
        let ty = ValueType::parse(ty_str).ok_or(EncError::Malformed("unknown type"))?;
        let data = B64.decode(data).map_err(|_| EncError::Malformed("data is not base64"))?;
        let iv = B64.decode(iv).map_err(|_| EncError::Malformed("iv is not base64"))?;
        let tag = B64.decode(tag).map_err(|_| EncError::Malformed("tag is not base64"))?;
        if iv.is_empty() {
            return Err(EncError::Malformed("empty iv"));
        }
        if tag.len() != crate::crypto::TAG_LEN {
            return Err(EncError::Malformed("tag is not 16 bytes"));
        }
        Ok(EncValue { data, iv, tag, ty })
    }

    /// Encrypts `plaintext` of type `ty` under `aad`.
    pub(crate) fn seal(key: &DataKey, plaintext: &[u8], aad: &[u8], ty: ValueType) -> Self {
        Self::seal_with(&key.sealer(), plaintext, aad, ty)
    }

    /// Like [`EncValue::seal`], with a key schedule reused across values.
    pub(crate) fn seal_with(sealer: &crate::crypto::Sealer, plaintext: &[u8], aad: &[u8], ty: ValueType) -> Self {
        let s = sealer.seal(plaintext, aad);
        EncValue { data: s.data, iv: s.iv, tag: s.tag, ty }
    }

    /// Appends the `ENC[...]` form to `out`.
    pub(crate) fn write_into(&self, out: &mut String) {
        out.push_str("ENC[AES256_GCM,data:");
        B64.encode_string(&self.data, out);
        out.push_str(",iv:");
        B64.encode_string(&self.iv, out);
        out.push_str(",tag:");
        B64.encode_string(&self.tag, out);
        out.push_str(",type:");
        out.push_str(self.ty.as_str());
        out.push(']');
    }

    /// Decrypts to the plaintext bytes.
    pub(crate) fn open(&self, key: &DataKey, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, EncError> {
        key.open(&self.data, &self.iv, &self.tag, aad).ok_or(EncError::Authentication)
    }

    /// Decrypts to text (every sops type is UTF-8 text except `bytes`).
    pub(crate) fn open_text(&self, key: &DataKey, aad: &[u8]) -> Result<Zeroizing<String>, EncError> {
        let bytes = self.open(key, aad)?;
        match std::str::from_utf8(&bytes) {
            Ok(s) => Ok(Zeroizing::new(s.to_owned())),
            Err(_) => Err(EncError::BadPlaintext(self.ty.as_str())),
        }
    }
}

fn field<'a>(s: &'a str, prefix: &str, next: &str) -> Result<&'a str, EncError> {
    let s = s.strip_prefix(prefix).ok_or(EncError::Malformed("fields out of order"))?;
    let end = s.find(next).ok_or(EncError::Malformed("missing field"))?;
    Ok(&s[..end])
}

impl std::fmt::Display for EncValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::with_capacity(64 + self.data.len() * 4 / 3);
        self.write_into(&mut s);
        f.write_str(&s)
    }
}

/// The bytes sops feeds to the MAC for a value of type `ty` whose text is `text`.
///
/// sops hashes Go's rendering of the decoded value: `strconv.Itoa` for ints,
/// `FormatFloat(f, 'f', -1, 64)` for floats, `True`/`False` for bools. gitseal encrypts a
/// value's original spelling (so `1.50` decrypts back to `1.50`) but must hash what sops
/// hashes, so both sides agree on the MAC.
pub(crate) fn canonical_mac_text(ty: ValueType, text: &str) -> Result<std::borrow::Cow<'_, str>, EncError> {
    use std::borrow::Cow;
    match ty {
        ValueType::Str | ValueType::Comment | ValueType::Bytes => Ok(Cow::Borrowed(text)),
        ValueType::Int => {
            let n = parse_go_int(text).ok_or(EncError::BadPlaintext("int"))?;
            let canon = n.to_string();
            Ok(if canon == text { Cow::Borrowed(text) } else { Cow::Owned(canon) })
        }
        ValueType::Float => {
            let f = parse_go_float(text).ok_or(EncError::BadPlaintext("float"))?;
            let canon = format_go_float(f);
            Ok(if canon == text { Cow::Borrowed(text) } else { Cow::Owned(canon) })
        }
        ValueType::Bool => {
            let b = parse_go_bool(text).ok_or(EncError::BadPlaintext("bool"))?;
            Ok(Cow::Borrowed(if b { "True" } else { "False" }))
        }
    }
}

/// `strconv.Atoi`: optional sign, decimal digits.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// `strconv.ParseFloat(s, 64)` for the spellings gitseal and sops produce.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let neg = lower.starts_with('-');
    match unsigned {
        "inf" | "infinity" => return Some(if neg { f64::NEG_INFINITY } else { f64::INFINITY }),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if !is_decimal_float(s) {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Decimal float syntax both Go's ParseFloat and Rust's parse accept.
pub(crate) fn is_decimal_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, no exponent.
pub(crate) fn format_go_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        // Rust's Display for f64 is also shortest-round-trip and never uses an exponent.
        format!("{f}")
    }
}

/// `strconv.ParseBool`.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sops_written_value() {
        let s = "ENC[AES256_GCM,data:BmDsQVZD0KQ=,iv:dkNGy5JDafRtLn0jtxd1/cZbSZJgFVfs/0cUPDnJjfc=,tag:wQG1TmxdgpZIljPNuwtW0Q==,type:str]";
        let v = EncValue::parse(s).unwrap();
        assert_eq!(v.data.len(), 8);
        assert_eq!(v.iv.len(), 32);
        assert_eq!(v.ty, ValueType::Str);
        assert_eq!(v.to_string(), s);
    }

    #[test]
    fn rejects_truncated_and_malformed() {
        for bad in [
            "ENC[AES256_GCM,data:AAAA,iv:AAAA",
            "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]",
            "ENC[AES256_GCM,data:A!A,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
            "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:nope]",
            "ENC[AES256_CBC,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]",
        ] {
            assert!(EncValue::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mac_text_matches_go() {
        assert_eq!(canonical_mac_text(ValueType::Float, "1.50").unwrap(), "1.5");
        assert_eq!(canonical_mac_text(ValueType::Float, "1234568000").unwrap(), "1234568000");
        assert_eq!(canonical_mac_text(ValueType::Float, "1e3").unwrap(), "1000");
        assert_eq!(canonical_mac_text(ValueType::Float, "0.75").unwrap(), "0.75");
        assert_eq!(canonical_mac_text(ValueType::Int, "007").unwrap(), "7");
        assert_eq!(canonical_mac_text(ValueType::Bool, "true").unwrap(), "True");
        assert!(canonical_mac_text(ValueType::Int, "0x1f").is_err());
    }
}
