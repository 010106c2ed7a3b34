//! `encrypted_comment_regex` and `unencrypted_comment_regex`: gitseal encrypts exactly the
//! values and comments the real `sops` encrypts, each reads the other's files, and
//! gitseal's round trip is byte for byte.

mod common;
use std::path::Path;

use common::{assert_success, lines_without_sops_metadata, stderr, utf8, Fixture};

/// Enc mode marks with `sops:enc`, unenc mode with `sops:keep`.
const ENC_RX: &str = "sops:enc";
const KEEP_RX: &str = "sops:keep";

#[derive(Clone, Copy, Debug)]
enum Mode {
    Encrypted,
    Unencrypted,
}

impl Mode {
    fn flag(self) -> &'static str {
        match self {
            Mode::Encrypted => "--encrypted-comment-regex",
            Mode::Unencrypted => "--unencrypted-comment-regex",
        }
    }
    fn field(self) -> &'static str {
        match self {
            Mode::Encrypted => "encrypted_comment_regex",
            Mode::Unencrypted => "unencrypted_comment_regex",
        }
    }
}

/// What a file encrypts, independent of layout: the encrypted values in file order as
/// `(type, plaintext length)` (0 for non-strings, whose spelling sops normalises), the
/// encrypted comments in order by plaintext length, and the plaintext comments in order.
/// sops moves a comment that trails a value onto its own line above it, so values and
/// comments are listed apart: within each list, both tools keep the file order.
#[derive(Debug, PartialEq, Eq)]
struct Profile {
    values: Vec<(String, usize)>,
    enc_comments: Vec<usize>,
    plain_comments: Vec<String>,
}

fn enc_parts(enc: &str) -> (String, usize) {
    let data = &enc["ENC[AES256_GCM,data:".len()..enc.find(",iv:").expect("iv")];
    let ty_at = enc.find(",type:").expect("type") + ",type:".len();
    let ty = &enc[ty_at..ty_at + enc[ty_at..].find(']').expect("]")];
    let pad = data.bytes().rev().take_while(|&b| b == b'=').count();
    let len = if ty == "str" || ty == "comment" { data.len() / 4 * 3 - pad } else { 0 };
    (ty.to_owned(), len)
}

fn profile(text: &str) -> Profile {
    let mut p = Profile { values: Vec::new(), enc_comments: Vec::new(), plain_comments: Vec::new() };
    for line in lines_without_sops_metadata(text) {
        // The comment of a line: a `#` at its start or after a blank (test values hold none).
        let hash = line.char_indices().find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with([' ', '\t']))).map(|(i, _)| i);
        let (data, comment) = match hash {
            Some(h) => (&line[..h], Some(&line[h + 1..])),
            None => (line, None),
        };
        let mut rest = data;
        while let Some(at) = rest.find("ENC[AES256_GCM,") {
            let end = at + rest[at..].find(']').expect("]") + 1;
            match enc_parts(&rest[at..end]) {
                // sops writes an encrypted comment in a list as a list item.
                (ty, len) if ty == "comment" => p.enc_comments.push(len),
                v => p.values.push(v),
            }
            rest = &rest[end..];
        }
        match comment {
            Some(c) if c.starts_with("ENC[AES256_GCM,") => {
                let (ty, len) = enc_parts(c);
                assert_eq!(ty, "comment", "{line}");
                p.enc_comments.push(len);
            }
            Some(c) => p.plain_comments.push(c.trim().to_owned()),
            None => {}
        }
    }
    p
}

/// The top-level keys of the sops metadata, in the order written.
fn metadata_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    if text.contains("\nsops_version=") || text.starts_with("sops_") {
        for l in text.lines() {
            if let Some(k) = l.strip_prefix("sops_").and_then(|l| l.split_once('=')).map(|(k, _)| k) {
                if !k.contains("__") {
                    keys.push(k.to_owned());
                }
            }
        }
        return keys;
    }
    let json = text.trim_start().starts_with('{');
    let mut lines = text.lines().skip_while(|l| if json { !l.trim_start().starts_with("\"sops\": {") } else { *l != "sops:" });
    lines.next().expect("a sops block");
    let mut indent = None;
    for l in lines {
        let lead = l.len() - l.trim_start().len();
        if l.trim().is_empty() || lead == 0 || (json && l.trim_start().starts_with('}') && Some(lead) < indent) {
            break;
        }
        let ind = *indent.get_or_insert(lead);
        let t = l.trim_start();
        if lead == ind && (t.starts_with('"') || t.starts_with(|c: char| c.is_ascii_alphabetic())) {
            let k = t.trim_start_matches('"');
            keys.push(k[..k.find([':', '"']).expect("a key")].to_owned());
        }
    }
    keys
}

