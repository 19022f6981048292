//! Every command knows its cost: for an untracked player, counted in the simulator's request
//! log, each command cold stays within its cap and within what it was estimated at, and warm it
//! is estimated at and costs nothing (see `support::costs` for how each is run).

use trophybot::commands::shares::cost;

use crate::support::costs::measure_all;

#[tokio::test]
async fn every_command_stays_within_its_cap_cold_and_costs_nothing_warm() {
    let rows = measure_all().await;
    assert_eq!(rows.len(), 9);
    for row in rows {
        let command = &row.command;
        assert!(row.cold.sent > 0, "{command}: a cold run asks PSN");
        assert!(
            row.cold.sent <= cost::CAP as usize,
            "{command}: {} requests cold",
            row.cold.sent
        );
        assert!(
            row.cold.sent <= row.cold.estimate as usize,
            "{command}: sent {} but estimated {}",
            row.cold.sent,
            row.cold.estimate
        );
        assert_eq!(
            row.warm.sent, 0,
            "{command}: warm after {} runs",
            row.warm_run
        );
        assert_eq!(row.warm.estimate, 0, "{command}: estimated warm");
        if !command.starts_with("/rarest user:sim_hunter") || command.contains("game:") {
            assert_eq!(row.warm_run, 2, "{command}: warm at once");
        }
    }
}
