//! One handler for every path: classify, apply faults, authenticate, rate limit, dispatch,
//! record, and stamp the virtual `Date`.

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::language::{localize, Language};
use crate::{after, auth, control, legacy, modern, presence, RecordedRequest, Sim, State};

const BODY_LIMIT: usize = 1 << 20;

pub(crate) fn router(sim: Sim) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

/// A PSN error answer: `{"error":{"referenceId","code","message"}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// profile2's "User not found" carries no referenceId.
    pub with_reference: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            with_reference: true,
        }
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 2_240_525, "Resource not found")
    }

    pub(crate) fn private() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            2_240_526,
            "Not permitted by access control",
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 2_240_513, message)
    }

    pub(crate) fn into_response(self, state: &mut State) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if self.with_reference {
            error["referenceId"] = Value::String(state.next_reference_id());
        }
        json_response(self.status, &json!({ "error": error }))
    }
}

pub(crate) type ApiResult = Result<Value, ApiError>;

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Query parameters, decoded.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A numeric parameter: absent → `default`; present but not a number in range → 400.
    pub(crate) fn number(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => match raw.parse::<usize>() {
                Ok(value) if value <= max => Ok(value),
                _ => Err(ApiError::bad_request(format!("Invalid {name}: {raw}"))),
            },
        }
    }
}

/// The endpoints that need a bearer token and count toward the rate limit.
enum Api<'a> {
    Profile2(&'a str),
    Profile(&'a str),
    Trophy(&'a [&'a str]),
    PresenceBatch,
    PresenceOne(&'a str),
    Legacy(&'a [&'a str]),
}

fn classify<'a>(segments: &'a [&'a str]) -> Option<Api<'a>> {
    match segments {
        ["userProfile", "v1", "users", online_id, "profile2"] => Some(Api::Profile2(online_id)),
        ["api", "userProfile", "v1", "internal", "users", account_id, "profiles"] => {
            Some(Api::Profile(account_id))
        }
        ["api", "trophy", "v1", rest @ ..] => Some(Api::Trophy(rest)),
        ["api", "userProfile", "v2", "internal", "users", "", "basicPresences"]
        | ["api", "userProfile", "v2", "internal", "users", "basicPresences"] => {
            Some(Api::PresenceBatch)
        }
        ["api", "userProfile", "v2", "internal", "users", account_id, "basicPresences"] => {
            Some(Api::PresenceOne(account_id))
        }
        ["trophy", "v1", rest @ ..] => Some(Api::Legacy(rest)),
        _ => None,
    }
}

async fn handle(AxumState(sim): AxumState<Sim>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().map(str::to_string);
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let query = Query::parse(raw_query.as_deref());

    if let Some(icon) = path.strip_prefix(crate::icons::ICON_PATH) {
        // Pictures are not API requests: no token, no rate limit, not recorded.
        let down = sim.state().faults.icons_down;
        let mut response = if down {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        } else {
            let mut response = Response::new(Body::from(crate::icons::icon_png(icon)));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            response
        };
        stamp_date(&mut response, sim.now());
        return response;
    }

    if let ["_sim", rest @ ..] = segments.as_slice() {
        let mut response = control::handle(&sim, &parts.method, rest, &body);
        stamp_date(&mut response, sim.now());
        return response;
    }

    let is_auth = matches!(segments.as_slice(), ["api", "authz", "v3", "oauth", _]);
    let api = classify(&segments);

    if api.is_some() && take_timeout(&sim, &parts.method, &path, &raw_query) {
        // Hang like an unresponsive PSN until the server shuts down.
        let mut closing = sim.closing();
        let _ = closing.wait_for(|closing| *closing).await;
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        stamp_date(&mut response, sim.now());
        return response;
    }

    let mut caller = auth::Caller::default();
    // The state's lock is held in this block only, never across the await below.
    let (mut response, now) = {
        let mut state = sim.state();
        let response = if is_auth {
            auth::handle(
                &mut state,
                &parts.method,
                &segments,
                raw_query.as_deref(),
                &parts.headers,
                &body,
            )
        } else if let Some(api) = api {
            if parts.method == Method::GET {
                serve_api(&mut state, api, &query, &parts.headers, &mut caller)
            } else {
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    2_240_513,
                    "Method not allowed",
                )
                .into_response(&mut state)
            }
        } else {
            ApiError::not_found().into_response(&mut state)
        };
        let now = state.now();
        state.requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path,
            query: raw_query,
            status: response.status().as_u16(),
            at: now,
            credential: caller.credential,
            access_token: caller.access_token,
        });
        (response, now)
    };
    stamp_date(&mut response, now);
    match parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    {
        Some(host) => with_local_icons(response, host).await,
        None => response,
    }
}

