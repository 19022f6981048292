//! Access tokens: the NPSSO → code → token exchange, refresh by one task while others wait, and
//! the legacy API's hand-taken bearer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::{watch, Mutex};
use tokio::time::Instant;

use crate::config::Credential;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::stats::Counters;

/// The PlayStation App's OAuth client, as PSNAWP and psn-api use it.
const CLIENT_ID: &str = "09515159-7237-4370-9b40-3806e67c0891";
const CLIENT_SECRET: &str = "ucPjka5tntB2KqsP";
const REDIRECT_URI: &str = "com.scee.psxandroid.scecompcall://redirect";
const SCOPE: &str = "psn:mobile.v2.core psn:clientapp";
/// Refresh this long before the access token expires, so no request goes out with a dying token.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// PSN's access tokens live an hour. A longer `expires_in` is believed up to a day (a token that
/// dies sooner is replaced on its 401 anyway), so no claim can overflow the clock.
const MAX_ACCESS_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// After PSN rejects the credential, no sign-in is tried for this long; requests fail at once
/// with `Error::Credential` meanwhile. Every further rejection doubles the wait, up to
/// `SIGN_IN_BACKOFF_MAX`; a successful sign-in forgets it. Signing in again on every request
/// (the tracker makes about 14 a minute) is the pattern that gets a PSN account locked.
const SIGN_IN_BACKOFF_FIRST: Duration = Duration::from_secs(60);
const SIGN_IN_BACKOFF_MAX: Duration = Duration::from_secs(30 * 60);

enum Tokens {
    /// The legacy API's bearer: used as it is until PSN rejects it.
    Bearer(Secret),
    OAuth {
        /// Signs in when there is no refresh token, or when PSN rejected it.
        npsso: Option<Secret>,
        access: Option<(Secret, Instant)>,
        refresh: Option<(Secret, Option<DateTime<Utc>>)>,
        /// The last sign-in was rejected: none is tried before `until`.
        rejected: Option<Rejected>,
    },
}

struct Rejected {
    /// PSN's reason (never a secret), repeated to every caller turned away meanwhile.
    reason: String,
    until: Instant,
    /// The wait after the next rejection.
    next: Duration,
}

pub(crate) struct Auth {
    http: reqwest::Client,
    auth_url: String,
    timeout: Duration,
    tokens: Mutex<Tokens>,
    /// A copy of the refresh token, readable without waiting for a sign-in in progress.
    refresh_copy: std::sync::Mutex<Option<(Secret, DateTime<Utc>)>>,
    /// PSN's reason while the credential stands rejected, `None` once a sign-in succeeds. It
    /// changes only when an episode starts or ends, not at each rejected retry, so a watcher
    /// alerts once per episode.
    rejection: watch::Sender<Option<String>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
    refresh_token: Option<String>,
    refresh_token_expires_in: Option<i64>,
}

impl Auth {
    pub(crate) fn new(
        credential: &Credential,
        saved_refresh_token: Option<&Secret>,
        http: reqwest::Client,
        auth_url: &str,
        timeout: Duration,
    ) -> Auth {
        let tokens = match credential {
            Credential::Bearer(token) => Tokens::Bearer(token.clone()),
            Credential::Npsso(npsso) => Tokens::OAuth {
                npsso: Some(npsso.clone()),
                access: None,
                refresh: saved_refresh_token.map(|token| (token.clone(), None)),
                rejected: None,
            },
            Credential::RefreshToken(refresh) => Tokens::OAuth {
                npsso: None,
                access: None,
                refresh: Some((refresh.clone(), None)),
                rejected: None,
            },
        };
        Auth {
            http,
            auth_url: auth_url.trim_end_matches('/').to_string(),
            timeout,
            tokens: Mutex::new(tokens),
            refresh_copy: std::sync::Mutex::new(None),
            rejection: watch::Sender::new(None),
        }
    }

    /// Watches whether PSN rejects the credential: `Some(reason)` from the first rejection of an
    /// episode until a sign-in succeeds.
    pub(crate) fn watch_rejection(&self) -> watch::Receiver<Option<String>> {
        self.rejection.subscribe()
    }

