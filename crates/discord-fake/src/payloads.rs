//! Discord's JSON shapes, as serenity deserializes them (ids as strings, RFC 3339 timestamps).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::model::{FakeChannel, FakeGuild, FakeUser, MEMBER_PERMISSIONS};

pub const GUILD_TEXT: u64 = 0;

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

pub fn channel(guild_id: u64, channel: &FakeChannel, position: usize) -> Value {
    json!({
        "id": channel.id.to_string(),
        "guild_id": guild_id.to_string(),
        "type": GUILD_TEXT,
        "name": channel.name,
        "position": position,
        "permission_overwrites": [],
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
