//! The ordering examples of docs/guides/ordering.md (examples/ordering/): every file
//! parses with gitseal's own YAML parser and every kustomization builds with the real
//! `kubectl kustomize`; in the Argo CD example the EncryptedSecrets sync in a wave before
//! every workload and the controller's Application before the apps, and argocd-cm carries
//! examples/argocd-health/health.lua byte for byte; in the Flux example every `dependsOn`
//! names a Kustomization that exists, the EncryptedSecrets are applied after the CRD and
//! before the workloads that read their Secrets, and every one of them is health-checked;
//! the example EncryptedSecrets open with the demo key through the gitseal binary.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gitseal_core::document::yaml::value::{parse_documents, YamlNode};

use common::{assert_success, require_peer, Fixture};

/// The kinds that run pods.
const WORKLOAD_KINDS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"];

const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
const HEALTH_KEY: &str = "resource.customizations.health.gitseal.dev_EncryptedSecret";
const APPLICATION_HEALTH_KEY: &str = "resource.customizations.health.argoproj.io_Application";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn examples() -> PathBuf {
    repo().join("examples/ordering")
}

// ---------------------------------------------------------------------------------------
// Reading YAML with gitseal's parser

/// The node at `path` (mapping keys) under `node`.
fn at<'a>(node: &'a YamlNode, path: &[&str]) -> Option<&'a YamlNode> {
    path.iter().try_fold(node, |n, key| n.get(key))
}

/// The scalar text at `path`, when there is one.
fn text(node: &YamlNode, path: &[&str]) -> Option<String> {
    at(node, path).and_then(YamlNode::as_str).map(str::to_owned)
}

/// The items of the sequence at `path` (none when absent).
fn items<'a>(node: &'a YamlNode, path: &[&str]) -> &'a [YamlNode] {
    match at(node, path) {
        Some(YamlNode::Seq { items, .. }) => items,
        _ => &[],
    }
}

/// Whether the boolean at `path` is `true`.
fn is_true(node: &YamlNode, path: &[&str]) -> bool {
    text(node, path).as_deref() == Some("true")
}

fn kind(obj: &YamlNode) -> String {
    text(obj, &["kind"]).unwrap_or_default()
}

/// `Kind/namespace/name`, for messages.
fn id(obj: &YamlNode) -> String {
    format!("{}/{}/{}", kind(obj), text(obj, &["metadata", "namespace"]).unwrap_or_default(), text(obj, &["metadata", "name"]).unwrap_or_default())
}

