-- Mailboxes: one row per stored envelope. `seq` orders a mailbox and is never reused
-- (AUTOINCREMENT), so a connection's "pushed up to" cursor stays meaningful after deletes.
CREATE TABLE envelopes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient BLOB NOT NULL,
    sender BLOB NOT NULL,
    id BLOB NOT NULL,
    content BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL,
    UNIQUE (recipient, sender, id)
) STRICT;

CREATE INDEX envelopes_by_recipient ON envelopes (recipient, seq);

CREATE TABLE handles (
    handle TEXT PRIMARY KEY,
    identity BLOB NOT NULL UNIQUE,
    registered_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE signed_prekeys (
    identity BLOB PRIMARY KEY,
    id INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    signature BLOB NOT NULL,
    uploaded_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE one_time_prekeys (
    identity BLOB NOT NULL,
    id INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    PRIMARY KEY (identity, id)
) STRICT, WITHOUT ROWID;
