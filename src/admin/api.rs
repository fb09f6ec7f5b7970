//! `/api/v1` handlers (DESIGN.md §7, issue 6; `docs/admin-api.yaml`):
//! customer and global script upload / read / versions / rollback / delete,
//! dry runs, configuration reload. Bearer-token auth on every route; bodies
//! capped at [`MAX_BODY`] (413); malformed JSON → 400 with the reason; a
//! script that does not compile or fails its sample call → 422 with
//! `name:line:col: message`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AdminState;
use super::control::{Control, ControlError};
use crate::config::Priority;
use crate::script::Lang;
use crate::script::store::{MAX_SOURCE_BYTES, Owner};

/// Largest request body: a script source (1 MiB) plus JSON framing.
pub const MAX_BODY: usize = MAX_SOURCE_BYTES + 64 * 1024;

/// The OpenAPI description of this API (served at `/api/v1/openapi.yaml`).
pub const OPENAPI: &str = include_str!("../../docs/admin-api.yaml");

/// An API error: its status and a plain message, sent as `{"error": ...}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        let code = match &e {
            ControlError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ControlError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(code, e.to_string())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        let status = r.status();
        let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("body larger than {MAX_BODY} bytes")
        } else {
            r.body_text()
        };
        ApiError(status, msg)
    }
}

type ApiResult = Result<Response, ApiError>;

pub fn routes(state: Arc<AdminState>) -> Router<Arc<AdminState>> {
    Router::new()
        .route(
            "/customers/{id}/script",
            put(put_customer).get(get_customer).delete(delete_customer),
        )
        .route("/customers/{id}/script/versions", get(customer_versions))
        .route("/customers/{id}/script/rollback", post(customer_rollback))
        .route(
            "/global-scripts/{name}",
            put(put_global).get(get_global).delete(delete_global),
        )
        .route("/global-scripts/{name}/versions", get(global_versions))
        .route("/global-scripts/{name}/rollback", post(global_rollback))
        .route("/dry-run", post(dry_run))
        .route("/reload", post(reload))
        .route("/openapi.yaml", get(openapi))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .route_layer(middleware::from_fn_with_state(state, auth))
}

/// `Authorization: Bearer <token>`; compared without early exit.
async fn auth(State(s): State<Arc<AdminState>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let ok = match (&s.token, given) {
        (Some(want), Some(got)) => {
            want.len() == got.len()
                && want
                    .bytes()
                    .zip(got.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }
        _ => false,
    };
    if !ok {
        let why = if s.token.is_none() {
            "the admin API is disabled: set the token environment variable (server.admin_token_env)"
        } else {
            "missing or wrong bearer token"
        };
        let mut r = ApiError(StatusCode::UNAUTHORIZED, why.into()).into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
        return r;
    }
    next.run(req).await
}

fn control(s: &AdminState) -> Result<&Arc<Control>, ApiError> {
    s.control
        .get()
        .ok_or_else(|| ApiError(StatusCode::SERVICE_UNAVAILABLE, "starting".into()))
}

#[derive(Deserialize, Default)]
struct ScriptQuery {
    lang: Option<String>,
    priority: Option<String>,
}

fn parse_lang(s: &str) -> Option<Lang> {
    match s.to_ascii_lowercase().as_str() {
        "js" | "javascript" | "mjs" => Some(Lang::Js),
        "lua" | "luau" => Some(Lang::Lua),
        _ => None,
    }
}

/// The language from `?lang=` or, failing that, the Content-Type.
fn lang_of(q: &ScriptQuery, headers: &HeaderMap) -> Result<Lang, ApiError> {
    if let Some(l) = &q.lang {
        return parse_lang(l).ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                format!("lang {l:?}: expected js or lua"),
            )
        });
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/javascript" | "text/javascript" | "application/x-javascript" => Ok(Lang::Js),
        "text/x-lua" | "application/x-lua" | "text/lua" | "application/lua" => Ok(Lang::Lua),
        _ => Err(ApiError(
            StatusCode::BAD_REQUEST,
            "say which language: ?lang=js|lua or Content-Type application/javascript / text/x-lua"
                .into(),
        )),
    }
}

fn source_of(body: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    let body = body?;
    String::from_utf8(body.to_vec())
        .map_err(|_| ApiError(StatusCode::BAD_REQUEST, "the script is not UTF-8".into()))
}

fn json_of<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))
}

fn lang_name(l: Lang) -> &'static str {
    match l {
        Lang::Js => "js",
        Lang::Lua => "lua",
    }
}

fn priority_of(q: &ScriptQuery) -> Result<Priority, ApiError> {
    match q.priority.as_deref().unwrap_or("last") {
        "first" => Ok(Priority::First),
        "last" => Ok(Priority::Last),
        "disabled" => Ok(Priority::Disabled),
        p => Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("priority {p:?}: expected first, last or disabled"),
        )),
    }
}

fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::First => "first",
        Priority::Last => "last",
        Priority::Disabled => "disabled",
    }
}

