//! `/link`, `/unlink` and the linked-account default, as the bot runs them: the command logic
//! against the PSN simulator and a database of the test's own.

use trophybot::commands::{self, link};
use trophybot::errors::CommandError;
use trophybot::model::reply::Reply;
use trophybot::store::Store;

use crate::support;
use crate::support::db::TestDb;

const CALLER: u64 = 300;

struct World {
    sim: psn_sim::Sim,
    _server: psn_sim::SimServer,
    ctx: commands::Services,
    store: Store,
    _db: TestDb,
}

async fn world() -> World {
    let (sim, server) = support::start_sim().await;
    let ctx = commands::Services::new(support::sim_client(&server.base_url));
    let (db, store) = TestDb::migrated().await;
    World {
        sim,
        _server: server,
        ctx,
        store,
        _db: db,
    }
}

impl World {
    /// `/link` as the bot runs it: the option is parsed first, as Discord hands it over.
    async fn link(&self, user: Option<&str>) -> Result<Reply, CommandError> {
        let user = user.map(psn::OnlineId::parse).transpose()?;
        link::link(&self.ctx, &self.store, CALLER, user.as_ref()).await
    }

    fn profile_requests(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/profiles"))
            .count()
    }
}

fn title(reply: &Reply) -> &str {
    reply.embeds()[0].title.as_deref().unwrap_or_default()
}

/// The description and field values, markdown as sent, to look for names in.
fn text(reply: &Reply) -> String {
    let embed = &reply.embeds()[0];
    let mut parts = vec![embed.description.clone().unwrap_or_default()];
    parts.extend(embed.fields.iter().map(|f| f.value.clone()));
    parts.join("\n")
}

/// The code the reply asks the player to put in their "About me".
fn code_in(reply: &Reply) -> String {
    let field = reply.embeds()[0]
        .fields
        .iter()
        .find(|f| f.name == "Verification code")
        .unwrap_or_else(|| panic!("no code in {reply:?}"));
    field.value.trim_matches('`').to_string()
}

#[tokio::test]
async fn link_then_verify_through_about_me() {
    let w = world().await;
    let linked = w.link(Some("sim_hunter")).await.expect("linked");
    assert!(
        linked.ephemeral(),
        "a verification code is for the caller only"
    );
    assert_eq!(title(&linked), "Linked to sim\\_hunter");
    let code = code_in(&linked);
    assert_eq!(
        w.store.verify_code(CALLER).await.expect("code"),
        Some(code.clone())
    );
    assert_eq!(
        w.profile_requests(),
        0,
        "nothing to check right after linking"
    );

    // Not in "About me" yet: checked, not verified, same code again.
    let pending = w.link(None).await.expect("checked");
    assert_eq!(title(&pending), "Not verified yet");
    assert_eq!(code_in(&pending), code);
    assert_eq!(w.profile_requests(), 1);
    let stored = w.store.linked_account(CALLER).await.expect("lookup");
    assert_eq!(stored.and_then(|l| l.verified_at), None);

    // Saved in "About me", in other letters' case, among other words.
    w.sim
        .set_about_me(
            "sim_hunter",
            &format!("Trophy hunter {}", code.to_lowercase()),
        )
        .expect("a known user");
    let verified = w.link(Some("SIM_HUNTER")).await.expect("verified");
    assert_eq!(title(&verified), "Verified");
    assert!(verified.ephemeral());
    assert_eq!(w.profile_requests(), 2);
    let stored = w
        .store
        .linked_account(CALLER)
        .await
        .expect("lookup")
        .expect("linked");
    assert!(stored.verified_at.is_some());
    assert_eq!(stored.online_id, "sim_hunter");

    // Verified stays verified without asking PSN again.
    let again = w.link(None).await.expect("already");
    assert_eq!(title(&again), "Already linked");
    assert_eq!(w.profile_requests(), 2);
}

#[tokio::test]
async fn linking_another_account_replaces_the_link_and_needs_verifying_again() {
    let w = world().await;
    let first = w.link(Some("sim_casual")).await.expect("linked");
    let first_code = code_in(&first);
    w.sim
        .set_about_me("sim_casual", &first_code)
        .expect("a known user");
    assert_eq!(title(&w.link(None).await.expect("verified")), "Verified");

    let second = w.link(Some("sim_hunter")).await.expect("relinked");
    assert_eq!(title(&second), "Linked to sim\\_hunter");
    assert!(
        text(&second).contains("This replaces your link to **sim\\_casual**"),
        "{}",
        text(&second)
    );
    assert_ne!(code_in(&second), first_code);
    let stored = w
        .store
        .linked_account(CALLER)
        .await
        .expect("lookup")
        .expect("linked");
    assert_eq!(
        (stored.online_id.as_str(), stored.verified_at),
        ("sim_hunter", None)
    );
    // The old code in the new account's "About me" proves nothing.
    w.sim
        .set_about_me("sim_hunter", &first_code)
        .expect("a known user");
    assert_eq!(
        title(&w.link(None).await.expect("checked")),
        "Not verified yet"
    );
}

#[tokio::test]
async fn a_renamed_account_links_under_its_current_id() {
    let w = world().await;
    let linked = w.link(Some("sim_renamed")).await.expect("linked");
    assert_eq!(title(&linked), "Linked to sim\\_newname");
    let stored = w.store.linked_account(CALLER).await.expect("lookup");
    assert_eq!(stored.map(|l| l.online_id), Some("sim_newname".to_string()));
}

#[tokio::test]
async fn nothing_is_linked_for_unknown_or_missing_ids() {
    let w = world().await;
    assert!(matches!(w.link(None).await, Err(CommandError::NotLinked)));
    assert!(matches!(
        w.link(Some("nobody_here")).await,
        Err(CommandError::Psn(psn::Error::UserNotFound(_)))
    ));
    assert!(matches!(
        w.link(Some("1nvalid")).await,
        Err(CommandError::Psn(psn::Error::InvalidOnlineId(_)))
    ));
    assert_eq!(w.store.linked_account(CALLER).await.expect("lookup"), None);
}

#[tokio::test]
async fn unlink_says_what_it_removed_or_that_there_was_nothing() {
    let w = world().await;
    w.link(Some("sim_casual")).await.expect("linked");
    let removed = link::unlink(&w.store, CALLER).await.expect("unlinked");
    assert!(removed.ephemeral());
    assert_eq!(title(&removed), "Unlinked");
    assert!(
        text(&removed).contains("sim\\_casual"),
        "{}",
        text(&removed)
    );
    let nothing = link::unlink(&w.store, CALLER).await.expect("answered");
    assert_eq!(title(&nothing), "Nothing to unlink");
    assert!(matches!(w.link(None).await, Err(CommandError::NotLinked)));
}

#[tokio::test]
async fn commands_default_to_the_linked_account() {
    let w = world().await;
    assert!(matches!(
        link::linked_player(&w.store, CALLER).await,
        Err(CommandError::NotLinked)
    ));
    w.link(Some("sim_casual")).await.expect("linked");
    assert_eq!(
        link::linked_player(&w.store, CALLER)
            .await
            .expect("the linked ID")
            .as_str(),
        "sim_casual"
    );
    assert!(matches!(
        link::linked_player(&w.store, CALLER + 1).await,
        Err(CommandError::NotLinked)
    ));
}
