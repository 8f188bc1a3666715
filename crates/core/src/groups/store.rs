//! The SQL of groups: what is stored, the group as shown, and the changes an admin makes
//! (each a new snapshot sent to the members).

use missiva_proto::payload::{self, GroupChangeKind, Payload, payload::Body};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use super::{GroupError, GroupInfo, GroupMember, MAX_MEMBERS};
use crate::clock;
use crate::contacts;
use crate::identity;
use crate::ids::{ChatId, ContactId, MessageId};
use crate::messages;
use crate::sync::outbox;

/// Bytes of a group id.
pub(super) const UID_LEN: usize = 16;

/// A group as stored.
pub(super) struct Group {
    pub(super) chat: ChatId,
    pub(super) uid: Vec<u8>,
    pub(super) name: String,
    pub(super) revision: i64,
    pub(super) revised_by: Vec<u8>,
    pub(super) admin: bool,
    pub(super) member: bool,
}

/// Another member, as stored.
pub(super) struct Member {
    pub(super) contact: ContactId,
    pub(super) admin: bool,
    pub(super) key_sent: Option<i64>,
    pub(super) identity: Vec<u8>,
    pub(super) handle: String,
}

const GROUP_COLUMNS: &str =
    "g.chat_id, g.uid, c.title, g.revision, g.revised_by, g.admin, g.member";

fn group_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        chat: ChatId(r.get(0)?),
        uid: r.get(1)?,
        name: r.get(2)?,
        revision: r.get(3)?,
        revised_by: r.get(4)?,
        admin: r.get(5)?,
        member: r.get(6)?,
    })
}

pub(super) fn load(conn: &Connection, chat: ChatId) -> rusqlite::Result<Option<Group>> {
    conn.query_row(
        &format!(
            "SELECT {GROUP_COLUMNS} FROM groups g JOIN chats c ON c.id = g.chat_id
             WHERE g.chat_id = ?1"
        ),
        [chat.0],
        group_row,
    )
    .optional()
}

pub(super) fn by_uid(conn: &Connection, uid: &[u8]) -> rusqlite::Result<Option<Group>> {
    conn.query_row(
        &format!(
            "SELECT {GROUP_COLUMNS} FROM groups g JOIN chats c ON c.id = g.chat_id
             WHERE g.uid = ?1"
        ),
        [uid],
        group_row,
    )
    .optional()
}

fn loaded(conn: &Connection, chat: ChatId) -> Result<Group, GroupError> {
    load(conn, chat)?.ok_or_else(|| GroupError::NotFound {
        group: format!("in chat {chat}"),
    })
}

/// The chat of the group with id `uid`.
pub(crate) fn chat_of_uid(conn: &Connection, uid: &[u8]) -> rusqlite::Result<Option<ChatId>> {
    conn.query_row("SELECT chat_id FROM groups WHERE uid = ?1", [uid], |r| {
        r.get(0).map(ChatId)
    })
    .optional()
}

/// Every group's chat, the most recently active first.
pub(crate) fn chats(conn: &Connection) -> rusqlite::Result<Vec<ChatId>> {
    let mut stmt = conn.prepare(
        "SELECT g.chat_id FROM groups g JOIN chats c ON c.id = g.chat_id
         ORDER BY c.last_activity_at DESC, c.id DESC",
    )?;
    stmt.query_map([], |r| r.get(0).map(ChatId))?.collect()
}

/// Whether `chat` is a group.
pub(crate) fn is_group(conn: &Connection, chat: ChatId) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM groups WHERE chat_id = ?1)",
        [chat.0],
        |r| r.get(0),
    )
}

/// `None` when `chat` is not a group; else whether this account is a member.
pub(crate) fn membership(conn: &Connection, chat: ChatId) -> rusqlite::Result<Option<bool>> {
    conn.query_row(
        "SELECT member FROM groups WHERE chat_id = ?1",
        [chat.0],
        |r| r.get(0),
    )
    .optional()
}

pub(super) fn members(conn: &Connection, chat: ChatId) -> rusqlite::Result<Vec<Member>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.contact_id, m.admin, m.key_sent, coalesce(k.identity_key, x''), k.handle
         FROM group_members m JOIN contacts k ON k.id = m.contact_id
         WHERE m.chat_id = ?1 ORDER BY m.contact_id",
    )?;
    stmt.query_map([chat.0], |r| {
        Ok(Member {
            contact: ContactId(r.get(0)?),
            admin: r.get(1)?,
            key_sent: r.get(2)?,
            identity: r.get(3)?,
            handle: r.get(4)?,
        })
    })?
    .collect()
}

