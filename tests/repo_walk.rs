//! `gitseal encrypt -i DIR` on realistic GitOps repositories (Flux and Argo CD layouts):
//! with the README's own `.sops.yaml` rule, only files in which the rule selects a value
//! get a `sops:` block, everything else stays byte-identical, the real `kubectl kustomize`
//! still builds every overlay, and the real `sops` decrypts every encrypted file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_success, require_peer, stderr, Fixture};

/// The `.sops.yaml` of the README's walkthrough, with its placeholder recipient replaced.
fn readme_rule(recipient: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("cat > .sops.yaml <<'EOF'\n").expect("the README walkthrough writes .sops.yaml with a quoted heredoc");
    let body = &readme[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let end = body.find("\nEOF\n").expect("heredoc end");
    let rule = &body[..=end];
    assert!(rule.contains("age1yourrecipient..."), "the README rule names the placeholder recipient: {rule}");
    rule.replace("age1yourrecipient...", recipient)
}

const KUSTOMIZE_FLUX_SYSTEM: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - gotk-sync.yaml
";

const GOTK_SYNC: &str = "\
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  secretRef:
    name: flux-system
  url: ssh://git@github.com/example/fleet
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/production
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";

const FLUX_APPS: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  dependsOn:
    - name: infrastructure
  path: ./apps/overlays/production
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
  postBuild:
    substitute:
      cluster_name: production
";

const FLUX_INFRA: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infrastructure
  namespace: flux-system
spec:
  interval: 1h
  path: ./infrastructure
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  decryption:
    provider: sops
    secretRef:
      name: sops-age
";

const INFRA_KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - helmrepository.yaml
  - helmrelease.yaml
  - receiver.yaml
  - receiver-token-secret.yaml
";

const HELM_REPOSITORY: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bitnami
  namespace: flux-system
spec:
  interval: 24h
  url: https://charts.bitnami.com/bitnami
";

// HelmRelease values with `data` keys: the README's rule must not touch them.
const HELM_RELEASE: &str = "\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: redis
  namespace: flux-system
spec:
  interval: 30m
  chart:
    spec:
      chart: redis
      version: \"19.x\"
      sourceRef:
        kind: HelmRepository
        name: bitnami
  values:
    master:
      persistence:
        data:
          size: 8Gi
    # metrics on
    metrics:
      enabled: true
";

const RECEIVER: &str = "\
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: github-receiver
  namespace: flux-system
spec:
  type: github
  events:
    - ping
    - push
  secretRef:
    name: receiver-token
  resources:
    - kind: GitRepository
      name: flux-system
";

const RECEIVER_TOKEN: &str = "\
# Token shared with the GitHub webhook (made with gitseal create webhook).
apiVersion: v1
kind: Secret
metadata:
  name: receiver-token
  namespace: flux-system
type: Opaque
stringData:
  token: d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f
";

const BASE_KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - configmap.yaml
  - db-secret.yaml
";

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  replicas: 1
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      containers:
        - name: podinfo
          image: ghcr.io/stefanprodan/podinfo:6.7.0
          envFrom:
            - configMapRef:
                name: podinfo-config
            - secretRef:
                name: podinfo-db
";

const CONFIGMAP: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo-config
data:
  PODINFO_UI_COLOR: '#34577c'
  PODINFO_UI_MESSAGE: hello
";

const DB_SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: podinfo-db
type: Opaque
data:
  DB_USER: cG9kaW5mbw==
stringData:
  DB_PASSWORD: correct-horse-battery-staple
";

const HELM_VALUES: &str = "\
# Helm values: not a Kubernetes object.
replicaCount: 2
data:
  retention: 7d
secretName: podinfo-db
";

const STAGING_KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: staging
resources:
  - ../../base/podinfo
  - staging-secret.yaml
patches:
  - path: replicas.yaml
";

const REPLICAS_PATCH: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  replicas: 2
";

const STAGING_SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: podinfo-staging-extra
stringData:
  API_KEY: staging-api-key-7c1d
";

// The capitalised name kustomize also reads; without an apiVersion line.
const PRODUCTION_KUSTOMIZATION: &str = "\
namespace: production
resources:
  - ../../base/podinfo
configMapGenerator:
  - name: podinfo-extra
    literals:
      - LOG_LEVEL=info
";

const WORKFLOW: &str = "\
name: ci
on: [push]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: gitseal check
";

const ARGO_APPLICATION: &str = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/example/argo-apps
    targetRevision: HEAD
    path: argocd/guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated: {}
";

const ARGO_REPO_SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: argo-apps-repo
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  type: git
  url: https://github.com/example/argo-apps
  password: ghp_notarealtoken0123456789
  username: argocd
";

const GUESTBOOK_KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - service.yaml
  - guestbook-secret.yaml
";

const SERVICE: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: guestbook
spec:
  ports:
    - port: 80
  selector:
    app: guestbook
";

const GUESTBOOK_SECRET: &str = "\
apiVersion: v1
kind: Secret
metadata:
  name: guestbook-session
stringData:
  session-key: 'guestbook session key 42'
";

/// The tree, as (relative path, content).
fn tree() -> Vec<(&'static str, &'static str)> {
    vec![
        ("clusters/production/flux-system/kustomization.yaml", KUSTOMIZE_FLUX_SYSTEM),
        ("clusters/production/flux-system/gotk-sync.yaml", GOTK_SYNC),
        ("clusters/production/apps.yaml", FLUX_APPS),
        ("clusters/production/infrastructure.yaml", FLUX_INFRA),
        ("infrastructure/kustomization.yaml", INFRA_KUSTOMIZATION),
        ("infrastructure/helmrepository.yaml", HELM_REPOSITORY),
        ("infrastructure/helmrelease.yaml", HELM_RELEASE),
        ("infrastructure/receiver.yaml", RECEIVER),
        ("infrastructure/receiver-token-secret.yaml", RECEIVER_TOKEN),
        ("apps/base/podinfo/kustomization.yaml", BASE_KUSTOMIZATION),
        ("apps/base/podinfo/deployment.yaml", DEPLOYMENT),
        ("apps/base/podinfo/configmap.yaml", CONFIGMAP),
        ("apps/base/podinfo/db-secret.yaml", DB_SECRET),
        ("apps/base/podinfo/values.yaml", HELM_VALUES),
        ("apps/overlays/staging/kustomization.yml", STAGING_KUSTOMIZATION),
        ("apps/overlays/staging/replicas.yaml", REPLICAS_PATCH),
        ("apps/overlays/staging/staging-secret.yaml", STAGING_SECRET),
        ("apps/overlays/production/Kustomization", PRODUCTION_KUSTOMIZATION),
        (".github/workflows/ci.yaml", WORKFLOW),
        ("argocd/applications/guestbook.yaml", ARGO_APPLICATION),
        ("argocd/repositories/argo-apps-repo-secret.yaml", ARGO_REPO_SECRET),
        ("argocd/guestbook/kustomization.yaml", GUESTBOOK_KUSTOMIZATION),
        ("argocd/guestbook/service.yaml", SERVICE),
        ("argocd/guestbook/guestbook-secret.yaml", GUESTBOOK_SECRET),
    ]
}

/// The files in which the README's rule selects a value.
const SECRET_FILES: [&str; 5] = [
    "infrastructure/receiver-token-secret.yaml",
    "apps/base/podinfo/db-secret.yaml",
    "apps/overlays/staging/staging-secret.yaml",
    "argocd/repositories/argo-apps-repo-secret.yaml",
    "argocd/guestbook/guestbook-secret.yaml",
];

/// The directories kustomize builds.
const OVERLAYS: [&str; 6] =
    ["clusters/production/flux-system", "infrastructure", "apps/base/podinfo", "apps/overlays/staging", "apps/overlays/production", "argocd/guestbook"];

fn kustomize(dir: &Path) -> std::process::Output {
    Command::new(require_peer("kubectl")).arg("kustomize").arg(dir).output().expect("run kubectl kustomize")
}

fn repo(f: &Fixture, sops_yaml: &str) -> PathBuf {
    for (path, content) in tree() {
        f.write(&format!("repo/{path}"), content);
    }
    f.write("repo/.sops.yaml", sops_yaml);
    f.path("repo")
}

#[test]
fn readme_rule_encrypts_only_secret_files_of_flux_and_argocd_repositories() {
    let f = Fixture::new();
    let root = repo(&f, &readme_rule(&f.recipient));
    for dir in OVERLAYS {
        assert_success(&format!("kubectl kustomize {dir} before encryption"), &kustomize(&root.join(dir)));
    }

    let out = f.gitseal().current_dir(&root).args(["encrypt", "-i", "."]).output().unwrap();
    assert_success("gitseal encrypt -i .", &out);
    let summary = stderr(&out);
    // Kustomization (capitalised, no extension) and .github are not walked.
    // The summary docs/commands.md shows.
    assert!(
        summary
            .contains("22 files: 5 encrypted, 0 unchanged, 0 left as they were, 17 skipped (12 no creation rule matches, 5 kustomize configuration), 0 failed"),
        "{summary}"
    );
    assert!(!summary.contains("warning"), "no Secret is left behind: {summary}");

    for (path, content) in tree() {
        let now = std::fs::read_to_string(root.join(path)).unwrap();
        if SECRET_FILES.contains(&path) {
            assert!(now.contains("\nsops:\n"), "{path} is encrypted:\n{now}");
            assert!(now.contains("ENC[AES256_GCM,"), "{path}");
            assert!(now.contains("kind: Secret"), "{path} keeps its kind readable");
        } else {
            assert_eq!(now, content, "{path} is byte-identical");
        }
    }

    for dir in OVERLAYS {
        let out = kustomize(&root.join(dir));
        assert_success(&format!("kubectl kustomize {dir} after encryption"), &out);
        let built = String::from_utf8_lossy(&out.stdout);
        assert!(!built.contains("correct-horse-battery-staple"), "{dir}: no plaintext in the build");
    }
    let built = String::from_utf8(kustomize(&root.join("apps/overlays/staging")).stdout).unwrap();
    assert!(built.contains("PODINFO_UI_MESSAGE: hello"), "ConfigMaps stay readable:\n{built}");

    for path in SECRET_FILES {
        let file = root.join(path);
        let plain = f.sops().current_dir(&root).arg("decrypt").arg(&file).output().unwrap();
        assert_success(&format!("sops decrypt {path}"), &plain);
        let original = tree().into_iter().find(|(p, _)| *p == path).unwrap().1;
        let value_line = original.lines().last().unwrap().trim();
        assert!(String::from_utf8_lossy(&plain.stdout).contains(value_line.split(": ").next().unwrap()), "{path}");
        assert_eq!(f.decrypt(&file), original.as_bytes(), "{path}: gitseal decrypts it back byte for byte");
    }

    // A second run changes nothing.
    let again = f.gitseal().current_dir(&root).args(["encrypt", "-i", "."]).output().unwrap();
    assert_success("second gitseal encrypt -i .", &again);
    assert!(stderr(&again).contains("0 encrypted, 5 unchanged"), "{}", stderr(&again));
}

#[test]
fn walk_leaves_files_with_nothing_selected_byte_identical_and_counts_them_skipped() {
    let f = Fixture::new();
    f.write("d/deployment.yaml", DEPLOYMENT);
    f.write("d/gotk-sync.yaml", GOTK_SYNC);
    f.write("d/db-secret.yaml", DB_SECRET);
    let out = f.gitseal().args(["encrypt", "-i", "--age", &f.recipient, "d"]).output().unwrap();
    assert_success("encrypt -i d", &out);
    assert!(stderr(&out).contains("3 files: 1 encrypted, 0 unchanged, 0 left as they were, 2 skipped (2 nothing selected), 0 failed"), "{}", stderr(&out));
    assert_eq!(f.read("d/deployment.yaml"), DEPLOYMENT.as_bytes());
    assert_eq!(f.read("d/gotk-sync.yaml"), GOTK_SYNC.as_bytes());
    assert!(String::from_utf8(f.read("d/db-secret.yaml")).unwrap().contains("\nsops:\n"));
}

#[test]
fn walk_never_encrypts_kustomization_files_even_when_everything_is_selected() {
    let f = Fixture::new();
    // No apiVersion: sops's default selection would encrypt every value of it.
    f.write("d/kustomization.yaml", PRODUCTION_KUSTOMIZATION);
    f.write("d/kustomization.yml", STAGING_KUSTOMIZATION);
    // Any name: a document of kustomize.config.k8s.io.
    f.write("d/component-for-secrets.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - x.yaml\n");
    let out = f.gitseal().args(["encrypt", "-i", "--age", &f.recipient, "--unencrypted-suffix", "_plain", "d"]).output().unwrap();
    assert_success("encrypt -i d", &out);
    assert!(stderr(&out).contains("3 skipped (3 kustomize configuration)"), "{}", stderr(&out));
    assert_eq!(f.read("d/kustomization.yaml"), PRODUCTION_KUSTOMIZATION.as_bytes());
    assert_eq!(f.read("d/kustomization.yml"), STAGING_KUSTOMIZATION.as_bytes());
}

#[test]
fn explicit_kustomization_file_is_refused() {
    let f = Fixture::new();
    let k = f.write("kustomization.yaml", PRODUCTION_KUSTOMIZATION);
    let out = f.gitseal().args(["encrypt", "-i", "--age", &f.recipient]).arg(&k).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("kustomize configuration is never encrypted"), "{}", stderr(&out));
    assert_eq!(f.read("kustomization.yaml"), PRODUCTION_KUSTOMIZATION.as_bytes());
}

