-- Schema 5: chat histories imported from other messengers (WhatsApp "Export chat" files).
--
-- An import writes its messages in many transactions (one per batch) under one row of
-- `imports`. Until that row is 'done', everything it wrote is invisible: a chat it created is
-- left out of the chat list, and its messages are left out of every conversation page and chat
-- preview (both through `import_id`). Cancel or a crash therefore shows nothing partial, and a
-- later import of the same file resumes the same row.
CREATE TABLE imports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    source_digest  BLOB NOT NULL,          -- 16 bytes: the export's text, family and date order
    chat_id        INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    target         TEXT NOT NULL CHECK (target IN ('new', 'existing')),
    state          TEXT NOT NULL CHECK (state IN ('running', 'done', 'cancelled')),
    entries_done   INTEGER NOT NULL DEFAULT 0, -- entries of the file committed, in file order
    messages_added INTEGER NOT NULL DEFAULT 0,
    media_stored   INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,       -- Unix ms
    finished_at    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX imports_by_source ON imports (source_digest, chat_id);

-- The import that created the chat (0: not created by an import); listed once it is done.
ALTER TABLE chats ADD COLUMN import_id INTEGER NOT NULL DEFAULT 0;

-- Imported messages: the author's name as written in the export ('' for this account and for
-- authorless events; an imported author is not a contact), the import that wrote them (0: not
-- imported), and what the kind carries beyond the text as a JSON object ('' when nothing:
-- poll question, options and counts, media kind, location, edited flag…).
ALTER TABLE messages ADD COLUMN author_name TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN import_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN import_meta TEXT NOT NULL DEFAULT '';
