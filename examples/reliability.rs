//! Regenerates `RELIABILITY.md`: runs the test behind every fault, defect and bad input of the
//! catalogue below, collects what the fault tests measured (announcements lost and duplicated,
//! recovery time, `/healthz` meanwhile), and writes the table.
//!
//! ```text
//! cargo run --example reliability            # writes RELIABILITY.md
//! cargo run --example reliability -- --check # also exits 1 if any test failed
//! ```
//!
//! It needs what `cargo test` needs (PostgreSQL on 127.0.0.1:5432, or `DATABASE_URL`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Where a test lives: which `cargo test` target runs it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Target {
    /// `cargo test -p <package> --lib`
    Lib(&'static str),
    /// `cargo test -p <package> --test <name>`
    Test(&'static str, &'static str),
}

impl Target {
    fn args(self) -> Vec<&'static str> {
        match self {
            Target::Lib(package) => vec!["-p", package, "--lib"],
            Target::Test(package, name) => vec!["-p", package, "--test", name],
        }
    }

    fn label(self) -> String {
        match self {
            Target::Lib("trophybot") => "src (unit)".to_string(),
            Target::Lib(package) => format!("crates/{package} (unit)"),
            Target::Test("trophybot", name) => format!("tests/{name}"),
            Target::Test(package, name) => format!("crates/{package}/tests/{name}"),
        }
    }
}

struct Entry {
    area: &'static str,
    what: &'static str,
    injected: &'static str,
    target: Target,
    test: &'static str,
}

const E2E: Target = Target::Test("trophybot", "e2e");
const TRACKER: Target = Target::Test("trophybot", "tracker");
const STORE: Target = Target::Test("trophybot", "store");
const COMMANDS: Target = Target::Test("trophybot", "commands");
const RENDER: Target = Target::Test("trophybot", "render");
const UNIT: Target = Target::Lib("trophybot");
const PSN_SIM: Target = Target::Test("psn", "sim");
const PSN_UNIT: Target = Target::Lib("psn");

