//! Snapshots of the `/link` and `/unlink` replies and the "no linked account" error.

use trophybot::console::text::reply_text;
use trophybot::errors::{error_reply, CommandError};
use trophybot::render::{self, LinkOutcome};

#[test]
fn linked_with_a_code() {
    let reply = render::link(&LinkOutcome::Linked {
        online_id: "sim_hunter".into(),
        code: "TB-7KQ2XM".into(),
        replaced: None,
    });
    assert!(reply.ephemeral());
    insta::assert_json_snapshot!(reply);
}

#[test]
fn linked_replacing_another_account() {
    // Online IDs allow `_` and `-`, which markdown must not read as emphasis.
    let reply = render::link(&LinkOutcome::Linked {
        online_id: "new_name".into(),
        code: "TB-ABCDEF".into(),
        replaced: Some("old__name".into()),
    });
    insta::assert_snapshot!(reply_text(&reply));
    let description = reply.embeds()[0].description.clone().unwrap_or_default();
    assert!(
        description.contains("**old\\_\\_name**"),
        "escaped: {description}"
    );
}

#[test]
fn not_verified_yet() {
    let reply = render::link(&LinkOutcome::NotVerifiedYet {
        online_id: "sim_casual".into(),
        code: "TB-7KQ2XM".into(),
    });
    assert!(reply.ephemeral());
    insta::assert_json_snapshot!(reply);
}

#[test]
fn verified_and_already_verified() {
    let verified = render::link(&LinkOutcome::Verified {
        online_id: "sim_casual".into(),
    });
    let already = render::link(&LinkOutcome::AlreadyVerified {
        online_id: "sim_casual".into(),
    });
    assert!(verified.ephemeral() && already.ephemeral());
    insta::assert_snapshot!(format!(
        "{}\n\n{}",
        reply_text(&verified),
        reply_text(&already)
    ));
}

#[test]
fn unlinked_or_nothing_to_unlink() {
    let removed = render::unlink(Some("sim_casual"));
    let nothing = render::unlink(None);
    assert!(removed.ephemeral() && nothing.ephemeral());
    insta::assert_snapshot!(format!(
        "{}\n\n{}",
        reply_text(&removed),
        reply_text(&nothing)
    ));
}

#[test]
fn no_linked_account() {
    let reply = error_reply(&CommandError::NotLinked);
    assert!(reply.ephemeral());
    let text = reply_text(&reply);
    assert!(text.contains("`user`") && text.contains("/link"), "{text}");
    insta::assert_json_snapshot!(reply);
}