fn gitseal_encrypt(fx: &Fixture, file: &Path, args: &[&str]) -> String {
    let out = fx.gitseal().args(["encrypt", "--age", &fx.recipient]).args(args).arg(file).output().unwrap();
    assert_success("gitseal encrypt", &out);
    String::from_utf8(out.stdout).unwrap()
}

/// sops's own flags (only its legacy `--encrypt` form takes the comment regexes).
fn sops_encrypt(fx: &Fixture, file: &Path, args: &[&str]) -> String {
    let out = fx.sops().args(["--encrypt", "--age", &fx.recipient]).args(args).arg(file).output().unwrap();
    assert_success("sops --encrypt", &out);
    String::from_utf8(out.stdout).unwrap()
}

fn gitseal_decrypt(fx: &Fixture, name: &str, text: &str) -> String {
    let p = fx.write(name, text);
    String::from_utf8(fx.decrypt(&p)).unwrap()
}

fn sops_decrypt(fx: &Fixture, name: &str, text: &str) -> String {
    let p = fx.write(name, text);
    let out = fx.sops().arg("decrypt").arg(&p).output().unwrap();
    assert_success(&format!("sops decrypt {name}"), &out);
    assert!(!stderr(&out).contains("unencrypted comment"), "sops warned about a comment it could not decrypt:\n{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Encrypts `content` with both tools in `mode` and checks they agree. Returns gitseal's
/// file.
fn agree(fx: &Fixture, name: &str, content: &str, mode: Mode, regex: &str, extra: &[&str]) -> String {
    let ext = name.rsplit('.').next().unwrap();
    let input = fx.write(name, content);
    let mut args = vec![mode.flag(), regex];
    args.extend_from_slice(extra);
    let ours = gitseal_encrypt(fx, &input, &args);
    let theirs = sops_encrypt(fx, &input, &args);
    let what = format!("{name} with {} {regex:?} {extra:?}", mode.field());
    assert_eq!(profile(&ours), profile(&theirs), "{what}: gitseal and sops encrypt different values\n--- gitseal\n{ours}\n--- sops\n{theirs}");
    assert_eq!(metadata_keys(&ours), metadata_keys(&theirs), "{what}: metadata fields");
    assert!(metadata_keys(&ours).iter().any(|k| k == mode.field()), "{what}: {ours}");
    // Byte for byte back, and the other tool reads each file the same way.
    assert_eq!(gitseal_decrypt(fx, &format!("rt.{ext}"), &ours), content, "{what}: gitseal round trip");
    let sops_plain = sops_decrypt(fx, &format!("theirs.{ext}"), &theirs);
    assert_eq!(sops_decrypt(fx, &format!("ours.{ext}"), &ours), sops_plain, "{what}: sops reads gitseal's file");
    assert_eq!(gitseal_decrypt(fx, &format!("theirs2.{ext}"), &theirs), sops_plain, "{what}: gitseal reads sops's file");
    ours
}

const FLAT: &str = "# header comment\nplain: one\n# sops:enc\nsecret: two22\nnext: three333\n# sops:keep\nkept: four4444\nlast: five55555\n";

const NESTED: &str = "\
top: a
# sops:enc
# second line of the block
# third line
db:
  user: admin
  # sops:keep
  password: hunter22
  pool:
    size: 10
    # unrelated
    name: pool-name
after_db: b
app:
  # a note
  # not-really-sops:enc-but-it-matches
  token: tok-123
  # sops:keep partially: xsops:keepx
  debug: true
  other: oo
  # sops:enc at the end of a mapping
tail: zz
";

const TRAILING: &str = "\
plain: p1
secret: s22 # sops:enc
kept: k333 # sops:keep
nested: # sops:enc
  x: xx
  y: 42
list: # sops:keep
  - l1
  - l22
number: 3.5
";

const LISTS: &str = "\
items:
  # sops:enc
  - name: first
    # inner note
    value: v1
  - name: second
    value: v22
  # sops:keep
  - name: third
    value: v333
plain:
- x1
# sops:enc
- x22
- x333
nested:
  - - a1
    # sops:enc
    - a22
  - [b1, b22]
deep:
  l1:
    l2:
      # sops:enc
      l3: v
      l3b: w
    l2b: u
  # sops:keep
  l1b:
    - 1
    - k: kv
end: 1
";

const NULLS_AND_SCALARS: &str = "\
# sops:enc
empty:
after_empty: ae
# sops:keep
tilde: ~
after_tilde: at
# sops:enc
quoted: \"dq\"
single: 'sq'
# sops:enc
flag: false
# sops:enc
int: 12
flow: {a: 1, b: [2, 3]}
# sops:enc
flow2: {a: fa, b: [fb, fc]}
# sops:enc
empty_string: \"\"
";

const MULTI_DOC: &str = "\
# sops:enc
a: first
b: second
---
c: third
# sops:keep
d: fourth
# sops:enc
e: fifth
";

const SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials # sops:keep
  namespace: prod
type: Opaque
# sops:enc
stringData:
  # sops:keep
  username: admin
  password: s3cr3t-pass
data:
  # sops:enc
  token: dG9rZW4=
  other: b3RoZXI=
";

#[test]
fn comment_rules_encrypt_what_sops_encrypts_in_yaml() {
    let fx = Fixture::new();
    for (name, content) in [
        ("flat.yaml", FLAT),
        ("nested.yaml", NESTED),
        ("trailing.yaml", TRAILING),
        ("lists.yaml", LISTS),
        ("scalars.yaml", NULLS_AND_SCALARS),
        ("multi.yaml", MULTI_DOC),
        ("secret.yaml", SECRET),
    ] {
        agree(&fx, name, content, Mode::Encrypted, ENC_RX, &[]);
        agree(&fx, name, content, Mode::Unencrypted, KEEP_RX, &[]);
    }
}

#[test]
fn comment_rules_select_by_the_comment_text_after_the_hash() {
    // sops matches the text after `#`, leading space included, anywhere unless anchored.
    let fx = Fixture::new();
    let ours = agree(&fx, "anchored.yaml", NESTED, Mode::Encrypted, "^ sops:enc$", &[]);
    assert!(ours.contains("  token: tok-123\n"), "only an exact ` sops:enc` comment counts:\n{ours}");
    let ours = agree(&fx, "unanchored.yaml", NESTED, Mode::Encrypted, "^sops:enc", &[]);
    assert!(profile(&ours).values.is_empty(), "no comment text starts without its space:\n{ours}");
    agree(&fx, "alternatives.yaml", NESTED, Mode::Unencrypted, "sops:(keep|enc)", &[]);
}

#[test]
fn comment_rules_with_mac_only_encrypted() {
    let fx = Fixture::new();
    agree(&fx, "mac-only.yaml", NESTED, Mode::Encrypted, ENC_RX, &["--mac-only-encrypted"]);
    agree(&fx, "mac-only2.yaml", LISTS, Mode::Unencrypted, KEEP_RX, &["--mac-only-encrypted"]);
}

#[test]
fn comment_blocks_and_scopes_as_sops_reads_them() {
    // The exact outcome, not only agreement: what the rules mean.
    let fx = Fixture::new();
    let ours = agree(&fx, "nested.yaml", NESTED, Mode::Encrypted, ENC_RX, &[]);
    let expect_plain = [
        "top: a\n",
        "# sops:enc\n",  // the matching comment itself stays readable
        "after_db: b\n", // the scope of a comment ends with the entry it precedes
        "  # a note\n",  // comments before the matching one stay readable
        "  # not-really-sops:enc-but-it-matches\n",
        "  debug: true\n",
        "  other: oo\n",
        "  # sops:enc at the end of a mapping\n", // covers nothing: the mapping ends
        "tail: zz\n",
    ];
    for l in expect_plain {
        assert!(ours.contains(l), "{l:?} should stay plaintext:\n{ours}");
    }
    for k in ["  user: ", "  password: ", "    size: ", "    name: ", "  token: "] {
        assert!(ours.contains(&format!("{k}ENC[")), "{k:?} should be encrypted:\n{ours}");
    }
    // Comment lines following the matching one in its block are encrypted.
    assert_eq!(profile(&ours).enc_comments.len(), 2 + 2, "{ours}");

    let ours = agree(&fx, "nested-keep.yaml", NESTED, Mode::Unencrypted, KEEP_RX, &[]);
    assert!(ours.contains("  # sops:keep\n  password: hunter22\n"), "{ours}");
    assert!(ours.contains("  # sops:keep partially: xsops:keepx\n  debug: true\n"), "{ours}");
    assert!(ours.contains("#ENC[AES256_GCM,") && ours.contains("top: ENC["), "other comments and values are encrypted:\n{ours}");
}

#[test]
fn dotenv_comments_select_like_sops() {
    let fx = Fixture::new();
    let env = "#header\nA=1\n#sops:enc\nB=two\n#sops:enc\n#second\nC=three\nD=four\n\n#sops:keep\nE=\nF=six\n# sops:keep\nG=seven\n";
    let ours = agree(&fx, "app.env", env, Mode::Encrypted, ENC_RX, &[]);
    assert!(ours.starts_with("#header\nA=1\n#sops:enc\nB=ENC["), "{ours}");
    assert!(ours.contains("\nD=four\n") && ours.contains("\nF=six\n"), "{ours}");
    agree(&fx, "app2.env", env, Mode::Unencrypted, KEEP_RX, &[]);
}

#[test]
fn json_has_no_comments_so_the_rules_match_nothing() {
    // sops's JSON store has no comments: with encrypted_comment_regex nothing is
    // encrypted, with unencrypted_comment_regex everything is.
    let fx = Fixture::new();
    let json = "{\n\t\"a\": \"sops:enc\",\n\t\"b\": {\n\t\t\"c\": 2,\n\t\t\"d\": [\"sops:keep\", true]\n\t}\n}\n";
    let ours = agree(&fx, "c.json", json, Mode::Encrypted, ENC_RX, &[]);
    assert!(profile(&ours).values.is_empty(), "{ours}");
    let ours = agree(&fx, "d.json", json, Mode::Unencrypted, KEEP_RX, &[]);
    assert_eq!(profile(&ours).values.len(), 4, "{ours}");
}

/// sops (3.11) reads `- key: value # comment` with the comment inside the item's
/// mapping, before `key`, but writes it above the `-`, one level up: it cannot read such
/// a file back. gitseal follows sops's reading and keeps the comment where it is, so its
/// file is read back by both.
#[test]
fn trailing_comment_on_a_list_items_first_key_follows_sops_reading() {
    let fx = Fixture::new();
    let yaml = "items:\n  - name: e1 # sops:enc\n    value: f22\n  - name: g333\n";
    for (mode, rx) in [(Mode::Encrypted, ENC_RX), (Mode::Unencrypted, ENC_RX)] {
        let input = fx.write("t.yaml", yaml);
        let ours = gitseal_encrypt(&fx, &input, &[mode.flag(), rx]);
        let theirs = sops_encrypt(&fx, &input, &[mode.flag(), rx]);
        assert_eq!(profile(&ours), profile(&theirs), "{mode:?}\n{ours}\n{theirs}");
        assert_eq!(gitseal_decrypt(&fx, "rt.yaml", &ours), yaml);
        let p = fx.write("ours.yaml", &ours);
        let out = fx.sops().arg("decrypt").arg(&p).output().unwrap();
        assert_success("sops decrypts gitseal's file", &out);
        assert_eq!(utf8(&out.stdout), "items:\n    # sops:enc\n    - name: e1\n      value: f22\n    - name: g333\n");
    }
}

#[test]
fn creation_rule_comment_regex_was_ignored_for_another_selection() {
    // A rule with encrypted_comment_regex used to fall back to the default selection
    // (here the Kubernetes one, which would encrypt all of stringData).
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_comment_regex: sops:enc\n    age: {}\n", fx.recipient));
    let p = fx.write("secret.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_success("gitseal encrypt -i", &out);
    let ours = std::fs::read_to_string(&p).unwrap();
    assert!(ours.contains("    encrypted_comment_regex: sops:enc\n"), "{ours}");
    assert!(!ours.contains("encrypted_regex"), "{ours}");
    assert!(ours.contains("  username: ENC[") && ours.contains("  password: ENC["), "{ours}");
    assert!(ours.contains("  name: db-credentials # sops:keep\n"), "{ours}");
    assert!(ours.contains("  other: b3RoZXI=\n"), "{ours}");
    assert!(ours.contains("  token: ENC["), "{ours}");
    // sops, with the same rule, encrypts the same.
    let p2 = fx.write("secret2.yaml", SECRET);
    let out = fx.sops().args(["encrypt"]).arg(&p2).output().unwrap();
    assert_success("sops encrypt with the rule", &out);
    let theirs = utf8(&out.stdout).to_owned();
    assert_eq!(profile(&ours), profile(&theirs), "\n{ours}\n{theirs}");
    assert_eq!(metadata_keys(&ours), metadata_keys(&theirs));

    let out = fx.gitseal().arg("decrypt").arg(&p).output().unwrap();
    assert_success("decrypt", &out);
    assert_eq!(utf8(&out.stdout), SECRET);
}

#[test]
fn creation_rule_unencrypted_comment_regex_is_used() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - unencrypted_comment_regex: sops:keep\n    age: {}\n", fx.recipient));
    let p = fx.write("app.yaml", FLAT);
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_success("gitseal encrypt -i", &out);
    let ours = std::fs::read_to_string(&p).unwrap();
    assert!(ours.contains("# sops:keep\nkept: four4444\nlast: ENC["), "{ours}");
    assert!(ours.starts_with("#ENC[AES256_GCM,"), "{ours}");
    assert!(ours.contains("    unencrypted_comment_regex: sops:keep\n"), "{ours}");
}

#[test]
fn two_selection_fields_in_a_rule_are_an_error_naming_file_rule_and_field() {
    let fx = Fixture::new();
    fx.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: never$\n    age: {r}\n  - encrypted_regex: ^data$\n    encrypted_comment_regex: sops:enc\n    age: {r}\n",
            r = fx.recipient
        ),
    );
    let p = fx.write("s.yaml", SECRET);
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(".sops.yaml") && err.contains("creation_rules[1].encrypted_comment_regex"), "{err}");
    assert!(err.contains("cannot use more than one of"), "{err}");
    assert_eq!(fx.read("s.yaml"), SECRET.as_bytes(), "the file is untouched");
    // sops refuses the rule too.
    let out = fx.sops().args(["encrypt"]).arg(&p).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot use more than one of"), "{}", stderr(&out));

    // Two flags at once are a usage error.
    let out =
        fx.gitseal().args(["encrypt", "--age", &fx.recipient, "--encrypted-comment-regex", "a", "--unencrypted-comment-regex", "b"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn invalid_comment_regex_in_a_rule_is_named() {
    let fx = Fixture::new();
    fx.write(".sops.yaml", format!("creation_rules:\n  - unencrypted_comment_regex: '('\n    age: {}\n", fx.recipient));
    let p = fx.write("s.yaml", FLAT);
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("creation_rules[0].unencrypted_comment_regex: invalid regex"), "{}", stderr(&out));
}

#[test]
fn encrypted_comment_matching_unencrypted_comment_regex_is_refused() {
    // An encrypted comment that matched the regex would, read back, leave what follows
    // it plaintext and break the MAC: sops refuses to write it, and so does gitseal.
    let fx = Fixture::new();
    let p = fx.write("c.yaml", "# a private note\nkey: value\n");
    let out = fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient, "--unencrypted-comment-regex", "AES256_GCM"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("c.yaml:1") && err.contains("unencrypted_comment_regex"), "{err}");
    assert!(!err.contains("private note"), "the comment's text stays out of messages: {err}");
    assert_eq!(fx.read("c.yaml"), b"# a private note\nkey: value\n");
    let out = fx.sops().args(["--encrypt", "--age", &fx.recipient, "--unencrypted-comment-regex", "AES256_GCM"]).arg(&p).output().unwrap();
    assert!(!out.status.success(), "sops refuses it too");
}

