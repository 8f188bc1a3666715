//! End-to-end encrypted groups with Sender Keys.
//!
//! A group is a chat of kind `group`. Who is in it travels as a *snapshot* (name, members with
//! their identities, handles and admin flags, a revision) that an admin sends over the pairwise
//! sessions to every member, old and new, whenever it changes. A member applies a snapshot from
//! someone who is an admin in its current view when it is newer: a higher revision, or the same
//! revision from an identity that sorts higher (two admins changing the group at once: every
//! member keeps the same one). A new group is accepted from its creator when the snapshot makes
//! them an admin and us a member.
//!
//! Messages are encrypted once with the sender's [`SenderKey`](missiva_crypto::sender_keys)
//! and the same ciphertext goes to every member, one envelope each (the relay stores per
//! recipient; it sees who sends to whom, as for 1:1 messages, and nothing of the group: the
//! group id travels only inside the encryption; a group message names just its key id). Our
//! sender key reaches each member over the pairwise session before our first message to them
//! (`group_members.key_sent`). When someone is removed or leaves, every remaining member drops
//! its sender key and makes a new one for its next message, sent to the remaining members only:
//! a removed member cannot read what follows. A new member is given each sender's key as it is
//! *now* (the chain only moves forward), so it cannot read what came before.
//!
//! A group message whose sender's key or membership has not arrived yet (they come over other
//! pairwise sessions, in no guaranteed order) is kept and tried again when one arrives.

mod receive;
mod send;
mod store;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::Account;
use crate::chats::ChatError;
use crate::events::EventKind;
use crate::ids::{ChatId, ContactId};
use crate::store::StoreError;

#[doc(hidden)]
pub use receive::try_decrypt;
pub(crate) use receive::{
    Opened, Retry, Waiting, done_pending, keep_pending, member_chat_of_poll, open, pending,
    receive_control,
};
pub(crate) use send::enqueue;
pub(crate) use store::{is_group, membership};

/// The longest group name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The most members a group may have, this account included.
pub const MAX_MEMBERS: usize = 1000;
/// The largest group picture, in bytes (it travels inside the group's snapshot).
pub const MAX_AVATAR_BYTES: usize = 64 * 1024;

/// A group as its members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct GroupInfo {
    /// Its chat.
    pub chat: ChatId,
    /// The group's id, the same for every member (32 hex characters).
    pub id: String,
    /// Its name.
    pub name: String,
    /// This account is an admin.
    pub admin: bool,
    /// This account is (still) a member.
    pub member: bool,
    /// The group has a picture ([`Account::group_avatar`]).
    pub avatar: bool,
    /// Changes with every change of the group (a cache key for its picture).
    #[ts(type = "number")]
    pub revision: i64,
    /// Everyone in it, this account included, admins first.
    pub members: Vec<GroupMember>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct GroupMember {
    /// The contact; null for this account.
    pub contact: Option<ContactId>,
    /// The handle without '@' (a '#' placeholder until the relay confirms it).
    pub handle: String,
    /// An admin: can add and remove members, rename, and make others admins.
    pub admin: bool,
    /// This account.
    pub me: bool,
}

/// What is wrong with a group operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The name is empty or too long.
    #[error("a group name is 1 to {MAX_NAME_CHARS} characters")]
    BadName,
    /// A group needs someone else in it.
    #[error("choose at least one contact to be in the group")]
    NoMembers,
    /// Over [`MAX_MEMBERS`].
    #[error("a group has at most {MAX_MEMBERS} members")]
    TooMany,
    /// No group with this id or chat.
    #[error("there is no group {group}")]
    NotFound {
        /// What was asked for.
        group: String,
    },
    /// Only admins may do this.
    #[error("only the group's admins can do this")]
    NotAdmin,
    /// This account was removed from the group or left it.
    #[error("you are no longer a member of this group")]
    NotMember,
    /// A contact without keys yet (never reached through the relay).
    #[error("@{handle} has no keys yet: open their chat once online, then try again")]
    NoIdentity {
        /// The contact's handle.
        handle: String,
    },
    /// No such contact.
    #[error("there is no contact {contact}")]
    NoContact {
        /// What was asked for.
        contact: String,
    },
    /// The contact is not in the group.
    #[error("@{handle} is not in this group")]
    NotInGroup {
        /// Their handle.
        handle: String,
    },
    /// Not a picture this group can have.
    #[error(
        "a group picture is a PNG, JPEG or WebP image of at most {} KiB",
        MAX_AVATAR_BYTES / 1024
    )]
    BadAvatar,
    /// The last admin cannot leave while others stay without one.
    #[error("make someone else an admin before leaving: the group would have none")]
    LastAdmin,
    /// The chat.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for GroupError {
    fn from(e: rusqlite::Error) -> Self {
        GroupError::Store(e.into())
    }
}

/// Whether `bytes` can be a group picture: small enough, and a PNG, JPEG or WebP by its first
/// bytes (the UI shows it as an image; nothing else is done with it).
pub(crate) fn is_avatar(bytes: &[u8]) -> bool {
    let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
    let jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    let webp =
        bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(&b"WEBP"[..]);
    bytes.len() <= MAX_AVATAR_BYTES && (png || jpeg || webp)
}

