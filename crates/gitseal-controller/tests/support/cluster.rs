//! A test cluster: the workspace's test API server in-process, kubectl and the real
//! `gitseal-controller` binary as processes against it, everything they print captured.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gitseal_test_apiserver::TestApiServer;
use serde_json::Value;

use super::peers::repo_root;

/// The controller binary under test.
pub const CONTROLLER: &str = env!("CARGO_BIN_EXE_gitseal-controller");

/// A running test API server with the CRD, the controller namespace and the keys Secret.
pub struct Cluster {
    /// The server; dropped last.
    _server: TestApiServer,
    /// Scratch directory: kubeconfig, files applied, the controller's output.
    pub dir: tempfile::TempDir,
    kubectl: PathBuf,
    kubeconfig: PathBuf,
    controller: Option<Child>,
    /// More controller processes, by name (their output in NAME.stdout and NAME.stderr).
    replicas: Vec<(String, Child)>,
}

impl Cluster {
    /// Starts the server and installs the CRD from deploy/crd.yaml.
    pub fn start(kubectl: PathBuf) -> Cluster {
        let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).expect("test API server starts");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let cluster = Cluster { _server: server, dir, kubectl, kubeconfig, controller: None, replicas: Vec::new() };
        cluster.ok(&["apply", "-f", repo_root().join("deploy/crd.yaml").to_str().unwrap()]);
        cluster.ok(&["wait", "--for=condition=Established", "crd/encryptedsecrets.gitseal.dev", "--timeout=30s"]);
        cluster.ok(&["create", "namespace", "gitseal-system"]);
        cluster
    }

    /// The test API server (to mint service account tokens).
    pub fn server(&self) -> &TestApiServer {
        &self._server
    }

    /// Runs kubectl with `args`.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(&self.kubectl).args(args).env("KUBECONFIG", &self.kubeconfig).output().unwrap()
    }

    /// Runs kubectl and returns its standard output; panics (with stderr) when it fails or complains.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
        assert!(!stderr.to_lowercase().contains("error") && !stderr.to_lowercase().contains("warning"), "kubectl {args:?} printed: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// `kubectl apply -f` of YAML text.
    pub fn apply(&self, name: &str, yaml: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        self.ok(&["apply", "-f", path.to_str().unwrap()])
    }

    /// An object as JSON, or `None` when it does not exist.
    pub fn get(&self, namespace: &str, what: &str) -> Option<Value> {
        let out = self.kubectl(&["get", "-n", namespace, what, "-o", "json"]);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("NotFound") || stderr.contains("not found"), "kubectl get {what}: {stderr}");
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).unwrap())
    }

    /// Waits until `check` gives `Some`, or panics after `timeout` naming `what`.
    pub fn eventually<T>(&self, what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = check() {
                return v;
            }
            if start.elapsed() > timeout {
                let replicas: String = self.replicas.iter().map(|(name, _)| format!("\n{name} output:\n{}", self.replica_output(name))).collect();
                panic!("timed out waiting for {what}\ncontroller output:\n{}{replicas}", self.controller_output());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Starts the controller binary with extra `args`, its output captured in files.
    pub fn start_controller(&mut self, args: &[&str]) {
        self.controller = Some(self.spawn_controller("controller", args, &[]));
    }

    /// Starts the controller binary with extra `args` and environment variables.
    pub fn start_controller_with_env(&mut self, args: &[&str], env: &[(&str, &str)]) {
        self.controller = Some(self.spawn_controller("controller", args, env));
    }

    /// Waits for the controller to exit by itself (within `timeout`); its exit code.
    pub fn controller_exit_code(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.controller.as_mut()?;
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.controller = None;
                return status.code();
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts one more controller process named `name` (also its `POD_NAME`).
    pub fn start_replica(&mut self, name: &str, args: &[&str]) {
        let child = self.spawn_controller(name, args, &[("POD_NAME", name)]);
        self.replicas.push((name.to_owned(), child));
    }

    /// Everything the replica `name` printed so far.
    pub fn replica_output(&self, name: &str) -> String {
        let read = |ext: &str| std::fs::read_to_string(self.dir.path().join(format!("{name}.{ext}"))).unwrap_or_default();
        format!("{}{}", read("stdout"), read("stderr"))
    }

    /// How many times the replica `name` decrypted an object so far.
    pub fn replica_decrypts(&self, name: &str) -> usize {
        self.replica_output(name).lines().filter(|l| l.contains("\"message\":\"decrypting\"")).count()
    }

    /// Sends `signal` (e.g. `KILL`, `TERM`) to the replica `name` and waits for it to exit; returns whether it exited successfully.
    pub fn signal_replica(&mut self, name: &str, signal: &str) -> bool {
        let at = self.replicas.iter().position(|(n, _)| n == name).unwrap_or_else(|| panic!("no replica {name}"));
        let (_, mut child) = self.replicas.remove(at);
        let _ = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn spawn_controller(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Child {
        let stdout = std::fs::File::create(self.dir.path().join(format!("{name}.stdout"))).unwrap();
        let stderr = std::fs::File::create(self.dir.path().join(format!("{name}.stderr"))).unwrap();
        Command::new(CONTROLLER)
            .arg("run")
            .args(["--controller-namespace", "gitseal-system", "--probe-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("RUST_LOG", "gitseal_controller=debug,info")
            .env_remove("POD_NAMESPACE")
            .env_remove("POD_NAME")
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap()
    }

    /// Everything the controller printed so far.
    pub fn controller_output(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("controller.stdout"), read("controller.stderr"))
    }

    /// How many times the controller decrypted an object so far (its debug log line).
    pub fn decrypts(&self) -> usize {
        self.controller_output().lines().filter(|l| l.contains("\"message\":\"decrypting\"")).count()
    }

    /// Stops the controller with SIGTERM and returns whether it exited successfully.
    pub fn stop_controller(&mut self) -> bool {
        let Some(mut child) = self.controller.take() else { return true };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The address the controller serves `/metrics` on, from its `starting` log line.
    pub fn metrics_addr(&self) -> String {
        self.eventually("the controller's starting line", Duration::from_secs(30), || {
            self.controller_output().lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find_map(|l| l["metrics_addr"].as_str().map(str::to_owned))
        })
    }

    /// An HTTP GET of `path` on `addr`: the status code and the body.
    pub fn http_get(addr: &str, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (code, body.to_owned())
    }

    /// Runs `gitseal-controller ARGS` against the cluster (e.g. `recipients`).
    pub fn controller_command(&self, args: &[&str]) -> Output {
        Command::new(CONTROLLER).args(args).env("KUBECONFIG", &self.kubeconfig).env_remove("POD_NAMESPACE").output().unwrap()
    }

    /// The scratch directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, mut child) in self.replicas.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(mut child) = self.controller.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
