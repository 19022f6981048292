//! The operator's view of the PSN budget split: every minute the command shares' use goes to
//! the metrics (`trophybot_command_share_*`) and, when it changed and commands spent anything,
//! to the log with the tracker's part beside it.

use std::time::Duration;

use crate::commands::shares::{Overview, Shares};
use crate::commands::track::BudgetSplit;
use crate::ops::Metrics;

const REPORT_INTERVAL: Duration = Duration::from_secs(60);

pub fn spawn_share_report(
    shares: Shares,
    metrics: Metrics,
    split: BudgetSplit,
    background: &super::data::Background,
) {
    let cancel = background.cancel.clone();
    background.tasks.spawn(async move {
        let mut ticks = tokio::time::interval(REPORT_INTERVAL);
        let mut logged = Overview::default();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let overview = shares.overview();
            metrics.set_command_shares(overview);
            if overview != logged && overview.commands_used > 0 {
                tracing::info!(
                    window_secs = split.window.as_secs(),
                    tracker_share = split.tracker,
                    command_part = split.requests.saturating_sub(split.tracker),
                    commands_used = overview.commands_used,
                    users_near_limit = overview.users_near_limit,
                    servers_near_limit = overview.servers_near_limit,
                    "PSN budget split: the tracker's guaranteed part and the commands' use of the window"
                );
            }
            logged = overview;
        }
    });
}