#[test]
fn explicit_file_with_nothing_selected_is_encrypted_as_sops_does_with_a_warning() {
    let f = Fixture::new();
    let d = f.write("deployment.yaml", DEPLOYMENT);
    let out = f.gitseal().args(["encrypt", "--age", &f.recipient]).arg(&d).output().unwrap();
    assert_success("encrypt deployment.yaml", &out);
    let e = stderr(&out);
    assert!(e.contains("warning:") && e.contains("deployment.yaml") && e.contains("picks no non-empty value") && e.contains("^(data|stringData)$"), "{e}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\nsops:\n"));
    let enc = f.write("deployment.enc.yaml", &out.stdout);
    f.sops_decrypt(&enc);
    assert_eq!(f.decrypt(&enc), DEPLOYMENT.as_bytes());
    // The rule is named when it comes from .sops.yaml.
    f.write(".sops.yaml", format!("creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^stringData$\n    age: {}\n", f.recipient));
    let c = f.write("configmap.yaml", CONFIGMAP);
    let out = f.gitseal().args(["encrypt", "-i"]).arg(&c).output().unwrap();
    assert_success("encrypt -i configmap.yaml", &out);
    assert!(stderr(&out).contains("creation_rules[0]") && stderr(&out).contains(".sops.yaml"), "{}", stderr(&out));
}

