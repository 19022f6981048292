//! Is the bot doing its job? Discord connected and the PSN credential accepted. `/healthz`
//! answers from this; the bot and the PSN callers keep it current.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;

/// Cheap to clone; clones share the same state. Starts as "connecting" with PSN "ok" (nothing
/// rejected yet).
#[derive(Debug, Clone, Default)]
pub struct Health {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    discord_connected: AtomicBool,
    psn_credential_rejected: AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Unhealthy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscordStatus {
    Connected,
    Connecting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PsnStatus {
    Ok,
    CredentialRejected,
}

/// The `/healthz` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    pub status: Status,
    pub discord: DiscordStatus,
    pub psn: PsnStatus,
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    /// The gateway is up (Ready or Resumed) or down (disconnected, reconnecting).
    pub fn set_discord_connected(&self, connected: bool) {
        self.inner
            .discord_connected
            .store(connected, Ordering::Relaxed);
    }

    /// A PSN call succeeded: whatever credential it used was accepted.
    pub fn note_psn_ok(&self) {
        self.set_psn_credential_rejected(false);
    }

    /// A PSN call failed: a credential error marks the credential rejected; other errors
    /// (private, rate limit, outage) say nothing about it.
    pub fn note_psn_error(&self, error: &psn::Error) {
        if matches!(error, psn::Error::Credential(_)) {
            self.set_psn_credential_rejected(true);
        }
    }

    pub fn set_psn_credential_rejected(&self, rejected: bool) {
        self.inner
            .psn_credential_rejected
            .store(rejected, Ordering::Relaxed);
    }

    pub fn report(&self) -> HealthReport {
        let discord = if self.inner.discord_connected.load(Ordering::Relaxed) {
            DiscordStatus::Connected
        } else {
            DiscordStatus::Connecting
        };
        let psn = if self.inner.psn_credential_rejected.load(Ordering::Relaxed) {
            PsnStatus::CredentialRejected
        } else {
            PsnStatus::Ok
        };
        let status = if discord == DiscordStatus::Connected && psn == PsnStatus::Ok {
            Status::Ok
        } else {
            Status::Unhealthy
        };
        HealthReport {
            status,
            discord,
            psn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn healthy_only_when_connected_and_the_credential_is_accepted() {
        let health = Health::new();
        assert_eq!(
            serde_json::to_value(health.report()).unwrap(),
            json!({"status": "unhealthy", "discord": "connecting", "psn": "ok"})
        );
        health.set_discord_connected(true);
        assert_eq!(
            serde_json::to_value(health.report()).unwrap(),
            json!({"status": "ok", "discord": "connected", "psn": "ok"})
        );
        health.note_psn_error(&psn::Error::Credential("expired".into()));
        assert_eq!(
            serde_json::to_value(health.report()).unwrap(),
            json!({"status": "unhealthy", "discord": "connected", "psn": "credential_rejected"})
        );
    }

    #[test]
    fn only_credential_errors_and_successes_change_the_psn_status() {
        let health = Health::new();
        health.note_psn_error(&psn::Error::Credential("rejected".into()));
        health.note_psn_error(&psn::Error::Unavailable("503".into()));
        assert_eq!(health.report().psn, PsnStatus::CredentialRejected);
        health.note_psn_ok();
        assert_eq!(health.report().psn, PsnStatus::Ok);
    }
}