/// Every fault, defect and bad input the bot is checked against, and the test that checks it.
const CATALOGUE: &[Entry] = &[
    // PSN faults, end to end with the real bot.
    Entry {
        area: "PSN",
        what: "429 storm while a trophy is earned",
        injected:
            "simulator answers every request 429 with `X-RateLimit-Next-Available` until lifted",
        target: E2E,
        test: "faults::psn_rate_limit_storm",
    },
    Entry {
        area: "PSN",
        what: "5xx burst",
        injected: "simulator answers 503 to every request until lifted",
        target: E2E,
        test: "faults::psn_server_error_burst",
    },
    Entry {
        area: "PSN",
        what: "timeouts",
        injected: "simulator never answers (100 requests)",
        target: PSN_SIM,
        test: "timeouts_give_up_after_bounded_retries",
    },
    Entry {
        area: "PSN",
        what: "access token expires mid-run",
        injected: "simulator's clock moves two hours on",
        target: E2E,
        test: "faults::psn_access_token_expires_mid_run",
    },
    Entry {
        area: "PSN",
        what: "refresh token rejected mid-run",
        injected: "simulator revokes every token it issued",
        target: E2E,
        test: "faults::psn_refresh_token_rejected_mid_run",
    },
    Entry {
        area: "PSN",
        what: "NPSSO rejected: no sign-in hammering",
        injected: "simulator rejects the NPSSO",
        target: PSN_SIM,
        test: "a_rejected_npsso_is_not_tried_again_until_the_backoff_has_passed",
    },
    Entry {
        area: "PSN",
        what: "a wait PSN asks for is capped at 15 minutes",
        injected: "`X-RateLimit-Next-Available` decades away, and an old `Date`",
        target: PSN_UNIT,
        test: "http::tests::absurd_rate_limit_waits_are_capped",
    },
    Entry {
        area: "PSN",
        what: "a pause near `i64::MAX` does not panic",
        injected: "`pause_for(Duration::MAX)`",
        target: PSN_UNIT,
        test: "budget::tests::a_pause_longer_than_time_itself_does_not_panic",
    },
    Entry {
        area: "PSN",
        what: "absurd `expires_in` does not overflow",
        injected: "token answer with `expires_in` near `u64::MAX`",
        target: PSN_UNIT,
        test: "auth::tests::absurd_token_lifetimes_do_not_overflow",
    },
    Entry {
        area: "PSN",
        what: "health hears the tracker's PSN trouble",
        injected: "a background request waiting out a 429; a 5xx outage",
        target: PSN_SIM,
        test: "the_observer_hears_what_every_answer_says_of_psn_background_waits_included",
    },
    Entry {
        area: "PSN",
        what: "a title's trophies answer 404 for a moment (new title)",
        injected: "simulator fault `TitleTrophiesNotFound` for one poll",
        target: TRACKER,
        test: "poll::a_new_title_skipped_for_a_404_is_announced_next_poll",
    },
    Entry {
        area: "PSN",
        what: "a title's trophies answer 404 for a moment (listed title)",
        injected: "simulator fault `TitleTrophiesNotFound` for one poll",
        target: TRACKER,
        test: "poll::a_listed_title_skipped_for_a_404_is_announced_next_poll",
    },
    // Discord faults.
    Entry {
        area: "Discord",
        what: "5xx on posting an announcement",
        injected: "fake Discord answers 503 to the next two posts",
        target: E2E,
        test: "faults::discord_server_errors_on_post",
    },
    Entry {
        area: "Discord",
        what: "429 on an interaction reply",
        injected: "fake Discord answers 429 once",
        target: E2E,
        test: "commands::a_rate_limited_discord_reply_is_retried",
    },
    Entry {
        area: "Discord",
        what: "429 on one channel holds up no other",
        injected: "fake Discord answers 429 on one channel's posts",
        target: TRACKER,
        test: "deliver::a_rate_limited_post_is_retried_later_in_order_without_holding_up_others",
    },
    Entry {
        area: "Discord",
        what: "gateway RECONNECT, then RESUME",
        injected: "fake gateway sends op 7",
        target: E2E,
        test: "faults::discord_gateway_reconnect_resumes",
    },
    Entry {
        area: "Discord",
        what: "gateway INVALID_SESSION, then IDENTIFY",
        injected: "fake gateway sends op 9 (not resumable)",
        target: E2E,
        test: "faults::discord_gateway_invalid_session_identifies_again",
    },
    Entry {
        area: "Discord",
        what: "gateway down over 30 s is unhealthy",
        injected: "gateway marked down, clock advanced (paused time)",
        target: UNIT,
        test: "ops::health::tests::the_gateway_may_be_down_for_30_seconds",
    },
    Entry {
        area: "Discord",
        what: "a deleted announcement channel",
        injected: "fake Discord deletes the channel",
        target: TRACKER,
        test: "deliver::a_deleted_channel_fails_its_rows_tells_the_admin_once_and_blocks_no_one",
    },
    Entry {
        area: "Discord",
        what: "a READY that omits a server deletes nothing",
        injected: "server removed while the bot is down",
        target: E2E,
        test: "admin::a_ready_that_does_not_list_a_server_deletes_nothing",
    },
    Entry {
        area: "Discord",
        what: "another application's token is refused",
        injected: "fake Discord of another application ID",
        target: E2E,
        test: "admin::a_token_of_another_application_is_refused_unless_the_change_is_allowed",
    },
    Entry { area: "Discord", what: "429 for long on one channel delays no other channel", injected: "fake Discord rate-limits one channel's posts (TLS path, serenity's limiter on)", target: E2E, test: "discord_limits::a_channel_rate_limited_for_long_does_not_delay_another_channels_announcement" },
    Entry { area: "Discord", what: "global 429 holds every REST call until it passes", injected: "fake Discord answers a global 429", target: E2E, test: "discord_limits::a_global_429_holds_every_discord_call_until_it_passes" },
    Entry { area: "Discord", what: "a hung channel is timed out and retried, not duplicated", injected: "fake Discord never answers one channel's post", target: E2E, test: "discord_limits::a_hung_channel_is_timed_out_and_retried_without_a_duplicate" },
    Entry { area: "Discord", what: "401/403/429 counted (Discord bans at 10,000 in 10 min)", injected: "fake Discord answers 403", target: E2E, test: "discord_limits::forbidden_answers_are_counted_in_the_metric" },
    Entry { area: "Discord", what: "a long route 429 holds everything, a short one nothing", injected: "429s reported to the gate (paused time)", target: UNIT, test: "bot::discord_gate::tests::a_short_route_429_holds_nothing_but_a_long_one_holds_everything" },
    Entry { area: "Discord", what: "concurrency toward Discord is bounded", injected: "many calls at once (paused time)", target: UNIT, test: "bot::discord_gate::tests::no_more_than_the_bound_run_at_once" },
    Entry { area: "Discord", what: "a hung call is given up after the timeout", injected: "a call that never ends (paused time)", target: UNIT, test: "bot::discord_gate::tests::a_call_that_hangs_is_given_up_after_the_timeout" },
    Entry { area: "Discord", what: "a post in flight keeps its lease", injected: "a post slower than the claim lease", target: TRACKER, test: "deliver::a_post_in_flight_keeps_its_lease_renewed_so_nobody_else_takes_the_row" },
    // The database.
    Entry {
        area: "PostgreSQL",
        what: "database down mid-run",
        injected: "TCP proxy drops every connection and refuses new ones, then lets them through",
        target: E2E,
        test: "faults::database_goes_down_mid_run",
    },
    Entry {
        area: "PostgreSQL",
        what: "unreachable database is 503",
        injected: "a port nothing listens on",
        target: STORE,
        test: "health::an_unreachable_database_is_503",
    },
    Entry {
        area: "PostgreSQL",
        what: "hung database is unreachable within 2 s",
        injected: "a socket that accepts and never answers",
        target: STORE,
        test: "health::a_hung_database_is_unreachable_within_the_timeout",
    },
    // Processes.
    Entry {
        area: "Process",
        what: "SIGTERM while a post is rate limited",
        injected: "`kill -TERM` during a 429 wait, then a new process",
        target: E2E,
        test: "faults::sigterm_while_a_post_is_rate_limited",
    },
    Entry { area: "Process", what: "SIGKILL before the poll commits", injected: "failpoint `poll-before-commit`, `kill -KILL`, a new process", target: E2E, test: "faults::sigkill_before_the_poll_commits" },
    Entry { area: "Process", what: "SIGKILL after the poll commits, before the deliverer hears", injected: "failpoint `poll-after-commit`, `kill -KILL`, a new process", target: E2E, test: "faults::sigkill_after_the_poll_commits" },
    Entry { area: "Process", what: "SIGKILL after the deliverer's claim", injected: "failpoint `deliver-after-claim`, `kill -KILL`, a new process", target: E2E, test: "faults::sigkill_after_the_claim" },
    Entry { area: "Process", what: "SIGKILL after the attempt is recorded, before the post", injected: "failpoint `deliver-before-post`, `kill -KILL`, a new process", target: E2E, test: "faults::sigkill_before_the_post" },
    Entry { area: "Process", what: "SIGKILL after the post, before the mark", injected: "failpoint `deliver-after-post`, `kill -KILL`, a new process", target: E2E, test: "faults::sigkill_after_the_post" },
    Entry { area: "Process", what: "SIGKILL after the mark", injected: "failpoint `deliver-after-mark`, `kill -KILL`, a new process", target: E2E, test: "faults::sigkill_after_the_mark" },
    Entry {
        area: "Process",
        what: "SIGKILL between post and mark (nonce window, then history)",
        injected: "failpoint `deliver-after-post`, `kill -KILL`",
        target: E2E,
        test: "tracking::a_crash_between_posting_and_marking_neither_loses_nor_repeats",
    },
    Entry {
        area: "Process",
        what: "two deliverers on one database",
        injected: "a second deliverer process",
        target: E2E,
        test: "tracking::a_second_deliverer_on_the_same_database_posts_nothing_twice",
    },
    Entry {
        area: "Process",
        what: "one of three bot processes killed",
        injected: "`kill -KILL` of the process holding shard 2",
        target: E2E,
        test: "shards::three_processes_split_shards_players_and_budget_and_a_killed_ones_move_to_the_others",
    },
    Entry {
        area: "Process",
        what: "two pollers on one database",
        injected: "two trackers polling the same accounts",
        target: TRACKER,
        test: "poll::two_pollers_on_one_database_never_duplicate_an_announcement",
    },
    // Defects found in review.
    Entry {
        area: "Defect",
        what: "history search misses the announcement in a busy channel",
        injected: "120 messages before and 130 after the announcement",
        target: TRACKER,
        test: "deliver::past_the_nonce_window_a_busy_channel_is_paged_back_to_the_announcement",
    },
    Entry {
        area: "Defect",
        what: "another bot's message taken as ours",
        injected: "another author posts the same reference",
        target: TRACKER,
        test: "deliver::another_authors_message_with_the_reference_is_not_the_announcement",
    },
    Entry {
        area: "Defect",
        what: "nonce window decided at claim, not at send",
        injected: "a row claimed inside the window, sent after it",
        target: TRACKER,
        test: "deliver::a_row_claimed_inside_the_window_but_sent_after_it_searches_the_history",
    },
    Entry {
        area: "Defect",
        what: "forged page button spends PSN requests",
        injected: "a `custom_id` not on the pressed message",
        target: E2E,
        test: "commands::a_page_button_not_on_the_message_is_refused_without_asking_psn",
    },
    Entry {
        area: "Defect",
        what: "`rare_percent` below 0.01 broke a constraint",
        injected: "`rare_percent: 0.004`",
        target: COMMANDS,
        test: "admin::a_rare_percent_that_would_round_to_zero_is_refused_in_words",
    },
    Entry { area: "Defect", what: "a long poll's lease lapses and two processes poll", injected: "every PSN request hung; the lease handed to another owner", target: TRACKER, test: "poll::a_long_poll_renews_its_lease_and_stops_once_another_process_took_it" },
    Entry { area: "Defect", what: "title definitions lost in a crash", injected: "the saver aborted without a clean stop", target: TRACKER, test: "poll::definitions_a_poll_fetches_are_in_the_database_without_a_clean_stop" },
    Entry { area: "Defect", what: "title definitions lost in a crash (real bot)", injected: "`kill -KILL` after a command fetched them", target: E2E, test: "commands::title_definitions_fetched_for_a_command_survive_a_crash" },
    Entry { area: "Defect", what: "`rare_percent` below 0.01 through the real bot", injected: "`rare_percent: 0.004` and `0.0049`", target: E2E, test: "admin::a_rare_percent_below_the_minimum_is_refused_in_words_and_changes_nothing" },
    Entry { area: "Privacy", what: "a private player's stored library listed by autocomplete", injected: "player tracked, then private in the simulator; asked from another server", target: TRACKER, test: "poll::a_stored_library_is_listed_only_in_a_tracking_guild_and_not_once_the_player_is_private" },
    Entry { area: "Privacy", what: "a linked user's mention shown where they are not a member", injected: "two servers tracking one account, the linked user in one", target: E2E, test: "admin::the_leaderboard_names_a_verified_owner_only_in_servers_they_are_a_member_of" },
    Entry { area: "Growth", what: "sent and failed outbox rows kept forever", injected: "rows past `OUTBOX_RETENTION`, pending rows beside them", target: TRACKER, test: "retention::sent_and_failed_rows_past_the_retention_are_pruned_in_batches_pending_ones_stay" },
    Entry { area: "Growth", what: "hot queries scan whole tables", injected: "20k outbox rows, 10k in each other big table, plans logged by `auto_explain`", target: STORE, test: "indexes::hot_queries_never_scan_a_big_table_whole" },
    Entry { area: "Security", what: "canary secrets in no log, reply, message, metric or saved row", injected: "distinctive token, NPSSO, access/refresh tokens, database password; debug logs", target: E2E, test: "secrets::canary_secrets_appear_in_no_log_reply_message_metric_or_saved_row" },
    Entry { area: "Security", what: "a bad `DATABASE_URL` is reported without its password", injected: "8 unparsable URLs and an unreachable one, for `run` and `migrate`", target: E2E, test: "secrets::a_bad_database_url_is_reported_without_its_password" },
    Entry { area: "Security", what: "no snapshot holds a canary", injected: "scan of `tests/**/snapshots`", target: E2E, test: "secrets::no_snapshot_holds_a_canary" },
    Entry { area: "Security", what: "the refresh token's row alone cannot be decrypted", injected: "decrypt with the row's fingerprint and nonce, or another NPSSO", target: STORE, test: "credential::the_row_alone_or_another_npsso_cannot_open_the_token" },
    Entry { area: "Security", what: "no plaintext refresh token is stored", injected: "the saved row read back", target: STORE, test: "credential::a_saved_sign_in_round_trips_and_the_row_holds_no_plaintext" },
    Entry { area: "Security", what: "a tampered sealed row is forgotten, the NPSSO signs in again", injected: "ciphertext altered in the database", target: TRACKER, test: "credential::a_tampered_saved_sign_in_is_forgotten_and_the_npsso_signs_in_again" },
    Entry { area: "PSN", what: "one operator alert per rejected-credential episode", injected: "simulator rejects the NPSSO over 4 backoffs and 2 episodes (paused time)", target: UNIT, test: "ops::credential::tests::one_alert_per_rejection_episode_not_per_retry" },
    Entry { area: "PSN", what: "a rejected credential: commands say so without a sign-in", injected: "simulator rejects the NPSSO", target: Target::Test("trophybot", "console"), test: "errors::after_a_rejected_npsso_commands_say_credential_without_signing_in" },
    // Bad input and access.
    Entry {
        area: "Input",
        what: "every option of every command, fuzzed",
        injected: "proptest: any text, markdown, mentions, zero-width, right-to-left, 10 kB",
        target: COMMANDS,
        test: "fuzz::user_and_game_options_of_trophies_compare_and_rarest",
    },
    Entry {
        area: "Input",
        what: "`/settings` options, fuzzed",
        injected: "proptest: any number (NaN, infinities), any language",
        target: COMMANDS,
        test: "fuzz::settings_options_change_only_what_they_should",
    },
    Entry {
        area: "Input",
        what: "`/track` and `/link` options, fuzzed",
        injected: "proptest: any text",
        target: COMMANDS,
        test: "fuzz::track_and_link_options_refused_change_nothing",
    },
    Entry {
        area: "Input",
        what: "`game` autocomplete, fuzzed",
        injected: "proptest: any text",
        target: COMMANDS,
        test: "fuzz::game_autocomplete_offers_at_most_25_short_choices",
    },
    Entry {
        area: "Input",
        what: "page buttons with any `custom_id`",
        injected: "proptest: any text and well-formed forgeries",
        target: COMMANDS,
        test: "fuzz::page_buttons_with_any_custom_id_redraw_or_are_ignored",
    },
    Entry {
        area: "Input",
        what: "fixed bad values through the real bot",
        injected: "19 bad options over every command",
        target: E2E,
        test: "bad_input::bad_values_get_an_ephemeral_error_and_change_nothing",
    },
    Entry {
        area: "Input",
        what: "names from PSN stay inert and within limits",
        injected: "proptest: markdown, mentions, 10 kB names",
        target: RENDER,
        test: "limits::any_embeds_fit",
    },
    Entry {
        area: "Access",
        what: "members without Manage Server change nothing",
        injected: "`/track`, `/settings` by a plain member",
        target: E2E,
        test: "admin::members_without_manage_server_are_refused_and_nothing_changes",
    },
    Entry {
        area: "Access",
        what: "one server cannot see or change another's tracking",
        injected: "list, autocomplete, remove by name and by account ID",
        target: E2E,
        test: "bad_input::one_server_can_neither_see_nor_change_anothers_tracking",
    },
];

