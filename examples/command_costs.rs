//! Prints the table of BENCHMARKS.md "PSN requests per command in the bot": every command's
//! cold and warm cost in PSN requests against its cap, counted in the simulator's request log
//! (see `tests/support/costs.rs`; `tests/commands/costs.rs` asserts the caps).
//!
//! ```text
//! cargo run --example command_costs
//! ```

// The parts of the tests' support this needs (the rest drives the bot's binary); `costs`
// finds the simulator helpers as `super::…`.
#[path = "../tests/support/costs.rs"]
mod costs;
#[path = "../tests/support/sim.rs"]
#[allow(
    dead_code,
    reason = "the tests use more of the simulator helpers than this"
)]
mod sim;

use sim::{sim_client, start_sim};

#[tokio::main]
async fn main() {
    println!("| command | cap | cold: estimated / sent | warm: estimated / sent |");
    println!("| --- | --- | --- | --- |");
    for row in costs::measure_all().await {
        let warm = if row.warm_run == 2 {
            String::new()
        } else {
            format!(" (run {})", row.warm_run)
        };
        println!(
            "| {} | {} | {} / {} | {} / {}{warm} |",
            row.command,
            row.cap,
            row.cold.estimate,
            row.cold.sent,
            row.warm.estimate,
            row.warm.sent
        );
    }
}
