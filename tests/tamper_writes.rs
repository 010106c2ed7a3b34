//! Every write that keeps a file's data key (or reads its values to rewrite them) first
//! verifies the file as decrypt would: a tampered file is refused with exit 51 (or 9) and
//! left byte for byte as it was, so that no command launders tampering into a fresh MAC.

mod common;
use common::{assert_success, stderr, Fixture};

use common::TWO_SECRETS as TWO_DOCS;

/// The fixture's encrypted file and its tampered variants, by name.
fn tampered_variants(fx: &Fixture) -> Vec<(&'static str, String)> {
    let p = fx.write("plain.yaml", TWO_DOCS);
    let enc = String::from_utf8(fx.encrypt(&p)).unwrap();
    let first_doc = enc.split("\n---\n").next().unwrap().to_owned() + "\n";
    let without_value: String = enc.lines().filter(|l| !l.trim_start().starts_with("username:")).map(|l| format!("{l}\n")).collect();
    vec![
        ("namespace edited", enc.replace("namespace: prod", "namespace: attacker")),
        ("name edited", enc.replace("name: second", "name: stolen")),
        ("document deleted", first_doc),
        ("value removed", without_value),
    ]
}

/// Runs `args` (with `{}` standing for the tampered file) on every variant and checks the
/// refusal and that the file is untouched.
fn assert_refused_untouched(what: &str, args: &[&str], extra_setup: impl Fn(&Fixture)) {
    let fx = Fixture::new();
    extra_setup(&fx);
    for (variant, text) in tampered_variants(&fx) {
        let p = fx.write("t.yaml", &text);
        let args: Vec<String> = args.iter().map(|a| if *a == "{}" { p.display().to_string() } else { (*a).to_owned() }).collect();
        let out = fx.gitseal().env("EDITOR", "true").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(51), "{what} on a file with {variant}: {}", stderr(&out));
        assert!(stderr(&out).contains("MAC mismatch"), "{what}, {variant}: {}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text, "{what} changed the file with {variant}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("correct-horse"), "{what} printed plaintext");
    }
}

#[test]
fn encrypt_in_place_refuses_a_file_whose_mac_fails() {
    assert_refused_untouched("encrypt -i", &["encrypt", "-i", "{}"], |_| {});
}

#[test]
fn encrypt_in_place_refuses_a_tampered_file_with_new_plaintext_added() {
    let fx = Fixture::new();
    for (variant, text) in tampered_variants(&fx) {
        let with_new = text.replacen("  password: ENC[", "  added: new-value\n  password: ENC[", 1);
        let with_new = if with_new == text { text.replacen("  token: ENC[", "  added: new-value\n  token: ENC[", 1) } else { with_new };
        let p = fx.write("t.yaml", &with_new);
        let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(51), "{variant}: {}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), with_new, "{variant}: file changed");
    }
}

#[test]
fn encrypt_in_place_still_adds_new_plaintext_values_to_an_intact_file() {
    let fx = Fixture::new();
    let p = fx.write("s.yaml", TWO_DOCS);
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&p).output().unwrap());
    let enc = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, enc.replacen("  token: ENC[", "  added: new-value\n  token: ENC[", 1)).unwrap();
    assert_success("encrypt -i", &fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap());
    let plain = String::from_utf8(fx.decrypt(&p)).unwrap();
    assert_eq!(plain, TWO_DOCS.replace("  token: abcdef\n", "  added: new-value\n  token: abcdef\n"));
}

