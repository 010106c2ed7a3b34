//! The test API server driven by the real `kubectl` (1.32): every successful step must leave
//! kubectl's stderr free of errors and warnings, so kubectl found nothing unusual in the
//! server's answers.
//!
//! kubectl missing: the tests skip with a printed reason, and fail when
//! GITSEAL_REQUIRE_PEERS=1 (as CI runs them).

use gitseal_test_apiserver::TestApiServer;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn kubectl_path() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("kubectl")).find(|c| c.is_file()));
    if found.is_none() {
        if std::env::var("GITSEAL_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("kubectl is not installed and GITSEAL_REQUIRE_PEERS=1: install kubectl 1.32");
        }
        eprintln!("skipped: kubectl is not on PATH");
    }
    found
}

/// A server, a kubeconfig and a kubectl home of one test.
struct Cluster {
    kubectl: PathBuf,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    _server: TestApiServer,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let kubectl = kubectl_path()?;
        let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).expect("the server starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        Some(Cluster { kubectl, dir, kubeconfig, _server: server })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self.command(args).spawn().expect("kubectl runs");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Runs kubectl, which must succeed with a clean stderr; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None)
    }

    fn ok_with(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
        assert_clean(args, &stderr);
        String::from_utf8(out.stdout).unwrap()
    }

    /// Applies a manifest from stdin.
    fn apply(&self, manifest: &str, extra: &[&str]) -> String {
        let mut args = vec!["apply", "-f", "-"];
        args.extend_from_slice(extra);
        self.ok_with(&args, Some(manifest))
    }

    /// Runs kubectl, which must fail; returns stderr.
    fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(!out.status.success(), "kubectl {args:?} should have failed: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&full)).expect("kubectl prints JSON")
    }

    /// A widget CRD and the namespace `team-a`.
    fn with_widgets(&self) {
        self.apply(NAMESPACE, &[]);
        self.apply(WIDGET_CRD, &[]);
        self.ok(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"]);
    }
}

/// kubectl's stderr of a successful step: no error, warning or failed discovery line.
fn assert_clean(args: &[&str], stderr: &str) {
    for line in stderr.lines() {
        let l = line.to_lowercase();
        assert!(
            !(l.contains("error") || l.contains("warning") || l.contains("couldn't get") || l.starts_with('e') && l.contains(".go:")),
            "kubectl {args:?} printed: {line}\nwhole stderr:\n{stderr}"
        );
    }
}

/// A kubectl that keeps running (get -w, wait): its stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn spawn(cluster: &Cluster, args: &[&str]) -> Running {
        let mut child = cluster.command(args).spawn().expect("kubectl runs");
        drop(child.stdin.take());
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// Waits for a stdout line containing `needle`.
    fn expect_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!("no line with {needle:?}; saw {seen:?}");
    }

    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let out = self.child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels:\n    team: a\n";

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Ready
      type: string
      jsonPath: .status.conditions[?(@.type=="Ready")].status
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
          status:
            type: object
            properties:
              observedGeneration: {type: integer}
              conditions:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [type]
                items:
                  type: object
                  properties:
                    type: {type: string}
                    status: {type: string}
                    reason: {type: string}
                    observedGeneration: {type: integer}
"#;

fn widget(name: &str, size: u32, color: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n  namespace: team-a\nspec:\n  size: {size}\n  color: {color}\n")
}

