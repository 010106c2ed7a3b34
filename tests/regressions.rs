//! Regression tests, each named after the bug it pins down.

mod common;
use common::{assert_success, stderr, Fixture};

fn round_trip(fx: &Fixture, name: &str, content: &str) -> std::path::PathBuf {
    let p = fx.write(name, content);
    let enc = fx.write(&format!("enc-{name}"), fx.encrypt(&p));
    assert_eq!(String::from_utf8(fx.decrypt(&enc)).unwrap(), content, "{name}");
    assert_success("sops decrypt", &fx.sops().arg("decrypt").arg(&enc).output().unwrap());
    enc
}

#[test]
fn keep_chomping_block_as_last_value_panicked_with_edits_out_of_order() {
    let fx = Fixture::new();
    round_trip(&fx, "keep.yaml", "a: |+\n  x\n\n");
    round_trip(&fx, "keepf.yaml", "a: >+\n  x\n\n\n");
}

#[test]
fn flow_collection_values_came_back_double_quoted() {
    let fx = Fixture::new();
    let enc = round_trip(&fx, "flow.yaml", "tags: [a, b]\nm: {x: 1, y: two, z: \"q\"}\n");
    let out = fx.sops().arg("decrypt").arg(&enc).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("- a\n") && text.contains("- b\n"), "{text}");
}

#[test]
fn crlf_dotenv_metadata_was_unreadable_by_sops() {
    let fx = Fixture::new();
    let enc = round_trip(&fx, "c.env", "A=x\r\n# note\r\nB=y\r\n");
    let out = fx.sops().args(["decrypt", "--extract", "[\"B\"]"]).arg(&enc).output().unwrap();
    assert_success("sops --extract", &out);
    assert_eq!(out.stdout, b"y");
}

#[test]
fn repeated_value_across_documents_lost_its_own_ciphertext_on_output_flag() {
    let fx = Fixture::new();
    let src = fx.write("r.yaml", "a: x\n---\na: x\n");
    let out_file = fx.path("o.yaml");
    let run = || fx.gitseal().args(["encrypt", "--age", &fx.recipient, "-o"]).arg(&out_file).arg(&src).output().unwrap();
    assert_success("first", &run());
    let first = std::fs::read(&out_file).unwrap();
    assert_success("second", &run());
    assert_eq!(std::fs::read(&out_file).unwrap(), first);
}

#[test]
fn binary_tag_broke_the_sops_mac() {
    let fx = Fixture::new();
    let p = fx.write("b.yaml", "a: !!binary aGVsbG8=\n");
    let out = fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("b.yaml:1:"), "{}", stderr(&out));
}

#[test]
fn integer_keys_produced_files_sops_cannot_read() {
    let fx = Fixture::new();
    let p = fx.write("k.yaml", "ports:\n  8080: http\n");
    let out = fx.gitseal().args(["encrypt", "--age", &fx.recipient]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("k.yaml:2:") && stderr(&out).contains("not a string"), "{}", stderr(&out));
    // Quoted, the key is a string and all is well.
    round_trip(&fx, "q.yaml", "ports:\n  \"8080\": http\n");
}

#[test]
fn extract_of_a_list_silently_printed_its_first_item() {
    let fx = Fixture::new();
    let p = fx.write("l.yaml", "db:\n  replicas:\n    - one\n    - two\n");
    let enc = fx.write("l.enc.yaml", fx.encrypt(&p));
    let out = fx.gitseal().args(["decrypt", "--extract", "[\"db\"][\"replicas\"]"]).arg(&enc).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = fx.gitseal().args(["decrypt", "--extract", "[\"db\"][\"replicas\"][1]"]).arg(&enc).output().unwrap();
    assert_success("extract item", &out);
    assert_eq!(out.stdout, b"two");
}

#[test]
fn sops_written_booleans_decrypted_as_title_case() {
    let fx = Fixture::new();
    let p = fx.write("t.yaml", "enabled: true\ncount: 3\n");
    let enc = fx.write("t.enc.yaml", fx.sops_encrypt(&p, &[]));
    assert_eq!(String::from_utf8(fx.decrypt(&enc)).unwrap(), "enabled: true\ncount: 3\n");
}

#[test]
fn indented_top_level_mapping_got_an_unreadable_sops_block_at_column_0() {
    let fx = Fixture::new();
    let enc = round_trip(&fx, "indented.yaml", "# comment\n  apiVersion: v1\n  kind: Secret\n  metadata:\n    name: s\n  stringData:\n    token: hello\n");
    let text = String::from_utf8(std::fs::read(&enc).unwrap()).unwrap();
    assert!(text.contains("\n  sops:\n      age:\n"), "{text}");
    let enc = round_trip(&fx, "multi.yaml", "---\n a: x\n---\n   b: q\n--- \nc: z\n");
    // Re-encrypting the encrypted file (the metadata block already there) keeps it readable.
    let again = fx.write("again.yaml", fx.encrypt(&enc));
    assert_eq!(String::from_utf8(fx.decrypt(&again)).unwrap(), "---\n a: x\n---\n   b: q\n--- \nc: z\n");
    assert_success("set on an indented file", &fx.gitseal().args(["set"]).arg(&again).args(["[\"a\"]", "\"w\""]).output().unwrap());
    assert!(String::from_utf8(fx.decrypt(&again)).unwrap().starts_with("---\n a: w\n"));
}

