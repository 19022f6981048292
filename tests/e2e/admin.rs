//! End to end: the server-admin commands (`/track`, `/settings`), `/leaderboard` and leaving a
//! server, with the real bot binary against the fake Discord, the PSN simulator and Postgres.

use discord_fake::{FakeGuild, FakeUser, EMBED_LINKS, SEND_MESSAGES};
use serde_json::{json, Value};
use trophybot::store::Store;

use crate::support;
use crate::support::bot::{
    assert_no_mentions, channel_opt, int_opt, is_ephemeral, number_opt, opt, subcommand, text_of,
    wait_until, wait_until_within, Harness, ADMIN, CHANNEL, GUILD, MEMBER, WAIT_LIMIT,
};

const VOICE: u64 = 210;
const MUTED: u64 = 211;
const NEWS: u64 = 212;

const OTHER_GUILD: u64 = 101;
const OTHER_CHANNEL: u64 = 250;
const OTHER_ADMIN: u64 = 350;

/// Index of the `filter` choices, as poise registers them.
const FILTER_PLATINUM_ONLY: i64 = 2;
const FILTER_RARE: i64 = 3;

fn track(name: &str, options: Value) -> Value {
    subcommand(name, options.as_array().cloned().unwrap_or_default())
}

async fn track_add(h: &Harness, user: &str) -> (bool, Value) {
    h.track_add(user).await
}

async fn track_list(h: &Harness) -> Value {
    let ix = h.slash(ADMIN, "track", track("list", json!([]))).await;
    let (ephemeral, reply) = h.any_reply(ix).await;
    assert!(ephemeral, "/track list is for admins only: {reply}");
    reply
}

/// A second server, with its own channel and admin.
pub(crate) fn elsewhere() -> FakeGuild {
    FakeGuild::new(OTHER_GUILD, "Elsewhere")
        .channel(OTHER_CHANNEL, "trophies")
        .member(FakeUser::new(OTHER_ADMIN, "owner").with_manage_guild())
}

pub(crate) async fn tracked_ids(store: &Store, guild: u64) -> Vec<String> {
    store
        .tracked_accounts(guild)
        .await
        .expect("tracked accounts")
        .into_iter()
        .map(|v| v.account.online_id)
        .collect()
}

#[tokio::test]
async fn track_add_then_list_shows_each_account_its_channel_and_checks() {
    let h = Harness::builder()
        .only_guilds(vec![support::bot::default_guild().channel(NEWS, "news")])
        .start()
        .await;
    let store = h.store().await;

    let (ephemeral, added) = track_add(&h, "sim_casual").await;
    assert!(ephemeral, "admin replies are ephemeral: {added}");
    let text = text_of(&added);
    assert!(text.contains("now tracking sim_casual"), "{added}");
    assert!(
        text.contains("baseline"),
        "the admin is told what happens next: {added}"
    );
    assert!(
        text.contains(&format!("<#{CHANNEL}>")),
        "defaults to this channel: {added}"
    );

    // A renamed player is tracked under their current ID.
    let (_, renamed) = track_add(&h, "sim_renamed").await;
    let renamed_text = text_of(&renamed);
    assert!(
        renamed_text.contains("is now called") && renamed_text.contains("now tracking sim_newname"),
        "{renamed}"
    );

    // A private trophy list is tracked, and the admin is told nothing shows until it is public.
    let (_, private) = track_add(&h, "sim_private").await;
    let private_text = text_of(&private);
    assert!(
        private_text.contains("now tracking sim_private"),
        "{private}"
    );
    assert!(private_text.contains("private"), "{private}");

    // Re-adding with a channel moves the announcements; nothing is duplicated.
    let ix = h
        .slash(
            ADMIN,
            "track",
            track(
                "add",
                json!([opt("user", "SIM_CASUAL"), channel_opt("channel", NEWS)]),
            ),
        )
        .await;
    let (_, moved) = h.any_reply(ix).await;
    assert!(text_of(&moved).contains("already tracked"), "{moved}");
    let accounts = store.tracked_accounts(GUILD).await.expect("accounts");
    assert_eq!(
        accounts
            .iter()
            .map(|v| (v.account.online_id.as_str(), v.account.channel_id))
            .collect::<Vec<_>>(),
        vec![
            ("sim_casual", Some(NEWS)),
            ("sim_newname", Some(CHANNEL)),
            ("sim_private", Some(CHANNEL)),
        ]
    );

    // The tracker checks the new accounts and asks for their presence: only sim_casual's is
    // visible to the bot (the fast path).
    let pool = store.pool().clone();
    // Three baselines and a presence sweep on the production budget, each in its turn.
    wait_until_within("the tracker's first checks", WAIT_LIMIT * 3, || {
        let pool = pool.clone();
        async move {
            let checked: (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE last_checked_at IS NOT NULL),
                        count(*) FILTER (WHERE presence_visible)
                 FROM account_state",
            )
            .fetch_one(&pool)
            .await
            .ok()?;
            (checked == (3, 1)).then_some(())
        }
    })
    .await;

    let list = track_list(&h).await;
    let text = text_of(&list);
    for expected in [
        "tracked psn accounts (3/25)",
        "sim_casual",
        &format!("<#{NEWS}>"),
        "sim_newname",
        "presence fast path",
        "trophy list private",
        "at least every",
        "30 min",
    ] {
        assert!(text.contains(expected), "{expected:?} in {list}");
    }
}

