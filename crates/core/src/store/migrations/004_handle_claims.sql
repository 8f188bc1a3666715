-- Schema 4: the handle a sender known only by key says is theirs (`Payload.sender_handle`),
-- kept until the relay confirms it maps to their identity ('' when there is none to check).
-- It is stored with the message that carried it, so a check the relay could not answer is
-- retried on the next connection.
ALTER TABLE contacts ADD COLUMN claimed_handle TEXT NOT NULL DEFAULT '';
