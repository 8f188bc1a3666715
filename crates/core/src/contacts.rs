//! Contacts: people this account writes to, found by handle on the relay and matched by their
//! identity key. Adding one fetches their prekey bundle, verifies it and starts a session. When
//! a handle's identity changes, the chat shows a warning and the UI gets `identityChanged`.

use missiva_crypto::safety::SafetyNumber;
use missiva_proto::relay::{self, client_frame, server_frame};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::Account;
use crate::chats;
use crate::clock;
use crate::events::EventKind;
use crate::identity::{self, IdentityError};
use crate::ids::{ChatId, ContactId};
use crate::messages;
use crate::sessions::{self, SetupError};
use crate::store::StoreError;
use crate::sync::SyncError;

pub(crate) mod claims;

/// A person this account can write to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ContactInfo {
    /// Stable id within the account.
    pub id: ContactId,
    /// Their handle on the relay, without the @ ('#…' while only their key is known).
    pub handle: String,
    /// The name to show.
    pub display_name: String,
    /// 60 digits in 12 groups of 5, separated by spaces.
    pub safety_number: String,
    /// Their identity key changed since it was first seen.
    pub identity_changed: bool,
    /// The user compared the safety number.
    pub verified: bool,
    /// When the contact was added (RFC 3339, UTC).
    pub created_at: String,
}

/// Errors of contacts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContactError {
    /// Not a handle the relay accepts.
    #[error("\"{handle}\" is not a valid handle (3-32 of a-z, 0-9, _ and .)")]
    InvalidHandle {
        /// What was given.
        handle: String,
    },
    /// Nobody has this handle on the relay.
    #[error("nobody has the handle @{handle} on this relay")]
    UnknownHandle {
        /// The handle.
        handle: String,
    },
    /// The handle is this account's own.
    #[error("@{handle} is this account")]
    Yourself {
        /// The handle.
        handle: String,
    },
    /// No contact with this id or handle.
    #[error("there is no contact {what}")]
    NotFound {
        /// The id or handle asked for.
        what: String,
    },
    /// Their prekeys could not be used.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The relay.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The account's keys.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ContactError {
    fn from(e: rusqlite::Error) -> Self {
        ContactError::Store(e.into())
    }
}

/// The handle shown for a sender whose handle is not known yet: '#' and 16 hex digits of their
/// key, which no real handle can be.
fn placeholder_handle(identity: &[u8]) -> String {
    format!("#{}", hex::encode(identity.get(..8).unwrap_or(identity)))
}

/// Whether `handle` is a placeholder (the sender's real handle is not known yet).
pub(crate) fn is_placeholder(handle: &str) -> bool {
    handle.starts_with('#')
}

/// The contact with this identity key, a real handle preferred over a placeholder.
pub(crate) fn by_identity(
    conn: &Connection,
    identity: &[u8],
) -> rusqlite::Result<Option<ContactId>> {
    conn.query_row(
        "SELECT id FROM contacts WHERE identity_key = ?1
         ORDER BY handle LIKE '#%', id DESC LIMIT 1",
        [identity],
        |r| r.get(0).map(ContactId),
    )
    .optional()
}

/// A contact for a sender known only by key, with its direct chat.
pub(crate) fn insert_placeholder(
    tx: &Transaction<'_>,
    identity: &[u8],
) -> rusqlite::Result<ContactId> {
    let id = insert_member(tx, identity)?;
    chats::direct_chat(tx, id)?;
    Ok(id)
}

/// A contact for a group member known only by key (from a group snapshot), without a chat of
/// its own until one is needed.
pub(crate) fn insert_member(tx: &Transaction<'_>, identity: &[u8]) -> rusqlite::Result<ContactId> {
    let handle = placeholder_handle(identity);
    tx.execute(
        "INSERT INTO contacts (handle, display_name, identity_key, created_at)
         VALUES (?1, ?1, ?2, ?3)",
        params![handle, identity, clock::now_ms()],
    )?;
    Ok(ContactId(tx.last_insert_rowid()))
}

