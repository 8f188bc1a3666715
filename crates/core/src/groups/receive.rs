//! Receiving in a group: snapshots, sender keys and leaves over the pairwise sessions, and
//! group messages opened with their sender's key (or kept until it arrives).

use missiva_crypto::sender_keys::{self, SenderKeyDistribution, SenderKeyError, SenderKeyRecord};
use missiva_proto::Message as _;
use missiva_proto::payload::{self, GroupChangeKind, Payload, Sealed, payload::Body};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use super::store::{
    UID_LEN, by_uid, forget_keys, insert_group, list, members, our_identity, rotate, shown,
};
use super::{MAX_MEMBERS, MAX_NAME_CHARS};
use crate::clock;
use crate::contacts::{
    self,
    claims::{self, Claim},
};
use crate::events::EventKind;
use crate::ids::{ChatId, ContactId};
use crate::messages;
use crate::store::Store;

/// Group messages waiting for their key are kept this long (the relay's expiry and a day).
const PENDING_KEPT_MS: i64 = 31 * 24 * 3600 * 1000;
/// At most this many group messages wait for their key.
const MAX_PENDING: i64 = 10_000;

/// What opening a group message found.
pub(crate) enum Opened {
    /// Decrypted: `payload` from `contact`, a member of the group of `chat`.
    Message {
        chat: ChatId,
        contact: ContactId,
        payload: Box<Payload>,
    },
    /// Not yet: the sender's key or membership has not arrived. Keep it and try again.
    Pending,
    /// Never: drop it.
    Dropped(String),
}

/// Opens the group message `bytes` from `sender` (a 64-byte identity), saving the advanced
/// chain when it decrypts.
pub(crate) fn open(tx: &Transaction<'_>, sender: &[u8], bytes: &[u8]) -> rusqlite::Result<Opened> {
    let Some(contact) = contacts::by_identity(tx, sender)? else {
        return Ok(Opened::Pending);
    };
    let Ok(key_id) = sender_keys::message_key_id(bytes) else {
        return Ok(Opened::Dropped("malformed group message".to_owned()));
    };
    let uid: Option<Vec<u8>> = tx
        .query_row(
            "SELECT group_uid FROM member_key_ids WHERE contact_id = ?1 AND key_id = ?2",
            params![contact.0, i64::from(key_id.0)],
            |r| r.get(0),
        )
        .optional()?;
    let Some(uid) = uid else {
        return Ok(Opened::Pending);
    };
    let Some(g) = by_uid(tx, &uid)? else {
        return Ok(Opened::Pending);
    };
    if !g.member {
        return Ok(Opened::Dropped("a group we are no longer in".to_owned()));
    }
    if !members(tx, g.chat)?.iter().any(|m| m.contact == contact) {
        return Ok(Opened::Pending);
    }
    let Some(mut record) = record_of(tx, &uid, contact)? else {
        return Ok(Opened::Pending);
    };
    let plaintext = match record.decrypt(bytes) {
        Ok(p) => p,
        Err(SenderKeyError::UnknownKeyId(_)) => return Ok(Opened::Pending),
        Err(e) => return Ok(Opened::Dropped(e.to_string())),
    };
    save_record(tx, &uid, contact, &record)?;
    let Ok(payload) = Payload::decode(plaintext.as_slice()) else {
        return Ok(Opened::Dropped("not a payload".to_owned()));
    };
    if payload.group_id != uid {
        return Ok(Opened::Dropped("a payload of another group".to_owned()));
    }
    Ok(Opened::Message {
        chat: g.chat,
        contact,
        payload: Box::new(payload),
    })
}

fn record_of(
    conn: &Connection,
    uid: &[u8],
    contact: ContactId,
) -> rusqlite::Result<Option<SenderKeyRecord>> {
    let bytes: Option<zeroize::Zeroizing<Vec<u8>>> = conn
        .query_row(
            "SELECT record FROM member_keys WHERE group_uid = ?1 AND contact_id = ?2",
            params![uid, contact.0],
            |r| r.get::<_, Vec<u8>>(0).map(zeroize::Zeroizing::new),
        )
        .optional()?;
    Ok(bytes.and_then(|b| SenderKeyRecord::from_bytes(&b).ok()))
}

fn save_record(
    tx: &Transaction<'_>,
    uid: &[u8],
    contact: ContactId,
    record: &SenderKeyRecord,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO member_keys (group_uid, contact_id, record) VALUES (?1, ?2, ?3)
         ON CONFLICT (group_uid, contact_id) DO UPDATE SET record = excluded.record",
        params![uid, contact.0, record.to_bytes().as_slice()],
    )?;
    Ok(())
}

