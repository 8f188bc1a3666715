//! The SQL of each operation, run inside the writer's transaction.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::handle::Handle;
use crate::identity::{EnvelopeId, Identity};
use crate::storage::{
    Bundle, MailboxState, NewEnvelope, OneTimePrekey, RegisterOutcome, Seq, SignedPrekey,
    StorageError, StoreOutcome, StoredEnvelope, UploadOutcome,
};

fn now_ms() -> i64 {
    crate::relay::unix_ms()
}

pub(super) fn count_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The integer ids the envelope table uses for identities, cached. Only the writer thread adds
/// identities, so the cache stays exact; it is emptied when a commit fails (an id added in the
/// failed transaction does not exist) and when it grows past `MAX_CACHED_IDS`.
#[derive(Default)]
pub(super) struct IdCache(HashMap<Identity, i64>);

const MAX_CACHED_IDS: usize = 65_536;

impl IdCache {
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    fn remember(&mut self, identity: Identity, id: i64) -> i64 {
        if self.0.len() >= MAX_CACHED_IDS {
            self.0.clear();
        }
        self.0.insert(identity, id);
        id
    }

    /// The id of `identity`, or `None` when it never had a mailbox entry.
    pub(super) fn find(
        &mut self,
        tx: &Transaction<'_>,
        identity: Identity,
    ) -> Result<Option<i64>, StorageError> {
        if let Some(&id) = self.0.get(&identity) {
            return Ok(Some(id));
        }
        let id: Option<i64> = tx
            .prepare_cached("SELECT id FROM identities WHERE key = ?1")?
            .query_row([identity.as_bytes().as_slice()], |r| r.get(0))
            .optional()?;
        Ok(id.map(|id| self.remember(identity, id)))
    }

    /// The id of `identity`, given one if it has none yet.
    fn get_or_create(
        &mut self,
        tx: &Transaction<'_>,
        identity: Identity,
    ) -> Result<i64, StorageError> {
        if let Some(id) = self.find(tx, identity)? {
            return Ok(id);
        }
        tx.prepare_cached("INSERT INTO identities (key) VALUES (?1)")?
            .execute([identity.as_bytes().as_slice()])?;
        Ok(self.remember(identity, tx.last_insert_rowid()))
    }
}

pub(super) fn store(
    tx: &Transaction<'_>,
    counts: &mut HashMap<Identity, u32>,
    ids: &mut IdCache,
    e: NewEnvelope,
    max_queue: u32,
) -> Result<(StoreOutcome, Option<Arc<StoredEnvelope>>), StorageError> {
    let recipient = ids.get_or_create(tx, e.recipient)?;
    let sender = ids.get_or_create(tx, e.sender)?;
    let count = match counts.get(&e.recipient) {
        Some(&n) => n,
        None => {
            let n: i64 = tx
                .prepare_cached("SELECT COUNT(*) FROM envelopes WHERE recipient = ?1")?
                .query_row([recipient], |r| r.get(0))?;
            count_u32(n)
        }
    };
    if count >= max_queue {
        let exists = tx
            .prepare_cached(
                "SELECT 1 FROM envelopes WHERE recipient = ?1 AND sender = ?2 AND id = ?3",
            )?
            .query_row(
                params![recipient, sender, e.id.as_bytes().as_slice()],
                |_| Ok(()),
            )
            .optional()?;
        counts.insert(e.recipient, count);
        let outcome = if exists.is_some() {
            StoreOutcome::Duplicate
        } else {
            StoreOutcome::QueueFull
        };
        return Ok((outcome, None));
    }
    // OR IGNORE rather than ON CONFLICT DO NOTHING: with no constraint able to abort the
    // statement, SQLite needs no statement journal (a copy of every page the statement touches
    // that the transaction had already changed), which cost a fifth of the writer's time.
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO envelopes (recipient, sender, id, content, received_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            recipient,
            sender,
            e.id.as_bytes().as_slice(),
            e.content.as_ref(),
            e.received_at_ms
        ])?;
    if inserted == 0 {
        counts.insert(e.recipient, count);
        return Ok((StoreOutcome::Duplicate, None));
    }
    let seq = tx.last_insert_rowid();
    counts.insert(e.recipient, count.saturating_add(1));
    let stored = StoredEnvelope {
        seq: Seq(seq),
        recipient: e.recipient,
        sender: e.sender,
        id: e.id,
        content: e.content,
        received_at_ms: e.received_at_ms,
    };
    Ok((StoreOutcome::Stored, Some(Arc::new(stored))))
}

