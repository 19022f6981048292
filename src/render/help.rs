//! `/help`: every command with an example, what the server tracks, and the caller's PSN link.
//! Only the caller sees it. The console shows the general part: it has no server and no
//! Discord user.

use super::leaderboard::NOBODY_TRACKED;
use super::track::{announce_channel, announcing_line};
use super::COLOR_INFO;
use crate::model::reply::{Embed, Reply};
use crate::model::{GuildSettings, TrackedAccount};
use crate::render::markdown::escape_markdown;

/// Who may use a command, as `/help` marks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// In a server, not in direct messages.
    InServers,
    /// In a server, for members with Manage Server.
    ManageServer,
}

/// One slash command as `/help` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHelp {
    /// The name Discord registers, without the slash.
    pub name: &'static str,
    pub subcommands: &'static [&'static str],
    pub access: Access,
    /// One line: what it answers.
    pub what: &'static str,
    pub example: &'static str,
}

impl CommandHelp {
    /// `/track add|remove|list · Manage Server`
    fn heading(&self) -> String {
        let mut heading = format!("/{}", self.name);
        if !self.subcommands.is_empty() {
            heading.push(' ');
            heading.push_str(&self.subcommands.join("|"));
        }
        match self.access {
            Access::Anyone => {}
            Access::InServers => heading.push_str(" · in servers"),
            Access::ManageServer => heading.push_str(" · Manage Server"),
        }
        heading
    }
}

/// Every slash command, in the README's order. A test of `bot::slash` holds it to the commands
/// the bot registers, so a new command cannot be left out.
pub const HELP_COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        name: "trophies",
        subcommands: &[],
        access: Access::Anyone,
        what: "A PSN profile: level, trophy counts and recent games; with `game`, that game's \
               trophy list.",
        example: "/trophies user:ikemenzi game:Minecraft",
    },
    CommandHelp {
        name: "compare",
        subcommands: &[],
        access: Access::Anyone,
        what: "Two PSN accounts side by side; with `game`, trophy by trophy.",
        example: "/compare user:ikemenzi other:PlayerTwo",
    },
    CommandHelp {
        name: "rarest",
        subcommands: &[],
        access: Access::Anyone,
        what: "The rarest trophies someone has earned, in one game or across their recent ones.",
        example: "/rarest user:ikemenzi count:5",
    },
    CommandHelp {
        name: "track",
        subcommands: &["add", "remove", "list"],
        access: Access::ManageServer,
        what: "Follow a PSN account: its new trophies are announced in a channel of the server. \
               `remove` stops that; `list` shows every tracked account.",
        example: "/track add user:ikemenzi channel:#trophies",
    },
    CommandHelp {
        name: "settings",
        subcommands: &[],
        access: Access::ManageServer,
        what: "The server's announce channel, which trophies are announced (all, gold and \
               up, platinum only, or rarer than a percentage), the language of names, which \
               milestones are posted (Nth platinum, new trophy level tier, game completed, \
               rarest trophy ever), and the weekly recap's day, hour and time zone.",
        example: "/settings filter:gold and up",
    },
    CommandHelp {
        name: "leaderboard",
        subcommands: &[],
        access: Access::InServers,
        what: "The server's tracked players ranked by trophy points: all time, or earned this \
               month or this week (`period`).",
        example: "/leaderboard period:this week",
    },
    CommandHelp {
        name: "trophy",
        subcommands: &[],
        access: Access::InServers,
        what: "Who among the server's tracked players has a trophy, with the date each earned \
               it, first first (`game` and `trophy` offer choices as you type).",
        example: "/trophy game:ASTRO BOT trophy:Gotta Rescue 'Em All",
    },
    CommandHelp {
        name: "link",
        subcommands: &[],
        access: Access::Anyone,
        what: "Link your PSN account, so commands use it when you leave out `user`; run it again \
               to verify the account is yours.",
        example: "/link user:ikemenzi",
    },
    CommandHelp {
        name: "unlink",
        subcommands: &[],
        access: Access::Anyone,
        what: "Remove the link to your PSN account.",
        example: "/unlink",
    },
    CommandHelp {
        name: "help",
        subcommands: &[],
        access: Access::Anyone,
        what: "This help, shown only to you.",
        example: "/help",
    },
];

/// Accounts the server section names at most; `/leaderboard` shows them all.
pub const HELP_ACCOUNTS_SHOWN: usize = 10;

/// What a server tracks, as `/track list` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTracking {
    pub settings: GuildSettings,
    /// By online ID, as the store lists them.
    pub accounts: Vec<TrackedAccount>,
}

