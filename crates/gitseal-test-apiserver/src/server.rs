//! HTTP: the connection loop (hyper, HTTP/1.1 on loopback), bearer-token authentication, and
//! the routing of paths to discovery, OpenAPI and the verbs on resources.

use crate::api::{self, Addr, Ctx};
use crate::discovery;
use crate::error::ApiError;
use crate::json::to_sorted_string;
use crate::store::Store;
use crate::table::{self, Include};
use crate::tokens::{self, Tokens};
use crate::watch;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

/// A response body.
pub type ResponseBody = BoxBody<Bytes, Infallible>;

/// State shared by every connection.
pub struct Shared {
    /// The objects.
    pub store: Mutex<Store>,
    /// The bearer token clients must send.
    pub token: String,
    /// The service account tokens minted so far.
    pub tokens: Mutex<Tokens>,
    /// `host:port` of the server.
    pub address: String,
    /// Interval of BOOKMARK events.
    pub bookmark_interval: Duration,
    /// Print one line per request to stderr.
    pub log: bool,
}

/// The TokenReview collection (the only path of the `authentication.k8s.io` group).
const TOKEN_REVIEWS: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

const MAX_BODY: usize = 3 * 1024 * 1024;

/// A body fed by a channel: watch streams.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

fn full(code: u16, content_type: &str, body: String, warnings: &[String]) -> Response<ResponseBody> {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("Content-Type", content_type)
        .header("Cache-Control", "no-cache, private");
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        r = r.header("Warning", format!("299 - \"{escaped}\""));
    }
    r.body(Full::new(Bytes::from(body)).boxed()).expect("a valid response")
}

fn json_response(code: u16, v: &Value, warnings: &[String]) -> Response<ResponseBody> {
    full(code, "application/json", to_sorted_string(v), warnings)
}

fn error_response(e: &ApiError) -> Response<ResponseBody> {
    json_response(e.code, &e.to_status(), &[])
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.insert(percent_decode(k), percent_decode(v));
    }
    m
}

/// Serves one request.
pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<ResponseBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(error_response(&ApiError::too_large())),
    };
    let response = route(&shared, &parts, &body);
    if shared.log {
        eprintln!("gitseal-test-apiserver: {} {} -> {}", parts.method, parts.uri, response.status().as_u16());
    }
    Ok(response)
}