/// A JSON answer's icon URLs pointed at the simulator itself (see [`crate::icons`]).
async fn with_local_icons(response: Response, host: &str) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let text = crate::icons::local_icon_urls(&String::from_utf8_lossy(&bytes), host);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(text))
}

/// Takes one queued Timeout fault, recording the request as never answered (status 0).
fn take_timeout(sim: &Sim, method: &Method, path: &str, query: &Option<String>) -> bool {
    let mut state = sim.state();
    if state.faults.timeouts == 0 {
        return false;
    }
    state.faults.timeouts -= 1;
    let now = state.now();
    state.requests.push(RecordedRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.clone(),
        status: 0,
        at: now,
        credential: None,
        access_token: None,
    });
    true
}

/// Answers one API request; `caller` is set to whom its token was issued.
fn serve_api(
    state: &mut State,
    api: Api<'_>,
    query: &Query,
    headers: &HeaderMap,
    caller: &mut auth::Caller,
) -> Response {
    let now = state.now();
    if state.faults.server_errors > 0 {
        state.faults.server_errors -= 1;
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            2_240_503,
            "Service Unavailable",
        )
        .into_response(state);
    }
    if let Some(until) = state.faults.rate_limited_until {
        if now < until {
            return too_many_requests(state, until);
        }
        state.faults.rate_limited_until = None;
    }

    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(family) = bearer.and_then(|token| state.tokens.check_bearer(token, now)) else {
        let mut response = ApiError::new(StatusCode::UNAUTHORIZED, 2_241_025, "Invalid token")
            .into_response(state);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return response;
    };
    *caller = auth::Caller {
        credential: auth::credential_of(family),
        access_token: bearer.and_then(|token| state.tokens.access_token_serial(token)),
    };

    if let Some(next_available) = spend_budget(state, family, now) {
        return too_many_requests(state, next_available);
    }

    // The legacy API names its language in the query, the others in the header.
    let language = Language::from_tag(match api {
        Api::Legacy(_) => query.get("npLanguage"),
        _ => headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    });
    let result = match api {
        Api::Profile2(online_id) => modern::profile2(state, online_id),
        Api::Profile(account_id) => modern::profiles(state, account_id),
        Api::Trophy(rest) => modern::trophy(state, rest, query),
        Api::PresenceBatch => presence::batch(state, query),
        Api::PresenceOne(account_id) => presence::one(state, account_id),
        Api::Legacy(rest) => legacy::trophy(state, rest, query),
    };
    match result {
        Ok(mut body) => {
            localize(&mut body, language);
            json_response(StatusCode::OK, &body)
        }
        Err(error) => error.into_response(state),
    }
}

/// Counts one request against the credential's sliding window; returns when the next one may
/// pass if the window is full (rejected requests do not count).
fn spend_budget(state: &mut State, family: u64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let window = state.config.rate_window;
    let limit = state.config.rate_limit as usize;
    let times = state.windows.entry(family).or_default();
    while times.front().is_some_and(|&t| after(t, window) <= now) {
        times.pop_front();
    }
    if times.len() >= limit {
        return Some(times.front().map_or(now, |&oldest| after(oldest, window)));
    }
    times.push_back(now);
    None
}

fn too_many_requests(state: &mut State, next_available: DateTime<Utc>) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        2_240_524,
        "Too many requests",
    )
    .into_response(state);
    // Round up: a client waiting until this second must find the request slot free.
    let seconds =
        next_available.timestamp() + i64::from(next_available.timestamp_subsec_nanos() > 0);
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response
            .headers_mut()
            .insert("X-RateLimit-Next-Available", value);
    }
    response
}

pub(crate) fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn stamp_date(response: &mut Response, now: DateTime<Utc>) {
    if let Ok(value) = HeaderValue::from_str(&http_date(now)) {
        response.headers_mut().insert(header::DATE, value);
    }
}

/// PSN's timestamp format: `2020-11-28T22:55:19Z`.
pub(crate) fn psn_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