pub(super) fn our_identity(conn: &Connection) -> rusqlite::Result<Vec<u8>> {
    conn.query_row("SELECT public FROM identity WHERE id = 1", [], |r| r.get(0))
}

/// The group of `chat` as the UI and CLI show it.
pub(crate) fn info(conn: &Connection, chat: ChatId) -> Result<GroupInfo, GroupError> {
    let g = loaded(conn, chat)?;
    let mut list: Vec<GroupMember> = members(conn, chat)?
        .into_iter()
        .map(|m| GroupMember {
            contact: Some(m.contact),
            handle: m.handle,
            admin: m.admin,
            me: false,
        })
        .collect();
    if g.member {
        list.push(GroupMember {
            contact: None,
            handle: identity::handle(conn)?.unwrap_or_default(),
            admin: g.admin,
            me: true,
        });
    }
    list.sort_by(|a, b| (!a.admin, !a.me, &a.handle).cmp(&(!b.admin, !b.me, &b.handle)));
    Ok(GroupInfo {
        chat,
        id: hex::encode(&g.uid),
        name: g.name,
        admin: g.admin,
        member: g.member,
        avatar: avatar(conn, chat)?.is_some(),
        revision: g.revision,
        members: list,
    })
}

/// `@handle`, or a short form of a member not confirmed yet.
pub(super) fn shown(handle: &str) -> String {
    if contacts::is_placeholder(handle) {
        "someone".to_owned()
    } else {
        format!("@{handle}")
    }
}

pub(super) fn list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Checks the contacts to add: they exist, have keys, and are not in `already`.
fn checked_contacts(
    tx: &Transaction<'_>,
    contacts: &[ContactId],
    already: &[Member],
) -> Result<Vec<Member>, GroupError> {
    let mut out: Vec<Member> = Vec::new();
    for &c in contacts {
        if out.iter().any(|m| m.contact == c) || already.iter().any(|m| m.contact == c) {
            continue;
        }
        let row: Option<(String, Option<Vec<u8>>)> = tx
            .query_row(
                "SELECT handle, identity_key FROM contacts WHERE id = ?1",
                [c.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((handle, identity)) = row else {
            return Err(GroupError::NoContact {
                contact: c.to_string(),
            });
        };
        let Some(identity) = identity.filter(|i| !i.is_empty()) else {
            return Err(GroupError::NoIdentity { handle });
        };
        out.push(Member {
            contact: c,
            admin: false,
            key_sent: None,
            identity,
            handle,
        });
    }
    Ok(out)
}

/// The group's state as a payload, for every member (and those just removed).
fn snapshot(
    tx: &Transaction<'_>,
    g: &Group,
    change: GroupChangeKind,
    subjects: Vec<Vec<u8>>,
) -> rusqlite::Result<Payload> {
    let mut list: Vec<payload::GroupMember> = members(tx, g.chat)?
        .into_iter()
        .map(|m| payload::GroupMember {
            identity: m.identity,
            handle: if contacts::is_placeholder(&m.handle) {
                String::new()
            } else {
                m.handle
            },
            admin: m.admin,
        })
        .collect();
    if g.member {
        list.push(payload::GroupMember {
            identity: our_identity(tx)?,
            handle: identity::handle(tx)?.unwrap_or_default(),
            admin: g.admin,
        });
    }
    // The picture travels only to those who may not have it yet, or when it changed.
    let avatar_changed = matches!(
        change,
        GroupChangeKind::GroupCreated
            | GroupChangeKind::MembersAdded
            | GroupChangeKind::AvatarChanged
    );
    let avatar = match avatar_changed {
        true => avatar(tx, g.chat)?.unwrap_or_default(),
        false => Vec::new(),
    };
    Ok(outbox::control(Body::GroupUpdate(payload::GroupUpdate {
        group_id: g.uid.clone(),
        revision: u64::try_from(g.revision).unwrap_or(0),
        name: g.name.clone(),
        members: list,
        change: change as i32,
        subjects,
        avatar,
        avatar_changed,
    })))
}

/// The picture of the group of `chat`, if it has one.
pub(super) fn avatar(conn: &Connection, chat: ChatId) -> rusqlite::Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT avatar FROM groups WHERE chat_id = ?1",
            [chat.0],
            |r| r.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()?
        .flatten())
}

