//! serenity's REST client for the fake Discord, as tests that drive the deliverer directly use it.

/// A serenity REST client for `discord` with serenity's own rate limiter off, for tests that
/// drive the deliverer directly (on tokio's paused clock, where that limiter fails its
/// requests); the e2e suite runs the bot's own client with the limiter on.
pub fn unlimited_discord_http(
    discord: &discord_fake::FakeDiscord,
) -> std::sync::Arc<serenity::http::Http> {
    std::sync::Arc::new(
        serenity::http::HttpBuilder::new(&discord.config().token)
            .proxy(discord.origin())
            .ratelimiter_disabled(true)
            .build(),
    )
}
