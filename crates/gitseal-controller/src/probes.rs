//! `/healthz` and `/readyz` over plain HTTP/1.1 on a TCP listener, for the kubelet's probes;
//! on the metrics listener also `/metrics` for Prometheus.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::metrics::Metrics;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Whether the controller is ready: set once the keys were read and the controllers started.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the controller ready (or not).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    /// Whether it is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The status line, content type and body for a request line's path; `/metrics` is
/// answered only when `metrics` is given.
pub fn answer(path: &str, readiness: &Readiness, metrics: Option<&Metrics>) -> (&'static str, &'static str, String) {
    let text = |status: &'static str, body: &str| (status, "text/plain", body.to_owned());
    match (path, metrics) {
        ("/healthz" | "/livez", _) => text("200 OK", "ok\n"),
        ("/readyz", _) if readiness.is_ready() => text("200 OK", "ok\n"),
        ("/readyz", _) => text("503 Service Unavailable", "not ready\n"),
        ("/metrics", Some(metrics)) => ("200 OK", METRICS_CONTENT_TYPE, metrics.render()),
        _ => text("404 Not Found", "not found\n"),
    }
}

/// Serves the probes (and `/metrics` when `metrics` is given) on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, readiness: Readiness, metrics: Option<Arc<Metrics>>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let readiness = readiness.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = match tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split('?').next().unwrap_or(path);
            let (status, content_type, body) = answer(path, &readiness, metrics.as_deref());
            let response = format!("HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_is_always_ok_and_readyz_follows_readiness() {
        let r = Readiness::default();
        assert_eq!(answer("/healthz", &r, None).0, "200 OK");
        assert_eq!(answer("/readyz", &r, None).0, "503 Service Unavailable");
        r.set(true);
        assert_eq!(answer("/readyz", &r, None).0, "200 OK");
        assert_eq!(answer("/metrics", &r, None).0, "404 Not Found");
        let metrics = Metrics::default();
        let (status, content_type, body) = answer("/metrics", &r, Some(&metrics));
        assert_eq!((status, content_type), ("200 OK", METRICS_CONTENT_TYPE));
        assert!(body.contains("gitseal_reconciles_total 0\n"), "{body}");
    }

    #[tokio::test]
    async fn the_probe_server_answers_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = Readiness::default();
        let server = tokio::spawn(serve(listener, r.clone(), None));
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
        assert!(get("/readyz").await.starts_with("HTTP/1.1 503"));
        r.set(true);
        assert!(get("/readyz").await.starts_with("HTTP/1.1 200"));
        server.abort();
    }
}
