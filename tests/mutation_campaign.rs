//! Mutation campaign: thousands of single-byte and structural mutations of encrypted
//! files, generated deterministically from a seed, run in-process through the library.
//! Every mutated file must be refused, or decrypt to exactly the original plaintext, or
//! differ only where the SOPS v3 format carries no integrity at all (comments, layout,
//! and the names of keys whose values are plaintext: sops's MAC covers values, and a
//! value's path is authenticated only when the value is encrypted). Anything else is a
//! failure. The counts by region are printed (`--nocapture`) and kept in
//! docs/security-campaigns.md.

mod common;

use std::collections::BTreeMap;

use gitseal_core::document::{self, Format};
use gitseal_core::keys::{AgeRecipient, Identities, Recipients};
use gitseal_core::{decrypt, encrypt, DecryptRequest, EncryptRequest};

/// The campaign's seed: change it to explore other mutations; the counts in the docs are
/// for this one.
const SEED: u64 = 0x5EED_6175_5EA1;
const BYTE_MUTATIONS_PER_FILE: usize = 1200;
const STRUCTURAL_MUTATIONS_PER_FILE: usize = 300;

const K8S: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: first
  namespace: prod
  labels:
    app: web
type: Opaque
stringData:
  # rotated 2026-11
  username: admin
  password: \"correct horse\"
  port: \"8080\"
data:
  key: c2VjcmV0LWtleQ==
---
apiVersion: v1
kind: Secret
metadata:
  name: second
  namespace: prod
stringData:
  password: second-password
  token: abcdef
";

const GENERIC: &str = "\
db:
  user: app
  password: s3cret
  port: 5432
  ratio: 0.75
  tls: true
# servers follow
servers:
  - alpha
  - beta
empty: \"\"
";

const JSON: &str = "{\n  \"api\": {\n    \"key\": \"k-123\",\n    \"retries\": 3\n  },\n  \"enabled\": false,\n  \"name\": \"svc\"\n}\n";

const DOTENV: &str = "# app settings\nDB_USER=app\nDB_PASSWORD=pa55word\nPORT=8080\n";

struct Keys {
    ids: Identities,
    recipients: Recipients,
}

fn keys() -> Keys {
    let (secret, recipient) = gitseal_core::keys::age::generate_identity();
    let mut ids = Identities::default();
    ids.add_text("campaign", &secret).unwrap();
    Keys { ids, recipients: Recipients { age: vec![AgeRecipient::parse(&recipient).unwrap()], ..Recipients::default() } }
}

fn encrypt_text(k: &Keys, name: &str, format: Format, src: &str) -> String {
    let req = EncryptRequest {
        file: name,
        format,
        src: src.as_bytes(),
        recipients: &k.recipients,
        selection: None,
        mac_only_encrypted: false,
        identities: &k.ids,
        previous: None,
        check: Some(gitseal_core::k8s::check_secret_data),
    };
    encrypt(&req).unwrap_or_else(|e| panic!("{name}: {e}")).output.into_string()
}

fn decrypt_bytes(k: &Keys, name: &str, format: Format, src: &[u8]) -> Option<Vec<u8>> {
    decrypt(&DecryptRequest { file: name, format, src, identities: &k.ids, ignore_mac: false }).ok().map(|d| d.as_bytes().to_vec())
}

/// Where in an encrypted file a byte sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Region {
    ValueCiphertext,
    ValueType,
    EncryptedComment,
    Key,
    PlaintextValue,
    Comment,
    Layout,
    SopsMac,
    SopsLastmodified,
    SopsDataKeyStanza,
    SopsOtherField,
}

