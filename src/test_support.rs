//! Fixtures shared by the unit tests of several modules.

use psn::{TitleProgress, TrophyCounts};

/// A listed title with nothing defined or earned and no update time; tests set what they
/// look at with struct update syntax.
pub(crate) fn title_progress() -> TitleProgress {
    TitleProgress {
        np_communication_id: "NPWR00001_00".into(),
        service: None,
        name: "Game".into(),
        detail: None,
        icon_url: None,
        platforms: vec![],
        has_groups: false,
        defined: TrophyCounts::default(),
        earned: TrophyCounts::default(),
        progress: 0,
        hidden: false,
        last_updated: None,
    }
}
