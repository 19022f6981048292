//! PostgreSQL persistence: the only module that holds SQL. Queries are checked at run time
//! (`sqlx::query`), so building never needs a database.

mod application;
mod backfill;
mod context;
mod credential;
mod database_url;
mod guilds;
mod links;
mod outbox;
mod rates;
mod recap;
mod shards;
mod titles;
mod tracking;
mod trophy;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};

pub use backfill::{BackfillTitle, History};
pub use context::FellowTitle;
pub use credential::SealedCredential;
pub use database_url::{is_database_url, redact_database_url};
pub use guilds::{AddTracked, ForgottenGuild};
pub use links::{about_me_holds_code, new_verify_code, LinkedAccount, VERIFY_CODE_PREFIX};
pub use outbox::{AttemptStart, ChannelReport, EventPost, OutboxRow};
pub use rates::RarestTitle;
pub use recap::RecapGuild;
pub use shards::{BudgetReport, LiveProcess, ShardHolder};
pub use tracking::{
    AccountStatus, ClaimedAccount, CommitOutcome, Destination, DetectedTrophy, LibraryName,
    OutboxEntry, PollCommit, TitleState, TrackerAccount, TrophyLevelRead,
};
pub use trophy::TitleHolder;

/// sqlx migrations embedded in the binary, so `trophybot migrate` needs no files at run time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long the pool waits for a connection before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: u32 = 8;

/// PostgreSQL's "database does not exist" (invalid_catalog_name).
const MISSING_DATABASE: &str = "3D000";
/// What a concurrent `CREATE DATABASE` of the same name fails with.
const DUPLICATE_DATABASE: &str = "42P04";
const UNIQUE_VIOLATION: &str = "23505";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is never repeated: it may hold a password.
    #[error("DATABASE_URL is not a valid PostgreSQL URL")]
    InvalidUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON value no longer matches the model (e.g. written by another version).
    #[error("stored {what} could not be read: {source}")]
    Corrupt {
        what: &'static str,
        source: serde_json::Error,
    },
}

/// A pool of connections to the bot's database.
#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

// The pool's connect options hold the password, so Debug shows nothing of them.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Connects to `database_url`, creating the database first when it does not exist.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        if !is_database_url(database_url) {
            return Err(StoreError::InvalidUrl);
        }
        let options = PgConnectOptions::from_str(database_url)
            .map_err(|_| StoreError::InvalidUrl)?
            // Statement logging would put bound values (tokens) into logs.
            .disable_statement_logging();
        ensure_database(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(Store { pool })
    }

    /// A pool for `database_url` that connects only when first used: nothing is checked now.
    pub fn connect_lazy(database_url: &str) -> Result<Store, StoreError> {
        if !is_database_url(database_url) {
            return Err(StoreError::InvalidUrl);
        }
        let options = PgConnectOptions::from_str(database_url)
            .map_err(|_| StoreError::InvalidUrl)?
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Store { pool })
    }

    /// Does the database answer `SELECT 1` within `timeout`? For `/healthz`: bounded, so a
    /// hung database makes a quick "no" rather than a hung health check.
    pub async fn is_reachable(&self, timeout: Duration) -> bool {
        let query = sqlx::query("SELECT 1").execute(&self.pool);
        match tokio::time::timeout(timeout, query).await {
            Ok(Ok(_)) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "the database health check failed");
                false
            }
            Err(_) => {
                tracing::warn!(?timeout, "the database health check timed out");
                false
            }
        }
    }

    /// Applies the migrations not yet applied; running it again changes nothing.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// The underlying pool, for callers that hand it to other sqlx-aware code (tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection, waiting for the ones in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Creates the database named in `options` when the server says it does not exist. A single
/// connection probes first: the pool would retry a refused connection until its timeout.
async fn ensure_database(options: &PgConnectOptions) -> Result<(), StoreError> {
    match PgConnection::connect_with(options).await {
        Ok(conn) => {
            conn.close().await?;
            Ok(())
        }
        Err(err) if database_code(&err).as_deref() == Some(MISSING_DATABASE) => {
            create_database(options).await
        }
        Err(err) => Err(err.into()),
    }
}

async fn create_database(options: &PgConnectOptions) -> Result<(), StoreError> {
    let Some(name) = options.get_database() else {
        // Without a name the server's default database is used, and it was the one missing.
        return Err(StoreError::InvalidUrl);
    };
    let mut maintenance = PgConnection::connect_with(&options.clone().database("postgres")).await?;
    let created = sqlx::query(&format!("CREATE DATABASE {}", quote_identifier(name)))
        .execute(&mut maintenance)
        .await;
    maintenance.close().await?;
    match created {
        Ok(_) => {
            tracing::info!(database = name, "created the database");
            Ok(())
        }
        // Another process created it in the meantime: that is what we wanted.
        Err(err)
            if matches!(
                database_code(&err).as_deref(),
                Some(DUPLICATE_DATABASE | UNIQUE_VIOLATION)
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

fn database_code(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned())
}

/// Quotes a PostgreSQL identifier: DDL cannot bind parameters.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Discord snowflakes are u64; PostgreSQL has no unsigned bigint, so the same 64 bits are stored.
fn snowflake_to_db(id: u64) -> i64 {
    i64::from_ne_bytes(id.to_ne_bytes())
}

/// The inverse of [`snowflake_to_db`].
fn snowflake_from_db(id: i64) -> u64 {
    u64::from_ne_bytes(id.to_ne_bytes())
}

/// Maps a JSON error on a stored `what` to [`StoreError::Corrupt`].
fn corrupt(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
    move |source| StoreError::Corrupt { what, source }
}

/// A duration as seconds for SQL intervals; far-off times (an idle account's infinite
/// interval) are capped at a year.
fn interval_secs(duration: Duration) -> f64 {
    duration.as_secs_f64().min(365.0 * 86_400.0)
}

/// `trophybot migrate`: applies the migrations to the database at `database_url` (created when
/// missing). Returns the exit code and the line to print: 0 done, 2 a configuration error,
/// 1 a database error. The URL is shown without its password.
pub async fn run_migrate(database_url: &str) -> (i32, String) {
    let shown = redact_database_url(database_url);
    let result = match Store::connect(database_url).await {
        Ok(store) => {
            let migrated = store.migrate().await;
            store.close().await;
            migrated
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(()) => (0, format!("migrations applied to {shown}")),
        Err(StoreError::InvalidUrl) => (2, format!("error: {}", StoreError::InvalidUrl)),
        Err(err) => (1, format!("error: migrating {shown}: {err}")),
    }
}

/// Entry point of `trophybot migrate`: reads `DATABASE_URL` (and `.env`), prints the outcome
/// and returns the process exit code.
pub async fn migrate_from_env() -> i32 {
    let database_url = crate::config::database_url_from_env();
    let (code, message) = run_migrate(&database_url).await;
    if code == 0 {
        println!("{message}");
    } else {
        eprintln!("{message}");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(quote_identifier("trophybot"), "\"trophybot\"");
        assert_eq!(quote_identifier("a\"b; DROP"), "\"a\"\"b; DROP\"");
    }

    #[test]
    fn snowflakes_above_i64_max_keep_their_bits() {
        assert_eq!(
            snowflake_to_db(1_234_567_890_123_456_789),
            1_234_567_890_123_456_789
        );
        assert_eq!(snowflake_to_db(u64::MAX), -1);
        assert_eq!(snowflake_to_db(1 << 63), i64::MIN);
        for id in [0, 1_234_567_890_123_456_789, u64::MAX, 1 << 63] {
            assert_eq!(snowflake_from_db(snowflake_to_db(id)), id);
        }
    }
}