impl Region {
    fn name(self) -> &'static str {
        match self {
            Region::ValueCiphertext => "value ciphertext (data, iv, tag)",
            Region::ValueType => "value `type:` field",
            Region::EncryptedComment => "encrypted comment",
            Region::Key => "keys",
            Region::PlaintextValue => "plaintext values (metadata, kind, ...)",
            Region::Comment => "plaintext comments",
            Region::Layout => "layout (indentation, `:`, `-`, `---`, quotes, newlines)",
            Region::SopsMac => "sops `mac`",
            Region::SopsLastmodified => "sops `lastmodified`",
            Region::SopsDataKeyStanza => "sops data key stanza (age recipient, enc)",
            Region::SopsOtherField => "sops other fields (version, rule)",
        }
    }
}

/// The region of every byte of `text`.
fn regions(format: Format, text: &str) -> Vec<Region> {
    let parsed = document::parse(format, text).expect("encrypted base parses");
    let mut r = vec![Region::Layout; text.len()];
    // Keys and plaintext values first: by the parser's spans.
    for doc in &parsed.docs {
        for leaf in &doc.leaves {
            let value = leaf.text(text);
            let enc = value.starts_with("ENC[");
            let region = match (leaf.ty == gitseal_core::sops::value::ValueType::Comment, enc) {
                (true, true) => Region::EncryptedComment,
                (true, false) => Region::Comment,
                (false, true) => Region::ValueCiphertext,
                (false, false) => Region::PlaintextValue,
            };
            for i in leaf.span.clone() {
                r[i] = region;
            }
            if let Some(key) = leaf.key(text) {
                // The key is the last occurrence of its text before the value on its line.
                let line_start = text[..leaf.span.start].rfind('\n').map_or(0, |i| i + 1);
                if let Some(at) = text[line_start..leaf.span.start].rfind(key) {
                    r[line_start + at..line_start + at + key.len()].fill(Region::Key);
                }
            }
            if enc {
                if let Some(at) = text[leaf.span.clone()].rfind(",type:") {
                    let start = leaf.span.start + at;
                    r[start..(start + 6 + 8).min(leaf.span.end)].fill(Region::ValueType);
                }
            }
        }
        if let Some(m) = &doc.metadata {
            let block = &text[m.span.clone()];
            let mut pos = m.span.start;
            let mut in_stanza = false;
            for line in block.split_inclusive('\n') {
                let t = line.trim_start().trim_start_matches('"');
                if t.starts_with("age") || t.starts_with("recipient") || t.starts_with("- recipient") {
                    in_stanza = true;
                } else if !(t.starts_with("enc") || t.starts_with("-----") || (in_stanza && !t.contains(':'))) {
                    in_stanza = false;
                }
                let region = if t.starts_with("mac") || t.starts_with("sops_mac") {
                    Region::SopsMac
                } else if t.starts_with("lastmodified") || t.starts_with("sops_lastmodified") {
                    Region::SopsLastmodified
                } else if in_stanza || t.starts_with("sops_age") {
                    Region::SopsDataKeyStanza
                } else {
                    Region::SopsOtherField
                };
                r[pos..pos + line.len()].fill(region);
                pos += line.len();
            }
        }
    }
    r
}

/// What a mutated file turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Refused,
    Identical,
    /// Accepted, the same values at the same paths; only comments or layout differ.
    CommentOrLayout,
    /// Accepted, the same values in the same order; a key holding a plaintext value was
    /// renamed or moved (the sops MAC does not cover keys).
    PlaintextKey,
    /// Accepted, the same texts at the same paths, one read as another type (the string
    /// "3" for the number 3): `type:` is not authenticated and the MAC covers each
    /// value's canonical text, in sops as in gitseal.
    OtherType,
    /// Accepted with different values or different encrypted paths: a hole.
    Violation,
}

/// The values of a decrypted file: per document, every non-comment leaf as
/// (encrypted under the rule, path, text, type).
type Values = Vec<Vec<(bool, String, String, String)>>;

