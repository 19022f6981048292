//! Replays recorded PSN exchanges (vcrpy JSON cassettes) from a local HTTP server, for tests.
//!
//! Every recorded response is served for its method and path (the hosts are dropped, so all of
//! PSN's hosts share one port). Query parameters are compared as a set; when no recording has
//! the exact query, one for the same path and the same `offset` (absent = 0) whose query differs
//! only in `limit`, `fields` or order is served, so a client asking `limit=800` still gets the
//! recorded `limit=50` page and the page's own `nextOffset` drives its paging. Anything else gets
//! a 404 with a JSON error, and every request is logged for assertions.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read cassette {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cassette {path} is not a vcrpy JSON cassette: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cassette {path} has an unreadable URI {uri:?}")]
    Uri { path: PathBuf, uri: String },
}

#[derive(Deserialize)]
struct Cassette {
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    request: CassetteRequest,
    response: CassetteResponse,
}

#[derive(Deserialize)]
struct CassetteRequest {
    method: String,
    uri: String,
}

#[derive(Deserialize)]
struct CassetteResponse {
    status: CassetteStatus,
    #[serde(default)]
    headers: std::collections::HashMap<String, HeaderValues>,
    body: CassetteBody,
}

/// vcrpy writes a header's values as a list, redacted ones as a plain string.
#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderValues {
    Many(Vec<String>),
    One(String),
}

impl HeaderValues {
    fn into_vec(self) -> Vec<String> {
        match self {
            HeaderValues::Many(values) => values,
            HeaderValues::One(value) => vec![value],
        }
    }
}

#[derive(Deserialize)]
struct CassetteStatus {
    code: u16,
}

#[derive(Deserialize)]
struct CassetteBody {
    string: Option<String>,
}

/// One recorded exchange, ready to serve.
#[derive(Debug, Clone)]
struct Recording {
    method: String,
    path: String,
    query: BTreeSet<(String, String)>,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// A request the server received, with what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Replay {
    recordings: Arc<Vec<Recording>>,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
}

/// Headers that described the recorded transfer, not the body we serve.
const TRANSFER_HEADERS: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "content-encoding",
];

/// Query parameters that may differ between a request and the recording it is served from.
const LOOSE_PARAMS: [&str; 2] = ["limit", "fields"];

fn query_set(query: &str) -> BTreeSet<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The query without the loose parameters, with `offset` made explicit.
fn loose_key(query: &BTreeSet<(String, String)>) -> BTreeSet<(String, String)> {
    let mut key: BTreeSet<(String, String)> = query
        .iter()
        .filter(|(k, _)| !LOOSE_PARAMS.contains(&k.as_str()))
        .cloned()
        .collect();
    if !key.iter().any(|(k, _)| k == "offset") {
        key.insert(("offset".to_string(), "0".to_string()));
    }
    key
}

impl Replay {
    /// The repository's `fixtures/` folder (see its README for their source and licence).
    pub fn fixtures_dir() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
    }

    pub fn from_cassettes(paths: &[PathBuf]) -> Result<Replay, ReplayError> {
        let mut recordings = Vec::new();
        for path in paths {
            recordings.extend(read_cassette(path)?);
        }
        Ok(Replay {
            recordings: Arc::new(recordings),
            received: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Serves the recordings on 127.0.0.1 at a free port until the server is dropped.
    pub async fn serve(&self) -> std::io::Result<ReplayServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(answer).with_state(self.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                eprintln!("replay server stopped: {e}");
            }
        });
        Ok(ReplayServer {
            base_url: format!("http://{addr}"),
            addr,
            replay: self.clone(),
            stop: Some(stop),
            task,
        })
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn find(&self, method: &str, path: &str, query: &str) -> Option<&Recording> {
        let query = query_set(query);
        let candidates = || {
            self.recordings
                .iter()
                .filter(move |r| r.method.eq_ignore_ascii_case(method) && r.path == path)
        };
        candidates().find(|r| r.query == query).or_else(|| {
            let wanted = loose_key(&query);
            candidates().find(|r| loose_key(&r.query) == wanted)
        })
    }
}

