//! `/leaderboard`: for every member of a server.

use crate::bot::data::{BotError, Context};
use crate::bot::respond::{ReplyExt, Visibility};
use crate::commands::leaderboard;
use crate::model::LeaderboardPeriod;

/// `/leaderboard period`'s choices.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum PeriodChoice {
    #[name = "all time"]
    AllTime,
    #[name = "this month"]
    ThisMonth,
    #[name = "this week"]
    ThisWeek,
}

impl From<PeriodChoice> for LeaderboardPeriod {
    fn from(choice: PeriodChoice) -> LeaderboardPeriod {
        match choice {
            PeriodChoice::AllTime => LeaderboardPeriod::AllTime,
            PeriodChoice::ThisMonth => LeaderboardPeriod::ThisMonth,
            PeriodChoice::ThisWeek => LeaderboardPeriod::ThisWeek,
        }
    }
}

/// The server's tracked players ranked by trophy points, all time or this month or week.
#[poise::command(slash_command, guild_only)]
pub async fn leaderboard(
    ctx: Context<'_>,
    #[description = "Rank by all-time points (default) or points earned this month or week"]
    period: Option<PeriodChoice>,
) -> Result<(), BotError> {
    let Some(guild_id) = ctx.guild_id() else {
        return Ok(());
    };
    let (data, http) = (ctx.data(), ctx.http());
    // Deferred: showing a verified link may take a question to Discord per row.
    let period = period.map(Into::into).unwrap_or_default();
    let work = leaderboard::run(
        &data.store,
        guild_id.get(),
        period,
        chrono::Utc::now(),
        |user| data.members.is_member(http, guild_id.get(), user),
    );
    ctx.responder().after(Visibility::Everyone, work).await?;
    Ok(())
}
