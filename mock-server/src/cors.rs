//! CORS for every HTTP route, so a page served from another origin (the chat page in
//! `examples/web/`, a browser test on its own port) can use the HTTP dialects and the control API
//! from a browser.
//!
//! The mock is a local test server, so it allows any origin, method and request header, and
//! exposes every response header (`Retry-After`, `Idempotency-Key`, ...) to scripts. Guarantees:
//!
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered here
//!   with `204`, before the fault layer: it is not a request of the dialect, so it never consumes
//!   a `once` fault, is never delayed and is never recorded.
//! - Every other response, injected errors included, carries `Access-Control-Allow-Origin: *`
//!   when the request had an `Origin`, so a page can read a `429` and its `Retry-After` rather
//!   than seeing an opaque network error.
//! - Requests without `Origin` (every non-browser client) are untouched.
//!
//! Fetch standard, CORS protocol: "A CORS-preflight request is a CORS request that checks to see
//! if the CORS protocol is understood. It uses `OPTIONS` as method and includes the
//! `Access-Control-Request-Method` header and optionally `Access-Control-Request-Headers`."

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_S: &str = "600";

/// The CORS middleware: answers preflights, adds the allow headers to every other response.
pub(crate) async fn cors_layer(req: Request, next: Next) -> Response {
    if !req.headers().contains_key(header::ORIGIN) {
        return next.run(req).await;
    }
    if is_preflight(&req) {
        return preflight(req.headers());
    }
    let mut response = next.run(req).await;
    allow(response.headers_mut());
    response
}

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// `204` with the methods and headers the browser asked for.
fn preflight(request: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    allow(headers);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    // Echo the requested headers (the `*` wildcard does not cover `Authorization`).
    if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE_S),
    );
    response
}

fn allow(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("*"),
    );
}

#[cfg(test)]
mod tests {
    use crate::{FaultSpec, HttpErrorSpec, MockConfig, spawn};

    fn http() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }

    #[tokio::test]
    async fn a_preflight_is_answered_without_consuming_a_once_fault() {
        let server = spawn(MockConfig::default()).await.unwrap();
        server
            .set_faults(FaultSpec {
                dialect: Some("openai".into()),
                http_error: Some(HttpErrorSpec {
                    status: 429,
                    rate: 1.0,
                    retry_after_s: Some(1),
                }),
                once: Some(true),
                ..FaultSpec::default()
            })
            .unwrap();
        let url = format!("{}/v1/chat/completions", server.base_url());
        let client = http();
        let pre = client
            .request(reqwest::Method::OPTIONS, &url)
            .header("Origin", "http://127.0.0.1:1")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,idempotency-key",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(pre.status(), 204);
        let h = pre.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(
            h["access-control-allow-headers"],
            "content-type,idempotency-key"
        );
        assert!(
            h["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .contains("POST")
        );

        // The once-fault is still there for the real request, and its answer is readable.
        let body = r#"{"model":"mock-gpt","messages":[{"role":"user","content":"hi"}]}"#;
        let faulted = client
            .post(&url)
            .header("Origin", "http://127.0.0.1:1")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(faulted.status(), 429);
        assert_eq!(faulted.headers()["access-control-allow-origin"], "*");
        assert_eq!(faulted.headers()["access-control-expose-headers"], "*");
        assert_eq!(faulted.headers()["retry-after"], "1");
        let ok = client
            .post(&url)
            .header("Origin", "http://127.0.0.1:1")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["access-control-allow-origin"], "*");
        assert!(server.received().iter().any(|r| r.text == "hi"));
        server.shutdown().await;
    }

    #[tokio::test]
    async fn requests_without_origin_get_no_cors_headers_and_control_routes_get_them() {
        let server = spawn(MockConfig::default()).await.unwrap();
        let client = http();
        let url = format!("{}/_mock/faults", server.base_url());
        let plain = client.get(&url).send().await.unwrap();
        assert_eq!(plain.status(), 200);
        assert!(plain.headers().get("access-control-allow-origin").is_none());
        let cross = client
            .post(&url)
            .header("Origin", "http://127.0.0.1:1")
            .header("Content-Type", "application/json")
            .body(r#"{"drop_after_frames":5,"once":true}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status(), 200);
        assert_eq!(cross.headers()["access-control-allow-origin"], "*");
        server.shutdown().await;
    }
}
