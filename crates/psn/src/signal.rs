//! What PSN's answers say about the bot's standing, told to whoever watches (the bot's health
//! report) as they happen, for every caller alike: the tracker's background requests wait out a
//! rate limit without ever returning it, so only the transport sees it.

use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// PSN answered a request successfully: it accepts the credential and is up.
    Answered,
    /// PSN refused the credential (sign-in, refresh or access token).
    CredentialRejected,
    /// PSN did not answer, or answered 5xx after every retry.
    Unavailable,
    /// PSN answered 429.
    RateLimited,
}

pub type Observer = Arc<dyn Fn(Signal) + Send + Sync>;

/// Set once; clones of a client share it.
#[derive(Default)]
pub(crate) struct Signals {
    observer: OnceLock<Observer>,
}

impl Signals {
    pub(crate) fn set(&self, observer: Observer) -> bool {
        self.observer.set(observer).is_ok()
    }

    pub(crate) fn send(&self, signal: Signal) {
        if let Some(observer) = self.observer.get() {
            observer(signal);
        }
    }

    /// The signal a failed request gives, if it says anything about PSN itself.
    pub(crate) fn send_error(&self, error: &crate::Error) {
        let signal = match error {
            crate::Error::Credential(_) => Signal::CredentialRejected,
            crate::Error::Unavailable(_) => Signal::Unavailable,
            crate::Error::RateLimited { .. } => Signal::RateLimited,
            _ => return,
        };
        self.send(signal);
    }
}
