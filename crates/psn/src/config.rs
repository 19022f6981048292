//! The client's settings: which API, which credential, where the hosts are, the budget.

use std::str::FromStr;
use std::time::Duration;

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// `m.np.playstation.com/api/trophy/v1`, NPSSO-authenticated.
    Modern,
    /// The seed document's `{region}-tpy.np.community.playstation.net/trophy/v1`, bearer token.
    Legacy,
}

#[derive(Debug, Clone)]
pub enum Credential {
    /// An NPSSO cookie value, exchanged for access and refresh tokens (modern API).
    Npsso(Secret),
    /// A refresh token stored from an earlier session (modern API); see `Client::refresh_token`.
    RefreshToken(Secret),
    /// A bearer token taken by hand (legacy API); it cannot be renewed.
    Bearer(Secret),
}

/// A request budget: at most `requests` in any window of length `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate limit {0:?}: expected REQUESTS/WINDOW such as 300/15m, 100/60s or 5/1h")]
pub struct RateLimitParseError(String);

impl FromStr for RateLimit {
    type Err = RateLimitParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RateLimitParseError(s.to_string());
        let (requests, window) = s.trim().split_once('/').ok_or_else(err)?;
        let requests: u32 = requests.trim().parse().map_err(|_| err())?;
        let window = window.trim();
        let split = window.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (amount, unit) = window.split_at(split);
        let amount: u64 = amount.parse().map_err(|_| err())?;
        let seconds = match unit {
            "s" => amount,
            "m" => amount.checked_mul(60).ok_or_else(err)?,
            "h" => amount.checked_mul(3600).ok_or_else(err)?,
            _ => return Err(err()),
        };
        if requests == 0 || seconds == 0 {
            return Err(err());
        }
        Ok(RateLimit {
            requests,
            per: Duration::from_secs(seconds),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiKind,
    pub credential: Credential,
    pub api_url: String,
    pub auth_url: String,
    pub profile_url: String,
    /// `{region}` is replaced by `region`.
    pub legacy_url: String,
    pub region: String,
    pub language: String,
    pub rate_limit: RateLimit,
    /// The commands' part of `rate_limit`, 0.0 to 1.0: the tracker is guaranteed the rest (see
    /// the budget's docs); commands borrow what the tracker leaves unused.
    pub command_reserve: f64,
    /// An interactive caller that would wait longer than this for the budget gets
    /// `Error::RateLimited` instead.
    pub interactive_max_wait: Duration,
    pub request_timeout: Duration,
    /// A refresh token saved by an earlier run (from the same NPSSO): tried before the NPSSO, so
    /// a restart signs in without a new NPSSO exchange. If PSN rejects it, the NPSSO is used.
    pub saved_refresh_token: Option<Secret>,
}

impl Config {
    pub fn new(api: ApiKind, credential: Credential) -> Config {
        Config {
            api,
            credential,
            api_url: "https://m.np.playstation.com".to_string(),
            auth_url: "https://ca.account.sony.com".to_string(),
            profile_url: "https://us-prof.np.community.playstation.net".to_string(),
            legacy_url: "https://{region}-tpy.np.community.playstation.net".to_string(),
            region: "gb".to_string(),
            language: "en-GB".to_string(),
            rate_limit: RateLimit {
                requests: 300,
                per: Duration::from_secs(15 * 60),
            },
            command_reserve: 0.3,
            interactive_max_wait: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            saved_refresh_token: None,
        }
    }

    /// Starts from a refresh token an earlier run saved (see [`Config::saved_refresh_token`]).
    pub fn with_saved_refresh_token(mut self, token: Secret) -> Config {
        self.saved_refresh_token = Some(token);
        self
    }

    /// Points all four hosts at one server (the simulator or the replay server): their paths do
    /// not collide.
    pub fn with_base_url(mut self, url: &str) -> Config {
        let url = url.trim_end_matches('/').to_string();
        self.api_url = url.clone();
        self.auth_url = url.clone();
        self.profile_url = url.clone();
        self.legacy_url = url;
        self
    }

    pub(crate) fn legacy_base(&self) -> String {
        self.legacy_url
            .replace("{region}", &self.region)
            .trim_end_matches('/')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rate_limits() {
        let r: RateLimit = "300/15m".parse().unwrap();
        assert_eq!(r.requests, 300);
        assert_eq!(r.per, Duration::from_secs(900));
        assert_eq!(
            "100/60s".parse::<RateLimit>().unwrap().per,
            Duration::from_secs(60)
        );
        assert_eq!(
            "5/1h".parse::<RateLimit>().unwrap().per,
            Duration::from_secs(3600)
        );
        for bad in [
            "", "300", "300/", "x/15m", "300/15", "300/15d", "0/1m", "1/0s",
        ] {
            let err = bad.parse::<RateLimit>().unwrap_err();
            assert!(err.to_string().contains("300/15m"), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_output_never_holds_the_credential() {
        let c = Config::new(
            ApiKind::Modern,
            Credential::Npsso(Secret::new("npsso-value-123")),
        );
        assert!(!format!("{c:?}").contains("npsso-value-123"));
    }

    #[test]
    fn base_url_points_every_host_at_one_server() {
        let c = Config::new(ApiKind::Legacy, Credential::Bearer(Secret::new("t")))
            .with_base_url("http://127.0.0.1:1/");
        assert_eq!(c.api_url, "http://127.0.0.1:1");
        assert_eq!(c.legacy_base(), "http://127.0.0.1:1");
        let d = Config::new(ApiKind::Legacy, Credential::Bearer(Secret::new("t")));
        assert_eq!(
            d.legacy_base(),
            "https://gb-tpy.np.community.playstation.net"
        );
    }
}
