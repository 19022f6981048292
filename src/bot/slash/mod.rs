//! The slash commands as poise sees them, one file per command family: options arrive parsed
//! into the bot's types (`options`), the logic is in `crate::commands`, and every answer goes
//! through the one reply path (`respond`).

mod admin;
mod compare;
mod help;
mod leaderboard;
mod link;
mod options;
mod rarest;
mod settings;
mod track;
mod trophies;
mod trophy;

use std::future::Future;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use psn::OnlineId;

use super::data::{BotError, Context, Data};
use super::respond::{ReplyExt, Visibility};
use crate::commands::{self, game::MAX_CHOICES, shares::cost, Services};
use crate::errors::CommandError;
use crate::model::Reply;
use options::PsnUser;

/// Discord drops autocomplete answers after 3 s; answer from what is quick to get before then.
const AUTOCOMPLETE_BUDGET: Duration = Duration::from_millis(2500);

pub fn all_commands() -> Vec<poise::Command<Data, BotError>> {
    vec![
        trophies::trophies(),
        trophy::trophy(),
        compare::compare(),
        rarest::rarest(),
        track::track(),
        settings::settings(),
        leaderboard::leaderboard(),
        link::link(),
        link::unlink(),
        help::help(),
    ]
}

/// The PSN player a command is about: `user` when given, else the caller's linked account.
async fn player(ctx: Context<'_>, user: Option<PsnUser>) -> Result<OnlineId, CommandError> {
    match user {
        Some(PsnUser(user)) => Ok(user),
        None => commands::link::linked_player(&ctx.data().store, ctx.author().id.get()).await,
    }
}

/// Answers a command about a PSN player: the player is settled at once (a missing link is told
/// only to the caller), and the command admitted within the caller's and the server's shares of
/// the PSN budget at its worst-case cost as the caches stand (`estimate`, given the services of
/// the server's language and the player; past the shares, the caller alone is told when to
/// retry); then the reply is deferred for everyone while `work` asks PSN with those services,
/// charged what they send.
async fn answer_for_player<E, EFut, F, Fut>(
    ctx: Context<'_>,
    user: Option<PsnUser>,
    estimate: E,
    work: F,
) -> Result<(), BotError>
where
    E: FnOnce(Services, OnlineId) -> EFut,
    EFut: Future<Output = u32>,
    F: FnOnce(Services, OnlineId) -> Fut,
    Fut: Future<Output = Result<Reply, CommandError>>,
{
    let responder = ctx.responder();
    let (data, guild) = (ctx.data(), ctx.guild_id());
    let admitted = match player(ctx, user).await {
        Ok(player) => {
            let services = data.services_in(guild).await;
            // The credential is picked on the dearest a command can be (its cap): the
            // estimate, made next, is read from that credential's caches.
            let services = data.services_for(services, Some(&player), cost::CAP);
            let cost = estimate(services.clone(), player.clone()).await;
            data.admit(ctx.author().id, guild, cost)
                .map(|admission| (player, services, admission))
        }
        Err(err) => Err(err),
    };
    match admitted {
        Ok((player, services, admission)) => {
            let work = async move {
                let services = services.metered(admission.meter());
                // The admission is settled (charged what was sent) once the work is done.
                let reply = work(services, player).await;
                drop(admission);
                reply
            };
            responder.after(Visibility::Everyone, work).await?
        }
        Err(err) => responder.now(Err(err)).await?,
    };
    Ok(())
}

/// `game` choices: the titles of the `user` typed so far (or the caller's linked account), from
/// the stored library or the client's caches where it can. Names are in the bot's default
/// language, as the tracker stores libraries (a server's language would cost a PSN request
/// within Discord's 3 s); a picked choice carries the npCommunicationId, so the command that
/// follows finds it and answers in the server's language.
///
/// Only when nothing is cached does a keystroke ask PSN (the lookup and the recent titles, in
/// the member's share), and only once per member within [`super::typing::FETCH_INTERVAL`]; the
/// fetch goes on in the background if it outlasts the keystroke's answer, so the next keystroke
/// finds the titles.
async fn autocomplete_game(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let typed_user = match ctx {
        poise::Context::Application(app) => app
            .interaction
            .data
            .options
            .iter()
            .find(|o| o.name == "user")
            .and_then(|o| o.value.as_str())
            .map(OnlineId::parse),
        poise::Context::Prefix(_) => None,
    };
    let data = ctx.data();
    let choices = tokio::time::timeout(AUTOCOMPLETE_BUDGET, async {
        // A malformed `user` has no titles to offer.
        let user = typed_user.transpose().ok()?.map(PsnUser);
        let player = player(ctx, user).await.ok()?;
        // The server's own tracked players only: never another server's stored libraries.
        let services = data.services.in_guild(ctx.guild_id().map(|g| g.get()));
        if let Some(choices) = commands::game::cached_choices(&services, &player, partial).await {
            return Some(choices);
        }
        if !data.typing.try_fetch(ctx.author().id.get()) {
            return None;
        }
        // Keystrokes spend the typing member's share too; past it, no choices and no requests.
        let admission = data
            .admit(ctx.author().id, ctx.guild_id(), cost::AUTOCOMPLETE)
            .ok()?;
        let fetch = {
            let services = services.metered(admission.meter());
            let player = player.clone();
            let cancel = data.background.cancel.clone();
            data.background.tasks.spawn(async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    fetched = commands::game::fetch_for_choices(&services, &player) => {
                        if let Err(err) = fetched {
                            tracing::debug!(%err, "autocomplete could not list the player's titles");
                        }
                    }
                }
                // Charged what it sent, once done.
                drop(admission);
            })
        };
        fetch.await.ok()?;
        commands::game::cached_choices(&services, &player, partial).await
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    choices_response(choices)
}

/// Discord's autocomplete answer: at most [`MAX_CHOICES`].
fn choices_response(choices: Vec<commands::Choice>) -> serenity::CreateAutocompleteResponse {
    serenity::CreateAutocompleteResponse::new().set_choices(
        choices
            .into_iter()
            .take(MAX_CHOICES)
            .map(|c| serenity::AutocompleteChoice::new(c.name, c.value))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/help` lists exactly the commands Discord is given, subcommands included.
    #[test]
    fn help_lists_every_registered_command() {
        let mut registered: Vec<(String, Vec<String>)> = all_commands()
            .iter()
            .map(|command| {
                let subcommands = command.subcommands.iter().map(|s| s.name.to_string());
                (command.name.to_string(), subcommands.collect())
            })
            .collect();
        let mut listed: Vec<(String, Vec<String>)> = crate::render::HELP_COMMANDS
            .iter()
            .map(|command| {
                let subcommands = command.subcommands.iter().map(|s| s.to_string());
                (command.name.to_string(), subcommands.collect())
            })
            .collect();
        registered.sort();
        listed.sort();
        assert_eq!(registered, listed);
    }
}
