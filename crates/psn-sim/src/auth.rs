//! Sony's OAuth: NPSSO cookie → authorization code → access and refresh tokens, on the
//! virtual clock. Auth requests do not count toward the rate limit.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::http::{json_response, Query};
use crate::rng::SplitMix64;
use crate::{after, State, SIM_LEGACY_TOKEN};

/// `Basic base64("09515159-7237-4370-9b40-3806e67c0891:ucPjka5tntB2KqsP")`: the PS App's client.
const APP_CLIENT_AUTHORIZATION: &str =
    "Basic MDk1MTUxNTktNzIzNy00MzcwLTliNDAtMzgwNmU2N2MwODkxOnVjUGprYTV0bnRCMktxc1A=";
const APP_CLIENT_ID: &str = "09515159-7237-4370-9b40-3806e67c0891";
const APP_REDIRECT: &str = "com.scee.psxandroid.scecompcall://redirect";
const SCOPE: &str = "psn:mobile.v2.core psn:clientapp";
const DOCS: &str = "https://auth.api.sonyentertainmentnetwork.com/docs/";

/// The legacy bearer's credential family (for the rate limit). Tokens issued to credential `i`
/// (see [`crate::Fault::RejectCredential`]) are of family `i + 1`: one bucket per PSN account,
/// shared by all its sign-ins.
const LEGACY_FAMILY: u64 = 0;

fn family_of(credential: usize) -> u64 {
    credential as u64 + 1
}

/// The credential index of a token family; `None` for the legacy bearer.
pub(crate) fn credential_of(family: u64) -> Option<usize> {
    family
        .checked_sub(1)
        .and_then(|index| usize::try_from(index).ok())
}

struct Issued {
    family: u64,
    expires_at: DateTime<Utc>,
    /// Access tokens are numbered in the order they were issued (refresh tokens carry 0).
    serial: u64,
}

/// Who an API request came from, by its bearer token.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Caller {
    pub credential: Option<usize>,
    pub access_token: Option<u64>,
}

pub(crate) struct Tokens {
    rng: SplitMix64,
    /// Authorization codes not yet redeemed, with the credential they sign in.
    codes: HashMap<String, usize>,
    access: HashMap<String, Issued>,
    refresh: HashMap<String, Issued>,
    legacy_revoked: bool,
    issued_access_tokens: u64,
}

impl Tokens {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed ^ 0x70_6b_65_6e_73),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            legacy_revoked: false,
            issued_access_tokens: 0,
        }
    }

    /// The number of a valid access token (see [`crate::RecordedRequest::access_token`]).
    pub(crate) fn access_token_serial(&self, token: &str) -> Option<u64> {
        self.access.get(token).map(|issued| issued.serial)
    }

    /// The credential family of a valid bearer, or `None` (missing, unknown, expired, revoked).
    pub(crate) fn check_bearer(&self, token: &str, now: DateTime<Utc>) -> Option<u64> {
        if token == SIM_LEGACY_TOKEN {
            return (!self.legacy_revoked).then_some(LEGACY_FAMILY);
        }
        self.access
            .get(token)
            .filter(|issued| now < issued.expires_at)
            .map(|issued| issued.family)
    }

    pub(crate) fn revoke_all(&mut self) {
        self.codes.clear();
        self.access.clear();
        self.refresh.clear();
        self.legacy_revoked = true;
    }

    /// Revokes every token issued to one credential.
    pub(crate) fn revoke_credential(&mut self, credential: usize) {
        let family = family_of(credential);
        self.codes.retain(|_, issued_to| *issued_to != credential);
        self.access.retain(|_, issued| issued.family != family);
        self.refresh.retain(|_, issued| issued.family != family);
    }

    fn token(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.rng.hex(40, false))
    }
}

pub(crate) fn handle(
    state: &mut State,
    method: &Method,
    segments: &[&str],
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    match (method, segments.last().copied()) {
        (&Method::GET, Some("authorize")) => authorize(state, raw_query, headers),
        (&Method::POST, Some("token")) => token(state, headers, body),
        _ => oauth_error(StatusCode::NOT_FOUND, "not_found", "Not found", 4000),
    }
}

