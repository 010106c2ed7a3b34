//! One HTTP/1.1 request over a plain socket, as the raw-HTTP tests send them.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use gitseal_test_apiserver::TestApiServer;
use serde_json::Value;

/// An answer: status code, headers (names lowercased) and the body as JSON (a string when
/// it is not JSON).
pub struct Response {
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

/// Sends `method path` with `bearer` (when given), `extra` headers and `body` (of
/// `content_type`, when not empty), and reads the whole answer (chunked or not).
pub fn send(server: &TestApiServer, method: &str, path: &str, bearer: Option<&str>, content_type: &str, body: &str, extra: &[(&str, &str)]) -> Response {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\nUser-Agent: http-test/1.0\r\n", server.addr());
    if let Some(token) = bearer {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let code: u16 = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_lowercase(), v.to_string())).collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v == "chunked");
    let body_text = if chunked { dechunk(rest) } else { rest.to_string() };
    let body = serde_json::from_str(&body_text).unwrap_or(Value::String(body_text));
    Response { code, headers, body }
}

/// The body of a chunked answer.
pub fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}