#[test]
fn sops_files_with_comment_rules_are_edited_and_rotated_in_place() {
    let fx = Fixture::new();
    for (mode, rx) in [(Mode::Encrypted, ENC_RX), (Mode::Unencrypted, KEEP_RX)] {
        let input = fx.write("in.yaml", NESTED);
        let theirs = sops_encrypt(&fx, &input, &[mode.flag(), rx]);
        let p = fx.write("sops.yaml", &theirs);
        // Already encrypted: nothing to do, byte for byte.
        let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
        assert_success("encrypt -i of a sops file", &out);
        assert_eq!(fx.read("sops.yaml"), theirs.as_bytes());
        // A new value under the rules, then a new data key: sops still reads it all.
        let out = fx.gitseal().args(["set"]).arg(&p).args(["[\"app\"][\"token\"]", "new-token"]).output().unwrap();
        assert_success("set", &out);
        let out = fx.gitseal().args(["rotate", "-i"]).arg(&p).output().unwrap();
        assert_success("rotate", &out);
        let after = String::from_utf8(fx.read("sops.yaml")).unwrap();
        assert_eq!(profile(&after).values.len(), profile(&theirs).values.len(), "{mode:?}:\n{after}");
        assert!(after.contains(&format!("    {}: {rx}\n", mode.field())), "{after}");
        let plain = sops_decrypt(&fx, "after.yaml", &after);
        assert!(plain.contains("token: new-token\n"), "{plain}");
        assert_eq!(plain.replace("new-token", "tok-123"), sops_decrypt(&fx, "orig.yaml", &theirs));
    }
}