#[test]
fn encrypt_in_place_refuses_a_new_document_holding_copied_ciphertext() {
    let fx = Fixture::new();
    let p = fx.write("s.yaml", TWO_DOCS);
    let enc = String::from_utf8(fx.encrypt(&p)).unwrap();
    // The first Secret copied, without its sops block, into an attacker's namespace.
    let first = enc.split("\n---\n").next().unwrap();
    let body = &first[..first.find("\nsops:").unwrap()];
    let text = format!("{enc}---\n{}\n", body.replace("namespace: prod", "namespace: attacker").replace("name: first", "name: stolen"));
    let p = fx.write("t.yaml", &text);
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(stderr(&out).contains("no sops metadata"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
}

#[test]
fn encrypt_onto_an_existing_output_refuses_when_its_mac_fails() {
    let fx = Fixture::new();
    let plain = fx.write("plain.yaml", TWO_DOCS);
    for (variant, text) in tampered_variants(&fx) {
        let p = fx.write("t.yaml", &text);
        let out = fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-o"]).arg(&p).arg(&plain).output().unwrap();
        assert_eq!(out.status.code(), Some(51), "{variant}: {}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text, "{variant}: output changed");
    }
}

#[test]
fn set_refuses_a_file_whose_mac_fails() {
    assert_refused_untouched("set", &["set", "{}", "[\"stringData\"][\"password\"]", "\"new\""], |_| {});
}

#[test]
fn unset_refuses_a_file_whose_mac_fails() {
    assert_refused_untouched("unset", &["unset", "{}", "[\"stringData\"][\"password\"]"], |_| {});
}

#[test]
fn edit_refuses_a_file_whose_mac_fails() {
    assert_refused_untouched("edit", &["edit", "{}"], |_| {});
}

#[test]
fn rotate_refuses_a_file_whose_mac_fails() {
    assert_refused_untouched("rotate -i", &["rotate", "-i", "{}"], |_| {});
}

#[test]
fn updatekeys_refuses_a_file_whose_mac_fails() {
    assert_refused_untouched("updatekeys -y", &["updatekeys", "-y", "{}"], |fx| {
        // A rule asking for one more recipient, so that updatekeys has work to do.
        let (_, other) = gitseal_core::keys::age::generate_identity();
        fx.write(".sops.yaml", format!("creation_rules:\n  - age: {},{other}\n", fx.recipient));
    });
}

#[test]
fn updatekeys_still_works_on_an_intact_file() {
    let fx = Fixture::new();
    let (_, other) = gitseal_core::keys::age::generate_identity();
    let p = fx.write("s.yaml", TWO_DOCS);
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&p).output().unwrap());
    fx.write(".sops.yaml", format!("creation_rules:\n  - age: {},{other}\n", fx.recipient));
    let out = fx.gitseal().args(["updatekeys", "-y"]).arg(&p).output().unwrap();
    assert_success("updatekeys", &out);
    assert!(std::fs::read_to_string(&p).unwrap().contains(&other.to_string()));
}

// Recipients asked for on the command line against those of an existing encrypted file.

/// The age recipients of an encrypted file (every document carries the same block).
fn recipients_of(path: &std::path::Path) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for r in std::fs::read_to_string(path).unwrap().lines().filter_map(|l| l.trim_start().strip_prefix("- recipient: ")) {
        if !all.iter().any(|a| a == r) {
            all.push(r.to_owned());
        }
    }
    all
}

#[test]
fn encrypt_onto_an_existing_output_with_other_recipients_says_so_and_follows_the_request() {
    let fx = Fixture::new();
    let (s2, r2) = gitseal_core::keys::age::generate_identity();
    let k2 = fx.write("k2.txt", format!("{}\n", &*s2));
    let plain = fx.write("plain.yaml", TWO_DOCS);
    let out_file = fx.path("out.yaml");
    let both = format!("{},{r2}", fx.recipient);
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "--age", &both, "-o"]).arg(&out_file).arg(&plain).output().unwrap());
    assert_eq!(recipients_of(&out_file).len(), 2);

    // Asked for the first recipient only: the second must not stay silently.
    let out = fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-o"]).arg(&out_file).arg(&plain).output().unwrap();
    assert_success("encrypt -o", &out);
    assert!(stderr(&out).contains(&format!("- age:{r2}")), "{}", stderr(&out));
    assert_eq!(recipients_of(&out_file), vec![fx.recipient.clone()]);
    // A new data key: the removed recipient's identity no longer opens the file.
    let out = fx.gitseal().env("SOPS_AGE_KEY_FILE", &k2).arg("decrypt").arg(&out_file).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert_eq!(String::from_utf8(fx.decrypt(&out_file)).unwrap(), TWO_DOCS);
}

#[test]
fn encrypt_in_place_with_other_recipients_is_refused_naming_them() {
    let fx = Fixture::new();
    let (_, r2) = gitseal_core::keys::age::generate_identity();
    let p = fx.write("s.yaml", TWO_DOCS);
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "--age", &format!("{},{r2}", fx.recipient), "-i"]).arg(&p).output().unwrap());
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("  token: ENC[", "  added: new-value\n  token: ENC[", 1)).unwrap();
    let before = std::fs::read_to_string(&p).unwrap();
    let out = fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("- age:{r2}")) && stderr(&out).contains("updatekeys"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), before);
    // The same recipients as the file's: encrypted as usual.
    let out = fx.gitseal().args(["encrypt", "--age", &format!("{r2},{}", fx.recipient), "-i"]).arg(&p).output().unwrap();
    assert_success("encrypt -i with the file's recipients", &out);
}

#[test]
fn encrypt_in_place_notes_recipients_that_differ_from_the_rule() {
    let fx = Fixture::new();
    let (_, r2) = gitseal_core::keys::age::generate_identity();
    let p = fx.write("s.yaml", TWO_DOCS);
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-i"]).arg(&p).output().unwrap());
    fx.write(".sops.yaml", format!("creation_rules:\n  - age: {},{r2}\n", fx.recipient));
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("  token: ENC[", "  added: new-value\n  token: ENC[", 1)).unwrap();
    let out = fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap();
    assert_success("encrypt -i", &out);
    assert!(stderr(&out).contains(&format!("+ age:{r2}")) && stderr(&out).contains("updatekeys"), "{}", stderr(&out));
    assert_eq!(recipients_of(&p), vec![fx.recipient.clone()]);
}
