//! The one road every API request takes: budget, access token, language, timeout, retries of 5xx
//! and timeouts, PSN's 429 pause, and reading PSN's error bodies.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::signal::Signal;
use rand::Rng;
use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, DATE};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::auth::Auth;
use crate::budget::{cap_psn_wait, rate_limited_after, Budget, Priority};
use crate::error::{Error, Result};
use crate::stats::{Counters, Meter};

/// Retries after the first attempt for 5xx answers and timeouts.
const MAX_RETRIES: u32 = 3;
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// When a 429 does not say until when, wait this long.
const DEFAULT_429_WAIT: Duration = Duration::from_secs(60);

/// An answer PSN gave that the endpoint turns into a typed error (it knows the user or title).
#[derive(Debug)]
pub(crate) enum Failure {
    Status {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    Fatal(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Fatal(e)
    }
}

impl Failure {
    /// A refusal, with PSN's error code when the body is its `{"error":{"code","message"}}`.
    pub(crate) fn from_answer(status: u16, body: &[u8]) -> Failure {
        let detail = serde_json::from_slice::<ErrorBody>(body).ok();
        Failure::Status {
            status,
            code: detail.as_ref().and_then(|d| d.error.code),
            message: detail.map(|d| d.error.message).unwrap_or_default(),
        }
    }

    /// `specific` names the error for a status and PSN error code; other answers become
    /// `Malformed` (PSN refused a request this client should not have sent).
    pub(crate) fn into_error(
        self,
        specific: impl FnOnce(u16, Option<i64>) -> Option<Error>,
    ) -> Error {
        match self {
            Failure::Fatal(e) => e,
            Failure::Status {
                status,
                code,
                message,
            } => specific(status, code).unwrap_or_else(|| {
                let code = code.map(|c| format!(" code {c}")).unwrap_or_default();
                Error::Malformed(format!("PSN answered {status}{code}: {message}"))
            }),
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<i64>,
    #[serde(default)]
    message: String,
}

pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) auth: Auth,
    pub(crate) budget: Budget,
    pub(crate) counters: Arc<Counters>,
    pub(crate) timeout: Duration,
    pub(crate) interactive_max_wait: Duration,
    pub(crate) signals: crate::signal::Signals,
}

impl Transport {
    /// GETs `url` asking for names in `language`, and parses the JSON answer into `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, &str)],
        priority: Priority,
        language: &str,
        meter: Option<&Meter>,
    ) -> Result<T, Failure> {
        let body = self
            .get_bytes(url, query, priority, language, meter)
            .await?;
        serde_json::from_slice(&body).map_err(|e| {
            Failure::Fatal(Error::Malformed(format!(
                "{}: {e}",
                url.rsplit_once("/v1/").map_or(url, |(_, p)| p)
            )))
        })
    }

    /// [`Transport::attempts`], with what the outcome says of PSN told to the observer.
    async fn get_bytes(
        &self,
        url: &str,
        query: &[(&str, &str)],
        priority: Priority,
        language: &str,
        meter: Option<&Meter>,
    ) -> Result<Vec<u8>, Failure> {
        let result = self.attempts(url, query, priority, language, meter).await;
        match &result {
            Ok(_) => self.signals.send(Signal::Answered),
            Err(Failure::Fatal(error)) => self.signals.send_error(error),
            Err(Failure::Status { .. }) => self.signals.send(Signal::Answered),
        }
        result
    }