pub(super) fn ack(
    tx: &Transaction<'_>,
    counts: &mut HashMap<Identity, u32>,
    ids: &mut IdCache,
    recipient: Identity,
    keys: &[(Identity, EnvelopeId)],
) -> Result<u64, StorageError> {
    let Some(recipient_id) = ids.find(tx, recipient)? else {
        return Ok(0);
    };
    let mut stmt = tx
        .prepare_cached("DELETE FROM envelopes WHERE recipient = ?1 AND sender = ?2 AND id = ?3")?;
    let mut deleted = 0u64;
    for (sender, id) in keys {
        let Some(sender) = ids.find(tx, *sender)? else {
            continue;
        };
        deleted += stmt.execute(params![recipient_id, sender, id.as_bytes().as_slice()])? as u64;
    }
    if deleted > 0
        && let Some(n) = counts.get_mut(&recipient)
    {
        *n = n.saturating_sub(u32::try_from(deleted).unwrap_or(u32::MAX));
        if *n == 0 {
            counts.remove(&recipient);
        }
    }
    Ok(deleted)
}

/// Deletes the envelopes received before `before_ms`, and the ids of identities no envelope
/// refers to any more (so the table of ids does not grow with every identity ever seen).
pub(super) fn expire(
    tx: &Transaction<'_>,
    counts: &mut HashMap<Identity, u32>,
    ids: &mut IdCache,
    before_ms: i64,
) -> Result<u64, StorageError> {
    let expired = tx.execute(
        "DELETE FROM envelopes WHERE received_at_ms < ?1",
        [before_ms],
    )?;
    if expired > 0 {
        counts.clear();
    }
    let forgotten = tx.execute(
        "DELETE FROM identities WHERE id NOT IN (SELECT recipient FROM envelopes)
           AND id NOT IN (SELECT sender FROM envelopes)",
        [],
    )?;
    if forgotten > 0 {
        ids.clear();
    }
    Ok(expired as u64)
}

fn identity_column(bytes: Vec<u8>) -> Result<Identity, rusqlite::Error> {
    Identity::from_slice(&bytes).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "identity is not 64 bytes".into(),
        )
    })
}

pub(super) fn pending(
    tx: &Transaction<'_>,
    ids: &mut IdCache,
    recipient: Identity,
    after: Seq,
    limit: u32,
    not_before: i64,
) -> Result<Vec<Arc<StoredEnvelope>>, StorageError> {
    let Some(recipient_id) = ids.find(tx, recipient)? else {
        return Ok(Vec::new());
    };
    let mut stmt = tx.prepare_cached(
        "SELECT e.seq, s.key, e.id, e.content, e.received_at_ms
         FROM envelopes e JOIN identities s ON s.id = e.sender
         WHERE e.recipient = ?1 AND e.seq > ?2 AND e.received_at_ms >= ?3
         ORDER BY e.seq LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![recipient_id, after.0, not_before, limit], |r| {
        let id: Vec<u8> = r.get(2)?;
        let id = EnvelopeId::from_slice(&id).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Blob,
                "envelope id is not 16 bytes".into(),
            )
        })?;
        Ok(Arc::new(StoredEnvelope {
            seq: Seq(r.get(0)?),
            recipient,
            sender: identity_column(r.get(1)?)?,
            id,
            content: Bytes::from(r.get::<_, Vec<u8>>(3)?),
            received_at_ms: r.get(4)?,
        }))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn one_time_count(tx: &Transaction<'_>, identity: Identity) -> Result<u32, StorageError> {
    let n: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM one_time_prekeys WHERE identity = ?1")?
        .query_row([identity.as_bytes().as_slice()], |r| r.get(0))?;
    Ok(count_u32(n))
}

pub(super) fn mailbox_state(
    tx: &Transaction<'_>,
    ids: &mut IdCache,
    identity: Identity,
    not_before: i64,
) -> Result<MailboxState, StorageError> {
    let (queued, last): (i64, i64) = match ids.find(tx, identity)? {
        None => (0, 0),
        Some(id) => tx
            .prepare_cached(
                "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM envelopes
                 WHERE recipient = ?1 AND received_at_ms >= ?2",
            )?
            .query_row(params![id, not_before], |r| Ok((r.get(0)?, r.get(1)?)))?,
    };
    Ok(MailboxState {
        queued: count_u32(queued),
        last: Seq(last),
        one_time_prekeys: one_time_count(tx, identity)?,
    })
}