    /// A valid access token. The lock is held while a new one is fetched, so exactly one task
    /// talks to the auth server and the others wait for its result. After a rejected credential,
    /// fails at once until the backoff has passed.
    pub(crate) async fn access_token(&self, counters: &Counters) -> Result<Secret> {
        let mut tokens = self.tokens.lock().await;
        match &mut *tokens {
            Tokens::Bearer(token) => Ok(token.clone()),
            Tokens::OAuth {
                npsso,
                access,
                refresh,
                rejected,
            } => {
                if let Some((token, expires)) = access {
                    if Instant::now() + EXPIRY_MARGIN < *expires {
                        return Ok(token.clone());
                    }
                }
                if let Some(rejected) = rejected.as_ref() {
                    let left = rejected.until.saturating_duration_since(Instant::now());
                    if !left.is_zero() {
                        return Err(Error::Credential(format!(
                            "{} (next sign-in attempt in {} s)",
                            rejected.reason,
                            left.as_secs()
                        )));
                    }
                }
                let response = match self.sign_in(npsso.as_ref(), refresh, counters).await {
                    Ok(response) => {
                        *rejected = None;
                        self.rejection
                            .send_if_modified(|state| state.take().is_some());
                        response
                    }
                    Err(Error::Credential(reason)) => {
                        let wait = rejected.as_ref().map_or(SIGN_IN_BACKOFF_FIRST, |r| r.next);
                        tracing::warn!(
                            reason,
                            retry_in_secs = wait.as_secs(),
                            "PSN rejected the credential; no sign-in until the backoff has passed"
                        );
                        *rejected = Some(Rejected {
                            reason: reason.clone(),
                            until: Instant::now() + wait,
                            next: (wait * 2).min(SIGN_IN_BACKOFF_MAX),
                        });
                        self.rejection.send_if_modified(|state| {
                            let starts_episode = state.is_none();
                            if starts_episode {
                                *state = Some(reason.clone());
                            }
                            starts_episode
                        });
                        return Err(Error::Credential(reason));
                    }
                    Err(err) => return Err(err),
                };
                let access_token = Secret::new(response.access_token);
                *access = Some((
                    access_token.clone(),
                    access_expiry(Instant::now(), response.expires_in),
                ));
                if let Some(new_refresh) = response.refresh_token {
                    let expires = refresh_expiry(Utc::now(), response.refresh_token_expires_in);
                    let new_refresh = Secret::new(new_refresh);
                    *self.refresh_copy.lock().unwrap_or_else(|p| p.into_inner()) =
                        expires.map(|e| (new_refresh.clone(), e));
                    *refresh = Some((new_refresh, expires));
                }
                Ok(access_token)
            }
        }
    }

    /// One sign-in: the refresh token if there is one, else (or when PSN rejected it) the NPSSO.
    async fn sign_in(
        &self,
        npsso: Option<&Secret>,
        refresh: &mut Option<(Secret, Option<DateTime<Utc>>)>,
        counters: &Counters,
    ) -> Result<TokenResponse> {
        let refreshed = match refresh.as_ref() {
            Some((refresh_token, _)) => Some(self.refresh(refresh_token, counters).await),
            None => None,
        };
        match (refreshed, npsso) {
            (Some(Ok(response)), _) => Ok(response),
            // A rejected refresh token (revoked, expired, or saved by a run with another
            // NPSSO) is dropped and the NPSSO signs in again.
            (Some(Err(Error::Credential(_))) | None, Some(npsso)) => {
                *refresh = None;
                self.exchange_npsso(npsso, counters).await
            }
            (Some(Err(err)), _) => Err(err),
            (None, None) => Err(Error::Credential(
                "no NPSSO or refresh token to sign in with".into(),
            )),
        }
    }

    /// PSN rejected `failed` (401). Returns whether a new token may be fetched: never for a bearer;
    /// for OAuth the failed token is dropped (unless another task already replaced it).
    pub(crate) async fn invalidate(&self, failed: &Secret) -> bool {
        let mut tokens = self.tokens.lock().await;
        match &mut *tokens {
            Tokens::Bearer(_) => false,
            Tokens::OAuth { access, .. } => {
                if access.as_ref().is_some_and(|(token, _)| token == failed) {
                    *access = None;
                }
                true
            }
        }
    }

