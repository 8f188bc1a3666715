-- Schema 3: end-to-end encrypted 1:1 messaging. Every secret below is protected by SQLCipher
-- and never leaves this database.

-- The account's own identity: exactly one row once the account has keys.
CREATE TABLE identity (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key_pair   BLOB NOT NULL,          -- missiva-crypto IdentityKeyPair::to_bytes (secret)
    public     BLOB NOT NULL,          -- PublicIdentity::to_bytes (64 bytes)
    handle     TEXT NOT NULL DEFAULT '', -- registered handle without '@', '' when none
    created_at INTEGER NOT NULL        -- Unix ms
) STRICT;

-- Signed prekeys. `seed` is the 32-byte secret the key pair is derived from.
CREATE TABLE signed_prekeys (
    id         INTEGER PRIMARY KEY,    -- the prekey id published on the relay
    seed       BLOB NOT NULL,
    created_at INTEGER NOT NULL,       -- Unix seconds (what needs_rotation compares)
    current    INTEGER NOT NULL DEFAULT 0,
    uploaded   INTEGER NOT NULL DEFAULT 0
) STRICT;

-- One-time prekeys not yet used; a row is deleted in the transaction that uses it.
CREATE TABLE one_time_prekeys (
    id       INTEGER PRIMARY KEY,
    seed     BLOB NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0
) STRICT;

-- X3DH initial messages already answered (missiva-crypto ReplayGuard::to_bytes).
CREATE TABLE replay_guard (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    state BLOB NOT NULL
) STRICT;

-- Contacts are matched by identity; a sender seen before its handle is known gets a placeholder
-- handle starting with '#', which cannot be a real one.
ALTER TABLE contacts ADD COLUMN previous_identity BLOB NOT NULL DEFAULT x'';
ALTER TABLE contacts ADD COLUMN identity_changed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX contacts_by_identity ON contacts (identity_key);

-- Double Ratchet sessions; a contact may have several (simultaneous setup).
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id    INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    state         BLOB NOT NULL,       -- Session::to_bytes (secret)
    initial       BLOB,                -- our X3DH initial message, attached until the peer replies
    their_initial BLOB,                -- the peer's initial message that started it (responder)
    active        INTEGER NOT NULL DEFAULT 0, -- the one to send with: the last that received
    created_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_by_contact ON sessions (contact_id, active);

-- Envelopes to hand to the relay, in order. `payload` is the plaintext missiva.payload.v1
-- Payload until it is encrypted; then `content` holds the Sealed bytes sent on every retry and
-- `payload` is emptied.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope_id BLOB NOT NULL UNIQUE,  -- 16 random bytes, the same on every retry
    contact_id  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    recipient   BLOB NOT NULL,         -- 64-byte identity
    message_uid BLOB,                  -- the message it carries; NULL for receipts
    payload     BLOB NOT NULL,
    content     BLOB,                  -- NULL until encrypted
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
) STRICT;

-- Envelopes already stored, so a redelivery is acknowledged and dropped before decrypting.
CREATE TABLE processed_envelopes (
    sender       BLOB NOT NULL,
    envelope_id  BLOB NOT NULL,
    processed_at INTEGER NOT NULL,     -- Unix ms, for pruning after the relay's 30-day expiry
    PRIMARY KEY (sender, envelope_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX processed_envelopes_by_time ON processed_envelopes (processed_at);

-- What receipts and states need: why a message failed, and fast unread counts.
ALTER TABLE messages ADD COLUMN error TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_unread ON messages (chat_id, state) WHERE sender_id IS NOT NULL;

CREATE UNIQUE INDEX chats_direct_by_contact ON chats (contact_id) WHERE kind = 'direct';
