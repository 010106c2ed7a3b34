//! A Kubernetes API server for tests, in process: the API conventions the gitseal controller
//! and `kubectl` rely on (discovery, CRDs and their custom resources, list and watch with
//! resourceVersions, optimistic concurrency, patches, server-side apply with managed fields,
//! the status subresource, finalizers and ownerReference garbage collection), over plain
//! HTTP on loopback with a bearer token; and service account tokens with the TokenReview
//! API, for Vault's Kubernetes auth method.
//!
//! ```no_run
//! use gitseal_test_apiserver::TestApiServer;
//! let server = TestApiServer::start("127.0.0.1:0".parse().unwrap()).unwrap();
//! server.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig")).unwrap();
//! println!("{}", server.url());
//! // dropping `server` stops it
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod clock;
mod crd;
mod discovery;
mod error;
mod gc;
mod json;
mod managed;
mod objects;
mod patch;
mod protobuf;
mod resources;
mod schema;
mod selector;
mod server;
mod store;
mod table;
mod tokens;
mod watch;
mod yaml;

use hyper_util::rt::TokioIo;
use server::Shared;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// Tunables of a server; `Options::default()` suits most tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many changes the watch history keeps; a watch from an older resourceVersion gets
    /// a 410 Expired ERROR event (default 10 000).
    pub watch_history: usize,
    /// Interval of BOOKMARK events for watches with `allowWatchBookmarks=true` (default 1 s).
    pub bookmark_interval: Duration,
    /// One line per request on stderr (method, path, status; never a body).
    pub log_requests: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { watch_history: 10_000, bookmark_interval: Duration::from_secs(1), log_requests: std::env::var_os("GITSEAL_TEST_APISERVER_LOG").is_some() }
    }
}

/// What a service account token is minted for (a TokenRequest's spec).
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The `aud` claim (default: the API server's own audience,
    /// `https://kubernetes.default.svc.cluster.local`).
    pub audiences: Vec<String>,
    /// How long the token is valid (default one hour; unlike the real API server, less
    /// than ten minutes is allowed, to test expiry).
    pub expiration: Duration,
}

impl Default for TokenRequest {
    fn default() -> Self {
        TokenRequest { audiences: vec![tokens::ISSUER.to_owned()], expiration: Duration::from_secs(3600) }
    }
}

/// A running server. Dropping it stops it.
pub struct TestApiServer {
    addr: SocketAddr,
    url: String,
    token: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestApiServer {
    /// Starts a server on `addr` (port 0 picks a free one) on its own thread and runtime.
    /// The namespaces `default`, `kube-system`, `kube-public` and `kube-node-lease` exist.
    pub fn start(addr: SocketAddr) -> io::Result<TestApiServer> {
        Self::start_with(addr, Options::default())
    }

    /// Starts a server with `options`.
    pub fn start_with(addr: SocketAddr, options: Options) -> io::Result<TestApiServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let token = random_token();
        let mut store = store::Store::new(options.watch_history);
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            api::seed_namespace(&mut store, ns);
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            token: token.clone(),
            tokens: Mutex::new(tokens::Tokens::new()),
            address: addr.to_string(),
            bookmark_interval: options.bookmark_interval,
            log: options.log_requests,
        });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (tx, rx) = oneshot::channel();
        let serving = shared.clone();
        let thread = std::thread::Builder::new().name("gitseal-test-apiserver".into()).spawn(move || {
            runtime.block_on(serve(listener, serving, rx));
        })?;
        Ok(TestApiServer { addr, url: format!("http://{addr}"), token, shared, shutdown: Some(tx), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token clients must send.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A bound service account token for the ServiceAccount `namespace/name`, as the
    /// kubelet mounts one into a pod: a JWT (`RS256` header; claims `iss`, `sub`
    /// `system:serviceaccount:NAMESPACE:NAME`, `aud` [`https://kubernetes.default.svc.cluster.local`],
    /// `exp` an hour from now, `iat`, `nbf`, `jti` and `kubernetes.io` with the namespace
    /// and the service account's name and uid). Its signature is random: the server
    /// validates its tokens by looking them up (TokenReview, or as a bearer token that may
    /// create TokenReviews). Fails with `NotFound` when the ServiceAccount does not exist.
    pub fn service_account_token(&self, namespace: &str, name: &str) -> io::Result<String> {
        self.service_account_token_with(namespace, name, &TokenRequest::default())
    }

    /// [`TestApiServer::service_account_token`] with other audiences or lifetime.
    pub fn service_account_token_with(&self, namespace: &str, name: &str, request: &TokenRequest) -> io::Result<String> {
        let store = self.shared.store.lock().unwrap_or_else(|p| p.into_inner());
        let mut tokens = self.shared.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens::mint(&store, &mut tokens, namespace, name, &request.audiences, request.expiration).map_err(|e| {
            let kind = if e.code == 404 { io::ErrorKind::NotFound } else { io::ErrorKind::InvalidInput };
            io::Error::new(kind, format!("{namespace}/{name}: {}", e.message))
        })
    }

    /// Writes a kubeconfig (mode 0600) naming this server, its bearer token and the default
    /// namespace `default`, as the current context.
    pub fn write_kubeconfig(&self, path: &Path) -> io::Result<()> {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gitseal-test\n  cluster:\n    server: {url}\ncontexts:\n- name: gitseal-test\n  context:\n    cluster: gitseal-test\n    namespace: default\n    user: gitseal-test\ncurrent-context: gitseal-test\nusers:\n- name: gitseal-test\n  user:\n    token: {token}\npreferences: {{}}\n",
            url = self.url,
            token = self.token
        );
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path)?;
        io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn random_token() -> String {
    let mut b = [0u8; 24];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, mut shutdown: oneshot::Receiver<()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| server::handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
            _ = &mut shutdown => return,
        }
    }
}
