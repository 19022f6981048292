//! Test helper: the recorded PSN exchanges in the repository's `fixtures/` folder.

use std::path::PathBuf;

use serde::Deserialize;

/// Where the fixtures live: `fixtures/` at the repository root.
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
}

#[derive(Deserialize)]
struct Cassette {
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    request: Request,
    response: Response,
}

#[derive(Deserialize)]
struct Request {
    uri: String,
}

#[derive(Deserialize)]
struct Response {
    status: Status,
    body: Body,
}

#[derive(Deserialize)]
struct Status {
    code: u16,
}

#[derive(Deserialize)]
struct Body {
    string: Option<String>,
}

/// One recorded answer with a body.
pub(crate) struct Recorded {
    pub(crate) file: String,
    pub(crate) uri: url::Url,
    pub(crate) status: u16,
    pub(crate) body: String,
}

fn sorted_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(dir))
        .unwrap_or_else(|e| panic!("fixtures/{dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {dir}");
    files
}

/// Every interaction of every cassette in `fixtures/psn` whose response has a body.
pub(crate) fn psn_recordings() -> Vec<Recorded> {
    let mut recorded = Vec::new();
    for path in sorted_files("psn") {
        let text = std::fs::read_to_string(&path).expect("readable cassette");
        let cassette: Cassette = serde_json::from_str(&text).expect("a vcrpy cassette");
        for i in cassette.interactions {
            let body = i.response.body.string.unwrap_or_default();
            if body.trim().is_empty() {
                continue;
            }
            recorded.push(Recorded {
                file: path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                uri: url::Url::parse(&i.request.uri).expect("recorded URI"),
                status: i.response.status.code,
                body,
            });
        }
    }
    recorded
}

/// Every file in `fixtures/legacy`: (file name, body).
pub(crate) fn legacy_bodies() -> Vec<(String, String)> {
    sorted_files("legacy")
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (
                name,
                std::fs::read_to_string(&path).expect("readable fixture"),
            )
        })
        .collect()
}