fn parse(what: &str, src: &str) -> Vec<YamlNode> {
    let docs = parse_documents(src).unwrap_or_else(|e| panic!("{what}: line {}: {}", e.line, e.msg));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// Every `.yaml`/`.yml` file under `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The objects `kubectl kustomize DIR` builds, parsed.
fn kustomize(dir: &Path) -> Vec<YamlNode> {
    let out = Command::new(require_peer("kubectl")).arg("kustomize").arg(dir).output().expect("run kubectl kustomize");
    assert_success(&format!("kubectl kustomize {}", dir.display()), &out);
    parse(&format!("kubectl kustomize {}", dir.display()), std::str::from_utf8(&out.stdout).unwrap())
}

/// The sync wave of an object (0 without the annotation, as Argo CD counts it).
fn wave(obj: &YamlNode) -> i64 {
    match text(obj, &["metadata", "annotations", SYNC_WAVE]) {
        None => 0,
        Some(w) => w.trim().parse().unwrap_or_else(|_| panic!("{}: sync wave {w:?} is not an integer", id(obj))),
    }
}

/// The Secrets an object's pods read: `(name, Some(key))` for `secretKeyRef`, `(name, None)`
/// for `envFrom.secretRef` and secret volumes.
fn secret_refs(node: &YamlNode, out: &mut BTreeSet<(String, Option<String>)>) {
    match node {
        YamlNode::Map { entries, .. } => {
            for (k, v) in entries {
                match k.as_str() {
                    Some("secretKeyRef") => {
                        out.insert((text(v, &["name"]).expect("secretKeyRef.name"), text(v, &["key"])));
                    }
                    Some("secretRef") => {
                        out.insert((text(v, &["name"]).expect("secretRef.name"), None));
                    }
                    Some("secret") if v.get("secretName").is_some() => {
                        out.insert((text(v, &["secretName"]).unwrap(), None));
                    }
                    _ => {}
                }
                secret_refs(v, out);
            }
        }
        YamlNode::Seq { items, .. } => items.iter().for_each(|i| secret_refs(i, out)),
        YamlNode::Scalar(_) => {}
    }
}

fn is_encrypted_secret(obj: &YamlNode) -> bool {
    kind(obj) == "EncryptedSecret" && text(obj, &["apiVersion"]).is_some_and(|v| v.starts_with("gitseal.dev/"))
}

fn is_gitseal_crd(obj: &YamlNode) -> bool {
    kind(obj) == "CustomResourceDefinition" && text(obj, &["metadata", "name"]).as_deref() == Some("encryptedsecrets.gitseal.dev")
}

/// The directory a GitOps object's path names: relative to the repository root, as a
/// GitRepository or an Argo CD source of this repository reads it.
fn source_dir(path: &str) -> PathBuf {
    let dir = repo().join(path.trim_start_matches("./"));
    assert!(dir.is_dir(), "{path} is not a directory of the repository");
    dir
}

// ---------------------------------------------------------------------------------------
// Every file

#[test]
fn every_yaml_file_parses_and_every_kustomization_builds() {
    let files = yaml_files(&examples());
    assert!(files.len() >= 10, "examples/ordering holds only {} YAML files", files.len());
    let mut kustomization_dirs = Vec::new();
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap();
        let docs = parse(&file.display().to_string(), &src);
        assert!(!docs.is_empty(), "{}: no document", file.display());
        for doc in &docs {
            assert!(text(doc, &["apiVersion"]).is_some() && text(doc, &["kind"]).is_some(), "{}: a document without apiVersion and kind", file.display());
        }
        if file.file_name().unwrap() == "kustomization.yaml" {
            kustomization_dirs.push(file.parent().unwrap().to_path_buf());
        }
    }
    for dir in [examples().join("flux/clusters/demo"), examples().join("argocd/apps"), examples().join("argocd/demo")] {
        assert!(kustomization_dirs.contains(&dir), "{} has no kustomization.yaml", dir.display());
    }
    for dir in &kustomization_dirs {
        assert!(!kustomize(dir).is_empty(), "kubectl kustomize {} builds nothing", dir.display());
    }
}

// ---------------------------------------------------------------------------------------
// Argo CD

/// The Applications of the Argo CD example (the root and those it applies), each with
/// the objects its source path builds.
fn argocd_applications() -> Vec<(YamlNode, Vec<YamlNode>)> {
    let root = parse("root.yaml", &std::fs::read_to_string(examples().join("argocd/root.yaml")).unwrap());
    assert_eq!(root.len(), 1);
    let root = root.into_iter().next().unwrap();
    assert_eq!(kind(&root), "Application");
    let children = kustomize(&source_dir(&text(&root, &["spec", "source", "path"]).expect("the root Application has a source path")));
    let mut apps = Vec::new();
    for app in children {
        assert_eq!(kind(&app), "Application", "the root Application applies {}", id(&app));
        let objects = kustomize(&source_dir(&text(&app, &["spec", "source", "path"]).unwrap_or_else(|| panic!("{} has no source path", id(&app)))));
        apps.push((app, objects));
    }
    apps
}

#[test]
fn argocd_encrypted_secrets_sync_in_a_wave_before_every_workload() {
    let mut checked = 0;
    for (app, objects) in argocd_applications() {
        let secrets: Vec<&YamlNode> = objects.iter().filter(|o| is_encrypted_secret(o)).collect();
        let workloads: Vec<&YamlNode> = objects.iter().filter(|o| WORKLOAD_KINDS.contains(&kind(o).as_str())).collect();
        if secrets.is_empty() {
            continue;
        }
        assert!(!workloads.is_empty(), "{}: EncryptedSecrets but no workload", id(&app));
        let last_secret = secrets.iter().max_by_key(|o| wave(o)).unwrap();
        let first_workload = workloads.iter().min_by_key(|o| wave(o)).unwrap();
        assert!(
            wave(last_secret) < wave(first_workload),
            "{}: {} is in wave {}, not before {} in wave {}",
            id(&app),
            id(last_secret),
            wave(last_secret),
            id(first_workload),
            wave(first_workload)
        );
        // The namespaces they go to exist by their wave.
        for s in &secrets {
            let ns = text(s, &["metadata", "namespace"]).unwrap_or_else(|| panic!("{} has no namespace", id(s)));
            if let Some(n) = objects.iter().find(|o| kind(o) == "Namespace" && text(o, &["metadata", "name"]).as_deref() == Some(&ns)) {
                assert!(wave(n) <= wave(s), "{}: Namespace {ns} in wave {} comes after {} in wave {}", id(&app), wave(n), id(s), wave(s));
            }
        }
        checked += secrets.len();
    }
    assert!(checked > 0, "the Argo CD example applies no EncryptedSecret");
}