async fn upload(
    s: &AdminState,
    owner: Owner<'_>,
    q: &ScriptQuery,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let c = control(s)?;
    let lang = lang_of(q, headers)?;
    let priority = match owner {
        Owner::Global(_) => Some(priority_of(q)?),
        Owner::Customer(_) => None,
    };
    let source = source_of(body)?;
    let (version, dry) = c.upload(owner, lang, source, priority).await?;
    let mut out = json!({
        "version": version,
        "lang": lang_name(lang),
        "active": true,
        "dry_run": dry,
    });
    owner_fields(&mut out, owner, c);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

fn owner_fields(out: &mut Value, owner: Owner<'_>, c: &Control) {
    match owner {
        Owner::Customer(id) => out["customer"] = json!(id),
        Owner::Global(n) => {
            out["name"] = json!(n);
            if let Ok(Some(p)) = c.store().priority(n) {
                out["priority"] = json!(priority_name(p));
            }
        }
    }
}

async fn show(s: &AdminState, owner: Owner<'_>) -> ApiResult {
    let c = control(s)?;
    match c.active(owner)? {
        Some(st) => {
            let mut out = json!({
                "version": st.version,
                "lang": lang_name(st.lang),
                "source": st.source,
            });
            owner_fields(&mut out, owner, c);
            Ok(Json(out).into_response())
        }
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            "no uploaded script is active".into(),
        )),
    }
}

async fn versions(s: &AdminState, owner: Owner<'_>) -> ApiResult {
    let c = control(s)?;
    let list: Vec<Value> = c
        .store()
        .versions(owner)
        .map_err(ControlError::from)?
        .into_iter()
        .map(|v| {
            json!({
                "version": v.version,
                "lang": lang_name(v.lang),
                "bytes": v.bytes,
                "created_unix_ms": v.created_unix_ms,
                "active": v.active,
            })
        })
        .collect();
    let mut out = json!({ "versions": list });
    owner_fields(&mut out, owner, c);
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
struct Rollback {
    version: u32,
}

async fn rollback(
    s: &AdminState,
    owner: Owner<'_>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let c = control(s)?;
    let r: Rollback = json_of(body)?;
    c.rollback(owner, r.version).await?;
    let mut out = json!({ "version": r.version, "active": true });
    owner_fields(&mut out, owner, c);
    Ok(Json(out).into_response())
}

async fn delete(s: &AdminState, owner: Owner<'_>) -> ApiResult {
    let c = control(s)?;
    if c.delete(owner).await? {
        let mut out = json!({ "deleted": true });
        owner_fields(&mut out, owner, c);
        Ok(Json(out).into_response())
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            "no uploaded script is active".into(),
        ))
    }
}

async fn put_customer(
    State(s): State<Arc<AdminState>>,
    Path(id): Path<String>,
    Query(q): Query<ScriptQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    upload(&s, Owner::Customer(&id), &q, &headers, body).await
}

async fn get_customer(State(s): State<Arc<AdminState>>, Path(id): Path<String>) -> ApiResult {
    show(&s, Owner::Customer(&id)).await
}

async fn delete_customer(State(s): State<Arc<AdminState>>, Path(id): Path<String>) -> ApiResult {
    delete(&s, Owner::Customer(&id)).await
}

async fn customer_versions(State(s): State<Arc<AdminState>>, Path(id): Path<String>) -> ApiResult {
    versions(&s, Owner::Customer(&id)).await
}

async fn customer_rollback(
    State(s): State<Arc<AdminState>>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    rollback(&s, Owner::Customer(&id), body).await
}

async fn put_global(
    State(s): State<Arc<AdminState>>,
    Path(name): Path<String>,
    Query(q): Query<ScriptQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    upload(&s, Owner::Global(&name), &q, &headers, body).await
}

async fn get_global(State(s): State<Arc<AdminState>>, Path(name): Path<String>) -> ApiResult {
    show(&s, Owner::Global(&name)).await
}

async fn delete_global(State(s): State<Arc<AdminState>>, Path(name): Path<String>) -> ApiResult {
    delete(&s, Owner::Global(&name)).await
}

async fn global_versions(State(s): State<Arc<AdminState>>, Path(name): Path<String>) -> ApiResult {
    versions(&s, Owner::Global(&name)).await
}

async fn global_rollback(
    State(s): State<Arc<AdminState>>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    rollback(&s, Owner::Global(&name), body).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRunRequest {
    script: Option<String>,
    lang: Option<String>,
    customer: Option<String>,
    call: Option<Value>,
}

async fn dry_run(
    State(s): State<Arc<AdminState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let c = control(&s)?;
    let r: DryRunRequest = json_of(body)?;
    let source = match r.script {
        Some(src) => {
            let lang = r.lang.as_deref().map(parse_lang).unwrap_or(Some(Lang::Js));
            let Some(lang) = lang else {
                return Err(ApiError(
                    StatusCode::BAD_REQUEST,
                    "lang: expected js or lua".into(),
                ));
            };
            Some((lang, src))
        }
        None => None,
    };
    let out = c.dry_run(source, r.customer, r.call).await?;
    Ok(Json(out).into_response())
}

async fn reload(State(s): State<Arc<AdminState>>) -> ApiResult {
    let c = control(&s)?;
    let generation = c.reload().await?;
    Ok(Json(json!({ "reloaded": true, "generation": generation })).into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}