fn values(format: Format, text: &str, rule: &gitseal_core::sops::select::Selector) -> Option<Values> {
    let parsed = document::parse(format, text).ok()?;
    let flags = rule.select_all(&parsed, text);
    Some(
        parsed
            .docs
            .iter()
            .zip(flags)
            .map(|(doc, flags)| {
                doc.leaves
                    .iter()
                    .zip(flags)
                    // Comments are outside the MAC; an empty value is never encrypted and
                    // adds nothing to it (in sops too).
                    .filter(|(l, _)| l.ty != gitseal_core::sops::value::ValueType::Comment && !l.text(text).is_empty())
                    .map(|(l, f)| {
                        let mut path: Vec<String> = doc.paths[l.parent as usize].keys.iter().map(|k| k.to_string()).collect();
                        path.extend(l.key(text).map(str::to_owned));
                        (f, path.join("\u{0}"), l.text(text).to_owned(), format!("{:?}", l.ty))
                    })
                    .collect()
            })
            .collect(),
    )
}

fn judge(format: Format, original: &str, decrypted: Option<Vec<u8>>, rule: &gitseal_core::sops::select::Selector) -> Outcome {
    let Some(d) = decrypted else { return Outcome::Refused };
    if d == original.as_bytes() {
        return Outcome::Identical;
    }
    let Ok(d) = String::from_utf8(d) else { return Outcome::Violation };
    let (Some(want), Some(got)) = (values(format, original, rule), values(format, &d, rule)) else { return Outcome::Violation };
    if want == got {
        return Outcome::CommentOrLayout;
    }
    let same_shape = want.len() == got.len() && want.iter().zip(&got).all(|(a, b)| a.len() == b.len());
    let only_plaintext_keys =
        same_shape && want.iter().flatten().zip(got.iter().flatten()).all(|(a, b)| a.0 == b.0 && a.2 == b.2 && a.3 == b.3 && (a.1 == b.1 || (!a.0 && !b.0)));
    let only_types = same_shape && want.iter().flatten().zip(got.iter().flatten()).all(|(a, b)| a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
    if only_plaintext_keys {
        Outcome::PlaintextKey
    } else if only_types {
        Outcome::OtherType
    } else {
        Outcome::Violation
    }
}

/// One base file of the campaign.
struct Base {
    name: &'static str,
    format: Format,
    plain: &'static str,
    encrypted: String,
    /// Another encryption of the same plaintext (another data key): a source of
    /// ciphertexts and sops blocks that look right but belong elsewhere.
    other: String,
}

fn enc_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("ENC[AES256_GCM,") {
        let start = from + at;
        let Some(end) = text[start..].find(']') else { break };
        out.push(start..start + end + 1);
        from = start + end + 1;
    }
    out
}

fn splice(text: &str, span: std::ops::Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..span.start], &text[span.end..])
}

fn retype(enc: &str, ty: &str) -> String {
    let at = enc.rfind(",type:").unwrap();
    format!("{},type:{ty}]", &enc[..at])
}