/// The contact called `handle` (with or without '@').
pub(crate) fn by_handle(conn: &Connection, handle: &str) -> rusqlite::Result<Option<ContactId>> {
    conn.query_row(
        "SELECT id FROM contacts WHERE handle = ?1",
        [identity::normalise_handle(handle)],
        |r| r.get(0).map(ContactId),
    )
    .optional()
}

/// The stable id safety numbers are computed over: the identity key itself, so both sides
/// agree whatever handles they know each other by.
fn safety_id(identity: &[u8]) -> String {
    hex::encode(identity)
}

fn info(conn: &Connection, own: &[u8], id: ContactId) -> rusqlite::Result<Option<ContactInfo>> {
    conn.query_row(
        "SELECT id, handle, display_name, coalesce(identity_key, x''), identity_changed, verified,
                created_at
         FROM contacts WHERE id = ?1",
        [id.0],
        |r| {
            let identity: Vec<u8> = r.get(3)?;
            let safety_number = if identity.is_empty() {
                String::new()
            } else {
                SafetyNumber::new(own, &safety_id(own), &identity, &safety_id(&identity))
                    .formatted()
            };
            Ok(ContactInfo {
                id: ContactId(r.get(0)?),
                handle: r.get(1)?,
                display_name: r.get(2)?,
                safety_number,
                identity_changed: r.get(4)?,
                verified: r.get(5)?,
                created_at: clock::rfc3339(r.get(6)?),
            })
        },
    )
    .optional()
}