#[test]
fn walk_warns_about_a_plaintext_secret_no_rule_matches() {
    let f = Fixture::new();
    f.write(".sops.yaml", readme_rule(&f.recipient));
    // Named without "secret": the README's rule does not cover it.
    f.write("apps/db-credentials.yaml", DB_SECRET);
    f.write("apps/db-secret.yaml", DB_SECRET);
    let out = f.gitseal().args(["encrypt", "-i", "apps"]).output().unwrap();
    assert_success("encrypt -i apps", &out);
    let e = stderr(&out);
    assert!(e.contains("warning: apps/db-credentials.yaml: holds a Secret with plaintext values, but no creation rule of"), "{e}");
    assert!(e.contains("1 skipped (1 no creation rule matches)"), "{e}");
    assert_eq!(f.read("apps/db-credentials.yaml"), DB_SECRET.as_bytes());
}

#[test]
fn no_matching_creation_rule_names_the_config_and_the_matched_path() {
    let f = Fixture::new();
    f.write(".sops.yaml", readme_rule(&f.recipient));
    let file = f.write("apps/db-credentials.yaml", DB_SECRET);
    let out = f.gitseal().args(["encrypt", "-i"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("no creation rule of") && e.contains(".sops.yaml"), "{e}");
    assert!(e.contains("\"apps/db-credentials.yaml\""), "the path matched, relative to the config: {e}");
    assert!(e.contains(r#""secret[^/]*\\.ya?ml$""#), "the rules' path_regex: {e}");
}

#[test]
fn walk_of_a_directory_with_one_skipped_file_still_reports_it() {
    let f = Fixture::new();
    f.write("d/kustomization.yaml", KUSTOMIZE_FLUX_SYSTEM);
    let out = f.gitseal().args(["encrypt", "-i", "--age", &f.recipient, "d"]).output().unwrap();
    assert_success("encrypt -i d", &out);
    assert!(
        stderr(&out).contains("1 files: 0 encrypted, 0 unchanged, 0 left as they were, 1 skipped (1 kustomize configuration), 0 failed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(f.read("d/kustomization.yaml"), KUSTOMIZE_FLUX_SYSTEM.as_bytes());
}
