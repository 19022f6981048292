//! Test hooks that stop the bot at one step of an announcement's way (poll → outbox → post →
//! mark), so a test can SIGKILL it exactly there and check that nothing is lost or posted twice.
//! `TROPHYBOT_FAILPOINT=<name>` (read by `config`) arms one; never set it in production.

/// A step the bot can be stopped at, in the order an announcement passes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// The tracker found new trophies and has not written them (nor their announcements) yet.
    PollBeforeCommit,
    /// The trophies and their announcements are committed; the deliverer was not told yet.
    PollAfterCommit,
    /// The deliverer holds a claim on the row and has recorded no attempt.
    DeliverAfterClaim,
    /// The attempt is recorded; nothing was sent to Discord yet.
    DeliverBeforePost,
    /// Discord has the message; the row is not marked sent.
    DeliverAfterPost,
    /// The row is marked sent.
    DeliverAfterMark,
}

impl Failpoint {
    pub const ALL: [Failpoint; 6] = [
        Failpoint::PollBeforeCommit,
        Failpoint::PollAfterCommit,
        Failpoint::DeliverAfterClaim,
        Failpoint::DeliverBeforePost,
        Failpoint::DeliverAfterPost,
        Failpoint::DeliverAfterMark,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Failpoint::PollBeforeCommit => "poll-before-commit",
            Failpoint::PollAfterCommit => "poll-after-commit",
            Failpoint::DeliverAfterClaim => "deliver-after-claim",
            Failpoint::DeliverBeforePost => "deliver-before-post",
            Failpoint::DeliverAfterPost => "deliver-after-post",
            Failpoint::DeliverAfterMark => "deliver-after-mark",
        }
    }

    pub fn parse(name: &str) -> Option<Failpoint> {
        Failpoint::ALL
            .into_iter()
            .find(|point| point.name() == name)
    }
}

/// At step `here`: when `armed` is this step, logs `failpoint <name> reached` at error level
/// and never returns (the test kills the process); otherwise returns at once.
pub async fn stop_if_armed(armed: Option<Failpoint>, here: Failpoint) {
    if armed == Some(here) {
        tracing::error!("failpoint {} reached", here.name());
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for point in Failpoint::ALL {
            assert_eq!(Failpoint::parse(point.name()), Some(point));
        }
        assert_eq!(Failpoint::parse("deliver-after-lunch"), None);
    }
}