fn header<'a>(parts: &'a http::request::Parts, name: &str) -> &'a str {
    parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn route(shared: &Shared, parts: &http::request::Parts, body: &[u8]) -> Response<ResponseBody> {
    let path = parts.uri.path().trim_end_matches('/');
    // kubectl (client-go's kubeconfig loader) sends no credentials to a plain-HTTP server, as
    // with the API server's old insecure port; a credential that is sent must be the token.
    let authorization = header(parts, "authorization");
    let store = || shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let tokens = || shared.tokens.lock().unwrap_or_else(|p| p.into_inner());
    let token_reviews = path == TOKEN_REVIEWS;
    if !authorization.is_empty() && authorization != format!("Bearer {}", shared.token) {
        // A service account token minted here authenticates too, but (as without RBAC
        // bindings beyond `system:auth-delegator`) may only create TokenReviews: a Vault
        // Kubernetes auth method without a reviewer token sends the token under review.
        let user = authorization.strip_prefix("Bearer ").and_then(|t| tokens::authenticate(&store(), &tokens(), t.trim()));
        match user {
            None => return error_response(&ApiError::unauthorized()),
            Some(user) if !(token_reviews && parts.method == Method::POST) => {
                return error_response(&ApiError::forbidden(format!(
                    "forbidden: User \"{}\" cannot {} path \"{path}\": service accounts may only create tokenreviews",
                    user.username,
                    parts.method.as_str().to_lowercase()
                )))
            }
            Some(_) => {}
        }
    }
    let accept = header(parts, "accept");
    if path == "/openapi/v2" {
        return openapi_v2(accept);
    }
    if !accept.is_empty()
        && !accept.split(',').any(|a| a.trim().starts_with("application/json") || a.trim().starts_with("*/*") || a.trim().starts_with("application/*"))
    {
        return error_response(&ApiError::not_acceptable(accept));
    }
    let query = parse_query(parts.uri.query());
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let get_only = |v: Option<Value>| -> Response<ResponseBody> {
        if parts.method != Method::GET {
            return error_response(&ApiError::method_not_allowed());
        }
        match v {
            Some(v) => json_response(200, &v, &[]),
            None => full(404, "text/plain; charset=utf-8", "404 page not found\n".into(), &[]),
        }
    };
    match segs.as_slice() {
        ["version"] => get_only(Some(discovery::version())),
        ["healthz"] | ["livez"] | ["readyz"] => full(200, "text/plain; charset=utf-8", "ok".into(), &[]),
        ["api"] => get_only(Some(discovery::core_versions(&shared.address))),
        ["api", "v1"] => get_only(discovery::resource_list(&store(), "", "v1")),
        ["apis"] => get_only(Some(discovery::group_list(&store()))),
        ["apis", g] => get_only(discovery::group(&store(), g)),
        ["apis", g, v] => get_only(discovery::resource_list(&store(), g, v)),
        ["openapi", "v3"] => get_only(Some(discovery::openapi_root(&store()))),
        ["openapi", "v3", "api", "v1"] => get_only(discovery::openapi_group_version(&store(), "", "v1")),
        ["openapi", "v3", "apis", g, v] => get_only(discovery::openapi_group_version(&store(), g, v)),
        _ if token_reviews => {
            if parts.method != Method::POST {
                return error_response(&ApiError::method_not_allowed());
            }
            let content_type = header(parts, "content-type").split(';').next().unwrap_or("").trim().to_string();
            // The store first, then the tokens, as everywhere.
            let store = store();
            match tokens::review(&store, &tokens(), &content_type, body) {
                Ok(o) => json_response(o.code, &o.body, &o.warnings),
                Err(e) => error_response(&e),
            }
        }
        ["api", "v1", rest @ ..] => resource(shared, parts, &query, body, "", "v1", rest),
        ["apis", g, v, rest @ ..] => resource(shared, parts, &query, body, g, v, rest),
        _ => full(404, "text/plain; charset=utf-8", "404 page not found\n".into(), &[]),
    }
}

