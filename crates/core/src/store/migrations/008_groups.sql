-- Schema 8: end-to-end encrypted groups (crates/core/src/groups.rs). A group is a chat of kind
-- 'group'; this row holds what the members agreed on and our own sender key.
CREATE TABLE groups (
    chat_id     INTEGER PRIMARY KEY REFERENCES chats (id) ON DELETE CASCADE,
    uid         BLOB NOT NULL UNIQUE,          -- 16 random bytes from the creator; the sender-key group id
    revision    INTEGER NOT NULL DEFAULT 0,    -- of the last membership snapshot applied
    revised_by  BLOB NOT NULL DEFAULT x'',     -- its author's identity (ties between admins)
    admin       INTEGER NOT NULL DEFAULT 0,    -- this account is an admin
    member      INTEGER NOT NULL DEFAULT 1,    -- 0: this account was removed or left
    sender_key  BLOB,                          -- our SenderKey::to_bytes (secret); NULL: make a new one
    avatar      BLOB,                          -- the group's picture (PNG, JPEG or WebP); NULL: none
    created_at  INTEGER NOT NULL
) STRICT;

-- The other members. `key_sent` is the key id of our sender key this member has been sent.
CREATE TABLE group_members (
    chat_id    INTEGER NOT NULL REFERENCES groups (chat_id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    admin      INTEGER NOT NULL DEFAULT 0,
    key_sent   INTEGER,
    PRIMARY KEY (chat_id, contact_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX group_members_by_contact ON group_members (contact_id);

-- Other members' sender keys (SenderKeyRecord::to_bytes, secret), by group uid rather than chat:
-- a member's key may arrive before the creator's snapshot that tells us about the group.
CREATE TABLE member_keys (
    group_uid  BLOB NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    record     BLOB NOT NULL,
    PRIMARY KEY (group_uid, contact_id)
) STRICT, WITHOUT ROWID;

-- Which group a sender's key id belongs to: a group message names only its key id, so the group
-- id never travels outside the encryption.
CREATE TABLE member_key_ids (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    key_id     INTEGER NOT NULL,
    group_uid  BLOB NOT NULL,
    PRIMARY KEY (contact_id, key_id)
) STRICT, WITHOUT ROWID;

-- Group messages that came before what opens them (their sender's key, or the snapshot making
-- the sender a member): tried again whenever a key or a snapshot arrives; kept 31 days.
CREATE TABLE group_pending (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sender      BLOB NOT NULL,                 -- 64-byte identity
    envelope_id BLOB NOT NULL,
    content     BLOB NOT NULL,                 -- the Sealed bytes as received
    received_at INTEGER NOT NULL,
    UNIQUE (sender, envelope_id)
) STRICT;

-- A group message has one outbox row per member; it is sent when the last is gone.
CREATE INDEX outbox_by_message ON outbox (message_uid) WHERE message_uid IS NOT NULL;
