//! PostgreSQL for tests on tokio's paused clock. With the clock paused, tokio moves time on to
//! the next timer as soon as no task can run, also while a query is at the database (another
//! process): a query would seem to take as long as the next sleep anywhere in the test, and
//! which sleep that is depends on the machine's speed. [`HeldClockDb`] stands between the store
//! and the database and holds the clock while the database owes an answer, from a query sent
//! until its `ReadyForQuery`, so a query takes no virtual time and a run is the same every time.
//!
//! It holds the clock the one way tokio offers: a `spawn_blocking` task, which the paused clock
//! of a current-thread runtime (`#[tokio::test]`'s) waits for. Only the plain PostgreSQL
//! protocol is followed (the URL it hands out turns TLS off). Without it, the store's pool
//! times out connecting (`PoolTimedOut`) as soon as other timers are pending.

use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// The startup codes of untyped first messages that the server answers with one byte.
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

pub struct HeldClockDb {
    /// The database URL through the proxy.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl HeldClockDb {
    /// Forwards to the server of `database_url` (a test database's); connect to [`Self::url`].
    pub async fn start(database_url: &str) -> HeldClockDb {
        let mut url = Url::parse(database_url).expect("a database URL");
        let host = url.host_str().expect("a database host").to_string();
        let port = url.port().unwrap_or(5432);
        let upstream: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .expect("the database host resolves")
            .next()
            .expect("an address for the database host");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("the proxy's address");
        url.set_host(Some("127.0.0.1")).expect("a host");
        url.set_port(Some(addr.port())).expect("a port");
        url.query_pairs_mut().append_pair("sslmode", "disable");
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                // Held from the start: the client's startup is already on its way.
                let ledger = Arc::new(Mutex::new(Ledger::default()));
                ledger.lock().unwrap().hold();
                tokio::spawn(relay(client, upstream, ledger));
            }
        });
        HeldClockDb {
            url: url.to_string(),
            task,
        }
    }
}

impl Drop for HeldClockDb {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What one connection's database still owes, and the hold while it owes anything.
#[derive(Default)]
struct Ledger {
    /// `ReadyForQuery` messages still to come (one per startup, `Sync` and simple `Query`).
    owed: usize,
    /// One-byte answers still to come (to an SSL or GSS encryption request).
    owed_bytes: usize,
    /// Dropping it ends the blocking task that holds the clock.
    hold: Option<mpsc::Sender<()>>,
}

impl Ledger {
    fn hold(&mut self) {
        if self.hold.is_none() {
            let (held, released) = mpsc::channel::<()>();
            tokio::task::spawn_blocking(move || {
                let _ = released.recv();
            });
            self.hold = Some(held);
        }
    }

    fn release_if_settled(&mut self) {
        if self.owed == 0 && self.owed_bytes == 0 {
            self.hold = None;
        }
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, ledger: Arc<Mutex<Ledger>>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        ledger.lock().unwrap().hold = None;
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();

    let requests = {
        let ledger = ledger.clone();
        async move {
            let mut framing = Framing::untyped();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match from_client.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                {
                    // Held before the bytes leave, so the clock cannot move while they travel.
                    let mut ledger = ledger.lock().unwrap();
                    for message in framing.feed(&buf[..n]) {
                        match message {
                            Message::Untyped(code) => match code {
                                SSL_REQUEST | GSSENC_REQUEST => ledger.owed_bytes += 1,
                                CANCEL_REQUEST => {}
                                // The startup message: typed messages follow.
                                _ => ledger.owed += 1,
                            },
                            Message::Typed(b'S' | b'Q') => ledger.owed += 1,
                            Message::Typed(_) => {}
                        }
                    }
                    if ledger.owed + ledger.owed_bytes > 0 {
                        ledger.hold();
                    }
                }
                if to_server.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    };
    let answers = {
        let ledger = ledger.clone();
        async move {
            let mut framing = Framing::typed();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match from_server.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut start = 0;
                {
                    let mut ledger = ledger.lock().unwrap();
                    // A one-byte answer to an encryption request comes before any message.
                    while ledger.owed_bytes > 0 && start < n && framing.at_boundary() {
                        ledger.owed_bytes -= 1;
                        start += 1;
                    }
                    for message in framing.feed(&buf[start..n]) {
                        if message == Message::Typed(b'Z') {
                            ledger.owed = ledger.owed.saturating_sub(1);
                        }
                    }
                }
                if to_client.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                // Released once the client has the answer in its socket.
                ledger.lock().unwrap().release_if_settled();
            }
        }
    };
    // Either side closing ends the connection; nothing is owed any more.
    tokio::select! {
        () = requests => {}
        () = answers => {}
    }
    let mut ledger = ledger.lock().unwrap();
    ledger.owed = 0;
    ledger.owed_bytes = 0;
    ledger.hold = None;
}

#[derive(Debug, PartialEq, Eq)]
enum Message {
    /// A startup-phase message: its code (protocol version or request code).
    Untyped(u32),
    Typed(u8),
}

/// Splits a byte stream into PostgreSQL messages: `type, int32 length` (the length counting
/// itself) or, before startup, `int32 length, int32 code`.
struct Framing {
    typed: bool,
    header: Vec<u8>,
    /// Body bytes of the current message still to skip.
    skip: usize,
}

impl Framing {
    fn untyped() -> Framing {
        Framing {
            typed: false,
            header: Vec::new(),
            skip: 0,
        }
    }

    fn typed() -> Framing {
        Framing {
            typed: true,
            ..Framing::untyped()
        }
    }

    fn at_boundary(&self) -> bool {
        self.header.is_empty() && self.skip == 0
    }

    /// The messages whose headers `bytes` complete.
    fn feed(&mut self, mut bytes: &[u8]) -> Vec<Message> {
        let mut messages = Vec::new();
        while !bytes.is_empty() {
            if self.skip > 0 {
                let skipped = self.skip.min(bytes.len());
                self.skip -= skipped;
                bytes = &bytes[skipped..];
                continue;
            }
            let header_len = if self.typed { 5 } else { 8 };
            let take = (header_len - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < header_len {
                break;
            }
            let int = |at: usize| {
                u32::from_be_bytes([
                    self.header[at],
                    self.header[at + 1],
                    self.header[at + 2],
                    self.header[at + 3],
                ])
            };
            if self.typed {
                let kind = self.header[0];
                self.skip = (int(1) as usize).saturating_sub(4);
                messages.push(Message::Typed(kind));
            } else {
                let code = int(4);
                self.skip = (int(0) as usize).saturating_sub(8);
                // After the startup message (anything but these requests) every message is typed.
                self.typed = !matches!(code, SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST);
                messages.push(Message::Untyped(code));
            }
            self.header.clear();
        }
        messages
    }
}
