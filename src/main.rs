//! `trophybot`: the Discord bot, its console and the PSN simulator.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use trophybot::config::{load_dotenv, log_filter_from_env, DEFAULT_LOG_FILTER};
use trophybot::console::{self, ConsoleArgs};
use trophybot::errors::EXIT_USAGE;

#[derive(Debug, Parser)]
#[command(name = "trophybot", version, about = "PlayStation trophies in Discord")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the bot (the default).
    Run,
    /// Runs one slash command locally and prints the reply; with no command, reads one per line
    /// from stdin.
    Console {
        /// Print the reply as Discord's message payload (JSON).
        #[arg(long)]
        json: bool,
        /// Use the built-in PSN simulator instead of PSN.
        #[arg(long)]
        sim: bool,
        /// The command, e.g. '/trophies user:ikemenzi game:"Fall Guys"'.
        command: Vec<String>,
    },
    /// Serves the PSN simulator; the first line on stdout is its base URL.
    Sim {
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
    },
    /// Applies the database migrations and exits.
    Migrate,
    /// Asks the running bot's /healthz (on HTTP_ADDR); exits 0 when healthy, 1 otherwise.
    Healthcheck,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    load_dotenv();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return exit(EXIT_USAGE);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            None | Some(Command::Run) => trophybot::bot::run_from_env().await,
            Some(Command::Migrate) => trophybot::store::migrate_from_env().await,
            Some(Command::Console { json, sim, command }) => {
                let command = (!command.is_empty()).then(|| command.join(" "));
                console::run(ConsoleArgs { json, sim, command }).await
            }
            Some(Command::Sim { addr }) => serve_sim(addr).await,
            Some(Command::Healthcheck) => trophybot::ops::healthcheck_from_env(),
        }
    });
    exit(code)
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Logs go to stderr: stdout carries only replies (console) and the base URL (sim).
fn init_logging() {
    let filter = EnvFilter::try_new(log_filter_from_env())
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: container logs and files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn serve_sim(addr: SocketAddr) -> i32 {
    // Listening before the base URL is printed: whoever reads it may stop us at once.
    let stop = trophybot::shutdown::requested();
    let sim = psn_sim::Sim::new(psn_sim::SimConfig::default());
    let server = match sim.serve(addr).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("error: cannot serve the PSN simulator on {addr}: {err}");
            return EXIT_USAGE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{}", server.base_url)
            .and_then(|()| stdout.flush())
            .is_err()
        {
            eprintln!("error: cannot write the base URL to stdout");
            return EXIT_USAGE;
        }
    }
    tracing::info!(base_url = %server.base_url, "PSN simulator serving; Ctrl-C or SIGTERM stops it");
    stop.await;
    server.shutdown().await;
    0
}