    pub(crate) fn refresh_token(&self) -> Option<(Secret, DateTime<Utc>)> {
        self.refresh_copy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn exchange_npsso(&self, npsso: &Secret, counters: &Counters) -> Result<TokenResponse> {
        let url = format!("{}/api/authz/v3/oauth/authorize", self.auth_url);
        let query = [
            ("PlatformPrivacyWs1", "minimal"),
            ("access_type", "offline"),
            ("client_id", CLIENT_ID),
            ("device_base_font_size", "10"),
            ("device_profile", "mobile"),
            ("elements_visibility", "no_aclink"),
            ("enable_scheme_error_code", "true"),
            ("no_captcha", "true"),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", SCOPE),
            ("service_entity", "urn:service-entity:psn"),
            ("service_logo", "ps"),
            ("smcid", "psapp:signin"),
            ("support_scheme", "sneiprls"),
            ("turnOnTrustedBrowser", "true"),
            ("ui", "pr"),
        ];
        counters.sent_sign_in();
        let request = self
            .http
            .get(&url)
            .query(&query)
            .header(reqwest::header::COOKIE, format!("npsso={}", npsso.expose()))
            .send();
        let response = self.within_timeout(request).await?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default();
        let params = query_params(location);
        if let Some(code) = params.iter().find(|(k, _)| k == "code").map(|(_, v)| v) {
            let form = [
                ("code", code.as_str()),
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT_URI),
                ("token_format", "jwt"),
            ];
            return self
                .token_request(&form, "authorization code", counters)
                .await;
        }
        if response.status().is_server_error() {
            return Err(Error::Unavailable(format!(
                "sign-in answered {}",
                response.status().as_u16()
            )));
        }
        let reason = params
            .iter()
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v.as_str())
            .unwrap_or("no authorization code");
        let code = params
            .iter()
            .find(|(k, _)| k == "error_code")
            .map(|(_, v)| format!(" (code {v})"))
            .unwrap_or_default();
        Err(Error::Credential(format!(
            "the NPSSO was not accepted: {reason}{code}"
        )))
    }

    async fn refresh(&self, refresh_token: &Secret, counters: &Counters) -> Result<TokenResponse> {
        let form = [
            ("refresh_token", refresh_token.expose()),
            ("grant_type", "refresh_token"),
            ("scope", SCOPE),
            ("token_format", "jwt"),
        ];
        self.token_request(&form, "refresh token", counters).await
    }

    async fn token_request(
        &self,
        form: &[(&str, &str)],
        grant: &str,
        counters: &Counters,
    ) -> Result<TokenResponse> {
        let url = format!("{}/api/authz/v3/oauth/token", self.auth_url);
        counters.sent_sign_in();
        let request = self
            .http
            .post(&url)
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(form)
            .send();
        let response = self.within_timeout(request).await?;
        let status = response.status();
        if status.is_server_error() {
            return Err(Error::Unavailable(format!(
                "token endpoint answered {}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(Error::Credential(format!(
                "the {grant} was rejected ({})",
                status.as_u16()
            )));
        }
        let body = tokio::time::timeout(self.timeout, response.bytes())
            .await
            .map_err(|_| Error::Unavailable("token endpoint timed out".into()))?
            .map_err(|e| Error::Unavailable(format!("token endpoint: {}", e.without_url())))?;
        // The body holds the tokens: the parse error must not quote it.
        serde_json::from_slice(&body)
            .map_err(|_| Error::Malformed("token response without access_token/expires_in".into()))
    }

    async fn within_timeout(
        &self,
        request: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> Result<reqwest::Response> {
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(Error::Unavailable("sign-in timed out".into())),
            Ok(Err(e)) => Err(Error::Unavailable(format!("sign-in: {}", e.without_url()))),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

/// When an access token said to live `expires_in` seconds from `now` dies (believed up to
/// `MAX_ACCESS_LIFETIME`).
fn access_expiry(now: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in).min(MAX_ACCESS_LIFETIME);
    now.checked_add(lifetime).unwrap_or(now)
}

/// When a refresh token said to live `expires_in` seconds from `now` dies; `None` when PSN did
/// not say or said something no clock can hold.
fn refresh_expiry(now: DateTime<Utc>, expires_in: Option<i64>) -> Option<DateTime<Utc>> {
    expires_in
        .and_then(chrono::Duration::try_seconds)
        .and_then(|lifetime| now.checked_add_signed(lifetime))
}

/// The query parameters of a redirect target such as
/// `com.scee.psxandroid.scecompcall://redirect/?code=v3.abc&cid=…`.
fn query_params(location: &str) -> Vec<(String, String)> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_code_and_errors_from_redirects() {
        let ok = query_params("com.scee.psxandroid.scecompcall://redirect/?code=v3.kqNaIA&cid=0");
        assert!(ok.contains(&("code".into(), "v3.kqNaIA".into())));
        let bad = query_params(
            "https://my.account.sony.com/sonyacct/signin/?error=login_required&error_code=4165&x=1",
        );
        assert!(bad.contains(&("error_code".into(), "4165".into())));
        assert!(query_params("").is_empty());
    }

    #[test]
    fn absurd_token_lifetimes_do_not_overflow() {
        let now = Instant::now();
        assert_eq!(access_expiry(now, 3599), now + Duration::from_secs(3599));
        assert_eq!(access_expiry(now, u64::MAX), now + MAX_ACCESS_LIFETIME);
        assert_eq!(
            access_expiry(now, i64::MAX as u64),
            now + MAX_ACCESS_LIFETIME
        );
        let utc = Utc::now();
        assert_eq!(
            refresh_expiry(utc, Some(60)),
            Some(utc + chrono::Duration::seconds(60))
        );
        assert_eq!(refresh_expiry(utc, Some(i64::MAX)), None);
        assert_eq!(refresh_expiry(utc, Some(i64::MIN)), None);
        assert_eq!(refresh_expiry(utc, None), None);
        let parsed: TokenResponse = serde_json::from_str(&format!(
            r#"{{"access_token":"a","expires_in":{},"refresh_token_expires_in":{}}}"#,
            u64::MAX,
            i64::MAX
        ))
        .unwrap();
        assert_eq!(
            access_expiry(now, parsed.expires_in),
            now + MAX_ACCESS_LIFETIME
        );
        assert_eq!(refresh_expiry(utc, parsed.refresh_token_expires_in), None);
    }
}