const OPENAPI_V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// `/openapi/v2` without definitions: kubectl falls back to it to validate kinds the v3
/// documents do not have yet (a custom resource applied with its CRD) and, finding no
/// definition, leaves them to the server as the real server's answer for an unknown kind
/// does. The empty protobuf message is an empty body.
fn openapi_v2(accept: &str) -> Response<ResponseBody> {
    if accept.contains(OPENAPI_V2_PROTOBUF) {
        // The answer's media type spells the version with a dot: `@` is not valid there.
        return full(200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", String::new(), &[]);
    }
    json_response(200, &json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": {}, "definitions": {}}), &[])
}

#[allow(clippy::too_many_arguments)]
fn resource(
    shared: &Shared,
    parts: &http::request::Parts,
    query: &BTreeMap<String, String>,
    body: &[u8],
    group: &str,
    version: &str,
    rest: &[&str],
) -> Response<ResponseBody> {
    let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
    let namespaced_plural = |p: &str| store.find_type(group, version, p).is_some_and(|t| t.namespaced);
    let (namespace, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] if namespaced_plural(plural) => {
            (Some(ns.to_string()), plural.to_string(), tail.first().map(|s| s.to_string()), tail.get(1).map(|s| s.to_string()))
        }
        [plural, tail @ ..] => (None, plural.to_string(), tail.first().map(|s| s.to_string()), tail.get(1).map(|s| s.to_string())),
        [] => return error_response(&ApiError::no_resource()),
    };
    let too_long = match (&namespace, rest.len()) {
        (Some(_), n) => n > 5,
        (None, n) => n > 3,
    };
    let Some(ty) = store.find_type(group, version, &plural) else {
        return error_response(&ApiError::no_resource());
    };
    if too_long || (namespace.is_some() && !ty.namespaced) || (name.is_some() && ty.namespaced && namespace.is_none()) {
        return error_response(&ApiError::no_resource());
    }
    let status = match sub.as_deref() {
        None => false,
        Some("status") if ty.status_subresource => true,
        Some(_) => return error_response(&ApiError::no_resource()),
    };
    let content_type = header(parts, "content-type").split(';').next().unwrap_or("").trim().to_string();
    let ctx = Ctx { query, user_agent: header(parts, "user-agent"), content_type: &content_type, body };
    let accept = header(parts, "accept");
    let as_table = table::wants_table(accept);
    let include = Include::parse(query.get("includeObject").map(String::as_str));
    let result = match (&name, &parts.method) {
        (None, &Method::GET) if matches!(query.get("watch").map(String::as_str), Some("true" | "1")) => {
            let (ty2, version2) = (ty.clone(), version.to_string());
            let render: watch::Render = if as_table {
                Box::new(move |o: &Value| {
                    table::table(&ty2, &version2, std::slice::from_ref(o), include, json!({"resourceVersion": crate::json::meta_str(o, "resourceVersion")}))
                })
            } else {
                Box::new(|o: &Value| o.clone())
            };
            return match watch::prepare(&store, &ty, version, namespace.as_deref(), query, render, shared.bookmark_interval) {
                Ok(w) => {
                    drop(store);
                    let (tx, rx) = mpsc::channel(64);
                    tokio::spawn(w.run(tx));
                    Response::builder()
                        .status(200)
                        .header("Content-Type", "application/json")
                        .header("Cache-Control", "no-cache, private")
                        .body(ChannelBody(rx).boxed())
                        .expect("a valid response")
                }
                Err(e) => error_response(&e),
            };
        }
        (None, &Method::GET) => api::list(&store, &ty, version, namespace.as_deref(), query).map(|page| {
            if as_table {
                let mut meta = json!({"resourceVersion": page.rv.to_string()});
                if let Some(n) = &page.next {
                    meta["continue"] = json!(n);
                }
                api::Outcome { code: 200, body: table::table(&ty, version, &page.items, include, meta), warnings: Vec::new() }
            } else {
                api::Outcome { code: 200, body: api::list_object(&ty, version, page), warnings: Vec::new() }
            }
        }),
        (None, &Method::POST) => api::create(&mut store, &ty, version, namespace.as_deref(), &ctx),
        (None, &Method::DELETE) => api::delete_collection(&mut store, &ty, version, namespace.as_deref(), &ctx),
        (None, _) => Err(ApiError::method_not_allowed()),
        (Some(name), method) => {
            let a = Addr { ty: ty.clone(), version: version.to_string(), namespace: namespace.clone().unwrap_or_default(), name: name.clone() };
            match *method {
                Method::GET => api::get(&store, &a).map(|obj| {
                    let body = if as_table {
                        table::table(
                            &ty,
                            version,
                            std::slice::from_ref(&obj),
                            include,
                            json!({"resourceVersion": crate::json::meta_str(&obj, "resourceVersion")}),
                        )
                    } else {
                        obj
                    };
                    api::Outcome { code: 200, body, warnings: Vec::new() }
                }),
                Method::PUT => api::replace(&mut store, &a, status, &ctx),
                Method::PATCH => api::patch(&mut store, &a, status, &ctx),
                Method::DELETE if !status => api::delete(&mut store, &a, &ctx),
                _ => Err(ApiError::method_not_allowed()),
            }
        }
    };
    match result {
        Ok(o) => json_response(o.code, &o.body, &o.warnings),
        Err(e) => error_response(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        let q = parse_query(Some("labelSelector=app%20in%20(a%2Cb)&fieldSelector=metadata.name%3Dx&watch=1&x=%zz"));
        assert_eq!(q["labelSelector"], "app in (a,b)");
        assert_eq!(q["fieldSelector"], "metadata.name=x");
        assert_eq!(q["watch"], "1");
        assert_eq!(q["x"], "%zz");
    }
}