/// Tries to decrypt a group message's `Sealed` bytes from `sender` with whatever sender keys
/// this account holds for them, whether or not it is still a member, changing nothing. For
/// tests: what a removed member or a late joiner who kept every key could read.
#[doc(hidden)]
pub fn try_decrypt(store: &Store, sender: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SenderKeyError> {
    let malformed = SenderKeyError::Malformed("not a group message");
    let sealed = Sealed::decode(sealed).map_err(|_| malformed.clone())?;
    let records: Vec<Vec<u8>> = store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT k.record FROM member_keys k JOIN contacts c ON c.id = k.contact_id
                 WHERE c.identity_key = ?1",
            )?;
            stmt.query_map([sender], |r| r.get(0))?.collect()
        })
        .map_err(|_| malformed.clone())?;
    let mut last =
        SenderKeyError::UnknownKeyId(sender_keys::message_key_id(&sealed.group_message)?);
    for bytes in records {
        let mut record = SenderKeyRecord::from_bytes(&bytes)?;
        match record.decrypt(&sealed.group_message) {
            Ok(p) => return Ok(p.to_vec()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Which waiting group messages to try again.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// None.
    #[default]
    No,
    /// Those of the payload's sender (their new key).
    Sender,
    /// All (a snapshot can make anyone a member).
    All,
}

/// What a pairwise group payload did.
#[derive(Debug, Default)]
pub(crate) struct Control {
    pub(crate) events: Vec<EventKind>,
    /// Group messages waiting for a key or a snapshot may open now.
    pub(crate) retry: Retry,
    /// Handles of new members to check with the relay.
    pub(crate) claims: Vec<Claim>,
}

/// Applies a group snapshot, sender key or leave from `contact` (identity `sender`).
pub(crate) fn receive_control(
    tx: &Transaction<'_>,
    contact: ContactId,
    sender: &[u8],
    p: &Payload,
) -> rusqlite::Result<Control> {
    match &p.body {
        Some(Body::GroupUpdate(u)) => receive_update(tx, contact, sender, u, p.sent_at_ms),
        Some(Body::GroupSenderKey(k)) => receive_key(tx, contact, k),
        Some(Body::GroupLeave(l)) => receive_leave(tx, contact, &l.group_id, p.sent_at_ms),
        _ => Ok(Control::default()),
    }
}

fn receive_key(
    tx: &Transaction<'_>,
    contact: ContactId,
    k: &payload::GroupSenderKey,
) -> rusqlite::Result<Control> {
    let Ok(distribution) = SenderKeyDistribution::from_bytes(&k.distribution) else {
        tracing::warn!("malformed sender key dropped");
        return Ok(Control::default());
    };
    if distribution.group_id().as_bytes() != k.group_id.as_slice() || k.group_id.len() != UID_LEN {
        tracing::warn!("a sender key for another group dropped");
        return Ok(Control::default());
    }
    let record = match record_of(tx, &k.group_id, contact)? {
        Some(mut r) => match r.process(&distribution) {
            Ok(()) => r,
            Err(_) => return Ok(Control::default()),
        },
        None => SenderKeyRecord::from_distribution(&distribution),
    };
    save_record(tx, &k.group_id, contact, &record)?;
    tx.execute(
        "INSERT OR REPLACE INTO member_key_ids (contact_id, key_id, group_uid) VALUES (?1, ?2, ?3)",
        params![contact.0, i64::from(distribution.key_id().0), k.group_id],
    )?;
    Ok(Control {
        retry: Retry::Sender,
        ..Control::default()
    })
}

fn receive_leave(
    tx: &Transaction<'_>,
    contact: ContactId,
    uid: &[u8],
    at_ms: i64,
) -> rusqlite::Result<Control> {
    let mut out = Control::default();
    let Some(g) = by_uid(tx, uid)? else {
        return Ok(out);
    };
    let Some(m) = members(tx, g.chat)?
        .into_iter()
        .find(|m| m.contact == contact)
    else {
        return Ok(out);
    };
    tx.execute(
        "DELETE FROM group_members WHERE chat_id = ?1 AND contact_id = ?2",
        params![g.chat.0, contact.0],
    )?;
    forget_keys(tx, uid, contact)?;
    if g.member {
        rotate(tx, g.chat)?;
    }
    messages::insert_system_at(
        tx,
        g.chat,
        &format!("{} left the group", shown(&m.handle)),
        at_ms,
    )?;
    changed(&mut out, g.chat);
    Ok(out)
}

fn changed(out: &mut Control, chat: ChatId) {
    out.events.push(EventKind::MessagesChanged { chat });
    out.events.push(EventKind::ChatsChanged);
}

/// The contact of a member named in a snapshot: known by identity, or new (its handle kept as a
/// claim to check with the relay).
fn member_contact(
    tx: &Transaction<'_>,
    identity: &[u8],
    handle: &str,
    claims: &mut Vec<Claim>,
) -> rusqlite::Result<ContactId> {
    let contact = match contacts::by_identity(tx, identity)? {
        Some(c) => c,
        None => contacts::insert_member(tx, identity)?,
    };
    if let Some(claim) = claims::record(tx, contact, handle)? {
        claims.push(claim);
    }
    Ok(contact)
}

fn receive_update(
    tx: &Transaction<'_>,
    contact: ContactId,
    sender: &[u8],
    u: &payload::GroupUpdate,
    at_ms: i64,
) -> rusqlite::Result<Control> {
    let mut out = Control::default();
    let name = u.name.trim();
    if u.group_id.len() != UID_LEN
        || name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || u.members.len() > MAX_MEMBERS
        || u.members.iter().any(|m| m.identity.len() != 64)
    {
        tracing::warn!("malformed group snapshot dropped");
        return Ok(out);
    }
    let ours = our_identity(tx)?;
    let revision = i64::try_from(u.revision).unwrap_or(i64::MAX);
    let sender_entry = u.members.iter().find(|m| m.identity == sender);
    let our_entry = u.members.iter().find(|m| m.identity == ours);
    let existing = by_uid(tx, &u.group_id)?;
    let chat = match &existing {
        None => {
            // A new group: only from an admin it names, and only if it names us.
            if !sender_entry.is_some_and(|m| m.admin) || our_entry.is_none() {
                return Ok(out);
            }
            // Revision -1: the snapshot applied below sets it, with the rest.
            insert_group(tx, name, &u.group_id, -1, false)?
        }
        Some(g) => {
            let sender_is_admin = members(tx, g.chat)?
                .iter()
                .any(|m| m.contact == contact && m.admin);
            let newer = revision > g.revision
                || (revision == g.revision && sender > g.revised_by.as_slice());
            if !sender_is_admin || !newer {
                return Ok(out);
            }
            g.chat
        }
    };
    let was_member = existing.as_ref().is_none_or(|g| g.member);
    let before = members(tx, chat)?;
    let mut after: Vec<(ContactId, bool)> = Vec::new();
    for m in u.members.iter().filter(|m| m.identity != ours) {
        let c = member_contact(tx, &m.identity, &m.handle, &mut out.claims)?;
        if !after.iter().any(|(x, _)| *x == c) {
            after.push((c, m.admin));
        }
    }
    let member = our_entry.is_some();
    tx.execute(
        "UPDATE groups SET revision = ?2, revised_by = ?3, admin = ?4, member = ?5
         WHERE chat_id = ?1",
        params![
            chat.0,
            revision,
            sender,
            our_entry.is_some_and(|m| m.admin),
            member
        ],
    )?;
    tx.execute(
        "UPDATE chats SET title = ?2 WHERE id = ?1",
        params![chat.0, name],
    )?;
    let mut removed = Vec::new();
    for m in &before {
        if !after.iter().any(|(c, _)| *c == m.contact) {
            tx.execute(
                "DELETE FROM group_members WHERE chat_id = ?1 AND contact_id = ?2",
                params![chat.0, m.contact.0],
            )?;
            forget_keys(tx, &u.group_id, m.contact)?;
            removed.push(m.contact);
        }
    }
    for (c, admin) in &after {
        tx.execute(
            "INSERT INTO group_members (chat_id, contact_id, admin) VALUES (?1, ?2, ?3)
             ON CONFLICT (chat_id, contact_id) DO UPDATE SET admin = excluded.admin",
            params![chat.0, c.0, admin],
        )?;
    }
    if u.avatar_changed {
        let picture = (!u.avatar.is_empty() && super::is_avatar(&u.avatar)).then_some(&u.avatar);
        tx.execute(
            "UPDATE groups SET avatar = ?2 WHERE chat_id = ?1",
            params![chat.0, picture],
        )?;
    }
    if !removed.is_empty() || !member || !was_member {
        rotate(tx, chat)?;
    }
    let by = match sender_entry {
        Some(m) if !m.handle.is_empty() => format!("@{}", m.handle),
        _ => shown(&handle_of(tx, contact)?),
    };
    let name_of = |identity: &[u8]| -> String {
        if identity == ours.as_slice() {
            return "you".to_owned();
        }
        if let Some(m) = u
            .members
            .iter()
            .find(|m| m.identity == identity && !m.handle.is_empty())
        {
            return format!("@{}", m.handle);
        }
        // Someone the snapshot no longer names (just removed): as we know them.
        contacts::by_identity(tx, identity)
            .ok()
            .flatten()
            .and_then(|c| handle_of(tx, c).ok())
            .map_or_else(|| "someone".to_owned(), |h| shown(&h))
    };
    let subjects: Vec<String> = u.subjects.iter().map(|s| name_of(s)).collect();
    let line = match GroupChangeKind::try_from(u.change).unwrap_or_default() {
        _ if existing.is_none() => format!("{by} added you to “{name}”"),
        _ if !member && was_member => format!("{by} removed you"),
        _ if member && !was_member => format!("{by} added you"),
        GroupChangeKind::MembersAdded => format!("{by} added {}", list(&subjects)),
        GroupChangeKind::MemberRemoved => format!("{by} removed {}", list(&subjects)),
        GroupChangeKind::GroupRenamed => format!("{by} renamed the group to “{name}”"),
        GroupChangeKind::AvatarChanged if u.avatar.is_empty() => {
            format!("{by} removed the group's picture")
        }
        GroupChangeKind::AvatarChanged => format!("{by} changed the group's picture"),
        GroupChangeKind::AdminChanged => {
            let made: Vec<String> = u
                .subjects
                .iter()
                .filter(|s| u.members.iter().any(|m| &m.identity == *s && m.admin))
                .map(|s| name_of(s))
                .collect();
            let unmade: Vec<String> = u
                .subjects
                .iter()
                .filter(|s| !u.members.iter().any(|m| &m.identity == *s && m.admin))
                .map(|s| name_of(s))
                .collect();
            match (made.is_empty(), unmade.is_empty()) {
                (false, _) => format!("{by} made {} an admin", list(&made)),
                (true, false) => format!("{by} removed {} as admin", list(&unmade)),
                (true, true) => format!("{by} changed the admins"),
            }
        }
        GroupChangeKind::GroupCreated
        | GroupChangeKind::Unspecified
        | GroupChangeKind::MemberLeft => {
            format!("{by} updated the group")
        }
    };
    messages::insert_system_at(tx, chat, &line, at_ms)?;
    changed(&mut out, chat);
    out.retry = Retry::All;
    Ok(out)
}

fn handle_of(conn: &Connection, contact: ContactId) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT handle FROM contacts WHERE id = ?1",
        [contact.0],
        |r| r.get(0),
    )
}