fn authorize(state: &mut State, raw_query: Option<&str>, headers: &HeaderMap) -> Response {
    let query = Query::parse(raw_query);
    let npsso = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().strip_prefix("npsso="))
        .next_back();
    let cid = query.get("cid").map(str::to_string).unwrap_or_else(|| {
        format!(
            "00000000-0000-0000-0000-{}",
            state.tokens.rng.hex(12, false)
        )
    });
    let credential = npsso.and_then(|npsso| {
        std::iter::once(&state.config.npsso)
            .chain(&state.config.more_npssos)
            .position(|accepted| accepted == npsso)
    });
    let accepted = credential
        .filter(|index| !state.faults.rejected_credentials.contains(index))
        .filter(|_| {
            !state.faults.npsso_rejected
                && query.get("client_id") == Some(APP_CLIENT_ID)
                && query.get("response_type") == Some("code")
        });
    let location = if let Some(credential) = accepted {
        let code = format!("v3.{}", alphanumeric(&mut state.tokens.rng, 6));
        state.tokens.codes.insert(code.clone(), credential);
        format!("{APP_REDIRECT}/?code={code}&cid={cid}")
    } else {
        format!(
            "https://my.account.sony.com/sonyacct/signin/?{}&cid={cid}&auth_ver=v3&error=login_required&error_code=4165&error_description=User+is+not+authenticated",
            raw_query.unwrap_or("")
        )
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn token(state: &mut State, headers: &HeaderMap, body: &[u8]) -> Response {
    let client_ok = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == APP_CLIENT_AUTHORIZATION.as_bytes());
    if !client_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
            4102,
        );
    }
    let form = Query::parse(std::str::from_utf8(body).ok());
    let now = state.now();
    match form.get("grant_type") {
        Some("authorization_code") => {
            let redeemed = form
                .get("code")
                .and_then(|code| state.tokens.codes.remove(code));
            let Some(credential) = redeemed else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid authorization code",
                    4101,
                );
            };
            let family = family_of(credential);
            let refresh_token = state.tokens.token(&state.config.refresh_token_prefix);
            let refresh_expires_at = after(now, state.config.refresh_token_lifetime);
            state.tokens.refresh.insert(
                refresh_token.clone(),
                Issued {
                    family,
                    expires_at: refresh_expires_at,
                    serial: 0,
                },
            );
            issue(state, family, refresh_token, refresh_expires_at, now)
        }
        Some("refresh_token") => {
            let found = form.get("refresh_token").and_then(|token| {
                state
                    .tokens
                    .refresh
                    .get(token)
                    .filter(|issued| now < issued.expires_at)
                    .map(|issued| (token.to_string(), issued.family, issued.expires_at))
            });
            let Some((refresh_token, family, expires_at)) = found else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid refresh token",
                    4152,
                );
            };
            // Sony hands back the same refresh token with its remaining life.
            issue(state, family, refresh_token, expires_at, now)
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
            4100,
        ),
    }
}

fn issue(
    state: &mut State,
    family: u64,
    refresh_token: String,
    refresh_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Response {
    let lifetime = state.config.access_token_lifetime;
    let access_token = state.tokens.token(&state.config.access_token_prefix);
    let id_token = state.tokens.token("sim-id-");
    state.tokens.issued_access_tokens += 1;
    let serial = state.tokens.issued_access_tokens;
    state.tokens.access.insert(
        access_token.clone(),
        Issued {
            family,
            expires_at: after(now, lifetime),
            serial,
        },
    );
    // PSN advertises one second less than the real life (3599 for an hour).
    let expires_in = lifetime.as_secs().saturating_sub(1);
    let refresh_expires_in = (refresh_expires_at - now)
        .num_seconds()
        .saturating_sub(1)
        .max(0);
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": SCOPE,
            "id_token": id_token,
            "refresh_token": refresh_token,
            "refresh_token_expires_in": refresh_expires_in,
        }),
    );
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

fn oauth_error(status: StatusCode, error: &str, description: &str, code: u32) -> Response {
    let body: Value = json!({
        "error": error,
        "error_description": description,
        "error_code": code,
        "docs": DOCS,
    });
    json_response(status, &body)
}

fn alphanumeric(rng: &mut SplitMix64, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| CHARS[rng.below(CHARS.len() as u64) as usize] as char)
        .collect()
}