#[tokio::test]
async fn members_without_manage_server_are_refused_and_nothing_changes() {
    let h = Harness::start().await;
    let store = h.store().await;

    let ix = h
        .slash(
            MEMBER,
            "track",
            track("add", json!([opt("user", "sim_casual")])),
        )
        .await;
    let refusal = h.immediate_reply(ix).await;
    assert!(is_ephemeral(&refusal), "{refusal}");
    assert!(text_of(&refusal).contains("manage server"), "{refusal}");

    let ix = h
        .slash(
            MEMBER,
            "settings",
            json!([int_opt("filter", FILTER_PLATINUM_ONLY)]),
        )
        .await;
    let refusal = h.immediate_reply(ix).await;
    assert!(text_of(&refusal).contains("manage server"), "{refusal}");

    assert!(tracked_ids(&store, GUILD).await.is_empty());
    assert_eq!(
        store.guild_settings(GUILD).await.expect("settings"),
        trophybot::model::GuildSettings::defaults(GUILD)
    );
    // The refusals asked PSN nothing.
    assert!(
        h.sim
            .requests()
            .iter()
            .all(|r| !r.path.contains("sim_casual")),
        "no lookup for a refused command"
    );
}

#[tokio::test]
async fn channels_that_cannot_take_announcements_are_refused() {
    let guild = support::bot::default_guild()
        .voice_channel(VOICE, "Lounge")
        .channel_denying_bot(MUTED, "read-only", SEND_MESSAGES | EMBED_LINKS);
    let h = Harness::builder().only_guilds(vec![guild]).start().await;
    let store = h.store().await;

    let add_in = |channel: u64| {
        track(
            "add",
            json!([opt("user", "sim_casual"), channel_opt("channel", channel)]),
        )
    };
    let voice = h
        .immediate_reply(h.slash(ADMIN, "track", add_in(VOICE)).await)
        .await;
    assert!(is_ephemeral(&voice));
    assert!(text_of(&voice).contains("not a text channel"), "{voice}");

    let muted = h
        .immediate_reply(h.slash(ADMIN, "track", add_in(MUTED)).await)
        .await;
    let text = text_of(&muted);
    assert!(
        text.contains("send messages") && text.contains("embed links"),
        "the missing permissions are named: {muted}"
    );
    assert!(
        !text.contains("view channel"),
        "the bot can view it: {muted}"
    );

    // Nor can such a channel become the server's default.
    let settings = h
        .immediate_reply(
            h.slash(ADMIN, "settings", json!([channel_opt("channel", VOICE)]))
                .await,
        )
        .await;
    assert!(
        text_of(&settings).contains("not a text channel"),
        "{settings}"
    );

    assert!(tracked_ids(&store, GUILD).await.is_empty());
    assert_eq!(
        store
            .guild_settings(GUILD)
            .await
            .expect("settings")
            .announce_channel_id,
        None
    );
}

