//! Finds a PostgreSQL server for the tests, by itself, in this order:
//! 1. `DATABASE_URL` when set (its database name is ignored: each test gets its own);
//! 2. `postgres://postgres@127.0.0.1:5432` when something listens there;
//! 3. a throwaway cluster from the machine's `initdb`/`pg_ctl`, in a temp dir on a free port,
//!    stopped and removed when the test process exits;
//! 4. otherwise one panic saying how to get one.
//!
//! The server is found once per test binary; every test then gets a fresh database of its own
//! (`test_<random>`), so tests run in parallel, and the database is dropped when the test ends.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use url::Url;

pub const LOCAL_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432";
const LOCAL_SERVER_ADDR: ([u8; 4], u16) = ([127, 0, 0, 1], 5432);
const NO_SERVER_HELP: &str = "no PostgreSQL server for the tests: set DATABASE_URL, or start one \
     with `docker compose up -d db`, or install PostgreSQL (the tests then start a throwaway \
     server with its initdb and pg_ctl)";

/// Where the test server comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerChoice {
    /// A server URL given by the environment or found listening locally.
    Url(String),
    /// Start a cluster with the `initdb` and `pg_ctl` in this directory.
    Cluster(PathBuf),
}

/// The fallback order, with the probes passed in so it can be tested without servers. A probe
/// runs only when every earlier choice is unavailable.
pub fn choose_server(
    env_url: Option<String>,
    local_server_listens: impl FnOnce() -> bool,
    find_cluster_bin: impl FnOnce() -> Option<PathBuf>,
) -> Option<ServerChoice> {
    if let Some(url) = env_url.filter(|url| !url.trim().is_empty()) {
        return Some(ServerChoice::Url(url));
    }
    if local_server_listens() {
        return Some(ServerChoice::Url(LOCAL_SERVER_URL.to_string()));
    }
    find_cluster_bin().map(ServerChoice::Cluster)
}

/// The first directory holding both `initdb` and `pg_ctl`: `PATH` first, then the Debian layout
/// `/usr/lib/postgresql/<version>/bin` (newest version first).
pub fn find_cluster_bin(path_var: Option<&str>, debian_root: &Path) -> Option<PathBuf> {
    let from_path = path_var
        .into_iter()
        .flat_map(|paths| std::env::split_paths(paths).collect::<Vec<_>>());
    let mut versions: Vec<PathBuf> = std::fs::read_dir(debian_root)
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    // Version directories are numbers ("15", "16"): compare them as numbers, newest first.
    versions.sort_by_key(|dir| {
        std::cmp::Reverse(
            dir.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    from_path
        .chain(versions)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

/// The URL of database `name` on the server at `server_url` (whatever database it named).
pub fn database_url(server_url: &str, name: &str) -> String {
    match Url::parse(server_url) {
        Ok(mut url) => {
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        Err(err) => panic!("DATABASE_URL is not a URL ({err}); {NO_SERVER_HELP}"),
    }
}

struct Server {
    url: String,
}

// Tests find their database as the README says: `DATABASE_URL`, then the machine's tools.
#[allow(
    clippy::disallowed_methods,
    reason = "tests read their own environment"
)]
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let choice = choose_server(
            std::env::var("DATABASE_URL").ok(),
            || {
                let addr = SocketAddr::from(LOCAL_SERVER_ADDR);
                TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
            },
            || {
                find_cluster_bin(
                    std::env::var("PATH").ok().as_deref(),
                    Path::new("/usr/lib/postgresql"),
                )
            },
        );
        let url = match choice {
            Some(ServerChoice::Url(url)) => url,
            Some(ServerChoice::Cluster(bin)) => start_throwaway_cluster(&bin)
                .unwrap_or_else(|err| panic!("{err}\n{NO_SERVER_HELP}")),
            None => panic!("{NO_SERVER_HELP}"),
        };
        Server { url }
    })
}

/// A database of one test's own, dropped when this value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    server_url: String,
}