/// The caller's `/link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerLink {
    pub online_id: String,
    pub verified: bool,
}

/// Whom the help is for.
#[derive(Debug, Clone, PartialEq)]
pub enum HelpFor {
    /// `trophybot console`: the commands and how to link, nothing about a server or a link.
    Console,
    /// A Discord user, in a server (`Some`) or a direct message (`None`).
    Discord {
        server: Option<ServerTracking>,
        link: Option<CallerLink>,
    },
}

const INTRO: &str = "PlayStation Network trophies in Discord. `user` is a PSN online ID (leave it \
                     out once you `/link` yours); `game` is a game's name, offered as you type, \
                     or its npCommunicationId (`NPWR12345_00`).";

const USES_LINK: &str = "`/trophies`, `/rarest` and `/compare` use it when you leave out `user`";

fn how_to_link() -> String {
    format!(
        "`/link user:YOUR_ONLINE_ID` links your Discord account to your PSN account: \
         {USES_LINK}. To prove it is yours, put the code `/link` gives you in your PSN \"About \
         me\" and run `/link` again (verified links show ✓ on `/leaderboard`)."
    )
}

/// The reply to `/help`, ephemeral.
pub fn help(help: &HelpFor) -> Reply {
    let mut embed = Embed::new()
        .title("TrophyBot help")
        .description(INTRO)
        .color(COLOR_INFO);
    for command in HELP_COMMANDS {
        embed = embed.field(
            command.heading(),
            format!("{}\n`{}`", command.what, command.example),
            false,
        );
    }
    embed = match help {
        HelpFor::Console => embed
            .field(
                "Linking your PSN account",
                format!(
                    "In Discord, {}\nThe console has no Discord account: give `user` every time.",
                    how_to_link()
                ),
                false,
            )
            .footer(
                "The console runs /trophies, /compare, /rarest and /help; the other commands act \
                 on a Discord server or account and work in Discord.",
            ),
        HelpFor::Discord { server, link } => {
            let embed = match server {
                Some(server) => embed.field("In this server", server_text(server), false),
                None => embed.field(
                    "Tracking players",
                    "Tracking belongs to a server: `/track`, `/settings` and `/leaderboard` \
                     work in servers, not in direct messages.",
                    false,
                ),
            };
            embed.field("Your PSN link", link_text(link.as_ref()), false)
        }
    };
    Reply::new(None, vec![embed], Vec::new(), true)
}

/// The server's accounts, grouped by the channel their announcements go to, and its filter.
fn server_text(server: &ServerTracking) -> String {
    let accounts = &server.accounts;
    if accounts.is_empty() {
        return NOBODY_TRACKED.to_string();
    }
    let plural = if accounts.len() == 1 { "" } else { "s" };
    let mut lines = vec![
        format!("Tracking **{}** PSN account{plural}.", accounts.len()),
        announcing_line(&server.settings),
    ];
    // In order of first appearance, so the store's order (by online ID) is kept within each.
    let mut by_channel: Vec<(String, Vec<String>)> = Vec::new();
    for account in accounts.iter().take(HELP_ACCOUNTS_SHOWN) {
        let channel = announce_channel(account, &server.settings);
        let name = format!("**{}**", escape_markdown(&account.online_id));
        match by_channel.iter_mut().find(|(c, _)| *c == channel) {
            Some((_, names)) => names.push(name),
            None => by_channel.push((channel, vec![name])),
        }
    }
    lines.extend(
        by_channel
            .into_iter()
            .map(|(channel, names)| format!("{} → {channel}", names.join(", "))),
    );
    let more = accounts.len().saturating_sub(HELP_ACCOUNTS_SHOWN);
    lines.push(if more > 0 {
        format!("…and {more} more. `/leaderboard` ranks them all.")
    } else {
        "`/leaderboard` ranks them.".to_string()
    });
    lines.join("\n")
}

fn link_text(link: Option<&CallerLink>) -> String {
    match link {
        None => format!("You have not linked a PSN account. {}", how_to_link()),
        Some(CallerLink {
            online_id,
            verified: true,
        }) => format!(
            "Linked to **{}** ✓ (verified). {USES_LINK}; `/unlink` removes the link.",
            escape_markdown(online_id)
        ),
        Some(CallerLink {
            online_id,
            verified: false,
        }) => {
            let name = escape_markdown(online_id);
            format!(
                "Linked to **{name}**, not verified yet: `/link` shows your code; put it in the \
                 PSN \"About me\" of **{name}** and run `/link` again. {USES_LINK}; `/unlink` \
                 removes the link."
            )
        }
    }
}