#[test]
fn argocd_controller_application_syncs_before_every_application_with_encrypted_secrets() {
    let apps = argocd_applications();
    let controller: Vec<&YamlNode> = apps.iter().filter(|(_, objs)| objs.iter().any(is_gitseal_crd)).map(|(a, _)| a).collect();
    assert_eq!(controller.len(), 1, "one Application installs the gitseal CRD");
    let controller = controller[0];
    assert!(
        apps.iter().find(|(a, _)| std::ptr::eq(a, controller)).unwrap().1.iter().any(|o| kind(o) == "Deployment"),
        "the controller's Application runs the controller"
    );
    let mut users = 0;
    for (app, objects) in &apps {
        if objects.iter().any(is_encrypted_secret) && !objects.iter().any(is_gitseal_crd) {
            assert!(wave(controller) < wave(app), "{} (wave {}) does not sync before {} (wave {})", id(controller), wave(controller), id(app), wave(app));
            users += 1;
        }
    }
    assert!(users > 0, "no Application applies EncryptedSecrets");
}

/// The `data` entry `key` of the argocd-cm ConfigMap in `file`, as YAML decodes it. The
/// file holds the ConfigMap, or only its `data` (a patch for `kubectl patch`).
fn configmap_entry(file: &Path, key: &str) -> String {
    let docs = parse(&file.display().to_string(), &std::fs::read_to_string(file).unwrap());
    assert_eq!(docs.len(), 1, "{}", file.display());
    let cm = &docs[0];
    if cm.get("kind").is_some() {
        assert_eq!(kind(cm), "ConfigMap", "{}", file.display());
        assert_eq!(text(cm, &["metadata", "name"]).as_deref(), Some("argocd-cm"), "{}", file.display());
    }
    text(cm, &["data", key]).unwrap_or_else(|| panic!("{} does not set {key}", file.display()))
}

#[test]
fn argocd_cm_carries_the_health_script_byte_for_byte() {
    let script = std::fs::read_to_string(repo().join("examples/argocd-health/health.lua")).unwrap();
    assert!(script.contains("observedGeneration") && script.contains("Degraded"), "health.lua is the EncryptedSecret health check");
    for file in [examples().join("argocd/argocd-cm.yaml"), repo().join("examples/argocd-health/argocd-cm-patch.yaml")] {
        let embedded = configmap_entry(&file, HEALTH_KEY);
        assert!(embedded == script, "{} does not carry examples/argocd-health/health.lua byte for byte:\n{}", file.display(), common::diff(&script, &embedded));
    }
}

/// Runs an Argo CD health script (Lua 5.1, as Argo CD's gopher-lua) with `obj` set by
/// `obj_lua`, and returns the status it reports.
fn lua_health(script: &str, obj_lua: &str) -> String {
    let program = format!("obj = {obj_lua}\nlocal hs = (function()\n{script}\nend)()\nio.write(hs.status)\n");
    let mut child = Command::new(require_peer("lua5.1")).arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), program.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_success("lua5.1", &out);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn argocd_application_health_check_reports_the_applications_own_health() {
    let script = configmap_entry(&examples().join("argocd/argocd-cm.yaml"), APPLICATION_HEALTH_KEY);
    let app = |status: &str| format!("{{metadata = {{name = \"gitseal-controller\"}}, status = {status}}}");
    assert_eq!(lua_health(&script, &app("{health = {status = \"Healthy\"}}")), "Healthy");
    assert_eq!(lua_health(&script, &app("{health = {status = \"Degraded\", message = \"MacMismatch\"}}")), "Degraded");
    assert_eq!(lua_health(&script, &app("{health = {status = \"Progressing\"}}")), "Progressing");
    assert_eq!(lua_health(&script, &app("nil")), "Progressing", "an Application not assessed yet is not done");
    assert_eq!(lua_health(&script, &app("{sync = {status = \"Synced\"}}")), "Progressing");
}

