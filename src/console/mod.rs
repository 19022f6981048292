//! `trophybot console`: runs slash commands locally, exactly as the bot would, and prints the
//! replies. Commands are written as in Discord: `/trophies user:ikemenzi game:"Fall Guys"`.

pub mod text;

use std::collections::HashMap;
use std::io::{BufRead, Write};

use psn::{ApiKind, Client, Credential, OnlineId, Secret};

use crate::commands::compare::{self, CompareInput};
use crate::commands::help;
use crate::commands::rarest::{self, RarestInput, DEFAULT_COUNT, MAX_COUNT};
use crate::commands::trophies::{self, TrophiesInput};
use crate::commands::Services;
use crate::config::{Config, Mode};
use crate::errors::{error_reply, CommandError, EXIT_USAGE};
use crate::model::reply::Reply;

/// A command line the console could not accept; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// One parsed slash command.
#[derive(Debug, Clone)]
pub enum Invocation {
    Trophies(TrophiesInput),
    Compare(CompareInput),
    Rarest(RarestInput),
    /// `/help`: the commands and how to link (the console has no server and no Discord user).
    Help,
    /// A well-formed command with an option value PSN would never accept (a malformed online
    /// ID): answered with its error reply, as the bot would, without a request.
    Refused(CommandError),
}

const COMMANDS_HELP: &str = "commands: /trophies user:ID [game:GAME], /compare user:ID \
                             other:ID [game:GAME], /rarest user:ID [game:GAME] [count:1-25], \
                             /help";

/// Parses `/command opt:value ...`; a value with spaces is quoted: `game:"Fall Guys"`.
pub fn parse_command(line: &str) -> Result<Invocation, UsageError> {
    let words = split_words(line)?;
    let Some((command, options)) = words.split_first() else {
        return Err(UsageError(format!("no command given; {COMMANDS_HELP}")));
    };
    let (allowed, name): (&[&str], &str) = match command.as_str() {
        "/trophies" => (&["user", "game"], "trophies"),
        "/compare" => (&["user", "other", "game"], "compare"),
        "/rarest" => (&["user", "game", "count"], "rarest"),
        "/help" if options.is_empty() => return Ok(Invocation::Help),
        "/help" => return Err(UsageError("/help has no options".into())),
        // These act on a Discord server and a Discord user, which the console does not have.
        server_command @ ("/track" | "/settings" | "/leaderboard" | "/trophy" | "/link"
        | "/unlink") => {
            return Err(UsageError(format!(
                "{server_command} works in a Discord server only: it acts on the server's \
                 tracked accounts or on your Discord account; {COMMANDS_HELP}"
            )))
        }
        other => {
            return Err(UsageError(format!(
                "unknown command {other:?}; {COMMANDS_HELP}"
            )))
        }
    };
    let mut values: HashMap<&str, String> = HashMap::new();
    for option in options {
        let Some((key, value)) = option.split_once(':') else {
            return Err(UsageError(format!(
                "{option:?} is not an option: write name:value, such as user:ikemenzi"
            )));
        };
        let Some(key) = allowed.iter().find(|a| **a == key) else {
            return Err(UsageError(format!(
                "/{name} has no option {key:?}; its options are {}",
                allowed.join(", ")
            )));
        };
        if value.trim().is_empty() {
            return Err(UsageError(format!("option {key} has no value")));
        }
        if values.insert(key, value.to_string()).is_some() {
            return Err(UsageError(format!("option {key} is given twice")));
        }
    }
    // The console has no Discord caller, hence no linked PSN account to default to.
    let user = values.remove("user").ok_or_else(|| {
        UsageError(format!(
            "/{name} needs user:ONLINE_ID here: the console has no linked PSN account to use"
        ))
    })?;
    let other = match name {
        "compare" => Some(values.remove("other").ok_or_else(|| {
            UsageError("/compare needs other:ONLINE_ID, the account to compare with".into())
        })?),
        _ => None,
    };
    let (user, other) = match (
        OnlineId::parse(&user),
        other.as_deref().map(OnlineId::parse),
    ) {
        (Err(err), _) | (_, Some(Err(err))) => return Ok(Invocation::Refused(err.into())),
        (Ok(user), other) => (user, other.and_then(Result::ok)),
    };
    let game = values.remove("game");
    Ok(match (name, other) {
        ("trophies", _) => Invocation::Trophies(TrophiesInput { user, game }),
        (_, Some(other)) => Invocation::Compare(CompareInput { user, other, game }),
        _ => {
            let count = match values.remove("count") {
                None => DEFAULT_COUNT,
                Some(count) => count
                    .parse::<i64>()
                    .ok()
                    .and_then(|n| rarest::count(n).ok())
                    .ok_or_else(|| {
                        UsageError(format!(
                            "count:{count} is not a number from 1 to {MAX_COUNT}"
                        ))
                    })?,
            };
            Invocation::Rarest(RarestInput { user, game, count })
        }
    })
}