#[tokio::test]
async fn the_per_server_cap_is_enforced_politely() {
    let h = Harness::builder()
        .env("TRACKER_MAX_ACCOUNTS_PER_GUILD", "2")
        .start()
        .await;
    let store = h.store().await;
    for user in ["sim_hunter", "sim_casual"] {
        let (_, reply) = track_add(&h, user).await;
        assert!(text_of(&reply).contains("now tracking"), "{reply}");
    }
    let (ephemeral, refused) = track_add(&h, "sim_markdown").await;
    assert!(ephemeral);
    let text = text_of(&refused);
    assert!(
        text.contains("tracking limit") && text.contains("(2)"),
        "{refused}"
    );
    assert!(
        h.sim
            .requests()
            .iter()
            .all(|r| !r.path.contains("sim_markdown")),
        "a full server is told before any PSN request"
    );
    // Updating an account already tracked is not a new one.
    let (_, again) = track_add(&h, "sim_hunter").await;
    assert!(text_of(&again).contains("already tracked"), "{again}");
    assert_eq!(
        tracked_ids(&store, GUILD).await,
        vec!["sim_casual", "sim_hunter"]
    );
    let list = track_list(&h).await;
    assert!(text_of(&list).contains("(2/2)"), "{list}");

    // Removing by online ID, any case, frees a place.
    let ix = h
        .slash(
            ADMIN,
            "track",
            track("remove", json!([opt("user", "SIM_Hunter")])),
        )
        .await;
    let (_, removed) = h.any_reply(ix).await;
    assert!(
        text_of(&removed).contains("stopped tracking sim_hunter"),
        "{removed}"
    );
    assert_eq!(tracked_ids(&store, GUILD).await, vec!["sim_casual"]);
}

#[tokio::test]
async fn settings_show_change_and_show_up_in_track_list() {
    let h = Harness::start().await;
    let store = h.store().await;

    let current = h
        .immediate_reply(h.slash(ADMIN, "settings", json!([])).await)
        .await;
    assert!(is_ephemeral(&current));
    assert!(text_of(&current).contains("all trophies"), "{current}");

    let saved = h
        .immediate_reply(
            h.slash(
                ADMIN,
                "settings",
                json!([
                    channel_opt("channel", CHANNEL),
                    int_opt("filter", FILTER_PLATINUM_ONLY)
                ]),
            )
            .await,
        )
        .await;
    let text = text_of(&saved);
    assert!(
        text.contains("settings saved") && text.contains("platinum only"),
        "{saved}"
    );

    // "rarer than" needs its percentage; the refusal changes nothing.
    let refused = h
        .immediate_reply(
            h.slash(ADMIN, "settings", json!([int_opt("filter", FILTER_RARE)]))
                .await,
        )
        .await;
    assert!(text_of(&refused).contains("rare_percent"), "{refused}");
    assert_eq!(
        store.guild_settings(GUILD).await.expect("settings").filter,
        trophybot::model::AnnounceFilter::PlatinumOnly
    );

    let rare = h
        .immediate_reply(
            h.slash(ADMIN, "settings", json!([number_opt("rare_percent", 5.0)]))
                .await,
        )
        .await;
    assert!(text_of(&rare).contains("rarer than 5%"), "{rare}");

    let list = track_list(&h).await;
    let text = text_of(&list);
    assert!(
        text.contains("rarer than 5%") && text.contains(&format!("<#{CHANNEL}>")),
        "{list}"
    );
    let settings = store.guild_settings(GUILD).await.expect("settings");
    assert_eq!(settings.announce_channel_id, Some(CHANNEL));
    assert_eq!(
        settings.filter,
        trophybot::model::AnnounceFilter::RarerThan(5.0)
    );

    // An account added without a channel follows the server's announce channel.
    let (_, added) = track_add(&h, "sim_casual").await;
    assert!(
        text_of(&added).contains("the server's announce channel"),
        "{added}"
    );
    let accounts = store.tracked_accounts(GUILD).await.expect("accounts");
    assert_eq!(
        accounts[0].account.channel_id, None,
        "follows later changes"
    );
}