// ---------------------------------------------------------------------------------------
// Flux

/// A Flux Kustomization of the example, with the objects its path builds.
struct FluxKustomization {
    obj: YamlNode,
    name: String,
    applies: Vec<YamlNode>,
}

impl FluxKustomization {
    fn depends_on(&self) -> Vec<String> {
        let own_ns = text(&self.obj, &["metadata", "namespace"]).unwrap_or_default();
        items(&self.obj, &["spec", "dependsOn"])
            .iter()
            .map(|d| format!("{}/{}", text(d, &["namespace"]).unwrap_or_else(|| own_ns.clone()), text(d, &["name"]).expect("dependsOn[].name")))
            .collect()
    }
}

fn flux_kustomizations() -> Vec<FluxKustomization> {
    let objects = kustomize(&examples().join("flux/clusters/demo"));
    let mut out = Vec::new();
    for obj in objects {
        assert_eq!(text(&obj, &["apiVersion"]).as_deref(), Some("kustomize.toolkit.fluxcd.io/v1"), "{}", id(&obj));
        assert_eq!(kind(&obj), "Kustomization", "{}", id(&obj));
        let name = format!("{}/{}", text(&obj, &["metadata", "namespace"]).unwrap_or_default(), text(&obj, &["metadata", "name"]).unwrap());
        let applies = kustomize(&source_dir(&text(&obj, &["spec", "path"]).unwrap_or_else(|| panic!("{name} has no spec.path"))));
        out.push(FluxKustomization { obj, name, applies });
    }
    assert!(out.len() >= 3, "the Flux example holds {} Kustomizations", out.len());
    out
}

/// The Kustomizations `name` depends on, directly or not. Panics on a cycle (Flux would
/// never apply them) or a dependency that does not exist.
fn dependencies(all: &BTreeMap<String, Vec<String>>, name: &str) -> BTreeSet<String> {
    fn walk(all: &BTreeMap<String, Vec<String>>, name: &str, path: &mut Vec<String>, seen: &mut BTreeSet<String>) {
        for dep in &all[name] {
            assert!(all.contains_key(dep), "{name} depends on {dep}, which the example does not define");
            assert!(!path.contains(dep), "dependency cycle: {} -> {dep}", path.join(" -> "));
            if seen.insert(dep.clone()) {
                path.push(dep.clone());
                walk(all, dep, path, seen);
                path.pop();
            }
        }
    }
    let mut seen = BTreeSet::new();
    walk(all, name, &mut vec![name.to_owned()], &mut seen);
    seen
}