pub(super) fn register_handle(
    tx: &mut Transaction<'_>,
    identity: Identity,
    handle: &Handle,
) -> Result<RegisterOutcome, StorageError> {
    let owner: Option<Vec<u8>> = tx
        .prepare_cached("SELECT identity FROM handles WHERE handle = ?1")?
        .query_row([handle.as_str()], |r| r.get(0))
        .optional()?;
    match owner {
        Some(owner) if owner.as_slice() == identity.as_bytes().as_slice() => {
            return Ok(RegisterOutcome::Registered);
        }
        Some(_) => return Ok(RegisterOutcome::Taken),
        None => {}
    }
    let sp = tx.savepoint()?;
    sp.execute(
        "DELETE FROM handles WHERE identity = ?1",
        [identity.as_bytes().as_slice()],
    )?;
    sp.execute(
        "INSERT INTO handles (handle, identity, registered_at_ms) VALUES (?1, ?2, ?3)",
        params![handle.as_str(), identity.as_bytes().as_slice(), now_ms()],
    )?;
    sp.commit()?;
    Ok(RegisterOutcome::Registered)
}

pub(super) fn lookup_handle(
    tx: &Transaction<'_>,
    handle: &Handle,
) -> Result<Option<Identity>, StorageError> {
    let owner: Option<Vec<u8>> = tx
        .prepare_cached("SELECT identity FROM handles WHERE handle = ?1")?
        .query_row([handle.as_str()], |r| r.get(0))
        .optional()?;
    Ok(owner.map(identity_column).transpose()?)
}

pub(super) fn upload_prekeys(
    tx: &mut Transaction<'_>,
    identity: Identity,
    signed: Option<SignedPrekey>,
    one_time: &[OneTimePrekey],
    max_one_time: u32,
) -> Result<UploadOutcome, StorageError> {
    let owner = identity.as_bytes().as_slice();
    let mut sp = tx.savepoint()?;
    {
        if let Some(s) = signed {
            sp.execute(
                "INSERT INTO signed_prekeys (identity, id, public_key, signature, uploaded_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (identity) DO UPDATE SET id = excluded.id,
                   public_key = excluded.public_key, signature = excluded.signature,
                   uploaded_at_ms = excluded.uploaded_at_ms",
                params![
                    owner,
                    s.id,
                    s.public_key.as_slice(),
                    s.signature.as_slice(),
                    now_ms()
                ],
            )?;
        }
        let mut insert = sp.prepare_cached(
            "INSERT INTO one_time_prekeys (identity, id, public_key) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?;
        for k in one_time {
            insert.execute(params![owner, k.id, k.public_key.as_slice()])?;
        }
    }
    let n: i64 = sp.query_row(
        "SELECT COUNT(*) FROM one_time_prekeys WHERE identity = ?1",
        [owner],
        |r| r.get(0),
    )?;
    let held = count_u32(n);
    if held > max_one_time {
        sp.rollback()?;
        return Ok(UploadOutcome::TooMany);
    }
    sp.commit()?;
    Ok(UploadOutcome::Stored {
        one_time_prekeys: held,
    })
}

pub(super) fn fetch_bundle(
    tx: &Transaction<'_>,
    identity: Identity,
) -> Result<Option<Bundle>, StorageError> {
    let owner = identity.as_bytes().as_slice();
    let signed = tx
        .prepare_cached("SELECT id, public_key, signature FROM signed_prekeys WHERE identity = ?1")?
        .query_row([owner], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()?;
    let Some((id, public_key, signature)) = signed else {
        return Ok(None);
    };
    let (Ok(public_key), Ok(signature)) = (public_key.try_into(), signature.try_into()) else {
        return Ok(None);
    };
    let signed = SignedPrekey {
        id,
        public_key,
        signature,
    };
    let one_time = tx
        .prepare_cached(
            "DELETE FROM one_time_prekeys WHERE identity = ?1 AND id =
               (SELECT id FROM one_time_prekeys WHERE identity = ?1 ORDER BY id LIMIT 1)
             RETURNING id, public_key",
        )?
        .query_row([owner], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()?
        .and_then(|(id, key)| {
            Some(OneTimePrekey {
                id,
                public_key: key.try_into().ok()?,
            })
        });
    Ok(Some(Bundle {
        signed,
        one_time,
        remaining: one_time_count(tx, identity)?,
    }))
}
