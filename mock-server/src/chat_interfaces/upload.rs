//! `POST /api/public/chat-interfaces/{slug}/upload`: multipart file upload for a session.
//!
//! Fields: `file` (the file, with a filename and content type) and `sessionToken` (or the
//! `sessionToken` query / `X-Session-Token` header). Limits come from the config: maximum size
//! (default 10 MiB) and accepted MIME types (default text, markdown, CSV, HTML, JSON, PDF, PNG,
//! JPEG, DOCX); 20 uploads per minute per session.
//!
//! - `200 {gcsUri:"gs://chatwire-mock/chat-attachments/{slug}/{sessionId}/{n}_{filename}",
//!   downloadUrl:"http://.../api/public/chat-interfaces/{slug}/files/{fileId}", filename, size,
//!   mimeType}` (also under `data`). `GET .../files/{fileId}` returns the bytes.
//! - Errors: `413 FILE_TOO_LARGE` (reading stops at the limit), `415 FILE_TYPE_NOT_ALLOWED`,
//!   `400 VALIDATION_ERROR` (not multipart, no `file` field), `404 SESSION_NOT_FOUND`,
//!   `429 RATE_LIMITED` with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{D, ok, session, token_of};
use crate::dialect::ApiError;
use crate::server::AppState;

const UPLOADS_PER_MINUTE: u32 = 20;

/// Uploaded files by `{server addr}/{id}`: (content type, bytes).
fn files() -> &'static Mutex<HashMap<String, (String, Bytes)>> {
    static FILES: OnceLock<Mutex<HashMap<String, (String, Bytes)>>> = OnceLock::new();
    FILES.get_or_init(Mutex::default)
}

struct Upload {
    filename: String,
    mime: String,
    data: Vec<u8>,
}

pub(crate) async fn upload(
    State(shared): AppState,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => {
            return ApiError::new(
                400,
                "validation_error",
                format!("expected multipart/form-data: {e}"),
            )
            .into_response_for(D);
        }
    };
    let max = shared.config.upload_max_bytes;
    let mut token = token_of(None, &query, &headers);
    let mut file: Option<Upload> = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return ApiError::new(400, "validation_error", format!("bad multipart body: {e}"))
                    .into_response_for(D);
            }
        };
        match field.name() {
            Some("sessionToken") => {
                if let Ok(t) = field.text().await {
                    token = Some(t);
                }
            }
            Some("file") => {
                let filename = field.file_name().unwrap_or("upload.bin").to_owned();
                let mime = field
                    .content_type()
                    .map(str::to_owned)
                    .unwrap_or_else(|| guess_mime(&filename).to_owned());
                let mut data = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            data.extend_from_slice(&chunk);
                            if data.len() > max {
                                return ApiError::new(
                                    413,
                                    "file_too_large",
                                    format!("File too large (max {max} bytes)"),
                                )
                                .into_response_for(D);
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            return ApiError::new(
                                400,
                                "validation_error",
                                format!("bad multipart body: {e}"),
                            )
                            .into_response_for(D);
                        }
                    }
                }
                file = Some(Upload {
                    filename,
                    mime,
                    data,
                });
            }
            _ => {}
        }
    }
    let conv = match session(&shared, &slug, token.as_deref()) {
        Ok(c) => c,
        Err(e) => return e.into_response_for(D),
    };
    let Some(file) = file else {
        return ApiError::new(400, "validation_error", "a `file` field is required")
            .into_response_for(D);
    };
    let mime = file
        .mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !shared
        .config
        .upload_types
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&mime))
    {
        return ApiError::new(
            415,
            "file_type_not_allowed",
            format!("File type {mime} is not allowed"),
        )
        .into_response_for(D);
    }
    if let Err(retry) = shared
        .rate
        .check_with(&format!("upload:{}", conv.id), UPLOADS_PER_MINUTE)
    {
        return ApiError::new(429, "rate_limited", "Upload rate limit exceeded")
            .retry_after(Some(retry))
            .into_response_for(D);
    }
    let id = shared.hub.next_id("file");
    let size = file.data.len();
    let session_id = conv
        .meta("sessionId")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    files().lock().unwrap_or_else(|e| e.into_inner()).insert(
        format!("{}/{id}", shared.addr),
        (mime.clone(), Bytes::from(file.data)),
    );
    let data = json!({
        "gcsUri": format!("gs://chatwire-mock/chat-attachments/{slug}/{session_id}/{id}_{}", file.filename),
        "downloadUrl": format!("http://{}/api/public/chat-interfaces/{slug}/files/{id}", shared.addr),
        "filename": file.filename, "size": size, "mimeType": mime, "fileId": id,
    });
    ok(StatusCode::OK, data)
}

pub(crate) async fn download(
    State(shared): AppState,
    Path((_slug, id)): Path<(String, String)>,
) -> Response {
    let key = format!("{}/{id}", shared.addr);
    let found = files()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    match found {
        Some((mime, bytes)) => {
            let mut resp = bytes.into_response();
            if let Ok(v) = HeaderValue::from_str(&mime) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        None => ApiError::not_found("File not found").into_response_for(D),
    }
}

fn guess_mime(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mime_guesses() {
        assert_eq!(super::guess_mime("a.PDF"), "application/pdf");
        assert_eq!(super::guess_mime("noext"), "application/octet-stream");
    }
}
