//! Access tokens: the NPSSO → code → token exchange, refresh by one task while others wait, and
//! the legacy API's hand-taken bearer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::Mutex;
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

enum Tokens {
    /// The legacy API's bearer: used as it is until PSN rejects it.
    Bearer(Secret),
    OAuth {
        /// Signs in when there is no refresh token, or when PSN rejected it.
        npsso: Option<Secret>,
        access: Option<(Secret, Instant)>,
        refresh: Option<(Secret, Option<DateTime<Utc>>)>,
    },
}

pub(crate) struct Auth {
    http: reqwest::Client,
    auth_url: String,
    timeout: Duration,
    tokens: Mutex<Tokens>,
    /// A copy of the refresh token, readable without waiting for a sign-in in progress.
    refresh_copy: std::sync::Mutex<Option<(Secret, DateTime<Utc>)>>,
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
            },
            Credential::RefreshToken(refresh) => Tokens::OAuth {
                npsso: None,
                access: None,
                refresh: Some((refresh.clone(), None)),
            },
        };
        Auth {
            http,
            auth_url: auth_url.trim_end_matches('/').to_string(),
            timeout,
            tokens: Mutex::new(tokens),
            refresh_copy: std::sync::Mutex::new(None),
        }
    }

    /// A valid access token. The lock is held while a new one is fetched, so exactly one task
    /// talks to the auth server and the others wait for its result.
    pub(crate) async fn access_token(&self, counters: &Counters) -> Result<Secret> {
        let mut tokens = self.tokens.lock().await;
        match &mut *tokens {
            Tokens::Bearer(token) => Ok(token.clone()),
            Tokens::OAuth {
                npsso,
                access,
                refresh,
            } => {
                if let Some((token, expires)) = access {
                    if Instant::now() + EXPIRY_MARGIN < *expires {
                        return Ok(token.clone());
                    }
                }
                let refreshed = match refresh.as_ref() {
                    Some((refresh_token, _)) => Some(self.refresh(refresh_token, counters).await),
                    None => None,
                };
                let response = match (refreshed, npsso.as_ref()) {
                    (Some(Ok(response)), _) => response,
                    // A rejected refresh token (revoked, expired, or saved by a run with another
                    // NPSSO) is dropped and the NPSSO signs in again.
                    (Some(Err(Error::Credential(_))) | None, Some(npsso_value)) => {
                        *refresh = None;
                        self.exchange_npsso(npsso_value, counters).await?
                    }
                    (Some(Err(err)), _) => return Err(err),
                    (None, None) => {
                        return Err(Error::Credential(
                            "no NPSSO or refresh token to sign in with".into(),
                        ))
                    }
                };
                let access_token = Secret::new(response.access_token);
                *access = Some((
                    access_token.clone(),
                    Instant::now() + Duration::from_secs(response.expires_in),
                ));
                if let Some(new_refresh) = response.refresh_token {
                    let expires = response
                        .refresh_token_expires_in
                        .and_then(|s| Utc::now().checked_add_signed(chrono::Duration::seconds(s)));
                    let new_refresh = Secret::new(new_refresh);
                    *self.refresh_copy.lock().unwrap_or_else(|p| p.into_inner()) =
                        expires.map(|e| (new_refresh.clone(), e));
                    *refresh = Some((new_refresh, expires));
                }
                Ok(access_token)
            }
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
        counters.sent();
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
        counters.sent();
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
}
