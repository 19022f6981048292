//! Discord's JSON shapes, as serenity deserializes them (ids as strings, RFC 3339 timestamps).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::model::{FakeChannel, FakeGuild, FakeUser, MEMBER_PERMISSIONS};

/// Discord's option type of a channel option.
const OPTION_CHANNEL: u64 = 7;

pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, false)
}

pub fn user(user: &FakeUser, bot: bool) -> Value {
    json!({
        "id": user.id.to_string(),
        "username": user.name,
        "discriminator": "0",
        "global_name": user.name,
        "avatar": null,
        "bot": bot,
        "flags": 0,
        "public_flags": 0,
    })
}

pub fn member(user_json: Value, joined_at: DateTime<Utc>) -> Value {
    json!({
        "user": user_json,
        "nick": null,
        "avatar": null,
        "roles": [],
        "joined_at": timestamp(joined_at),
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    })
}

/// The member object inside an interaction, which carries the member's computed permissions.
pub fn interaction_member(user: &FakeUser, joined_at: DateTime<Utc>) -> Value {
    let mut member = member(self::user(user, false), joined_at);
    member["permissions"] = json!(user.permissions.to_string());
    member
}

pub fn everyone_role(guild_id: u64) -> Value {
    json!({
        "id": guild_id.to_string(),
        "name": "@everyone",
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": 0,
        "permissions": MEMBER_PERMISSIONS.to_string(),
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

/// A channel's permission overwrites. What the channel denies the bot is denied to @everyone
/// (whose role id is the guild's): the bot has no other role, so the denial applies to it.
fn permission_overwrites(guild_id: u64, channel: &FakeChannel) -> Value {
    if channel.bot_denied == 0 {
        return json!([]);
    }
    json!([{
        "id": guild_id.to_string(),
        "type": 0,
        "allow": "0",
        "deny": channel.bot_denied.to_string(),
    }])
}

pub fn channel(guild_id: u64, channel: &FakeChannel, position: usize) -> Value {
    json!({
        "id": channel.id.to_string(),
        "guild_id": guild_id.to_string(),
        "type": channel.kind,
        "name": channel.name,
        "position": position,
        "permission_overwrites": permission_overwrites(guild_id, channel),
        "nsfw": false,
        "topic": null,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "flags": 0,
    })
}

/// The full guild of GUILD_CREATE; REST `GET /guilds/{id}` serves the same object (serenity's
/// `PartialGuild` ignores the extra fields).
pub fn guild(guild: &FakeGuild, bot: &FakeUser, joined_at: DateTime<Utc>) -> Value {
    let channels: Vec<Value> = guild
        .channels
        .iter()
        .enumerate()
        .map(|(position, c)| channel(guild.id, c, position))
        .collect();
    let members: Vec<Value> = std::iter::once(member(user(bot, true), joined_at))
        .chain(
            guild
                .members
                .iter()
                .map(|m| member(user(m, false), joined_at)),
        )
        .collect();
    json!({
        "id": guild.id.to_string(),
        "name": guild.name,
        "icon": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": guild.owner_id.to_string(),
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [everyone_role(guild.id)],
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": guild.channels.first().map(|c| c.id.to_string()),
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "joined_at": timestamp(joined_at),
        "large": false,
        "unavailable": false,
        "member_count": members.len(),
        "voice_states": [],
        "members": members,
        "channels": channels,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
    })
}

/// `data.resolved` of a command interaction: every channel named by a channel option (at any
/// depth of subcommands), as Discord sends them, so serenity resolves the option. `None` when
/// no option names a channel of the guild.
pub fn resolved(guild: &FakeGuild, options: &Value) -> Option<Value> {
    fn channel_ids(options: &Value, out: &mut Vec<u64>) {
        for option in options.as_array().into_iter().flatten() {
            if option["type"].as_u64() == Some(OPTION_CHANNEL) {
                let id = match &option["value"] {
                    Value::String(s) => s.parse().ok(),
                    other => other.as_u64(),
                };
                out.extend(id);
            }
            channel_ids(&option["options"], out);
        }
    }
    let mut ids = Vec::new();
    channel_ids(options, &mut ids);
    let channels: serde_json::Map<String, Value> = ids
        .into_iter()
        .filter_map(|id| guild.channels.iter().find(|c| c.id == id))
        .map(|c| {
            (
                c.id.to_string(),
                json!({
                    "id": c.id.to_string(),
                    "name": c.name,
                    "type": c.kind,
                    "permissions": (MEMBER_PERMISSIONS & !c.bot_denied).to_string(),
                    "parent_id": null,
                }),
            )
        })
        .collect();
    (!channels.is_empty()).then(|| json!({ "channels": channels }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CHANNEL_VOICE, EMBED_LINKS, SEND_MESSAGES};

    fn guild() -> FakeGuild {
        FakeGuild::new(100, "Trophy Room")
            .channel(200, "general")
            .voice_channel(210, "Lounge")
            .channel_denying_bot(211, "read-only", SEND_MESSAGES | EMBED_LINKS)
    }

    #[test]
    fn guild_create_carries_channel_types_overwrites_roles_and_the_bot() {
        let bot = FakeUser::new(9, "TrophyBot");
        let json = super::guild(&guild(), &bot, Utc::now());
        let channels = json["channels"].as_array().expect("channels");
        assert_eq!(channels[0]["type"], 0);
        assert_eq!(channels[1]["type"], CHANNEL_VOICE);
        assert_eq!(channels[0]["permission_overwrites"], json!([]));
        assert_eq!(
            channels[2]["permission_overwrites"],
            json!([{"id": "100", "type": 0, "allow": "0",
                    "deny": (SEND_MESSAGES | EMBED_LINKS).to_string()}])
        );
        assert_eq!(json["roles"][0]["id"], "100", "the @everyone role");
        assert_eq!(json["members"][0]["user"]["id"], "9", "the bot's member");
        assert_eq!(json["members"][0]["user"]["bot"], true);
    }

    #[test]
    fn channel_options_are_resolved_at_any_depth() {
        let options = json!([{"name": "add", "type": 1, "options": [
            {"name": "user", "type": 3, "value": "sim_casual"},
            {"name": "channel", "type": 7, "value": "211"},
        ]}]);
        let resolved = resolved(&guild(), &options).expect("a channel option");
        let channel = &resolved["channels"]["211"];
        assert_eq!(channel["name"], "read-only");
        assert_eq!(channel["type"], 0);
        let permissions: u64 = channel["permissions"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .expect("permissions");
        assert_eq!(permissions & SEND_MESSAGES, 0);
        // No channel option, or a channel of another guild: nothing to resolve.
        assert_eq!(
            resolved_none(json!([{"name": "user", "type": 3, "value": "x"}])),
            None
        );
        assert_eq!(
            resolved_none(json!([{"name": "channel", "type": 7, "value": "999"}])),
            None
        );
    }

    fn resolved_none(options: Value) -> Option<Value> {
        resolved(&guild(), &options)
    }
}