/// A group name, trimmed and checked.
fn check_name(name: &str) -> Result<String, GroupError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(GroupError::BadName);
    }
    Ok(name.to_owned())
}

impl Account {
    /// Creates a group named `name` with `members` (contacts) and this account as its admin,
    /// and sends them the group.
    pub async fn create_group(
        &self,
        name: &str,
        members: Vec<ContactId>,
    ) -> Result<GroupInfo, GroupError> {
        let name = check_name(name)?;
        if members.is_empty() {
            return Err(GroupError::NoMembers);
        }
        if members.len() >= MAX_MEMBERS {
            return Err(GroupError::TooMany);
        }
        let info = self
            .db(move |s| s.write_with(|tx| store::create(tx, &name, &members)))
            .await?;
        self.changed(info.chat);
        Ok(info)
    }

    /// The group of `chat`.
    pub async fn group(&self, chat: ChatId) -> Result<GroupInfo, GroupError> {
        self.db(move |s| s.read_with(|c| store::info(c, chat)))
            .await
    }

    /// The group whose id (32 hex characters, the same for every member) is `id`.
    pub async fn group_by_id(&self, id: &str) -> Result<GroupInfo, GroupError> {
        let uid = hex::decode(id.trim());
        let id = id.to_owned();
        let not_found = move || GroupError::NotFound { group: id.clone() };
        let uid = uid.map_err(|_| not_found())?;
        self.db(move |s| {
            s.read_with(|c| {
                let chat = store::chat_of_uid(c, &uid)?.ok_or_else(not_found)?;
                store::info(c, chat)
            })
        })
        .await
    }

    /// Every group this account is or was in.
    pub async fn groups(&self) -> Result<Vec<GroupInfo>, GroupError> {
        self.db(|s| {
            s.read_with(|c| {
                store::chats(c)?
                    .into_iter()
                    .map(|chat| store::info(c, chat))
                    .collect()
            })
        })
        .await
    }

    /// Adds `members` to the group of `chat` (admins only).
    pub async fn add_group_members(
        &self,
        chat: ChatId,
        members: Vec<ContactId>,
    ) -> Result<GroupInfo, GroupError> {
        self.change(chat, move |tx| store::add(tx, chat, &members))
            .await
    }

    /// Removes `member` from the group of `chat` (admins only); everyone's sender key is
    /// replaced, so they cannot read what follows.
    pub async fn remove_group_member(
        &self,
        chat: ChatId,
        member: ContactId,
    ) -> Result<GroupInfo, GroupError> {
        self.change(chat, move |tx| store::remove(tx, chat, member))
            .await
    }

    /// Renames the group of `chat` (admins only).
    pub async fn rename_group(&self, chat: ChatId, name: &str) -> Result<GroupInfo, GroupError> {
        let name = check_name(name)?;
        self.change(chat, move |tx| store::rename(tx, chat, &name))
            .await
    }

    /// Makes `member` an admin of the group of `chat`, or no longer one (admins only).
    pub async fn set_group_admin(
        &self,
        chat: ChatId,
        member: ContactId,
        admin: bool,
    ) -> Result<GroupInfo, GroupError> {
        self.change(chat, move |tx| store::set_admin(tx, chat, member, admin))
            .await
    }

    /// Sets the picture of the group of `chat` (admins only), or with `None` removes it.
    pub async fn set_group_avatar(
        &self,
        chat: ChatId,
        avatar: Option<Vec<u8>>,
    ) -> Result<GroupInfo, GroupError> {
        if avatar.as_deref().is_some_and(|a| !is_avatar(a)) {
            return Err(GroupError::BadAvatar);
        }
        self.change(chat, move |tx| {
            store::set_avatar(tx, chat, avatar.as_deref())
        })
        .await
    }

    /// The picture of the group of `chat`, if it has one.
    pub async fn group_avatar(&self, chat: ChatId) -> Result<Option<Vec<u8>>, GroupError> {
        self.db(move |s| {
            s.read_with::<_, GroupError>(|c| {
                if store::membership(c, chat)?.is_none() {
                    return Err(GroupError::NotFound {
                        group: format!("in chat {chat}"),
                    });
                }
                Ok(store::avatar(c, chat)?)
            })
        })
        .await
    }

    /// Leaves the group of `chat`: the others are told and replace their sender keys.
    pub async fn leave_group(&self, chat: ChatId) -> Result<GroupInfo, GroupError> {
        self.change(chat, move |tx| store::leave(tx, chat)).await
    }

    /// Runs `f`, a change of the group of `chat`, in one transaction, then tells the sync task
    /// and the UI.
    async fn change(
        &self,
        chat: ChatId,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<GroupInfo, GroupError> + Send + 'static,
    ) -> Result<GroupInfo, GroupError> {
        let info = self.db(move |s| s.write_with(f)).await?;
        self.changed(chat);
        Ok(info)
    }

    fn changed(&self, chat: ChatId) {
        self.kick();
        self.emit(EventKind::MessagesChanged { chat });
        self.emit(EventKind::ChatsChanged);
    }
}