/// `sops decrypt` of `file` as JSON (the values as sops reads them, for comparing).
fn sops_values(fx: &Fixture, file: &std::path::Path) -> serde_json::Value {
    let out = fx.sops().args(["decrypt", "--output-type", "json"]).arg(file).output().unwrap();
    assert_success("sops decrypt", &out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn utf8_bom_became_part_of_the_first_key_and_hid_the_kubernetes_object() {
    let fx = Fixture::new();
    let content = "\u{feff}apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: hunter2\n";
    let p = fx.write("bom.yaml", content);
    let enc = fx.encrypt(&p);
    let enc_text = String::from_utf8(enc.clone()).unwrap();
    assert!(enc_text.starts_with("\u{feff}apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"), "{enc_text}");
    assert!(enc_text.contains("encrypted_regex: ^(data|stringData)$"), "{enc_text}");
    assert!(!enc_text.contains("hunter2"), "{enc_text}");
    let enc_path = fx.write("bom.enc.yaml", &enc);
    assert_eq!(String::from_utf8(fx.decrypt(&enc_path)).unwrap(), content);
    // sops reads the mark as it reads it in its own input: not part of the document.
    let values = sops_values(&fx, &enc_path);
    assert_eq!(values["apiVersion"], "v1");
    assert_eq!(values["stringData"]["token"], "hunter2");
    let mine = fx.write("bom-sops.yaml", fx.sops_encrypt(&p, &["--encrypted-regex", "^(data|stringData)$"]));
    assert_eq!(sops_values(&fx, &mine), values);
}

#[test]
fn yaml_tags_were_left_on_ciphertext_that_neither_tool_could_read() {
    let fx = Fixture::new();
    let content = "a: !!int \"42\"\nb: !!str 42\nc: !custom hello\nd: !!float \"1.5\"\ne: !!bool \"true\"\nf: !!str \"x\"\ng: [!!int \"7\", z]\n";
    let p = fx.write("tags.yaml", content);
    let enc = fx.write("tags.enc.yaml", fx.encrypt(&p));
    // Both tools read gitseal's file as sops reads the original.
    let by_sops = fx.write("tags.sops.yaml", fx.sops_encrypt(&p, &[]));
    assert_eq!(sops_values(&fx, &enc), sops_values(&fx, &by_sops));
    // A tag naming a type is carried by the ciphertext's type; other tags stay.
    let back = String::from_utf8(fx.decrypt(&enc)).unwrap();
    assert_eq!(back, "a: 42\nb: !!str \"42\"\nc: !custom hello\nd: 1.5\ne: true\nf: !!str \"x\"\ng: [7, z]\n");
}

#[test]
fn trailing_document_marker_was_refused_where_sops_accepts_it() {
    let fx = Fixture::new();
    let enc = round_trip(&fx, "trail.yaml", "a: b\n---\n");
    assert_eq!(sops_values(&fx, &enc)["a"], "b");
    round_trip(&fx, "trail2.yaml", "a: b\n---\nc: d\n---\n");
    round_trip(&fx, "dir11.yaml", "%YAML 1.1\n---\na: b\n");
}

#[test]
fn overflowing_yaml_float_was_typed_float_where_sops_reads_a_string() {
    let fx = Fixture::new();
    let enc = round_trip(&fx, "big.yaml", "a: 1e400\nb: 1e-400\n");
    let values = sops_values(&fx, &enc);
    assert_eq!(values["a"], "1e400");
    assert_eq!(values["b"], 0.0);
}

#[test]
fn block_scalar_of_empty_lines_at_document_end_was_encrypted_where_no_reader_found_it() {
    // `>` followed by a line of spaces is "" (YAML 1.2, and sops); the event parser read
    // it as "\n" and the ciphertext landed after the sops block: neither tool could read
    // the file, and `-i` had replaced the original.
    let fx = Fixture::new();
    for (name, content) in [
        ("folded.yaml", "ns:\n    description: >\n      \n"),
        ("literal.yaml", "ns:\n    description: |\n\n"),
        ("strip.yaml", "ns:\n    description: |-\n      \n      \n"),
        ("sibling.yaml", "ns:\n    description: >\n\n    other: x\n"),
        ("entry.yaml", "list:\n- key: |\n\n  other: x\n"),
    ] {
        let enc = round_trip(&fx, name, content);
        let out = fx.sops().arg("decrypt").arg(&enc).output().unwrap();
        assert!(String::from_utf8(out.stdout).unwrap().contains("description: \"\"") || !content.contains("description"), "{name}");
    }
}

#[test]
fn keep_chomped_block_of_empty_lines_is_refused_naming_the_line() {
    // Such a value is one or more line breaks with no column for a ciphertext; it used to
    // panic ("edits out of order") or write a file no reader could open.
    let fx = Fixture::new();
    for content in ["ns:\n    description: |+\n\n", "ns:\n    description: >+\n      \n\n    other: x\n", "ns:\n    description: |+\n\ntop: y\n"] {
        let p = fx.write("keep.yaml", content);
        let out = fx.gitseal().args(["encrypt", "-i", "--age", &fx.recipient]).arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{content:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("keep.yaml:2:") && stderr(&out).contains("keep chomping"), "{}", stderr(&out));
        assert_eq!(fx.read("keep.yaml"), content.as_bytes(), "the file was changed");
    }
}