#[tokio::test]
async fn leaving_a_server_forgets_its_tracking_but_an_outage_does_not() {
    let other = elsewhere();
    let h = Harness::builder().guild(other).start().await;
    let store = h.store().await;

    let (_, here) = track_add(&h, "sim_casual").await;
    assert!(text_of(&here).contains("now tracking"), "{here}");
    let ix = h
        .slash_in(
            OTHER_GUILD,
            OTHER_CHANNEL,
            OTHER_ADMIN,
            "track",
            track("add", json!([opt("user", "sim_hunter")])),
        )
        .await;
    let (_, there) = h.any_reply(ix).await;
    assert!(text_of(&there).contains("now tracking"), "{there}");
    assert_eq!(tracked_ids(&store, OTHER_GUILD).await, vec!["sim_hunter"]);

    // An outage first, then really leaving the other server; once the second is handled the
    // first (sent earlier, and cheaper) has been too.
    h.discord
        .send_guild_unavailable(GUILD)
        .expect("outage sent");
    h.discord
        .send_guild_delete(OTHER_GUILD)
        .expect("GUILD_DELETE sent");
    wait_until("the other server forgotten", || async {
        tracked_ids(&store, OTHER_GUILD)
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    assert_eq!(
        tracked_ids(&store, GUILD).await,
        vec!["sim_casual"],
        "an unavailable guild keeps its tracking"
    );
    assert_eq!(store.tracked_account_count().await.expect("count"), 1);
}

#[tokio::test]
async fn the_leaderboard_answers_anyone_with_the_ranking() {
    let h = Harness::start().await;
    let store = h.store().await;

    let empty = h.slash(MEMBER, "leaderboard", json!([])).await;
    let (ephemeral, reply) = h.any_reply(empty).await;
    assert!(!ephemeral, "the leaderboard is for everyone: {reply}");
    assert!(text_of(&reply).contains("no psn accounts yet"), "{reply}");

    for user in ["sim_hunter", "sim_casual"] {
        track_add(&h, user).await;
    }
    // The tracker's baseline stores each player's totals.
    let pool = store.pool().clone();
    let totals: Vec<(String, Value)> = wait_until("both players' totals", || {
        let pool = pool.clone();
        async move {
            let rows: Vec<(String, Value)> = sqlx::query_as(
                "SELECT online_id, earned_counts FROM account_state
                 WHERE earned_counts IS NOT NULL ORDER BY online_id",
            )
            .fetch_all(&pool)
            .await
            .ok()?;
            (rows.len() == 2).then_some(rows)
        }
    })
    .await;
    let points = |name: &str| {
        let counts = &totals.iter().find(|(n, _)| n == name).expect("totals").1;
        ["bronze", "silver", "gold", "platinum"]
            .iter()
            .zip([15, 30, 90, 300])
            .map(|(kind, worth)| counts[kind].as_u64().unwrap_or(0) * worth)
            .sum::<u64>()
    };
    assert!(points("sim_hunter") > points("sim_casual"));

    let ix = h.slash(MEMBER, "leaderboard", json!([])).await;
    let (ephemeral, board) = h.any_reply(ix).await;
    assert!(!ephemeral);
    let text = text_of(&board);
    let casual_at = text.find("sim_casual").expect("sim_casual listed");
    let hunter_at = text.find("sim_hunter").expect("sim_hunter listed");
    assert!(hunter_at < casual_at, "ranked by trophy points: {board}");
    let casual_points = format!("{} pts", points("sim_casual"));
    assert!(
        text.contains(&casual_points),
        "points from the stored totals ({casual_points}): {board}"
    );
}

#[tokio::test]
async fn tracking_survives_a_restart_and_remove_offers_the_tracked_accounts() {
    let mut h = Harness::start().await;
    for user in ["sim_hunter", "sim_casual"] {
        let (_, reply) = track_add(&h, user).await;
        assert!(text_of(&reply).contains("now tracking"), "{reply}");
    }
    let first_pid = h.bot_pid();
    h.restart().await;
    assert_ne!(h.bot_pid(), first_pid, "a new process");

    let list = track_list(&h).await;
    let text = text_of(&list);
    assert!(
        text.contains("sim_hunter") && text.contains("sim_casual"),
        "{list}"
    );

    // Autocomplete offers this server's accounts; the value is the account ID.
    let ix = h
        .discord
        .send_autocomplete(
            GUILD,
            CHANNEL,
            ADMIN,
            "track",
            track(
                "remove",
                json!([{"name": "user", "type": 3, "value": "cas", "focused": true}]),
            ),
        )
        .await
        .expect("autocomplete dispatched");
    let choices = match h.discord.wait_for_response(ix).await.expect("answered") {
        discord_fake::InteractionEvent::Callback {
            data: Some(data), ..
        } => data["choices"].as_array().cloned().unwrap_or_default(),
        other => panic!("expected choices, got {other:?}"),
    };
    assert_eq!(choices.len(), 1, "{choices:?}");
    assert_eq!(choices[0]["name"], "sim_casual");
    let account_id = choices[0]["value"].as_str().expect("a value").to_string();

    let ix = h
        .slash(
            ADMIN,
            "track",
            track("remove", json!([opt("user", &account_id)])),
        )
        .await;
    let (_, removed) = h.any_reply(ix).await;
    assert!(
        text_of(&removed).contains("stopped tracking sim_casual"),
        "{removed}"
    );
    let store = h.store().await;
    assert_eq!(tracked_ids(&store, GUILD).await, vec!["sim_hunter"]);
}

#[tokio::test]
async fn a_ready_that_does_not_list_a_server_deletes_nothing() {
    let other = elsewhere();
    let mut h = Harness::builder().guild(other).start().await;
    let store = h.store().await;
    h.track_add("sim_casual").await;
    let (_, there) = h
        .track_add_in(OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN, "sim_hunter", None)
        .await;
    assert!(text_of(&there).contains("now tracking"), "{there}");

    // While the bot is down a server drops out of what Discord lists (as it would under another
    // application's token): the next READY does not name it, which alone proves nothing.
    h.kill();
    let _ = h.discord.send_guild_delete(OTHER_GUILD);
    h.restart().await;
    // A command answered after READY: the bot has handled what READY brought.
    let listed = track_list(&h).await;
    assert!(text_of(&listed).contains("sim_casual"), "{listed}");
    assert_eq!(tracked_ids(&store, OTHER_GUILD).await, vec!["sim_hunter"]);
    assert_eq!(tracked_ids(&store, GUILD).await, vec!["sim_casual"]);
}

/// Another Discord application than the fake's default one.
const OTHER_APPLICATION: u64 = 900_000_000_000_000_777;

#[tokio::test]
async fn a_token_of_another_application_is_refused_unless_the_change_is_allowed() {
    let mut h = Harness::start().await;
    let store = h.store().await;
    let first = h.discord.config().application_id;
    assert_eq!(
        store.application_id().await.expect("load"),
        Some(first),
        "the first start stores its application"
    );
    h.track_add("sim_casual").await;
    assert_eq!(tracked_ids(&store, GUILD).await, vec!["sim_casual"]);
    h.restart().await;
    assert_eq!(store.application_id().await.expect("load"), Some(first));

    // The token now belongs to another application: the bot exits 2 before touching anything.
    h.switch_application(OTHER_APPLICATION).await;
    let out = h.start_expecting_exit().await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        first.to_string(),
        OTHER_APPLICATION.to_string(),
        "TROPHYBOT_ALLOW_APPLICATION_CHANGE".to_string(),
    ] {
        assert!(stderr.contains(&expected), "{expected} missing: {stderr}");
    }
    assert_eq!(
        h.discord.session_counts(),
        (0, 0),
        "no gateway session for the wrong application"
    );
    let asked: Vec<String> = h
        .discord
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        asked,
        ["GET /oauth2/applications/@me"],
        "nothing but the application asked"
    );
    assert_eq!(store.application_id().await.expect("load"), Some(first));
    assert_eq!(tracked_ids(&store, GUILD).await, vec!["sim_casual"]);

    // The operator allows the change: the bot starts and the new application is stored.
    h.restart_with_env("TROPHYBOT_ALLOW_APPLICATION_CHANGE", "1")
        .await;
    assert_eq!(
        store.application_id().await.expect("load"),
        Some(OTHER_APPLICATION)
    );
    let listed = track_list(&h).await;
    assert!(text_of(&listed).contains("sim_casual"), "{listed}");
    assert_eq!(tracked_ids(&store, GUILD).await, vec!["sim_casual"]);
}

