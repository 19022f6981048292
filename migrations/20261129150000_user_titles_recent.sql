-- Game autocomplete reads a tracked player's most recently updated titles, a bounded number of
-- them, per keystroke: this index serves that read in order, from the index alone.
CREATE INDEX user_titles_recent
    ON user_titles (account_id, last_updated DESC NULLS LAST, np_communication_id)
    INCLUDE (name, platform);