#[test]
fn client_side_apply_creates_and_updates_namespace_crd_and_custom_resource() {
    let Some(c) = Cluster::start() else { return };
    assert!(c.apply(NAMESPACE, &[]).contains("namespace/team-a created"));
    assert!(c.apply(NAMESPACE, &[]).contains("namespace/team-a unchanged"));
    assert!(c.apply(WIDGET_CRD, &[]).contains("customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"));
    assert!(c.ok(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"]).contains("condition met"));
    let crd = c.json(&["get", "crd", "widgets.example.com"]);
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    assert_eq!(crd["status"]["storedVersions"], serde_json::json!(["v1"]));

    assert!(c.apply(&widget("w1", 3, "red"), &[]).contains("widget.example.com/w1 created"));
    let w = c.json(&["get", "wd", "w1", "-n", "team-a"]);
    assert_eq!(w["spec"]["size"], 3);
    assert_eq!(w["metadata"]["generation"], 1);
    assert!(w["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(w["metadata"]["creationTimestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(w["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string());
    let rv1: u64 = w["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();

    assert!(c.apply(&widget("w1", 5, "red"), &[]).contains("widget.example.com/w1 configured"));
    let w = c.json(&["get", "widgets.example.com", "w1", "-n", "team-a"]);
    assert_eq!(w["spec"]["size"], 5);
    assert_eq!(w["metadata"]["generation"], 2, "a spec change bumps the generation");
    let rv2: u64 = w["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
    assert!(rv2 > rv1);
    c.ok(&["label", "wd", "w1", "-n", "team-a", "tier=web"]);
    assert_eq!(c.json(&["get", "wd", "w1", "-n", "team-a"])["metadata"]["generation"], 2, "a metadata change does not");

    let yaml = c.ok(&["get", "wd", "w1", "-n", "team-a", "-o", "yaml"]);
    assert!(yaml.contains("  size: 5\n") && yaml.contains("  color: red\n") && yaml.contains("    tier: web\n"), "{yaml}");
    let table = c.ok(&["get", "wd", "-n", "team-a"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "READY", "AGE"]);
    assert!(table.lines().nth(1).unwrap().starts_with("w1 "), "{table}");
    assert!(c.ok(&["get", "wd", "-n", "team-a", "-l", "tier in (web,api)", "-o", "name"]).contains("widget.example.com/w1"));
    assert_eq!(c.ok(&["get", "wd", "-n", "team-a", "-l", "tier!=web", "-o", "name"]), "");
    let err = c.fails(&["apply", "-f", "-"], Some(&widget("w1", 5, "red").replace("size: 5", "size: big")));
    assert!(err.contains("The Widget \"w1\" is invalid: spec.size: Invalid value: \"string\": spec.size in body must be of type integer"), "{err}");
    let ns_table = c.ok(&["get", "ns", "team-a"]);
    assert!(ns_table.contains("Active"), "{ns_table}");
}

#[test]
fn a_crd_and_its_custom_resource_in_one_file_apply_as_on_a_real_cluster() {
    let Some(c) = Cluster::start() else { return };
    let all = format!("{NAMESPACE}---\n{WIDGET_CRD}---\n{}", widget("w1", 3, "red"));
    // kubectl maps every object before creating any: the first run creates the CRD and
    // cannot map the custom resource yet; the second applies it.
    let err = c.fails(&["apply", "-f", "-"], Some(&all));
    assert!(err.contains("no matches for kind \"Widget\" in version \"example.com/v1\"") && err.contains("ensure CRDs are installed first"), "{err}");
    let out = c.ok_with(&["apply", "-f", "-"], Some(&all));
    assert!(out.contains("widget.example.com/w1 created"), "{out}");
    let table = c.ok(&["get", "wd", "-A"]);
    assert_eq!(table.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(), ["NAMESPACE", "NAME", "SIZE", "READY", "AGE"]);
    assert!(table.lines().nth(1).unwrap().starts_with("team-a "), "{table}");
}

#[test]
fn secrets_apply_with_string_data_and_strict_validation() {
    let Some(c) = Cluster::start() else { return };
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\nstringData:\n  user: alice\n";
    assert!(c.apply(secret, &[]).contains("secret/s1 created"));
    let s = c.json(&["get", "secret", "s1"]);
    assert_eq!(s["data"]["user"], "YWxpY2U=");
    assert_eq!(s["type"], "Opaque");
    assert!(s.get("stringData").is_none());
    assert!(c.apply(&secret.replace("alice", "bob"), &[]).contains("secret/s1 configured"));
    assert_eq!(c.json(&["get", "secret", "s1"])["data"]["user"], "Ym9i");
    let table = c.ok(&["get", "secrets"]);
    assert_eq!(table.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(), ["NAME", "TYPE", "DATA", "AGE"]);

    let unknown = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  a: b\nbogus: 1\n";
    let err = c.fails(&["apply", "-f", "-"], Some(unknown));
    assert!(err.contains("unknown field \"bogus\""), "{err}");
    let missing_ns = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n  namespace: nowhere\n";
    let err = c.fails(&["create", "-f", "-"], Some(missing_ns));
    assert!(err.contains("Error from server (NotFound)") && err.contains("namespaces \"nowhere\" not found"), "{err}");
    let err = c.fails(&["create", "secret", "generic", "s1", "--from-literal=a=b"], None);
    assert!(err.contains("failed to create secret secrets \"s1\" already exists"), "{err}");
    // kubectl's typed clients send protobuf.
    assert!(c.ok(&["create", "secret", "generic", "keys", "--from-literal=a.agekey=AGE-SECRET-KEY-1", "--type=Opaque"]).contains("secret/keys created"));
    assert_eq!(c.json(&["get", "secret", "keys"])["data"]["a.agekey"], "QUdFLVNFQ1JFVC1LRVktMQ==");
    c.ok(&["create", "configmap", "settings", "--from-literal=mode=strict"]);
    assert_eq!(c.json(&["get", "cm", "settings"])["data"]["mode"], "strict");
    c.ok(&["create", "namespace", "team-b"]);
    assert_eq!(c.json(&["get", "ns", "team-b"])["status"]["phase"], "Active");
    c.ok(&["create", "serviceaccount", "robot", "-n", "team-b"]);
    assert!(c.ok(&["get", "sa", "-n", "team-b"]).contains("robot"));
}

#[test]
fn server_side_apply_conflicts_with_another_manager_unless_forced() {
    let Some(c) = Cluster::start() else { return };
    c.with_widgets();
    c.apply(&widget("w1", 3, "red"), &[]);
    let mine = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: team-a\nspec:\n  size: 7\n";
    let err = c.fails(&["apply", "--server-side", "-f", "-"], Some(mine));
    assert!(err.contains("Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using example.com/v1: .spec.size"), "{err}");
    assert_eq!(c.json(&["get", "wd", "w1", "-n", "team-a"])["spec"]["size"], 3, "a refused apply changes nothing");
    assert!(c.apply(mine, &["--server-side", "--force-conflicts"]).contains("serverside-applied"));
    let w = c.json(&["get", "wd", "w1", "-n", "team-a", "--show-managed-fields"]);
    assert_eq!(w["spec"]["size"], 7);
    let managers = w["metadata"]["managedFields"].as_array().unwrap();
    let apply = managers.iter().find(|m| m["manager"] == "kubectl" && m["operation"] == "Apply").expect("kubectl owns its fields by Apply");
    assert!(apply["fieldsV1"]["f:spec"]["f:size"].is_object(), "{apply}");

    // A new object is created by apply, and a field the applier stops specifying goes.
    let fresh = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w2\n  namespace: team-a\nspec:\n  size: 1\n  color: blue\n";
    assert!(c.apply(fresh, &["--server-side"]).contains("widget.example.com/w2 serverside-applied"));
    c.apply(&fresh.replace("  color: blue\n", ""), &["--server-side"]);
    let w2 = c.json(&["get", "wd", "w2", "-n", "team-a"]);
    assert_eq!(w2["spec"], serde_json::json!({"size": 1}));
}

#[test]
fn get_watch_prints_changes_as_they_happen() {
    let Some(c) = Cluster::start() else { return };
    c.with_widgets();
    c.apply(&widget("w1", 3, "red"), &[]);
    let watch = Running::spawn(&c, &["get", "wd", "-n", "team-a", "-w", "--output-watch-events"]);
    watch.expect_line("w1");
    c.apply(&widget("w1", 4, "red"), &[]);
    let line = watch.expect_line("MODIFIED");
    assert!(line.contains("w1") && line.contains('4'), "{line}");
    c.apply(&widget("w2", 9, "blue"), &[]);
    assert!(watch.expect_line("ADDED").contains("w2"));
    c.ok(&["delete", "wd", "w2", "-n", "team-a"]);
    assert!(watch.expect_line("DELETED").contains("w2"));
    let stderr = watch.stop();
    assert_clean(&["get", "-w"], &stderr);
}

#[test]
fn wait_for_ready_is_released_by_a_status_patch() {
    let Some(c) = Cluster::start() else { return };
    c.with_widgets();
    c.apply(&widget("w1", 3, "red"), &[]);
    let wait = Running::spawn(&c, &["wait", "--for=condition=Ready", "wd/w1", "-n", "team-a", "--timeout=30s"]);
    std::thread::sleep(Duration::from_millis(500));
    let status = r#"{"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"True","reason":"Done","observedGeneration":1}]}}"#;
    c.ok(&["patch", "wd", "w1", "-n", "team-a", "--subresource=status", "--type=merge", "-p", status]);
    assert!(wait.expect_line("condition met").contains("widget.example.com/w1"));
    assert_clean(&["wait"], &wait.stop());
    let w = c.json(&["get", "wd", "w1", "-n", "team-a"]);
    assert_eq!(w["status"]["conditions"][0]["status"], "True");
    assert_eq!(w["metadata"]["generation"], 1, "a status write does not bump the generation");
    // Writes to the main resource leave the status alone, and status writes the spec.
    c.ok(&["patch", "wd", "w1", "-n", "team-a", "--type=merge", "-p", r#"{"spec":{"size":4},"status":{"conditions":[]}}"#]);
    c.ok(&["patch", "wd", "w1", "-n", "team-a", "--subresource=status", "--type=merge", "-p", r#"{"spec":{"size":99}}"#]);
    let w = c.json(&["get", "wd", "w1", "-n", "team-a"]);
    assert_eq!(w["spec"]["size"], 4);
    assert_eq!(w["status"]["conditions"][0]["type"], "Ready");
    assert_eq!(w["metadata"]["generation"], 2);
    let table = c.ok(&["get", "wd", "w1", "-n", "team-a"]);
    assert!(table.lines().nth(1).unwrap().split_whitespace().collect::<Vec<_>>()[..3] == ["w1", "4", "True"], "{table}");
}

#[test]
fn replace_with_a_stale_resource_version_conflicts() {
    let Some(c) = Cluster::start() else { return };
    c.with_widgets();
    c.apply(&widget("w1", 3, "red"), &[]);
    let stale = c.ok(&["get", "wd", "w1", "-n", "team-a", "-o", "yaml"]);
    c.ok(&["label", "wd", "w1", "-n", "team-a", "changed=yes"]);
    let err = c.fails(&["replace", "-f", "-"], Some(&stale));
    assert!(
        err.contains("Error from server (Conflict)")
            && err.contains("Operation cannot be fulfilled on widgets.example.com \"w1\": the object has been modified; please apply your changes to the latest version and try again"),
        "{err}"
    );
    let fresh = c.ok(&["get", "wd", "w1", "-n", "team-a", "-o", "yaml"]);
    assert!(c.ok_with(&["replace", "-f", "-"], Some(&fresh.replace("size: 3", "size: 8"))).contains("replaced"));
    assert_eq!(c.json(&["get", "wd", "w1", "-n", "team-a"])["spec"]["size"], 8);
}

fn dependent(name: &str, owner_uid: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: team-a\n  ownerReferences:\n  - apiVersion: example.com/v1\n    kind: Widget\n    name: w1\n    uid: {owner_uid}\n    controller: true\n    blockOwnerDeletion: true\ndata:\n  a: \"1\"\n"
    )
}

fn uid(c: &Cluster, args: &[&str]) -> String {
    c.json(args)["metadata"]["uid"].as_str().unwrap().to_string()
}

#[test]
fn delete_cascades_to_dependents_and_orphan_keeps_them() {
    let Some(c) = Cluster::start() else { return };
    c.with_widgets();
    let owner = ["get", "wd", "w1", "-n", "team-a"];
    for (cascade, dependents_stay) in [(None, false), (Some("--cascade=foreground"), false), (Some("--cascade=orphan"), true)] {
        c.apply(&widget("w1", 3, "red"), &[]);
        let owner_uid = uid(&c, &owner);
        c.apply(&dependent("dep1", &owner_uid), &[]);
        c.apply(&dependent("dep2", &owner_uid), &[]);
        let mut args = vec!["delete", "wd", "w1", "-n", "team-a"];
        args.extend(cascade);
        assert!(c.ok(&args).contains("widget.example.com \"w1\" deleted"));
        assert!(c.ok(&["get", "wd", "-n", "team-a", "-o", "name"]).is_empty());
        let left = c.ok(&["get", "configmaps", "-n", "team-a", "-o", "name"]);
        if dependents_stay {
            assert_eq!(left, "configmap/dep1\nconfigmap/dep2\n", "{cascade:?}");
            let dep = c.json(&["get", "cm", "dep1", "-n", "team-a"]);
            assert!(dep["metadata"].get("ownerReferences").is_none(), "orphaned dependents lose the reference: {dep}");
            c.ok(&["delete", "cm", "dep1", "dep2", "-n", "team-a"]);
        } else {
            assert_eq!(left, "", "{cascade:?}");
        }
    }
    // A finalizer keeps an object, with deletionTimestamp, until it is removed.
    c.apply(&widget("w1", 3, "red"), &[]);
    c.ok(&["patch", "wd", "w1", "-n", "team-a", "--type=merge", "-p", r#"{"metadata":{"finalizers":["example.com/hold"]}}"#]);
    c.ok(&["delete", "wd", "w1", "-n", "team-a", "--wait=false"]);
    let held = c.json(&owner);
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
    c.ok(&["patch", "wd", "w1", "-n", "team-a", "--type=json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]);
    assert!(c.ok(&["get", "wd", "-n", "team-a", "-o", "name"]).is_empty());
    // Deleting the namespace deletes what it holds.
    c.apply(&widget("w3", 1, "red"), &[]);
    c.ok(&["delete", "namespace", "team-a"]);
    let err = c.fails(&["get", "wd", "w3", "-n", "team-a"], None);
    assert!(err.contains("NotFound"), "{err}");
}

#[test]
fn leases_are_ordinary_namespaced_objects() {
    let Some(c) = Cluster::start() else { return };
    let lease = "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: gitseal-controller\n  namespace: kube-system\nspec:\n  holderIdentity: pod-a\n  leaseDurationSeconds: 15\n";
    assert!(c.ok_with(&["create", "-f", "-"], Some(lease)).contains("lease.coordination.k8s.io/gitseal-controller created"));
    let table = c.ok(&["get", "leases", "-n", "kube-system"]);
    assert!(table.contains("pod-a"), "{table}");
    let stale = c.ok(&["get", "lease", "gitseal-controller", "-n", "kube-system", "-o", "json"]);
    c.ok(&["patch", "lease", "gitseal-controller", "-n", "kube-system", "--type=merge", "-p", r#"{"spec":{"holderIdentity":"pod-b"}}"#]);
    let err = c.fails(&["replace", "-f", "-"], Some(&stale));
    assert!(err.contains("Conflict"), "{err}");
}

#[test]
fn events_list_as_kubectl_get_events_prints_them() {
    let Some(c) = Cluster::start() else { return };
    let event = "apiVersion: v1\nkind: Event\nmetadata:\n  name: w1.decrypt\ninvolvedObject:\n  apiVersion: example.com/v1\n  kind: Widget\n  name: w1\n  namespace: default\nreason: MacMismatch\nmessage: integrity check failed\ntype: Warning\nsource:\n  component: gitseal\n";
    c.ok_with(&["create", "-f", "-"], Some(event));
    let table = c.ok(&["get", "events"]);
    let mut lines = table.lines();
    assert_eq!(lines.next().unwrap().split_whitespace().collect::<Vec<_>>(), ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    let row = lines.next().unwrap();
    assert!(row.contains("Warning") && row.contains("MacMismatch") && row.contains("widget/w1") && row.contains("integrity check failed"), "{row}");
    let selected = c.ok(&["get", "events", "--field-selector", "reason=MacMismatch,involvedObject.name=w1", "-o", "name"]);
    assert_eq!(selected, "event/w1.decrypt\n");
}

/// The kubeconfig the server writes names it, a token and the namespace `default`.
#[test]
fn kubeconfig_names_the_server_and_the_default_namespace() {
    let Some(c) = Cluster::start() else { return };
    let view = c.ok(&["config", "view", "--minify", "-o", "json"]);
    let v: Value = serde_json::from_str(&view).unwrap();
    assert!(v["clusters"][0]["cluster"]["server"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(v["contexts"][0]["context"]["namespace"], "default");
    assert!(v["users"][0]["user"]["token"].is_string());
    assert!(Path::new(&c.kubeconfig).exists());
    assert!(c.ok(&["version", "-o", "json"]).contains("\"serverVersion\""));
}

#[test]
fn kubectl_creates_a_token_review_of_a_minted_service_account_token() {
    let Some(c) = Cluster::start() else { return };
    c.ok(&["create", "serviceaccount", "gitseal-controller", "-n", "kube-system"]);
    let resources = c.ok(&["api-resources", "--api-group=authentication.k8s.io", "-o", "wide"]);
    let row = resources.lines().find(|l| l.starts_with("tokenreviews")).unwrap_or_else(|| panic!("{resources}"));
    assert!(row.contains("authentication.k8s.io/v1") && row.contains("false") && row.contains("TokenReview") && row.contains("create"), "{row}");

    let token = c._server.service_account_token("kube-system", "gitseal-controller").unwrap();
    let review = format!("apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec:\n  token: {token}\n");
    let answer: Value = serde_json::from_str(&c.ok_with(&["create", "-f", "-", "-o", "json"], Some(&review))).unwrap();
    assert_eq!(answer["status"]["authenticated"], true, "{answer}");
    assert_eq!(answer["status"]["user"]["username"], "system:serviceaccount:kube-system:gitseal-controller");
    let uid = c.ok(&["get", "serviceaccount", "gitseal-controller", "-n", "kube-system", "-o", "jsonpath={.metadata.uid}"]);
    assert_eq!(answer["status"]["user"]["uid"], uid.as_str());

    let forged = review.replace(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
    let answer: Value = serde_json::from_str(&c.ok_with(&["create", "-f", "-", "-o", "json"], Some(&forged))).unwrap();
    assert_eq!(answer["status"]["error"], "[invalid bearer token, token lookup failed]", "{answer}");
}