/// Splits on whitespace, keeping double-quoted parts (`\"` and `\\` escaped) together.
fn split_words(line: &str) -> Result<Vec<String>, UsageError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if quoted => match chars.next() {
                Some(next) => word.push(next),
                None => return Err(UsageError("a quoted value ends with \\".into())),
            },
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(UsageError("a quoted value has no closing quote".into()));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Runs one parsed command.
pub async fn execute(services: &Services, invocation: Invocation) -> Result<Reply, CommandError> {
    match invocation {
        Invocation::Trophies(input) => trophies::run(services, input).await,
        Invocation::Compare(input) => compare::run(services, input).await,
        Invocation::Rarest(input) => {
            // The console is exempt from shares and answers only once: it covers every one of
            // the recent titles before it answers.
            rarest::run(services, input, None).await
        }
        Invocation::Help => Ok(help::general()),
        Invocation::Refused(err) => Err(err),
    }
}

/// `trophybot console` options.
#[derive(Debug, Clone, Default)]
pub struct ConsoleArgs {
    pub json: bool,
    pub sim: bool,
    /// One command; `None` reads commands from stdin.
    pub command: Option<String>,
}

/// Runs the console and returns the process exit code.
pub async fn run(args: ConsoleArgs) -> i32 {
    // A single command is checked before anything starts: a usage error sends nothing.
    let single = match args.command.as_deref().map(parse_command) {
        Some(Ok(invocation)) => Some(invocation),
        Some(Err(err)) => {
            eprintln!("error: {err}");
            return EXIT_USAGE;
        }
        None => None,
    };
    // `/help` asks nothing of PSN: it answers even where PSN is not configured.
    if let Some(Invocation::Help) = single {
        print_reply(&help::general(), args.json);
        return 0;
    }
    // Kept alive while commands run: dropping it stops the simulator.
    let mut _sim_server = None;
    // The image cards' picture hosts: the simulator's own, or the configured ones.
    let image_hosts: Vec<String>;
    let client = if args.sim {
        let sim = psn_sim::Sim::new(psn_sim::SimConfig::default());
        let server = match sim.serve(([127, 0, 0, 1], 0).into()).await {
            Ok(server) => server,
            Err(err) => {
                eprintln!("error: cannot start the PSN simulator: {err}");
                return EXIT_USAGE;
            }
        };
        let config = psn::Config::new(
            ApiKind::Modern,
            Credential::Npsso(Secret::new(psn_sim::SIM_NPSSO)),
        )
        .with_base_url(&server.base_url);
        image_hosts = vec![server.addr.to_string()];
        _sim_server = Some(server);
        Client::new(config)
    } else {
        match Config::from_env(Mode::Console) {
            Ok(config) => {
                image_hosts = config.image_hosts;
                Client::new(config.psn)
            }
            Err(err) => {
                eprintln!("error: {err}\n(or use --sim to try the console with the built-in PSN simulator)");
                return EXIT_USAGE;
            }
        }
    };
    let services = match client {
        Ok(client) => {
            Services::new(client).with_cards(Some(crate::cards::CardMaker::new(image_hosts)))
        }
        Err(err) => {
            eprintln!("error: cannot set up the PSN client: {err}");
            return EXIT_USAGE;
        }
    };

    if let Some(invocation) = single {
        return answer(&services, invocation, args.json).await;
    }
    let mut last_error = 0;
    // Reading stdin blocks; the REPL is interactive, so blocking between commands is fine.
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(line) => line,
            Err(err) => {
                eprintln!("error: cannot read stdin: {err}");
                return EXIT_USAGE;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let code = match parse_command(&line) {
            Ok(invocation) => answer(&services, invocation, args.json).await,
            Err(err) => {
                eprintln!("error: {err}");
                EXIT_USAGE
            }
        };
        if code != 0 {
            last_error = code;
        }
    }
    last_error
}