#[tokio::test]
async fn the_leaderboard_names_a_verified_owner_only_in_servers_they_are_a_member_of() {
    // MEMBER is in the default server only; both servers track the account MEMBER verified.
    let other = elsewhere();
    let h = Harness::builder().guild(other).start().await;
    let store = h.store().await;
    let (_, here) = track_add(&h, "sim_casual").await;
    assert!(text_of(&here).contains("now tracking"), "{here}");
    let (_, there) = h
        .track_add_in(OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN, "sim_casual", None)
        .await;
    assert!(text_of(&there).contains("now tracking"), "{there}");
    let account_id = h.sim.account_id("sim_casual").expect("a sim user");
    store
        .link_user(MEMBER, &account_id, "sim_casual")
        .await
        .expect("link");
    assert!(store
        .mark_link_verified(MEMBER, &account_id, "sim_casual")
        .await
        .expect("verify"));
    let mention = format!("<@{MEMBER}>");

    let ix = h.slash(MEMBER, "leaderboard", json!([])).await;
    let (_, board) = h.any_reply(ix).await;
    assert!(text_of(&board).contains("sim_casual"), "{board}");
    assert!(
        text_of(&board).contains(&mention),
        "named where a member: {board}"
    );

    let ix = h
        .slash_in(
            OTHER_GUILD,
            OTHER_CHANNEL,
            OTHER_ADMIN,
            "leaderboard",
            json!([]),
        )
        .await;
    let (_, elsewhere) = h.any_reply(ix).await;
    assert!(text_of(&elsewhere).contains("sim_casual"), "{elsewhere}");
    assert!(
        !text_of(&elsewhere).contains(&mention),
        "not named where not a member: {elsewhere}"
    );
    // Asked of Discord, which answered as it does for a non-member.
    let asked = format!("/guilds/{OTHER_GUILD}/members/{MEMBER}");
    assert!(
        h.discord
            .requests()
            .iter()
            .any(|r| r.path.ends_with(&asked) && r.status == 404),
        "{:?}",
        h.discord.requests()
    );
}

