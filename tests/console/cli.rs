//! End to end: the built `trophybot` binary, with no environment at all, in an empty directory,
//! answering commands from the built-in PSN simulator (`console --sim`).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with no environment, in an empty directory of its own (so no `.env`).
fn trophybot(args: &[&str], stdin: Option<&str>) -> Output {
    trophybot_with_env(args, stdin, &[])
}

/// As `trophybot`, with only the variables `env` set.
fn trophybot_with_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trophybot"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start trophybot");
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.unwrap_or("").as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("run trophybot");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn sim_json(command: &str) -> (i32, Value) {
    let out = trophybot(&["console", "--sim", "--json", command], None);
    let reply: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("{command}: not JSON ({e}): {}\n{}", out.stdout, out.stderr));
    (out.code, reply)
}

fn embed(reply: &Value) -> &Value {
    &reply["embeds"][0]
}

fn text(value: &Value) -> String {
    value.to_string().to_lowercase()
}

#[test]
fn profile_of_a_large_library() {
    let (code, reply) = sim_json("/trophies user:sim_hunter");
    assert_eq!(code, 0);
    assert_eq!(reply["ephemeral"], false);
    assert!(reply["content"].is_null());
    assert_eq!(embed(&reply)["title"], "sim\\_hunter's trophies");
    assert_eq!(embed(&reply)["fields"].as_array().map(Vec::len), Some(10));
    let description = embed(&reply)["description"].as_str().unwrap_or_default();
    assert!(description.starts_with("Level **"), "{description}");
    assert!(description.contains("🏆"), "{description}");
}

