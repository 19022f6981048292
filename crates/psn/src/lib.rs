//! PlayStation Network trophy API client. Knows nothing of Discord.
//!
//! One [`Client`] serves both APIs (modern and legacy) with the same model types, keeps one
//! request budget per credential shared by all its clones, signs in and refreshes tokens, and
//! caches what is shared or stable.

mod auth;
mod budget;
mod cache;
mod client;
mod config;
pub mod error;
mod http;
mod language;
mod legacy;
pub mod model;
mod modern;
mod online_id;
mod secret;
mod signal;
mod stats;
mod wire;

#[cfg(test)]
mod fixtures;

pub use client::{Client, TYPED_TITLES_TTL};
pub use config::{ApiKind, Config, Credential, RateLimit, RateLimitParseError};
pub use error::{Error, Result};
pub use language::{language, language_label, LANGUAGES};
pub use model::*;
pub use online_id::OnlineId;
pub use secret::Secret;
pub use signal::{Observer, Signal};
pub use stats::{ClientStats, Meter};