/// A structural mutation: what kind, and the file it makes (None when it does not apply).
fn structural(rng: &mut common::Rng, b: &Base) -> (&'static str, Region, Option<String>) {
    let t = &b.encrypted;
    let spans: Vec<_> = enc_spans(t).into_iter().filter(|s| !t[..s.start].ends_with("mac: ") && !t[..s.start].ends_with("\"mac\": \"")).collect();
    let spans: Vec<_> = spans.into_iter().filter(|s| !t[..s.start].ends_with("sops_mac=")).collect();
    let docs: Vec<&str> = t.split("\n---\n").collect();
    let lines: Vec<&str> = t.split_inclusive('\n').collect();
    match rng.below(14) {
        0 if spans.len() >= 2 => {
            let (i, j) = (rng.below(spans.len()), rng.below(spans.len()));
            if i == j {
                return ("values swapped", Region::ValueCiphertext, None);
            }
            let (a, z) = if i < j { (i, j) } else { (j, i) };
            let (sa, sz) = (spans[a].clone(), spans[z].clone());
            let swapped = format!("{}{}{}{}{}", &t[..sa.start], &t[sz.clone()], &t[sa.end..sz.start], &t[sa.clone()], &t[sz.end..]);
            ("values swapped", Region::ValueCiphertext, Some(swapped))
        }
        1 if spans.len() >= 2 => {
            let (i, j) = (rng.below(spans.len()), rng.below(spans.len()));
            let copied = t[spans[i].clone()].to_owned();
            ("value copied onto another", Region::ValueCiphertext, (i != j).then(|| splice(t, spans[j].clone(), &copied)))
        }
        2 if !spans.is_empty() => {
            let i = rng.below(spans.len());
            let ty = *rng.pick(&["str", "int", "float", "bool", "bytes", "comment"]);
            let v = &t[spans[i].clone()];
            let m = splice(t, spans[i].clone(), &retype(v, ty));
            ("value retyped", Region::ValueType, (m != *t).then_some(m))
        }
        3 => {
            // A ciphertext from the other encryption, same path (another data key).
            let other = enc_spans(&b.other);
            let i = rng.below(spans.len().min(other.len()));
            (
                "value from another file, same path",
                Region::ValueCiphertext,
                (!spans.is_empty()).then(|| splice(t, spans[i].clone(), &b.other[other[i].clone()])),
            )
        }
        4 if docs.len() >= 2 => {
            let i = rng.below(docs.len());
            let kept: Vec<&str> = docs.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, d)| *d).collect();
            let mut m = kept.join("\n---\n");
            if !m.ends_with('\n') {
                m.push('\n');
            }
            ("document dropped", Region::Layout, Some(m))
        }
        5 if docs.len() >= 2 || b.format == Format::Yaml => {
            let i = rng.below(docs.len());
            let mut all: Vec<String> = docs.iter().map(|d| d.trim_end_matches('\n').to_owned()).collect();
            all.insert(i, all[i].clone());
            ("document duplicated", Region::Layout, Some(all.join("\n---\n") + "\n"))
        }
        6 if docs.len() >= 2 => {
            let mut all: Vec<String> = docs.iter().map(|d| d.trim_end_matches('\n').to_owned()).collect();
            all.swap(0, 1);
            ("documents reordered", Region::Layout, Some(all.join("\n---\n") + "\n"))
        }
        7 => {
            let edits = [
                ("name: first", "name: stolen"),
                ("namespace: prod", "namespace: attacker"),
                ("app: web", "app: evil"),
                ("type: Opaque", "type: kubernetes.io/tls"),
            ];
            let (from, to) = *rng.pick(&edits);
            ("plaintext metadata edited", Region::PlaintextValue, t.contains(from).then(|| t.replacen(from, to, 1)))
        }
        8 => {
            let lm = t.find("lastmodified").map(|at| {
                let end = at + t[at..].find('\n').unwrap_or(t.len() - at);
                let line = &t[at..end];
                let m = line.replace("20", "19");
                t.replace(line, &m)
            });
            ("lastmodified edited", Region::SopsLastmodified, lm.filter(|m| m != t))
        }
        9 => {
            // The other encryption's sops block (its own data key and MAC).
            let mine = sops_block(t);
            let theirs = sops_block(&b.other);
            ("sops block from another file", Region::SopsDataKeyStanza, mine.zip(theirs).map(|(m, o)| t.replace(m, o)))
        }
        10 => {
            let swaps = [
                ("encrypted_regex: ^(data|stringData)$", "encrypted_regex: ^(data)$"),
                ("unencrypted_suffix: _unencrypted", "unencrypted_suffix: _x"),
                ("unencrypted_suffix: _unencrypted", "encrypted_regex: ^db$"),
                ("\"unencrypted_suffix\": \"_unencrypted\"", "\"unencrypted_suffix\": \"key\""),
                ("sops_unencrypted_suffix=_unencrypted", "sops_unencrypted_suffix=PORT"),
                ("    version: 3.11.0", "    version: 3.11.0\n    mac_only_encrypted: true"),
            ];
            let (from, to) = *rng.pick(&swaps);
            ("selection rule edited", Region::SopsOtherField, t.contains(from).then(|| t.replace(from, to)))
        }
        11 => {
            let i = rng.below(lines.len());
            let m: String = lines.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, l)| *l).collect();
            ("line deleted", region_of_line(b, lines[i]), Some(m))
        }
        12 => {
            let i = rng.below(lines.len());
            let mut v: Vec<&str> = lines.clone();
            v.insert(i, lines[i]);
            ("line duplicated", region_of_line(b, lines[i]), Some(v.concat()))
        }
        13 if lines.len() >= 2 => {
            let i = rng.below(lines.len() - 1);
            let mut v: Vec<&str> = lines.clone();
            if !v[i + 1].ends_with('\n') {
                return ("lines swapped", Region::Layout, None);
            }
            v.swap(i, i + 1);
            ("lines swapped", region_of_line(b, lines[i]), Some(v.concat()))
        }
        _ => ("not applicable", Region::Layout, None),
    }
}