pub(super) fn set_avatar(
    tx: &Transaction<'_>,
    chat: ChatId,
    picture: Option<&[u8]>,
) -> Result<GroupInfo, GroupError> {
    as_admin(tx, chat)?;
    tx.execute(
        "UPDATE groups SET avatar = ?2 WHERE chat_id = ?1",
        params![chat.0, picture],
    )?;
    let line = match picture {
        Some(_) => "You changed the group's picture",
        None => "You removed the group's picture",
    };
    messages::insert_system(tx, chat, line)?;
    publish(tx, chat, GroupChangeKind::AvatarChanged, Vec::new(), &[])?;
    info(tx, chat)
}

/// A new revision of `chat`'s group by us: bumps it and sends the snapshot to the members and
/// to `also` (members just removed).
fn publish(
    tx: &Transaction<'_>,
    chat: ChatId,
    change: GroupChangeKind,
    subjects: Vec<Vec<u8>>,
    also: &[ContactId],
) -> Result<(), GroupError> {
    tx.execute(
        "UPDATE groups SET revision = revision + 1,
                           revised_by = (SELECT public FROM identity WHERE id = 1)
         WHERE chat_id = ?1",
        [chat.0],
    )?;
    let g = loaded(tx, chat)?;
    let p = snapshot(tx, &g, change, subjects)?;
    for m in members(tx, chat)? {
        outbox::enqueue(tx, m.contact, None, &p)?;
    }
    for &c in also {
        outbox::enqueue(tx, c, None, &p)?;
    }
    Ok(())
}

/// Checks that we may change the group: a member and an admin.
fn as_admin(tx: &Transaction<'_>, chat: ChatId) -> Result<Group, GroupError> {
    let g = loaded(tx, chat)?;
    if !g.member {
        return Err(GroupError::NotMember);
    }
    if !g.admin {
        return Err(GroupError::NotAdmin);
    }
    Ok(g)
}

/// Forget our sender key: the next message starts a new chain, sent to the members then.
pub(super) fn rotate(tx: &Transaction<'_>, chat: ChatId) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE groups SET sender_key = NULL WHERE chat_id = ?1",
        [chat.0],
    )?;
    tx.execute(
        "UPDATE group_members SET key_sent = NULL WHERE chat_id = ?1",
        [chat.0],
    )?;
    Ok(())
}

/// Drops what we hold of `contact`'s sender keys in the group `uid`.
pub(super) fn forget_keys(
    tx: &Transaction<'_>,
    uid: &[u8],
    contact: ContactId,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM member_keys WHERE group_uid = ?1 AND contact_id = ?2",
        params![uid, contact.0],
    )?;
    tx.execute(
        "DELETE FROM member_key_ids WHERE group_uid = ?1 AND contact_id = ?2",
        params![uid, contact.0],
    )?;
    Ok(())
}

/// A new group chat named `name` with id `uid`, at `revision`; we are a member (an admin when
/// `admin`).
pub(super) fn insert_group(
    tx: &Transaction<'_>,
    name: &str,
    uid: &[u8],
    revision: i64,
    admin: bool,
) -> rusqlite::Result<ChatId> {
    let now = clock::now_ms();
    tx.execute(
        "INSERT INTO chats (kind, title, contact_id, created_at, last_activity_at)
         VALUES ('group', ?1, NULL, ?2, ?2)",
        params![name, now],
    )?;
    let chat = ChatId(tx.last_insert_rowid());
    tx.execute(
        "INSERT INTO groups (chat_id, uid, revision, revised_by, admin, member, created_at)
         VALUES (?1, ?2, ?3, x'', ?4, 1, ?5)",
        params![chat.0, uid, revision, admin, now],
    )?;
    Ok(chat)
}

pub(super) fn create(
    tx: &Transaction<'_>,
    name: &str,
    contacts: &[ContactId],
) -> Result<GroupInfo, GroupError> {
    let list = checked_contacts(tx, contacts, &[])?;
    if list.is_empty() {
        return Err(GroupError::NoMembers);
    }
    let uid = MessageId::random().0.to_vec();
    let chat = insert_group(tx, name, &uid, 0, true)?;
    for m in &list {
        tx.execute(
            "INSERT INTO group_members (chat_id, contact_id, admin) VALUES (?1, ?2, 0)",
            params![chat.0, m.contact.0],
        )?;
    }
    messages::insert_system(tx, chat, &format!("You created the group “{name}”"))?;
    publish(tx, chat, GroupChangeKind::GroupCreated, Vec::new(), &[])?;
    info(tx, chat)
}