#[test]
fn flux_depends_on_orders_the_crd_then_the_encrypted_secrets_then_the_workloads() {
    let ks = flux_kustomizations();
    let graph: BTreeMap<String, Vec<String>> = ks.iter().map(|k| (k.name.clone(), k.depends_on())).collect();
    assert_eq!(graph.len(), ks.len(), "two Kustomizations share a name");
    let controller: Vec<&FluxKustomization> = ks.iter().filter(|k| k.applies.iter().any(is_gitseal_crd)).collect();
    assert_eq!(controller.len(), 1, "one Kustomization installs the gitseal CRD");
    let controller = controller[0];
    assert!(
        is_true(&controller.obj, &["spec", "wait"]) || !items(&controller.obj, &["spec", "healthChecks"]).is_empty(),
        "{} is Ready before the controller runs: no wait and no healthChecks",
        controller.name
    );
    // Which Kustomization applies the EncryptedSecret of each Secret name (namespace/name).
    let mut made_by: BTreeMap<String, &FluxKustomization> = BTreeMap::new();
    for k in &ks {
        let deps = dependencies(&graph, &k.name);
        for s in k.applies.iter().filter(|o| is_encrypted_secret(o)) {
            assert!(deps.contains(&controller.name), "{} applies {} without depending on {}", k.name, id(s), controller.name);
            let key = format!("{}/{}", text(s, &["metadata", "namespace"]).unwrap(), text(s, &["metadata", "name"]).unwrap());
            made_by.insert(key, k);
        }
    }
    assert!(!made_by.is_empty(), "the Flux example applies no EncryptedSecret");
    let mut checked = 0;
    for k in &ks {
        let deps = dependencies(&graph, &k.name);
        for w in k.applies.iter().filter(|o| WORKLOAD_KINDS.contains(&kind(o).as_str())) {
            let ns = text(w, &["metadata", "namespace"]).unwrap_or_else(|| panic!("{} has no namespace", id(w)));
            let mut refs = BTreeSet::new();
            secret_refs(w, &mut refs);
            for (secret, _) in refs {
                let Some(maker) = made_by.get(&format!("{ns}/{secret}")) else { continue };
                assert!(!std::ptr::eq(*maker, k), "{} applies {} together with the EncryptedSecret {secret} it reads", k.name, id(w));
                assert!(deps.contains(&maker.name), "{} runs {} reading Secret {ns}/{secret} without depending on {}", k.name, id(w), maker.name);
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no workload of the Flux example reads a Secret made from an EncryptedSecret");
}

#[test]
fn flux_secrets_kustomization_health_checks_every_encrypted_secret_it_applies() {
    let mut checked = 0;
    for k in flux_kustomizations() {
        let secrets: Vec<&YamlNode> = k.applies.iter().filter(|o| is_encrypted_secret(o)).collect();
        if secrets.is_empty() {
            continue;
        }
        assert!(at(&k.obj, &["spec", "decryption"]).is_none(), "{} applies EncryptedSecrets with a decryption block: Flux would decrypt them", k.name);
        assert!(text(&k.obj, &["spec", "timeout"]).is_some(), "{} has no timeout: a refused object would hold it for the whole interval", k.name);
        let wait = is_true(&k.obj, &["spec", "wait"]);
        let checks: BTreeSet<(String, String, String, String)> = items(&k.obj, &["spec", "healthChecks"])
            .iter()
            .map(|c| {
                let field = |f: &str| text(c, &[f]).unwrap_or_default();
                (field("apiVersion"), field("kind"), field("namespace"), field("name"))
            })
            .collect();
        for s in &secrets {
            let want = (
                text(s, &["apiVersion"]).unwrap(),
                "EncryptedSecret".to_owned(),
                text(s, &["metadata", "namespace"]).unwrap(),
                text(s, &["metadata", "name"]).unwrap(),
            );
            assert!(wait || checks.contains(&want), "{} does not health-check {}", k.name, id(s));
            checked += 1;
        }
        // How to read the kind: Ready and observedGeneration, refused objects failing fast.
        let exprs = items(&k.obj, &["spec", "healthCheckExprs"]);
        let expr = exprs
            .iter()
            .find(|e| text(e, &["apiVersion"]).is_some_and(|v| v.starts_with("gitseal.dev/")) && text(e, &["kind"]).is_none_or(|v| v == "EncryptedSecret"))
            .unwrap_or_else(|| panic!("{} has no healthCheckExprs for gitseal.dev EncryptedSecret", k.name));
        let current = text(expr, &["current"]).expect("healthCheckExprs current");
        let failed = text(expr, &["failed"]).expect("healthCheckExprs failed: a refused object would wait for the timeout");
        for (what, e, status) in [("current", &current, "'True'"), ("failed", &failed, "'False'")] {
            assert!(e.contains("'Ready'") && e.contains(status), "{}: {what} does not read Ready={status}: {e}", k.name);
            assert!(e.contains("status.observedGeneration == metadata.generation"), "{}: {what} ignores the generation: {e}", k.name);
        }
    }
    assert!(checked > 0, "the Flux example applies no EncryptedSecret");
}

// ---------------------------------------------------------------------------------------
// The EncryptedSecrets

fn demo_key() -> PathBuf {
    repo().join("keys-example/demo.agekey")
}

/// `gitseal ARGS FILE` with only the demo key reachable.
fn gitseal_with_demo_key(f: &Fixture, args: &[&str], file: &Path) -> std::process::Output {
    f.gitseal_without_key().env("SOPS_AGE_KEY_FILE", demo_key()).args(args).arg(file).output().unwrap()
}

/// The keys of the Secret `gitseal decrypt --kind Secret` gives for `file`, checked to be
/// the Secret `obj` stands for.
fn decrypted_secret_keys(f: &Fixture, file: &Path, obj: &YamlNode) -> BTreeSet<String> {
    let out = gitseal_with_demo_key(f, &["decrypt", "--kind", "Secret"], file);
    assert_success(&format!("gitseal decrypt --kind Secret {}", file.display()), &out);
    let docs = parse("the decrypted Secret", std::str::from_utf8(&out.stdout).unwrap());
    assert_eq!(docs.len(), 1);
    let secret = &docs[0];
    assert_eq!((kind(secret), text(secret, &["apiVersion"])), ("Secret".to_owned(), Some("v1".to_owned())));
    assert_eq!(text(secret, &["metadata", "name"]), text(obj, &["metadata", "name"]), "{}", file.display());
    assert_eq!(text(secret, &["metadata", "namespace"]), text(obj, &["metadata", "namespace"]), "{}", file.display());
    let mut keys = BTreeSet::new();
    for field in ["data", "stringData"] {
        if let Some(YamlNode::Map { entries, .. }) = secret.get(field) {
            keys.extend(entries.iter().filter_map(|(k, _)| k.as_str().map(str::to_owned)));
        }
    }
    assert!(!keys.is_empty(), "{}: the Secret holds no value", file.display());
    keys
}

#[test]
fn example_encrypted_secrets_open_with_the_demo_key() {
    let f = Fixture::new();
    let recipient = std::fs::read_to_string(repo().join("keys-example/demo.agekey.pub")).unwrap().trim().to_owned();
    let mut files = 0;
    for file in yaml_files(&examples()) {
        let src = std::fs::read_to_string(&file).unwrap();
        let docs = parse(&file.display().to_string(), &src);
        let Some(obj) = docs.iter().find(|d| is_encrypted_secret(d)) else { continue };
        assert_eq!(docs.len(), 1, "{}: an EncryptedSecret is alone in its file", file.display());
        assert!(src.contains(&format!("recipient: {recipient}")), "{} is not encrypted to the demo recipient", file.display());
        // The commit gate, with the key at hand: MAC, order, selection, binding and scope.
        let check = gitseal_with_demo_key(&f, &["check"], &file);
        assert_success(&format!("gitseal check {}", file.display()), &check);
        // The Secret it makes holds every key the example's workloads read from it.
        let keys = decrypted_secret_keys(&f, &file, obj);
        let mut read = BTreeSet::new();
        for w in yaml_files(file.parent().unwrap().parent().unwrap()) {
            for d in parse(&w.display().to_string(), &std::fs::read_to_string(&w).unwrap()) {
                if WORKLOAD_KINDS.contains(&kind(&d).as_str()) && text(&d, &["metadata", "namespace"]) == text(obj, &["metadata", "namespace"]) {
                    secret_refs(&d, &mut read);
                }
            }
        }
        let name = text(obj, &["metadata", "name"]).unwrap();
        let wanted: Vec<String> = read.iter().filter(|(n, _)| *n == name).filter_map(|(_, k)| k.clone()).collect();
        assert!(!wanted.is_empty(), "no workload next to {} reads its Secret", file.display());
        for key in wanted {
            assert!(keys.contains(&key), "{}: the Secret has no key {key:?}, which a workload reads", file.display());
        }
        files += 1;
    }
    assert!(files >= 2, "examples/ordering holds {files} EncryptedSecret file(s), one per example expected");
}

#[test]
fn encrypted_secrets_still_open_as_kustomize_renders_them() {
    // What Argo CD and Flux send is kustomize's rendering (the sync-wave annotation added,
    // comments gone), not the file: it must still verify and open.
    let f = Fixture::new();
    let mut rendered = 0;
    for dir in [examples().join("argocd/demo"), examples().join("flux/apps/demo/secrets")] {
        for obj in kustomize(&dir).iter().filter(|o| is_encrypted_secret(o)) {
            let out = Command::new(require_peer("kubectl")).arg("kustomize").arg(&dir).output().unwrap();
            let stream = String::from_utf8(out.stdout).unwrap();
            // The document of `obj` in kustomize's output, as it is written there.
            let doc = stream
                .split("\n---\n")
                .find(|d| d.contains("kind: EncryptedSecret") && d.contains(&format!("name: {}", text(obj, &["metadata", "name"]).unwrap())))
                .expect("the EncryptedSecret in kustomize's output");
            let file = f.write(&format!("rendered-{rendered}.yaml"), format!("{}\n", doc.trim_end()));
            decrypted_secret_keys(&f, &file, obj);
            rendered += 1;
        }
    }
    assert!(rendered >= 2, "{rendered} EncryptedSecret(s) rendered");
}