fn region_of_line(b: &Base, line: &str) -> Region {
    let t = line.trim_start();
    if t.contains("ENC[") && (t.starts_with("mac") || t.starts_with("sops_mac") || t.starts_with("\"mac\"")) {
        Region::SopsMac
    } else if t.starts_with("#ENC[") {
        Region::EncryptedComment
    } else if t.contains("ENC[") {
        Region::ValueCiphertext
    } else if t.starts_with('#') {
        Region::Comment
    } else if b.encrypted.contains(&format!("sops:\n{line}"))
        || t.starts_with("sops")
        || t.starts_with("-----")
        || t.starts_with("enc")
        || t.starts_with("- recipient")
    {
        Region::SopsOtherField
    } else {
        Region::PlaintextValue
    }
}

/// The sops metadata of the first document, as text.
fn sops_block(t: &str) -> Option<&str> {
    if let Some(at) = t.find("\nsops:\n") {
        let end = t[at + 1..].find("\n---\n").map_or(t.len(), |e| at + 1 + e + 1);
        return Some(&t[at + 1..end]);
    }
    if let Some(at) = t.find("\"sops\": {") {
        return Some(&t[at..t.len() - 2]);
    }
    t.find("sops_").map(|at| &t[at..])
}

#[derive(Default)]
struct Tally(BTreeMap<(String, Outcome), usize>);

impl Tally {
    fn add(&mut self, region: &str, o: Outcome) {
        *self.0.entry((region.to_owned(), o)).or_default() += 1;
    }
}