fn own_identity(conn: &Connection) -> rusqlite::Result<Vec<u8>> {
    Ok(conn
        .query_row("SELECT public FROM identity WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

/// What adding a contact changed in the database.
struct Added {
    contact: ContactId,
    chat: ChatId,
    identity_changed: bool,
    needs_session: bool,
}

/// Records `handle` -> `identity`: a new contact, a placeholder that gets its handle, or an
/// existing contact whose key changed (warning line, sessions dropped).
fn record(tx: &Transaction<'_>, handle: &str, identity: &[u8]) -> rusqlite::Result<Added> {
    let now = clock::now_ms();
    let existing: Option<(i64, Option<Vec<u8>>)> = tx
        .query_row(
            "SELECT id, identity_key FROM contacts WHERE handle = ?1",
            [handle],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let mut identity_changed = false;
    let contact = match existing {
        Some((id, old)) => {
            let id = ContactId(id);
            match old {
                Some(old) if old == identity => {}
                Some(old) => {
                    identity_changed = true;
                    tx.execute(
                        "UPDATE contacts SET previous_identity = ?2, identity_key = ?3,
                                identity_changed = 1, verified = 0
                         WHERE id = ?1",
                        params![id.0, old, identity],
                    )?;
                    sessions::delete_all(tx, id)?;
                }
                None => {
                    tx.execute(
                        "UPDATE contacts SET identity_key = ?2 WHERE id = ?1",
                        params![id.0, identity],
                    )?;
                }
            }
            id
        }
        None => match by_identity(tx, identity)? {
            // Someone who wrote first: they get their handle now.
            Some(id) => {
                tx.execute(
                    "UPDATE contacts SET handle = ?2, display_name = ?2, claimed_handle = ''
                     WHERE id = ?1",
                    params![id.0, handle],
                )?;
                tx.execute(
                    "UPDATE chats SET title = ?2 WHERE contact_id = ?1 AND kind = 'direct'",
                    params![id.0, handle],
                )?;
                id
            }
            None => {
                tx.execute(
                    "INSERT INTO contacts (handle, display_name, identity_key, created_at)
                     VALUES (?1, ?1, ?2, ?3)",
                    params![handle, identity, now],
                )?;
                ContactId(tx.last_insert_rowid())
            }
        },
    };
    let chat = chats::direct_chat(tx, contact)?;
    if identity_changed {
        messages::insert_system(
            tx,
            chat,
            &format!(
                "The safety number with @{handle} changed: they reinstalled Missiva or someone \
                 else now holds this handle. Compare safety numbers before trusting new messages."
            ),
        )?;
    }
    let needs_session = sessions::active(tx, contact)?.is_none();
    Ok(Added {
        contact,
        chat,
        identity_changed,
        needs_session,
    })
}

impl Account {
    /// Adds `handle` (with or without '@'): looks it up on the relay, fetches and verifies
    /// their prekey bundle and starts a session; creates the direct chat. Adding a contact
    /// again re-checks their identity: a changed key shows a warning in the chat.
    pub async fn add_contact(&self, handle: &str) -> Result<ContactInfo, ContactError> {
        let handle = identity::normalise_handle(handle);
        if !identity::is_valid_handle(&handle) {
            return Err(ContactError::InvalidHandle { handle });
        }
        let own = self
            .db(|s| s.read_with::<_, ContactError>(|c| Ok(identity::handle(c)?)))
            .await?;
        if own.as_deref() == Some(handle.as_str()) {
            return Err(ContactError::Yourself { handle });
        }
        let found = self
            .request(client_frame::Body::LookupHandle(relay::LookupHandle {
                handle: handle.clone(),
            }))
            .await;
        let identity = match found {
            Ok(server_frame::Body::HandleFound(f)) => f.identity,
            Ok(_) => return Err(SyncError::UnexpectedReply.into()),
            Err(e) if e.is_relay_code(relay::ErrorCode::NotFound) => {
                return Err(ContactError::UnknownHandle { handle });
            }
            Err(e) => return Err(e.into()),
        };
        let h = handle.clone();
        let id = identity.clone();
        let added = self
            .db(move |s| s.write_with::<_, ContactError>(|tx| Ok(record(tx, &h, &id)?)))
            .await?;
        if added.needs_session {
            let bundle = match self
                .request(client_frame::Body::FetchBundle(relay::FetchBundle {
                    identity: identity.clone(),
                }))
                .await?
            {
                server_frame::Body::Bundle(b) => b,
                _ => return Err(SyncError::UnexpectedReply.into()),
            };
            let contact = added.contact;
            self.db(move |s| {
                s.write_with::<_, ContactError>(|tx| {
                    let ours = identity::load(tx)?;
                    sessions::initiate(tx, &ours, contact, &identity, &bundle)?;
                    Ok(())
                })
            })
            .await?;
            // Messages queued while there was no session can go now.
            self.kick();
        }
        self.emit(EventKind::ContactsChanged);
        self.emit(EventKind::ChatsChanged);
        if added.identity_changed {
            tracing::warn!(contact = %added.contact, "contact identity changed");
            self.emit(EventKind::IdentityChanged {
                contact: added.contact,
            });
            self.emit(EventKind::MessagesChanged { chat: added.chat });
        }
        self.contact(added.contact).await
    }

    /// Every contact, by handle.
    pub async fn contacts(&self) -> Result<Vec<ContactInfo>, ContactError> {
        self.db(|s| {
            s.read_with::<_, ContactError>(|c| {
                let own = own_identity(c)?;
                let mut stmt = c.prepare("SELECT id FROM contacts ORDER BY handle")?;
                let ids = stmt
                    .query_map([], |r| r.get(0).map(ContactId))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    out.extend(info(c, &own, id)?);
                }
                Ok(out)
            })
        })
        .await
    }

    /// One contact.
    pub async fn contact(&self, id: ContactId) -> Result<ContactInfo, ContactError> {
        self.db(move |s| {
            s.read_with::<_, ContactError>(|c| {
                let own = own_identity(c)?;
                info(c, &own, id)?.ok_or(ContactError::NotFound {
                    what: id.to_string(),
                })
            })
        })
        .await
    }

    /// The contact called `handle` (with or without '@'), if any.
    pub async fn contact_by_handle(&self, handle: &str) -> Result<ContactInfo, ContactError> {
        let h = handle.to_owned();
        let id = self
            .db(move |s| s.read_with::<_, ContactError>(|c| Ok(by_handle(c, &h)?)))
            .await?
            .ok_or_else(|| ContactError::NotFound {
                what: format!("@{}", identity::normalise_handle(handle)),
            })?;
        self.contact(id).await
    }
}