#[test]
fn comment_after_the_key_of_a_nested_block_is_encrypted_for_sops() {
    // `key: # note` above a nested block: sops reads the comment in the enclosing
    // mapping, and encrypts it with that mapping's path; it used to be encrypted with the
    // nested block's path, which sops could not decrypt.
    let fx = Fixture::new();
    let yaml = "nested: # note one\n  x: xv\nlist: # note two\n  - a\n";
    let p = fx.write("n.yaml", yaml);
    let ours = gitseal_encrypt(&fx, &p, &[]);
    assert_eq!(profile(&ours).enc_comments.len(), 2, "{ours}");
    let plain = sops_decrypt(&fx, "ours.yaml", &ours);
    assert_eq!(plain, "# note one\nnested:\n    x: xv\n# note two\nlist:\n    - a\n");
    let theirs = sops_encrypt(&fx, &p, &[]);
    assert_eq!(gitseal_decrypt(&fx, "theirs.yaml", &theirs), plain);
    assert_eq!(gitseal_decrypt(&fx, "rt.yaml", &ours), yaml);
}

#[test]
fn sops_list_item_comments_decrypt_as_comments() {
    // sops writes an encrypted comment inside a list as a list item (`- ENC[...,
    // type:comment]`) and reads it back as a comment; gitseal reads it the same way.
    let fx = Fixture::new();
    let input = fx.write("l.yaml", "plain:\n    # a note\n    - x1\n    - x22\n");
    let theirs = sops_encrypt(&fx, &input, &[Mode::Unencrypted.flag(), KEEP_RX]);
    assert!(theirs.contains("    - ENC[AES256_GCM,") && theirs.contains(",type:comment]\n"), "{theirs}");
    let plain = gitseal_decrypt(&fx, "theirs.yaml", &theirs);
    assert_eq!(plain, "plain:\n    # a note\n    - x1\n    - x22\n");
    assert_eq!(plain, sops_decrypt(&fx, "theirs2.yaml", &theirs));
}