#[derive(Debug, Clone, Default, serde::Deserialize)]
struct Measured {
    lost: usize,
    duplicated: usize,
    recovery: Option<std::time::Duration>,
    health_during: Option<String>,
}

#[allow(
    clippy::disallowed_methods,
    reason = "cargo tells a program it runs which cargo it is; not a setting of the bot"
)]
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn main() {
    let check = std::env::args().any(|a| a == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile_dir();
    let cargo = cargo();

    let mut by_target: BTreeMap<Target, Vec<&Entry>> = BTreeMap::new();
    for entry in CATALOGUE {
        by_target.entry(entry.target).or_default().push(entry);
    }
    let mut results: BTreeMap<(Target, &str), &'static str> = BTreeMap::new();
    for (target, entries) in &by_target {
        eprintln!("running {} ({} tests)", target.label(), entries.len());
        let mut command = Command::new(&cargo);
        command
            .current_dir(root)
            .arg("test")
            .arg("--locked")
            .args(target.args())
            .arg("--")
            .arg("--exact")
            .args(entries.iter().map(|e| e.test))
            .env("TROPHYBOT_RELIABILITY_OUT", &out);
        let output = command.output().expect("cargo runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        for line in stdout.lines() {
            let Some(rest) = line.strip_prefix("test ") else {
                continue;
            };
            let Some((name, verdict)) = rest.split_once(" ... ") else {
                continue;
            };
            let verdict = match verdict.trim() {
                "ok" => "pass",
                "FAILED" => "FAIL",
                v if v.starts_with("ignored") => "ignored",
                _ => continue,
            };
            if let Some(entry) = entries.iter().find(|e| e.test == name) {
                results.insert((*target, entry.test), verdict);
            }
        }
    }

    let mut failed = 0;
    let mut table = String::new();
    table.push_str(
        "| Area | Fault, defect or bad input | How it is injected | Test | Result | Lost | Duplicated | Recovery | `/healthz` meanwhile |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for entry in CATALOGUE {
        let verdict = results
            .get(&(entry.target, entry.test))
            .copied()
            .unwrap_or("not run");
        if verdict != "pass" {
            failed += 1;
        }
        let measured = read_measured(&out, entry.test);
        let (lost, duplicated, recovery, health) = match &measured {
            Some(m) => (
                m.lost.to_string(),
                m.duplicated.to_string(),
                m.recovery
                    .map_or("—".to_string(), |d| format!("{:.1} s", d.as_secs_f64())),
                m.health_during.clone().unwrap_or_else(|| "—".to_string()),
            ),
            None => ("—".into(), "—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | `{}` `{}` | {} | {} | {} | {} | {} |",
            entry.area,
            entry.what,
            entry.injected,
            entry.target.label(),
            entry.test,
            verdict,
            lost,
            duplicated,
            recovery,
            health
        );
    }

    let document = format!(
        "# Reliability\n\n\
         Every fault, defect and bad input TrophyBot is checked against, how each is injected, the \
         test that checks it, and what that test measured in its last run. Regenerate with:\n\n\
         ```sh\ncargo run --example reliability\n```\n\n\
         It runs each test below (PostgreSQL needed, as for `cargo test`) and rewrites this file. \
         *Lost* and *duplicated* count announcements; *recovery* is the wall-clock time from the \
         fault's end to the announcement (or, for Discord's 5xx, from the trophy being earned), \
         on this machine, for orientation only; `/healthz` is what the endpoint answered while \
         the fault lasted (status code and `status`). A dash: the test checks behaviour \
         without those figures. Nothing here is asserted on timing.\n\n\
         {table}\n\
         {failed} of {} rows did not pass.\n",
        CATALOGUE.len()
    );
    std::fs::write(root.join("RELIABILITY.md"), document).expect("RELIABILITY.md is written");
    let _ = std::fs::remove_dir_all(&out);
    eprintln!(
        "RELIABILITY.md written: {failed} of {} rows did not pass",
        CATALOGUE.len()
    );
    if check && failed > 0 {
        std::process::exit(1);
    }
}

fn read_measured(dir: &Path, test: &str) -> Option<Measured> {
    let file = dir.join(format!("{}.json", test.replace("::", "__")));
    let text = std::fs::read_to_string(file).ok()?;
    serde_json::from_str(&text).ok()
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("trophybot-reliability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}