impl TestDb {
    /// A fresh, empty database.
    pub async fn create() -> TestDb {
        let db = TestDb::unused();
        let mut conn = maintenance_connection(&db.server_url).await;
        sqlx::query(&format!("CREATE DATABASE \"{}\"", db.name))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|err| panic!("creating test database {}: {err}", db.name));
        let _ = conn.close().await;
        db
    }

    /// The URL of a database that does not exist yet (dropped at the end if something made it).
    pub fn unused() -> TestDb {
        let server_url = server().url.clone();
        let name = unique_database_name();
        TestDb {
            url: database_url(&server_url, &name),
            name,
            server_url,
        }
    }

    /// A fresh database with the bot's schema, and a store connected to it.
    pub async fn migrated() -> (TestDb, trophybot::store::Store) {
        let db = TestDb::unused();
        let store = trophybot::store::Store::connect(&db.url)
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        (db, store)
    }

    /// Whether the database exists on the server now.
    pub async fn exists(&self) -> bool {
        let mut conn = maintenance_connection(&self.server_url).await;
        let (exists,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&self.name)
                .fetch_one(&mut conn)
                .await
                .expect("querying pg_database");
        let _ = conn.close().await;
        exists
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread with its own
        // runtime does the async work. FORCE ends connections a pool may still hold.
        let server_url = self.server_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&database_url(&server_url, "postgres"))
                    .await
                    .ok()?;
                let result = sqlx::query(&sql).execute(&mut conn).await;
                let _ = conn.close().await;
                result.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("note: could not drop test database {}", self.name);
        }
    }
}

async fn maintenance_connection(server_url: &str) -> PgConnection {
    PgConnection::connect(&database_url(server_url, "postgres"))
        .await
        .unwrap_or_else(|err| panic!("connecting to the test PostgreSQL server: {err}"))
}

/// `test_` and 16 hex digits: random per process (std's hasher keys) and per call (a counter).
fn unique_database_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("test_{:016x}", hasher.finish())
}

/// Starts a cluster in a temp dir on a free port, trusting local connections, and a watchdog
/// that stops and removes it when this process exits (statics are never dropped). Returns its
/// server URL.
pub fn start_throwaway_cluster(bin: &Path) -> Result<String, String> {
    // initdb refuses to run as root: the cluster then belongs to the postgres user.
    let as_root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let as_owner = |program: &Path| {
        let mut cmd = if as_root {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        cmd.stdin(Stdio::null());
        cmd
    };
    let run = |cmd: &mut Command, what: &str| -> Result<String, String> {
        let out = cmd
            .output()
            .map_err(|err| format!("throwaway PostgreSQL: {what}: {err}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!(
                "throwaway PostgreSQL: {what} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };

    let dir = run(
        as_owner(Path::new("mktemp")).args(["-d", "/tmp/trophybot-test-pg.XXXXXX"]),
        "mktemp",
    )?;
    let data = format!("{dir}/data");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|err| format!("throwaway PostgreSQL: no free port: {err}"))?
        .port();
    run(
        as_owner(&bin.join("initdb")).args([
            "-D",
            &data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ]),
        "initdb",
    )?;
    let server_options = format!("-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off");
    run(
        as_owner(&bin.join("pg_ctl")).args([
            "-D",
            &data,
            "-o",
            &server_options,
            "-l",
            &format!("{dir}/log"),
            "-w",
            "start",
        ]),
        "pg_ctl start",
    )?;

    let stop = format!(
        "{}{} -D {data} stop -m immediate",
        if as_root {
            "runuser -u postgres -- "
        } else {
            ""
        },
        bin.join("pg_ctl").display()
    );
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id()
    );
    // Its own process group and no inherited pipes: it outlives this process without keeping
    // cargo waiting on our output, and a Ctrl-C to the tests does not stop it.
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|err| format!("throwaway PostgreSQL: watchdog: {err}"))?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}"))
}
