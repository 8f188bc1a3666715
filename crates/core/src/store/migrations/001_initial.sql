-- Schema 1: account settings, contacts, chats, messages.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    handle       TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    identity_key BLOB,
    verified     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE chats (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    title            TEXT NOT NULL DEFAULT '',
    contact_id       INTEGER REFERENCES contacts (id),
    draft            TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL
) STRICT;

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    uid         BLOB NOT NULL UNIQUE,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    sender_id   INTEGER REFERENCES contacts (id), -- NULL: sent by this account
    kind        TEXT NOT NULL DEFAULT 'text',
    body        TEXT NOT NULL DEFAULT '',
    sent_at     INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    imported    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX messages_by_chat ON messages (chat_id, sent_at, id);
