-- Polls (crates/core/src/polls.rs). A poll is a message of kind 'poll' whose body is the
-- question; this row holds the rest of its definition. Votes and closes are kept as events, and
-- the tally is computed from them (the same result in whatever order they arrived).
CREATE TABLE polls (
    message_id         INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    options            TEXT NOT NULL,              -- JSON array of the option texts
    multiple           INTEGER NOT NULL DEFAULT 0,
    anonymous          INTEGER NOT NULL DEFAULT 0,
    quiz_correct       INTEGER,                    -- NULL: not a quiz
    explanation        TEXT NOT NULL DEFAULT '',
    closes_at          INTEGER,                    -- Unix ms; NULL: no close time
    hide_results       INTEGER NOT NULL DEFAULT 0,
    no_revote          INTEGER NOT NULL DEFAULT 0,
    -- An anonymous poll of someone else: the creator's latest published counts (JSON array),
    -- its voter count, revision and close time.
    tally              TEXT NOT NULL DEFAULT '',
    tally_voters       INTEGER NOT NULL DEFAULT 0,
    tally_revision     INTEGER NOT NULL DEFAULT 0,
    tally_closed_at    INTEGER,
    -- An anonymous poll of ours: the last revision we published.
    published_revision INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE poll_events (
    poll_id  INTEGER NOT NULL REFERENCES polls (message_id) ON DELETE CASCADE,
    uid      BLOB NOT NULL,              -- the event's message id
    voter_id INTEGER NOT NULL,           -- the contact; 0 for this account
    kind     TEXT NOT NULL,              -- 'vote' or 'close'
    sent_at  INTEGER NOT NULL,           -- the sender's clock, Unix ms
    options  TEXT NOT NULL DEFAULT '[]', -- a vote's option indexes (JSON); [] retracts
    PRIMARY KEY (poll_id, uid)
) STRICT, WITHOUT ROWID;