#[test]
fn title_pages_by_name_with_buttons() {
    let (code, reply) = sim_json(r#"/trophies user:sim_hunter game:"astro bot""#);
    assert_eq!(code, 0);
    // Two titles are named ASTRO BOT: the name resolves to one of them, told apart by platform.
    let title = embed(&reply)["title"].as_str().unwrap_or_default();
    assert!(title.starts_with("ASTRO BOT (PS"), "{title}");
    assert_eq!(embed(&reply)["author"]["name"], "sim_hunter");
    let buttons = &reply["components"][0]["components"];
    assert_eq!(reply["components"][0]["type"], 1);
    assert_eq!(buttons[0]["type"], 2);
    assert_eq!(buttons[0]["disabled"], true);
    assert_eq!(buttons[1]["disabled"], false);
    let next = buttons[1]["custom_id"].as_str().unwrap_or_default();
    assert!(
        next.starts_with("trophies:sim_hunter:") && next.ends_with(":1:0"),
        "{next}"
    );
    assert!(embed(&reply)["footer"]["text"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Page 1/"));
}

#[test]
fn compare_two_users() {
    let (code, reply) = sim_json("/compare user:sim_hunter other:sim_casual");
    assert_eq!(code, 0);
    let fields = embed(&reply)["fields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = fields.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names[..3], ["sim\\_hunter", "sim\\_casual", "Who leads"]);
    let leads = fields[2]["value"].as_str().unwrap_or_default();
    assert!(leads.contains("Points: sim\\_hunter"), "{leads}");
    // sim_casual shares at least two titles with sim_hunter.
    assert!(names.len() >= 5, "{names:?}");

    let (code, reply) = sim_json(r#"/compare user:sim_hunter other:sim_casual game:"ASTRO BOT""#);
    assert_eq!(code, 0);
    let description = embed(&reply)["description"].as_str().unwrap_or_default();
    assert!(description.contains("✅ sim\\_hunter"), "{description}");
}

/// `/trophies` and `/compare` carry their image card: listed by name, size and type (never its
/// bytes) and shown by the embed; a game's trophy list has none.
#[test]
fn profile_and_compare_list_their_card() {
    for command in [
        "/trophies user:sim_hunter",
        "/compare user:sim_hunter other:sim_casual",
    ] {
        let (code, reply) = sim_json(command);
        assert_eq!(code, 0);
        let files = reply["attachments"].as_array().cloned().unwrap_or_default();
        assert_eq!(files.len(), 1, "{command}: {reply}");
        assert_eq!(files[0]["filename"], "card.png");
        assert_eq!(files[0]["content_type"], "image/png");
        assert!(files[0]["size"].as_u64().is_some_and(|size| size > 1000));
        assert!(files[0].get("bytes").is_none());
        assert_eq!(embed(&reply)["image"]["url"], "attachment://card.png");
    }
    let (_, reply) = sim_json(r#"/trophies user:sim_hunter game:"astro bot""#);
    assert!(reply.get("attachments").is_none(), "{reply}");
    // The text form names the file last.
    let out = trophybot(&["console", "--sim", "/trophies user:sim_hunter"], None);
    let last = out.stdout.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("[attached: card.png (image/png, ") && last.ends_with(" bytes)]"),
        "{}",
        out.stdout
    );
}

#[test]
fn comparing_an_account_with_itself_is_an_error() {
    // Another spelling, and an old name of a renamed account: the same account ID either way.
    for command in [
        "/compare user:sim_hunter other:SIM_HUNTER",
        "/compare user:sim_renamed other:sim_newname",
    ] {
        let (code, reply) = sim_json(command);
        assert_eq!(code, 1, "{command}");
        assert_eq!(reply["ephemeral"], true, "{command}");
        assert_eq!(embed(&reply)["title"], "Same account", "{command}: {reply}");
    }
}

#[test]
fn rarest_is_ranked_by_earned_rate() {
    let (code, reply) = sim_json("/rarest user:sim_hunter count:5");
    assert_eq!(code, 0);
    assert_eq!(
        embed(&reply)["footer"]["text"],
        "Across their 50 most recent titles"
    );
    let description = embed(&reply)["description"].as_str().unwrap_or_default();
    let rates: Vec<f64> = description
        .lines()
        .filter_map(|line| line.split('%').next()?.parse().ok())
        .collect();
    assert_eq!(rates.len(), 5, "{description}");
    assert!(rates.windows(2).all(|w| w[0] <= w[1]), "{rates:?}");
}

#[test]
fn user_facing_errors_exit_1() {
    for (command, words) in [
        ("/trophies user:nobody_here", "not found"),
        ("/trophies user:sim_private", "private"),
        ("/trophies user:sim_hunter game:zzzzzzzz", "not found"),
        ("/trophies user:9", "not a valid psn online id"),
    ] {
        let (code, reply) = sim_json(command);
        assert_eq!(code, 1, "{command}");
        assert_eq!(reply["ephemeral"], true, "{command}");
        assert!(text(&reply).contains(words), "{command}: {reply}");
    }
}

#[test]
fn renamed_users_show_their_current_id() {
    let (code, reply) = sim_json("/trophies user:sim_renamed");
    assert_eq!(code, 0);
    assert_eq!(embed(&reply)["title"], "sim\\_newname's trophies");
}

#[test]
fn markdown_names_are_escaped() {
    let (code, reply) = sim_json("/trophies user:sim_markdown");
    assert_eq!(code, 0);
    let all = reply.to_string();
    assert!(!all.contains("@everyone"), "{all}");
    assert!(all.contains("@\u{200B}everyone"), "{all}");
}

#[test]
fn usage_errors_exit_2_and_send_nothing() {
    for command in [
        "/rarest user:sim_hunter count:99",
        "/trophies user:sim_hunter colour:red",
        "/nope",
        "/trophies",
    ] {
        let out = trophybot(&["console", "--sim", "--json", command], None);
        assert_eq!(out.code, 2, "{command}");
        assert!(out.stdout.is_empty(), "{command}: {}", out.stdout);
        assert!(out.stderr.contains("error:"), "{command}: {}", out.stderr);
    }
}

#[test]
fn text_form_is_readable() {
    let out = trophybot(&["console", "--sim", "/trophies user:sim_casual"], None);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.starts_with("sim_casual's trophies\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("**"), "{}", out.stdout);
}

#[test]
fn help_lists_every_command_with_or_without_psn() {
    // `/help` asks nothing of PSN: it answers with the simulator and with no configuration.
    for args in [&["console", "--sim", "/help"][..], &["console", "/help"]] {
        let out = trophybot(args, None);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.starts_with("TrophyBot help\n"), "{}", out.stdout);
        for command in trophybot::render::HELP_COMMANDS {
            let heading = format!("-- /{}", command.name);
            assert!(out.stdout.contains(&heading), "{heading} in {}", out.stdout);
        }
        assert!(out.stdout.contains("/link user:YOUR_ONLINE_ID"));
        // The console has no server and no Discord user.
        assert!(
            !out.stdout.contains("In this server") && !out.stdout.contains("Your PSN link"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn repl_answers_each_line() {
    let stdin = "/trophies user:sim_casual\n\n/bogus\n/trophies user:sim_private\n/rarest user:sim_casual count:1\n";
    let out = trophybot(&["console", "--sim", "--json"], Some(stdin));
    let replies: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    assert_eq!(replies.len(), 3, "{}", out.stdout);
    assert_eq!(replies[0]["embeds"][0]["title"], "sim\\_casual's trophies");
    assert!(text(&replies[1]).contains("private"));
    assert!(out.stderr.contains("unknown command"), "{}", out.stderr);
    // The last error was the private profile's (1), after the usage error (2).
    assert_eq!(out.code, 1);
}

#[test]
fn without_sim_or_configuration_it_explains_what_is_missing() {
    let out = trophybot(&["console", "/trophies user:ikemenzi"], None);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("PSN_NPSSO"), "{}", out.stderr);
}

#[test]
fn an_unparsable_database_url_is_refused_without_showing_its_password() {
    // `#` makes "hunter2#x" a bad port, so this is not a URL.
    let url = "postgres://bot:hunter2#x@db:5432/trophybot";
    for command in ["run", "migrate"] {
        let out = trophybot_with_env(
            &[command],
            None,
            &[
                ("DATABASE_URL", url),
                ("DISCORD_TOKEN", "token"),
                ("PSN_NPSSO", "npsso"),
            ],
        );
        assert_eq!(out.code, 2, "{command}: {}", out.stderr);
        assert!(
            out.stderr.contains("DATABASE_URL"),
            "{command}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("hunter2"), "{command}: {}", out.stderr);
        assert!(!out.stdout.contains("hunter2"), "{command}: {}", out.stdout);
    }
}

#[test]
fn sim_prints_its_base_url_first_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trophybot"))
        .args(["sim", "--addr", "127.0.0.1:0"])
        .env_clear()
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start trophybot sim");
    let mut first = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read base URL");
    }
    let url = first.trim();
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse::<u16>().ok());
    // The base URL was printed after the server was listening: SIGTERM stops it cleanly.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait for trophybot sim");
    assert!(port.is_some_and(|p| p > 0), "{first:?}");
    assert!(killed.is_ok_and(|k| k.success()));
    assert_eq!(status.code(), Some(0));
}