#[tokio::test]
async fn a_rare_percent_below_the_minimum_is_refused_in_words_and_changes_nothing() {
    let h = Harness::start().await;
    let store = h.store().await;
    for tiny in [0.004, 0.0049] {
        let ix = h
            .slash(ADMIN, "settings", json!([number_opt("rare_percent", tiny)]))
            .await;
        let (ephemeral, refused) = h.any_reply(ix).await;
        assert!(ephemeral, "{refused}");
        assert!(
            text_of(&refused).contains("`rare_percent` must be at least 0.01"),
            "{refused}"
        );
        assert_eq!(
            store.guild_settings(GUILD).await.expect("settings").filter,
            trophybot::model::AnnounceFilter::All,
            "nothing saved"
        );
    }
}

/// `/track list` shows the PSN budget split as it stands: the tracker's guaranteed part, what
/// commands used in the window, and this server's members near their share, as mentions that
/// never ping; someone near their share in another server is not named here.
#[tokio::test]
async fn track_list_shows_the_budget_split_and_this_servers_members_near_their_share() {
    let h = Harness::builder()
        .guild(elsewhere())
        .env("PSN_RATE_LIMIT", "600/10m")
        .env("COMMAND_SHARE_USER", "6")
        .start()
        .await;
    // Each a cold profile: a lookup, a listing and a summary.
    for (guild, channel, user, player) in [
        (GUILD, CHANNEL, MEMBER, "sim_hunter"),
        (GUILD, CHANNEL, MEMBER, "sim_casual"),
        (OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN, "sim_owner"),
        (OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN, "sim_newname"),
    ] {
        let ix = h
            .slash_in(
                guild,
                channel,
                user,
                "trophies",
                json!([opt("user", player)]),
            )
            .await;
        let (ephemeral, reply) = h.any_reply(ix).await;
        assert!(!ephemeral && text_of(&reply).contains(player), "{reply}");
    }

    let reply = track_list(&h).await;
    assert_no_mentions(&reply);
    let budget = reply["embeds"][0]["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == "PSN budget"))
        .and_then(|f| f["value"].as_str())
        .unwrap_or_else(|| panic!("a PSN budget field: {reply}"))
        .to_string();
    // 30 % kept for commands by default: 420 of 600 for the tracker.
    assert!(
        budget.contains("Tracker: **420** of **600** requests per 10 min"),
        "{budget}"
    );
    assert!(
        budget.contains(
            "**12** across all servers; this server **6** of its **90** (a member may use **6**)"
        ),
        "{budget}"
    );
    assert!(
        budget.contains(&format!("Near their share (80 % or more): <@{MEMBER}> 6.")),
        "{budget}"
    );
    assert!(!budget.contains(&OTHER_ADMIN.to_string()), "{budget}");
}
