//! End to end against real PSN answers: the built binary, configured by environment variables
//! only, talking to the replay server of the recorded exchanges in `fixtures/psn`.

use std::path::PathBuf;
use std::process::Command;

use psn_replay::{Replay, ReplayServer};
use serde_json::Value;

fn cassettes() -> Vec<PathBuf> {
    let dir = Replay::fixtures_dir().join("psn");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

async fn replay() -> ReplayServer {
    let replay = Replay::from_cassettes(&cassettes()).expect("cassettes");
    replay.serve().await.expect("serve")
}

/// jeranther's trophies were recorded for the `default` group, one page of 10 of its 51
/// trophies, but the client asks for the `all` group and pages on. This serves the recorded
/// trophies at the path the client asks for, as the whole list (the recording holds no more).
async fn replay_with_jeranther_for_all_groups(dir: &std::path::Path) -> ReplayServer {
    let recorded = Replay::fixtures_dir().join("psn/test_user__trophies.json");
    let text = std::fs::read_to_string(&recorded).expect("read cassette");
    let mut cassette: Value = serde_json::from_str(&text).expect("cassette JSON");
    for interaction in cassette["interactions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if let Some(uri) = interaction["request"]["uri"].as_str() {
            let uri = uri.replace(
                "/trophyGroups/default/trophies",
                "/trophyGroups/all/trophies",
            );
            interaction["request"]["uri"] = Value::String(uri);
        }
        let body = &mut interaction["response"]["body"]["string"];
        if let Ok(mut page) = serde_json::from_str::<Value>(body.as_str().unwrap_or_default()) {
            if let Some(page) = page.as_object_mut() {
                if page.remove("nextOffset").is_some() {
                    page.insert("totalItemCount".into(), Value::from(10));
                }
            }
            *body = Value::String(page.to_string());
        }
    }
    let derived = dir.join("jeranther_all_groups.json");
    std::fs::write(&derived, cassette.to_string()).expect("write cassette");
    let mut paths = cassettes();
    paths.push(derived);
    let replay = Replay::from_cassettes(&paths).expect("cassettes");
    replay.serve().await.expect("serve")
}

/// Runs `trophybot console --json COMMAND` against the replay server, with no other settings.
async fn console(server: &ReplayServer, command: &str) -> (i32, Value, String) {
    let base = server.base_url.clone();
    let command = command.to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let cwd = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_trophybot"))
            .args(["console", "--json", &command])
            .env_clear()
            .env("PSN_NPSSO", "recorded-npsso-value")
            .env("PSN_API_URL", &base)
            .env("PSN_AUTH_URL", &base)
            .env("PSN_PROFILE_URL", &base)
            .current_dir(cwd)
            .output()
    })
    .await
    .expect("join")
    .expect("run trophybot");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let reply = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), reply, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_from_the_recorded_titles() {
    let server = replay().await;
    let (code, reply, stderr) = console(&server, "/trophies user:ikemenzi").await;
    assert_eq!(code, 0, "{reply}\n{stderr}");
    let embed = &reply["embeds"][0];
    assert_eq!(embed["title"], "ikemenzi's trophies");
    let fields = embed["fields"].as_array().cloned().unwrap_or_default();
    // The most recent titles of the recording, in its order, with its progress.
    assert_eq!(fields[0]["name"], "Monster Hunter Wilds (PS5)");
    assert!(fields[0]["value"]
        .as_str()
        .unwrap_or_default()
        .contains("75%"));
    assert_eq!(fields[1]["name"], "VALORANT (PS5)");
    assert_eq!(fields[2]["name"], "Moving Out 2 (PS4)");
    // No trophy summary was recorded for ikemenzi: the counts come from the titles.
    let footer = embed["footer"]["text"].as_str().unwrap_or_default();
    assert!(footer.contains("no trophy summary"), "{footer}");
    // The NPSSO never shows in the reply or the logs.
    assert!(!reply.to_string().contains("recorded-npsso-value"));
    assert!(!stderr.contains("recorded-npsso-value"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_page_from_the_recorded_trophies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = replay_with_jeranther_for_all_groups(dir.path()).await;
    let (code, reply, stderr) =
        console(&server, "/trophies user:jeranther game:NPWR15509_00").await;
    assert_eq!(code, 0, "{reply}\n{stderr}");
    let embed = &reply["embeds"][0];
    assert_eq!(embed["author"]["name"], "jeranther");
    let description = embed["description"].as_str().unwrap_or_default();
    // Trophy 0 of the recording: the platinum, earned 2020-11-22 by 1.0 % (ultra rare).
    assert!(
        description.contains("🏆 **Platinum Trophy** — Collect all other 50 Trophies for this Trophy\n✅ 2020-11-22 · 1.0% · Ultra Rare"),
        "{description}"
    );
    assert!(
        description
            .contains("**Reclamation Day!** — Leave Vault 76\n✅ 2018-11-14 · 83.3% · Common"),
        "{description}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_is_not_found() {
    let server = replay().await;
    let (code, reply, _) = console(&server, "/trophies user:dfhlidsahfdszh").await;
    assert_eq!(code, 1);
    assert!(
        reply.to_string().to_lowercase().contains("not found"),
        "{reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_trophy_list_says_private() {
    // The recordings hold the forbidden trophy list by account ID only (no online ID lookup), so
    // this drives the client directly and renders its error as the console would.
    let server = replay().await;
    let config = psn::Config::new(
        psn::ApiKind::Modern,
        psn::Credential::Npsso(psn::Secret::new("recorded-npsso-value")),
    )
    .with_base_url(&server.base_url);
    let client = psn::Client::new(config).expect("client");
    let account = psn::Account {
        account_id: "5007681186655854753".into(),
        online_id: "private_user".into(),
    };
    let err = client.titles(&account, 0, 50).await.expect_err("private");
    let reply = trophybot::errors::error_reply(&err.into());
    let json = serde_json::to_string(&reply)
        .unwrap_or_default()
        .to_lowercase();
    assert!(json.contains("private"), "{json}");
    assert!(reply.ephemeral());
}
