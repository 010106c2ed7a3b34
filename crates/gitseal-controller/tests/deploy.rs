//! The deployment files: the checked-in CRD is what the binary prints, the kustomize base
//! builds with the real kubectl, and what it builds holds the security settings and the
//! least-privilege RBAC the docs promise.

mod support;

use std::process::Command;

use gitseal_core::document::yaml::json;
use gitseal_core::document::yaml::value::parse_documents;
use serde_json::Value;
use support::peers::{kubectl, repo_root};

const BIN: &str = env!("CARGO_BIN_EXE_gitseal-controller");

#[test]
fn the_printed_crd_and_deploy_crd_yaml_do_not_drift() {
    let out = Command::new(BIN).arg("crd").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = std::fs::read_to_string(repo_root().join("deploy/crd.yaml")).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == file,
        "deploy/crd.yaml differs from `gitseal-controller crd`; regenerate it with: cargo run -p gitseal-controller -- crd > deploy/crd.yaml"
    );
}

#[test]
fn help_prints_usage_and_a_bad_flag_exits_2_with_a_message() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let usage = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--namespace",
        "--selector",
        "--keys-secret",
        "--controller-namespace",
        "--probe-addr",
        "--metrics-addr",
        "--leader-elect",
        "--lease-name",
        "--lease-duration",
        "--generate-key",
        "crd",
        "recipients",
    ] {
        assert!(usage.contains(flag), "{flag} missing from --help");
    }
    let out = Command::new(BIN).args(["run", "--probe-addr", "nonsense"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--probe-addr"), "{}", String::from_utf8_lossy(&out.stderr));
}

fn kustomize_build() -> Option<Vec<Value>> {
    let kubectl = kubectl()?;
    let out = Command::new(kubectl).arg("kustomize").arg(repo_root().join("deploy")).output().unwrap();
    assert!(out.status.success(), "kubectl kustomize deploy/ failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "kubectl printed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = parse_documents(&text).unwrap().iter().map(json::to_json).collect();
    Some(docs)
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("no {kind} in the kustomize output"))
}

#[test]
fn the_kustomize_base_builds_with_every_part() {
    let Some(docs) = kustomize_build() else { return };
    let mut kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Deployment", "Namespace", "Role", "RoleBinding", "Service", "ServiceAccount"]
    );
    assert_eq!(find(&docs, "Namespace")["metadata"]["name"], "gitseal-system");
    assert_eq!(find(&docs, "CustomResourceDefinition")["metadata"]["name"], "encryptedsecrets.gitseal.dev");
    let service = find(&docs, "Service");
    assert_eq!(service["spec"]["ports"][0]["port"], 8080);
    let binding = find(&docs, "ClusterRoleBinding");
    assert_eq!(binding["subjects"][0]["name"], "gitseal-controller");
    assert_eq!(binding["subjects"][0]["namespace"], "gitseal-system");
}

/// The optional component for Vault's Kubernetes auth without a reviewer token: an
/// overlay of the base with it builds with the real kubectl and binds the controller's
/// ServiceAccount, in its namespace, to `system:auth-delegator`; the base alone does not.
#[test]
fn the_vault_kubernetes_auth_component_binds_the_auth_delegator_role() {
    let Some(kubectl) = kubectl() else { return };
    let overlay = tempfile::tempdir().unwrap();
    // kustomize takes only relative paths: from the overlay up to `/`, then down to deploy/.
    let overlay_dir = overlay.path().canonicalize().unwrap();
    let up = "../".repeat(overlay_dir.components().count() - 1);
    let deploy_abs = repo_root().join("deploy").canonicalize().unwrap();
    let deploy = std::path::PathBuf::from(format!("{up}{}", deploy_abs.strip_prefix("/").unwrap().display()));
    std::fs::write(
        overlay.path().join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {}\ncomponents:\n  - {}\n",
            deploy.display(),
            deploy.join("components/vault-kubernetes-auth").display()
        ),
    )
    .unwrap();
    let out = Command::new(kubectl).arg("kustomize").arg(&overlay_dir).output().unwrap();
    assert!(out.status.success(), "kubectl kustomize of the overlay failed: {}", String::from_utf8_lossy(&out.stderr));
    let docs: Vec<Value> = parse_documents(&String::from_utf8(out.stdout).unwrap()).unwrap().iter().map(json::to_json).collect();
    let delegator: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "ClusterRoleBinding" && d["roleRef"]["name"] == "system:auth-delegator").collect();
    assert_eq!(delegator.len(), 1, "{docs:?}");
    let sa = find(&docs, "ServiceAccount");
    assert_eq!(delegator[0]["subjects"][0]["kind"], "ServiceAccount");
    assert_eq!(delegator[0]["subjects"][0]["name"], sa["metadata"]["name"]);
    assert_eq!(delegator[0]["subjects"][0]["namespace"], sa["metadata"]["namespace"]);

    let base = kustomize_build().unwrap();
    assert!(!base.iter().any(|d| d["roleRef"]["name"] == "system:auth-delegator"), "the base must not grant token reviews");
}

#[test]
fn the_deployment_runs_locked_down_with_probes_and_resources() {
    let Some(docs) = kustomize_build() else { return };
    let pod = &find(&docs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "gitseal-controller");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    for field in ["requests", "limits"] {
        assert!(c["resources"][field]["memory"].is_string() && c["resources"][field]["cpu"].is_string(), "resources.{field}");
    }
    let env: Vec<&str> = c["env"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert!(env.contains(&"POD_NAMESPACE"));
}

/// Every `group/resource:verb` a Role or ClusterRole grants, sorted.
fn granted_by(role: &Value) -> Vec<String> {
    let mut granted = Vec::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    granted.push(format!("{}/{}:{}", group.as_str().unwrap(), resource.as_str().unwrap(), verb.as_str().unwrap()));
                }
            }
        }
    }
    granted.sort();
    granted
}

#[test]
fn the_namespaced_role_grants_only_the_lease_and_the_recipients_configmap() {
    let Some(docs) = kustomize_build() else { return };
    let role = find(&docs, "Role");
    assert_eq!(role["metadata"]["namespace"], "gitseal-system");
    assert_eq!(
        granted_by(role),
        [
            "/configmaps:create",
            "/configmaps:get",
            "/configmaps:patch",
            "coordination.k8s.io/leases:create",
            "coordination.k8s.io/leases:get",
            "coordination.k8s.io/leases:update"
        ]
    );
    let binding = find(&docs, "RoleBinding");
    assert_eq!(binding["metadata"]["namespace"], "gitseal-system");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["name"], "gitseal-controller");
    assert_eq!(binding["subjects"][0]["namespace"], "gitseal-system");
}

#[test]
fn the_cluster_role_grants_exactly_what_the_controller_uses() {
    let Some(docs) = kustomize_build() else { return };
    let granted = granted_by(find(&docs, "ClusterRole"));
    let mut expected: Vec<String> = [
        "gitseal.dev/encryptedsecrets:get",
        "gitseal.dev/encryptedsecrets:list",
        "gitseal.dev/encryptedsecrets:watch",
        "gitseal.dev/encryptedsecrets/status:get",
        "gitseal.dev/encryptedsecrets/status:patch",
        "gitseal.dev/encryptedsecrets/status:update",
        "/secrets:get",
        "/secrets:list",
        "/secrets:watch",
        "/secrets:create",
        "/secrets:patch",
        "/secrets:update",
        "/secrets:delete",
        "events.k8s.io/events:create",
        "events.k8s.io/events:patch",
    ]
    .map(String::from)
    .to_vec();
    expected.sort();
    assert_eq!(granted, expected);
}