/// The group chat of the poll a pairwise vote from `contact` is about, when the poll is in a
/// group `contact` is in (an anonymous poll's votes go to its creator alone).
pub(crate) fn member_chat_of_poll(
    conn: &Connection,
    contact: ContactId,
    p: &Payload,
) -> rusqlite::Result<Option<ChatId>> {
    let Some(Body::PollVote(v)) = &p.body else {
        return Ok(None);
    };
    conn.query_row(
        "SELECT m.chat_id FROM messages m JOIN group_members g ON g.chat_id = m.chat_id
         WHERE m.uid = ?1 AND m.kind = 'poll' AND g.contact_id = ?2",
        params![v.poll_id, contact.0],
        |r| r.get(0).map(ChatId),
    )
    .optional()
}

/// Keeps a group message that cannot be opened yet.
pub(crate) fn keep_pending(
    tx: &Transaction<'_>,
    sender: &[u8],
    envelope_id: &[u8],
    content: &[u8],
) -> rusqlite::Result<()> {
    let now = clock::now_ms();
    tx.execute(
        "DELETE FROM group_pending WHERE received_at < ?1",
        [now.saturating_sub(PENDING_KEPT_MS)],
    )?;
    let count: i64 = tx.query_row("SELECT count(*) FROM group_pending", [], |r| r.get(0))?;
    if count >= MAX_PENDING {
        tracing::warn!("too many group messages waiting for keys: the oldest dropped");
        tx.execute(
            "DELETE FROM group_pending WHERE id = (SELECT min(id) FROM group_pending)",
            [],
        )?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO group_pending (sender, envelope_id, content, received_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![sender, envelope_id, content, now],
    )?;
    Ok(())
}

/// A group message waiting for what opens it.
pub(crate) struct Waiting {
    pub(crate) row: i64,
    pub(crate) sender: Vec<u8>,
    pub(crate) content: Vec<u8>,
}

/// The group messages waiting, oldest first: all, or those from `sender` only.
pub(crate) fn pending(conn: &Connection, sender: Option<&[u8]>) -> rusqlite::Result<Vec<Waiting>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, sender, content FROM group_pending
         WHERE ?1 IS NULL OR sender = ?1 ORDER BY id",
    )?;
    stmt.query_map([sender], |r| {
        Ok(Waiting {
            row: r.get(0)?,
            sender: r.get(1)?,
            content: r.get(2)?,
        })
    })?
    .collect()
}

/// Forgets a waiting group message (opened or dropped).
pub(crate) fn done_pending(tx: &Transaction<'_>, row: i64) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM group_pending WHERE id = ?1", [row])?;
    Ok(())
}