fn read_cassette(path: &Path) -> Result<Vec<Recording>, ReplayError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let cassette: Cassette = serde_json::from_str(&text).map_err(|source| ReplayError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    cassette
        .interactions
        .into_iter()
        .map(|i| {
            let uri = url::Url::parse(&i.request.uri).map_err(|_| ReplayError::Uri {
                path: path.to_path_buf(),
                uri: i.request.uri.clone(),
            })?;
            let headers = i
                .response
                .headers
                .into_iter()
                .filter(|(name, _)| !TRANSFER_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
                .flat_map(|(name, values)| {
                    values
                        .into_vec()
                        .into_iter()
                        .map(move |v| (name.clone(), v))
                })
                .collect();
            Ok(Recording {
                method: i.request.method,
                path: uri.path().to_string(),
                query: query_set(uri.query().unwrap_or("")),
                status: i.response.status.code,
                headers,
                body: i.response.body.string.unwrap_or_default(),
            })
        })
        .collect()
}

async fn answer(State(replay): State<Replay>, request: Request) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let found = replay.find(&method, &path, &query).cloned();
    let status = found.as_ref().map_or(404, |r| r.status);
    replay
        .received
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(ReceivedRequest {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers,
            body,
            status,
        });
    let Some(recording) = found else {
        eprintln!("replay: no recording for {method} {path}?{query}");
        let body = serde_json::json!({"error": {"code": 0, "message": format!("no recording for {method} {path}")}});
        return respond(
            404,
            &[("content-type".into(), "application/json".into())],
            body.to_string(),
        );
    };
    respond(recording.status, &recording.headers, recording.body)
}

fn respond(status: u16, headers: &[(String, String)], body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// A running replay server; it stops when dropped.
pub struct ReplayServer {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub addr: SocketAddr,
    replay: Replay,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReplayServer {
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.replay.requests()
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cassette(name: &str) -> PathBuf {
        Replay::fixtures_dir().join("psn").join(name)
    }

    #[test]
    fn loose_matching_ignores_limit_fields_and_order_but_not_offset() {
        let replay = Replay::from_cassettes(&[cassette("test_user__trophy_titles.json")]).unwrap();
        let path = "/api/trophy/v1/users/6515971742264256071/trophyTitles";
        assert!(replay.find("GET", path, "offset=0&limit=50").is_some());
        let first = replay.find("GET", path, "limit=800").unwrap();
        assert!(first.query.contains(&("offset".into(), "0".into())));
        let second = replay.find("GET", path, "limit=800&offset=50").unwrap();
        assert!(second.query.contains(&("offset".into(), "50".into())));
        assert!(replay.find("GET", path, "limit=800&offset=100").is_none());
        assert!(replay.find("POST", path, "limit=50&offset=0").is_none());
    }

    #[test]
    fn unreadable_cassettes_are_errors() {
        assert!(matches!(
            Replay::from_cassettes(&[PathBuf::from("/nonexistent.json")]),
            Err(ReplayError::Read { .. })
        ));
        let readme = Replay::fixtures_dir().join("README.md");
        assert!(matches!(
            Replay::from_cassettes(&[readme]),
            Err(ReplayError::Parse { .. })
        ));
    }

    #[tokio::test]
    async fn serves_recorded_status_headers_and_body_and_logs_requests() {
        let replay = Replay::from_cassettes(&[
            cassette("test_user__user_not_found.json"),
            cassette("test_authenticator__authentication.json"),
        ])
        .unwrap();
        let server = replay.serve().await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let not_found = http
            .get(format!(
                "{}/userProfile/v1/users/dfhlidsahfdszh/profile2?fields=accountId,onlineId,currentOnlineId",
                server.base_url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(not_found.status().as_u16(), 404);
        assert_eq!(not_found.headers()["date"], "Fri, 16 May 2025 03:28:44 GMT");
        assert!(not_found.text().await.unwrap().contains("2105356"));

        let unknown = http
            .get(format!("{}/nothing/here?x=1", server.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status().as_u16(), 404);
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            (requests[1].path.as_str(), requests[1].query.as_str()),
            ("/nothing/here", "x=1")
        );
        server.shutdown().await;
    }
}