#[test]
fn every_mutation_is_refused_or_changes_nothing_the_format_protects() {
    let k = keys();
    let bases: Vec<Base> =
        [("k8s.yaml", Format::Yaml, K8S), ("generic.yaml", Format::Yaml, GENERIC), ("app.json", Format::Json, JSON), ("app.env", Format::Dotenv, DOTENV)]
            .into_iter()
            .map(|(name, format, plain)| {
                let encrypted = encrypt_text(&k, name, format, plain);
                let other = encrypt_text(&k, name, format, plain);
                let back = decrypt_bytes(&k, name, format, encrypted.as_bytes()).expect("the base decrypts");
                assert_eq!(String::from_utf8(back).unwrap(), plain, "{name}: the base does not round-trip");
                Base { name, format, plain, encrypted, other }
            })
            .collect();

    let mut rng = common::Rng::new(SEED);
    let mut by_region = Tally::default();
    let mut by_kind = Tally::default();
    let mut violations = Vec::new();
    let mut total = 0usize;
    for b in &bases {
        let parsed = document::parse(b.format, &b.encrypted).unwrap();
        let rule = gitseal_core::pipeline::file_metadata(b.name, &parsed).unwrap().unwrap().selection.compile().unwrap();
        let regions = regions(b.format, &b.encrypted);
        let bytes = b.encrypted.as_bytes();
        for _ in 0..BYTE_MUTATIONS_PER_FILE {
            let at = rng.below(bytes.len());
            let mut m = bytes.to_vec();
            let kind = match rng.below(4) {
                0 => {
                    m.remove(at);
                    "byte deleted"
                }
                1 => {
                    m.insert(at, *rng.pick(b"Aa0+/=:,[]{}\"' -#\n\t"));
                    "byte inserted"
                }
                2 => {
                    m[at] ^= 1 << rng.below(8);
                    "bit flipped"
                }
                _ => {
                    let with = *rng.pick(b"AZaz09+/=:,[]{}\"' -#\n");
                    if with == m[at] {
                        continue;
                    }
                    m[at] = with;
                    "byte replaced"
                }
            };
            let d = decrypt_bytes(&k, b.name, b.format, &m);
            let o = judge(b.format, b.plain, d.clone(), &rule);
            if std::env::var_os("CAMPAIGN_DEBUG").is_some() && !matches!(o, Outcome::Refused | Outcome::Identical) {
                eprintln!(
                    "DEBUG {} {kind} at {at} {:?} {o:?}: {:?} -> {:?}\n{}",
                    b.name,
                    regions[at],
                    &b.encrypted[at.saturating_sub(20)..(at + 20).min(b.encrypted.len())],
                    String::from_utf8_lossy(&m[at.saturating_sub(20)..(at + 20).min(m.len())]),
                    String::from_utf8_lossy(&d.unwrap())
                );
            }
            total += 1;
            by_region.add(regions[at].name(), o);
            by_kind.add(kind, o);
            if o == Outcome::Violation {
                violations.push(format!("{}: {kind} at byte {at} ({})", b.name, regions[at].name()));
            }
        }
        for _ in 0..STRUCTURAL_MUTATIONS_PER_FILE {
            let (kind, region, m) = structural(&mut rng, b);
            let Some(m) = m else { continue };
            if m == b.encrypted {
                continue;
            }
            let o = judge(b.format, b.plain, decrypt_bytes(&k, b.name, b.format, m.as_bytes()), &rule);
            total += 1;
            by_region.add(region.name(), o);
            by_kind.add(kind, o);
            if o == Outcome::Violation {
                let shown = if violations.len() < 3 { m.as_str() } else { "" };
                violations.push(format!("{}: {kind} ({})\n{shown}", b.name, region.name()));
            }
        }
    }

    print_table("region", &by_region);
    print_table("mutation", &by_kind);
    println!("total mutations: {total}");
    assert!(total >= 5000, "the campaign ran only {total} mutations");
    assert!(violations.is_empty(), "{} mutations were accepted with changed values:\n{}", violations.len(), violations.join("\n---\n"));
    // The campaign must exercise refusals in every region that carries integrity.
    for region in [Region::ValueCiphertext, Region::ValueType, Region::Key, Region::SopsMac, Region::SopsDataKeyStanza, Region::EncryptedComment] {
        let refused = by_region.0.get(&(region.name().to_owned(), Outcome::Refused)).copied().unwrap_or(0);
        assert!(refused > 0, "no refusal in region {}", region.name());
    }
}

fn print_table(what: &str, t: &Tally) {
    let mut rows: BTreeMap<&str, [usize; 6]> = BTreeMap::new();
    for ((name, o), n) in &t.0 {
        rows.entry(name).or_default()[*o as usize] += n;
    }
    println!("| {what} | refused | identical | comments, layout or empty values only | plaintext key renamed | same text, other type | accepted with changed values |");
    println!("|---|---|---|---|---|---|---|");
    for (name, c) in rows {
        println!("| {name} | {} | {} | {} | {} | {} | {} |", c[0], c[1], c[2], c[3], c[4], c[5]);
    }
}