/// Runs `invocation`, prints its reply (or error reply) and returns the exit code.
async fn answer(services: &Services, invocation: Invocation, json: bool) -> i32 {
    let (reply, code) = match execute(services, invocation).await {
        Ok(reply) => (reply, 0),
        Err(err) => (error_reply(&err), err.exit_code()),
    };
    print_reply(&reply, json);
    code
}

fn print_reply(reply: &Reply, json: bool) {
    let text = if json {
        // Serializing plain strings, numbers and bools cannot fail.
        serde_json::to_string(reply).unwrap_or_default()
    } else {
        format!("{}\n", text::reply_text(reply))
    };
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (a pipe whose reader left) is not worth a panic.
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> OnlineId {
        OnlineId::parse(text).expect("a valid online ID")
    }

    #[test]
    fn parses_discord_like_commands() {
        let parsed = |line: &str| format!("{:?}", parse_command(line).expect(line));
        let expected = |invocation: Invocation| format!("{invocation:?}");
        assert_eq!(
            parsed(r#"/trophies user:ikemenzi game:"Fall Guys""#),
            expected(Invocation::Trophies(TrophiesInput {
                user: id("ikemenzi"),
                game: Some("Fall Guys".into())
            }))
        );
        assert_eq!(
            parsed("/rarest user:a1b count:5"),
            expected(Invocation::Rarest(RarestInput {
                user: id("a1b"),
                game: None,
                count: 5
            }))
        );
        assert_eq!(
            parsed("  /compare   other:bob user:ann "),
            expected(Invocation::Compare(CompareInput {
                user: id("ann"),
                other: id("bob"),
                game: None
            }))
        );
        assert_eq!(parsed(" /help "), expected(Invocation::Help));
        assert_eq!(
            parsed(r#"/trophies user:xyz game:"say \"hi\"""#),
            expected(Invocation::Trophies(TrophiesInput {
                user: id("xyz"),
                game: Some("say \"hi\"".into())
            }))
        );
    }

    #[test]
    fn a_malformed_online_id_is_refused_without_a_request() {
        for line in ["/trophies user:1x", "/compare user:ann other:b!"] {
            assert!(
                matches!(
                    parse_command(line),
                    Ok(Invocation::Refused(CommandError::Psn(
                        psn::Error::InvalidOnlineId(_)
                    )))
                ),
                "{line}"
            );
        }
    }

    #[test]
    fn rejects_bad_usage_with_a_reason() {
        for (line, expected) in [
            ("/nope user:a", "unknown command"),
            ("/track list", "Discord server only"),
            ("/link user:a", "Discord server only"),
            ("/trophy game:Minecraft trophy:1", "Discord server only"),
            ("/help user:a", "no options"),
            ("/trophies user:abc colour:red", "no option \"colour\""),
            ("/trophies", "no linked PSN account"),
            ("/compare user:abc", "other:ONLINE_ID"),
            ("/rarest user:abc count:26", "1 to 25"),
            ("/rarest user:abc count:x", "1 to 25"),
            ("/trophies user:a user:b", "twice"),
            ("/trophies user:a bare", "not an option"),
            (r#"/trophies user:a game:"open"#, "closing quote"),
            ("", "no command"),
        ] {
            let err = parse_command(line).expect_err(line);
            assert!(err.0.contains(expected), "{line}: {err}");
        }
    }
}