pub(super) fn add(
    tx: &Transaction<'_>,
    chat: ChatId,
    contacts: &[ContactId],
) -> Result<GroupInfo, GroupError> {
    as_admin(tx, chat)?;
    let current = members(tx, chat)?;
    let new = checked_contacts(tx, contacts, &current)?;
    if new.is_empty() {
        return info(tx, chat);
    }
    if current.len() + new.len() >= MAX_MEMBERS {
        return Err(GroupError::TooMany);
    }
    for m in &new {
        tx.execute(
            "INSERT INTO group_members (chat_id, contact_id, admin) VALUES (?1, ?2, 0)",
            params![chat.0, m.contact.0],
        )?;
    }
    let names: Vec<String> = new.iter().map(|m| shown(&m.handle)).collect();
    messages::insert_system(tx, chat, &format!("You added {}", list(&names)))?;
    let subjects = new.into_iter().map(|m| m.identity).collect();
    publish(tx, chat, GroupChangeKind::MembersAdded, subjects, &[])?;
    info(tx, chat)
}

fn member_of(tx: &Transaction<'_>, chat: ChatId, contact: ContactId) -> Result<Member, GroupError> {
    if let Some(m) = members(tx, chat)?
        .into_iter()
        .find(|m| m.contact == contact)
    {
        return Ok(m);
    }
    let handle: String = tx
        .query_row(
            "SELECT handle FROM contacts WHERE id = ?1",
            [contact.0],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| GroupError::NoContact {
            contact: contact.to_string(),
        })?;
    Err(GroupError::NotInGroup { handle })
}

pub(super) fn remove(
    tx: &Transaction<'_>,
    chat: ChatId,
    contact: ContactId,
) -> Result<GroupInfo, GroupError> {
    let g = as_admin(tx, chat)?;
    let m = member_of(tx, chat, contact)?;
    tx.execute(
        "DELETE FROM group_members WHERE chat_id = ?1 AND contact_id = ?2",
        params![chat.0, contact.0],
    )?;
    forget_keys(tx, &g.uid, contact)?;
    rotate(tx, chat)?;
    messages::insert_system(tx, chat, &format!("You removed {}", shown(&m.handle)))?;
    publish(
        tx,
        chat,
        GroupChangeKind::MemberRemoved,
        vec![m.identity],
        &[contact],
    )?;
    info(tx, chat)
}

pub(super) fn rename(
    tx: &Transaction<'_>,
    chat: ChatId,
    name: &str,
) -> Result<GroupInfo, GroupError> {
    let g = as_admin(tx, chat)?;
    if g.name == name {
        return info(tx, chat);
    }
    tx.execute(
        "UPDATE chats SET title = ?2 WHERE id = ?1",
        params![chat.0, name],
    )?;
    messages::insert_system(tx, chat, &format!("You renamed the group to “{name}”"))?;
    publish(tx, chat, GroupChangeKind::GroupRenamed, Vec::new(), &[])?;
    info(tx, chat)
}

pub(super) fn set_admin(
    tx: &Transaction<'_>,
    chat: ChatId,
    contact: ContactId,
    admin: bool,
) -> Result<GroupInfo, GroupError> {
    as_admin(tx, chat)?;
    let m = member_of(tx, chat, contact)?;
    if m.admin == admin {
        return info(tx, chat);
    }
    tx.execute(
        "UPDATE group_members SET admin = ?3 WHERE chat_id = ?1 AND contact_id = ?2",
        params![chat.0, contact.0, admin],
    )?;
    let line = match admin {
        true => format!("You made {} an admin", shown(&m.handle)),
        false => format!("{} is no longer an admin", shown(&m.handle)),
    };
    messages::insert_system(tx, chat, &line)?;
    publish(
        tx,
        chat,
        GroupChangeKind::AdminChanged,
        vec![m.identity],
        &[],
    )?;
    info(tx, chat)
}

pub(super) fn leave(tx: &Transaction<'_>, chat: ChatId) -> Result<GroupInfo, GroupError> {
    let g = loaded(tx, chat)?;
    if !g.member {
        return Err(GroupError::NotMember);
    }
    let others = members(tx, chat)?;
    if g.admin && !others.is_empty() && !others.iter().any(|m| m.admin) {
        return Err(GroupError::LastAdmin);
    }
    let p = outbox::control(Body::GroupLeave(payload::GroupLeave {
        group_id: g.uid.clone(),
    }));
    for m in &others {
        outbox::enqueue(tx, m.contact, None, &p)?;
    }
    tx.execute(
        "UPDATE groups SET member = 0, admin = 0, sender_key = NULL WHERE chat_id = ?1",
        [chat.0],
    )?;
    messages::insert_system(tx, chat, "You left the group")?;
    info(tx, chat)
}