    async fn attempts(
        &self,
        url: &str,
        query: &[(&str, &str)],
        priority: Priority,
        language: &str,
        meter: Option<&Meter>,
    ) -> Result<Vec<u8>, Failure> {
        let mut retries = 0;
        let mut refreshed = false;
        loop {
            self.budget.acquire(priority).await?;
            let token = self.auth.access_token(&self.counters).await?;
            self.counters.sent();
            if let Some(meter) = meter {
                meter.sent();
            }
            let request = self
                .http
                .get(url)
                .query(query)
                .bearer_auth(token.expose())
                .header(ACCEPT_LANGUAGE, language)
                .send();
            let outcome = tokio::time::timeout(self.timeout, async {
                let response = request.await?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, body))
            })
            .await;
            let answer = match outcome {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(e)) if !(e.is_timeout() || e.is_connect() || e.is_request()) => {
                    return Err(Error::Unavailable(e.without_url().to_string()).into());
                }
                Ok(Err(e)) => Err(e.without_url().to_string()),
                Err(_) => Err("timed out".to_string()),
            };
            let (status, headers, body) = match answer {
                Ok(answer) => answer,
                Err(why) => {
                    if retries < MAX_RETRIES {
                        retries += 1;
                        tracing::warn!(url, retries, why, "PSN request failed, retrying");
                        tokio::time::sleep(backoff(retries)).await;
                        continue;
                    }
                    return Err(Error::Unavailable(format!(
                        "no answer after {} attempts: {why}",
                        retries + 1
                    ))
                    .into());
                }
            };
            match status {
                s if s.is_success() => return Ok(body.to_vec()),
                StatusCode::UNAUTHORIZED => {
                    if !refreshed && self.auth.invalidate(&token).await {
                        refreshed = true;
                        continue;
                    }
                    return Err(
                        Error::Credential("PSN rejected the access token (401)".into()).into(),
                    );
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = retry_wait(&headers);
                    tracing::warn!(url, wait_secs = wait.as_secs(), "PSN rate limit (429)");
                    // Background callers wait this out here and never return it: say it now.
                    self.signals.send(Signal::RateLimited);
                    self.budget.pause_for(wait);
                    if priority == Priority::Interactive && wait > self.interactive_max_wait {
                        return Err(rate_limited_after(wait).into());
                    }
                }
                s if s.is_server_error() => {
                    if retries < MAX_RETRIES {
                        retries += 1;
                        tracing::warn!(url, retries, status = s.as_u16(), "PSN 5xx, retrying");
                        tokio::time::sleep(backoff(retries)).await;
                        continue;
                    }
                    return Err(Error::Unavailable(format!(
                        "PSN answered {} after {} attempts",
                        s.as_u16(),
                        retries + 1
                    ))
                    .into());
                }
                s => return Err(Failure::from_answer(s.as_u16(), &body)),
            }
        }
    }
}

/// Exponential backoff with full jitter: a burst of failing callers does not retry in step.
fn backoff(retry: u32) -> Duration {
    let ceiling = BACKOFF_BASE * 2u32.saturating_pow(retry.saturating_sub(1));
    rand::thread_rng().gen_range(ceiling / 2..=ceiling)
}

/// How long PSN asks everyone to wait: `X-RateLimit-Next-Available` (a unix time) read against
/// the answer's own `Date`, so a simulated clock works too; at most `MAX_PSN_WAIT`.
pub(crate) fn retry_wait(headers: &HeaderMap) -> Duration {
    let next_available = headers
        .get("x-ratelimit-next-available")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let server_now = headers
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    match next_available {
        // Saturating: a far "not before" or an old Date must not overflow.
        Some(at) => cap_psn_wait(
            "X-RateLimit-Next-Available",
            u64::try_from(at.saturating_sub(server_now.timestamp())).unwrap_or(0),
        ),
        None => DEFAULT_429_WAIT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::MAX_PSN_WAIT;
    use reqwest::header::HeaderValue;

    #[test]
    fn rate_limit_wait_is_read_against_the_answer_date() {
        let mut headers = HeaderMap::new();
        headers.insert(
            DATE,
            HeaderValue::from_static("Sun, 01 Nov 2026 12:00:00 GMT"),
        );
        let date = DateTime::parse_from_rfc2822("Sun, 01 Nov 2026 12:00:00 GMT").unwrap();
        let next = (date.timestamp() + 90).to_string();
        headers.insert(
            "x-ratelimit-next-available",
            HeaderValue::from_str(&next).unwrap(),
        );
        assert_eq!(retry_wait(&headers), Duration::from_secs(90));
        headers.insert("x-ratelimit-next-available", HeaderValue::from_static("0"));
        assert_eq!(retry_wait(&headers), Duration::ZERO);
        headers.remove("x-ratelimit-next-available");
        assert_eq!(retry_wait(&headers), DEFAULT_429_WAIT);
    }

    #[test]
    fn absurd_rate_limit_waits_are_capped() {
        let mut headers = HeaderMap::new();
        let in_ten_years = Utc::now().timestamp() + 10 * 365 * 24 * 3600;
        headers.insert("x-ratelimit-next-available", in_ten_years.into());
        assert_eq!(retry_wait(&headers), MAX_PSN_WAIT);
        headers.insert("x-ratelimit-next-available", i64::MAX.into());
        assert_eq!(retry_wait(&headers), MAX_PSN_WAIT);
        // A Date long past makes any "not before" far away; the subtraction must not overflow.
        headers.insert(
            DATE,
            HeaderValue::from_static("Mon, 01 Jan 0001 00:00:00 GMT"),
        );
        assert_eq!(retry_wait(&headers), MAX_PSN_WAIT);
        headers.insert("x-ratelimit-next-available", i64::MIN.into());
        assert_eq!(retry_wait(&headers), Duration::ZERO);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for retry in 1..=MAX_RETRIES {
            let ceiling = BACKOFF_BASE * 2u32.pow(retry - 1);
            let b = backoff(retry);
            assert!(b >= ceiling / 2 && b <= ceiling, "{retry}: {b:?}");
        }
    }
}
