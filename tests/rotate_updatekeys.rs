//! `rotate` gives a new data key; `updatekeys` re-wraps the same key for the recipients
//! the rules now name. Results are checked with the real sops.

mod common;
use common::{assert_success, stderr, Fixture};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s # the name\nstringData:\n  token: t0k3n\n  password: \"p w\"\n";

fn enc_lines(text: &str) -> Vec<String> {
    text.lines().filter(|l| l.contains("ENC[") && !l.contains("mac:")).map(str::to_owned).collect()
}

#[test]
fn rotate_changes_every_ciphertext_and_keeps_the_content() {
    let fx = Fixture::new();
    let p = fx.write("s.yaml", SECRET);
    let enc = fx.encrypt(&p);
    std::fs::write(&p, &enc).unwrap();
    let out = fx.gitseal().args(["rotate", "-i"]).arg(&p).output().unwrap();
    assert_success("rotate", &out);
    let rotated = std::fs::read_to_string(&p).unwrap();
    let before = enc_lines(&String::from_utf8(enc).unwrap());
    let after = enc_lines(&rotated);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(b, a, "a value kept its ciphertext across rotate");
    }
    assert_eq!(fx.decrypt(&p), SECRET.as_bytes());
    assert_eq!(fx.sops().args(["decrypt", "--extract", "[\"stringData\"][\"token\"]"]).arg(&p).output().unwrap().stdout, b"t0k3n");
}

#[test]
fn rotate_keeps_key_groups() {
    let fx = Fixture::new();
    let (s2, r2) = gitseal_core::keys::age::generate_identity();
    let k2 = fx.write("k2.txt", format!("{}\n", &*s2));
    fx.write(".sops.yaml", format!("creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{}]\n      - age: [{r2}]\n", fx.recipient));
    let p = fx.write("s.yaml", SECRET);
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap());
    let both = fx.write("both.txt", format!("{}{}", std::fs::read_to_string(&fx.key_file).unwrap(), std::fs::read_to_string(&k2).unwrap()));
    let out = fx.gitseal().env("SOPS_AGE_KEY_FILE", &both).args(["rotate", "-i"]).arg(&p).output().unwrap();
    assert_success("rotate", &out);
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains("shamir_threshold: 2") && text.contains("key_groups:"), "{text}");
    let out = fx.sops().env("SOPS_AGE_KEY_FILE", &both).arg("decrypt").arg(&p).output().unwrap();
    assert_success("sops decrypt", &out);
}

#[test]
fn updatekeys_adds_and_removes_recipients_without_touching_values() {
    let fx = Fixture::new();
    let (s2, r2) = gitseal_core::keys::age::generate_identity();
    let k2 = fx.write("k2.txt", format!("{}\n", &*s2));
    fx.write(".sops.yaml", format!("creation_rules:\n  - age: {}\n", fx.recipient));
    let p = fx.write("s.yaml", SECRET);
    assert_success("encrypt", &fx.gitseal().args(["encrypt", "-i"]).arg(&p).output().unwrap());
    let before = std::fs::read_to_string(&p).unwrap();

    // Not on a terminal: confirmation is required up front.
    let out = fx.gitseal().args(["updatekeys"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    fx.write(".sops.yaml", format!("creation_rules:\n  - age: {},{r2}\n", fx.recipient));
    let out = fx.gitseal().args(["updatekeys", "-y"]).arg(&p).output().unwrap();
    assert_success("updatekeys", &out);
    assert!(stderr(&out).contains(&format!("+ age:{r2}")), "{}", stderr(&out));
    let after = std::fs::read_to_string(&p).unwrap();
    let values = |t: &str| t.lines().filter(|l| l.contains("ENC[") || l.contains("lastmodified")).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(values(&before), values(&after), "values, mac or lastmodified changed");
    // The new key alone opens the file, with sops too.
    let out = fx.sops().env("SOPS_AGE_KEY_FILE", &k2).arg("decrypt").arg(&p).output().unwrap();
    assert_success("sops decrypt with the added key", &out);

    // Drop the first recipient: its key no longer opens the file.
    fx.write(".sops.yaml", format!("creation_rules:\n  - age: {r2}\n"));
    let out = fx.gitseal().env("SOPS_AGE_KEY_FILE", &k2).args(["updatekeys", "-y"]).arg(&p).output().unwrap();
    assert_success("updatekeys", &out);
    assert!(stderr(&out).contains(&format!("- age:{}", fx.recipient)), "{}", stderr(&out));
    let out = fx.gitseal().arg("decrypt").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));

    // Nothing to do: the file stays byte-identical.
    let now = std::fs::read(&p).unwrap();
    let out = fx.gitseal().env("SOPS_AGE_KEY_FILE", &k2).args(["updatekeys", "-y"]).arg(&p).output().unwrap();
    assert_success("updatekeys again", &out);
    assert_eq!(std::fs::read(&p).unwrap(), now);
}
