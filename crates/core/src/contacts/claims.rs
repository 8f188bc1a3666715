//! Handles claimed by senders known only by key. A first message carries the sender's handle
//! (`Payload.sender_handle`); anyone can write anything there, so it is kept aside as a claim
//! and shown only once the relay confirms that the handle maps to the envelope's sender.

use missiva_proto::relay::{self, server_frame};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use super::is_placeholder;
use crate::identity;
use crate::ids::{ChatId, ContactId};

/// A handle a contact known only by key says is theirs, to check with the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The contact, still shown by a placeholder.
    pub(crate) contact: ContactId,
    /// The handle claimed, normalised.
    pub(crate) handle: String,
    /// The contact's identity key: the relay must map the handle to exactly this.
    pub(crate) identity: Vec<u8>,
}

/// What the relay's answer to a claim's `LookupHandle` says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The handle is the sender's.
    Confirmed,
    /// The handle is someone else's, nobody's, or not a handle: never show it.
    Refused,
    /// No answer now (rate limited, relay trouble): ask again later.
    Unanswered,
}

/// Keeps the handle `claimed` in a payload from `contact` to check, when the contact is still
/// a placeholder and the claim is a valid handle. Called in the transaction that stores the
/// payload, so the claim is as durable as the message.
pub(crate) fn record(
    tx: &Transaction<'_>,
    contact: ContactId,
    claimed: &str,
) -> rusqlite::Result<Option<Claim>> {
    if claimed.is_empty() {
        return Ok(None);
    }
    let handle = identity::normalise_handle(claimed);
    if !identity::is_valid_handle(&handle) {
        tracing::debug!(contact = %contact, "claimed handle is not a valid handle");
        return Ok(None);
    }
    let row: Option<(String, Option<Vec<u8>>)> = tx
        .query_row(
            "SELECT handle, identity_key FROM contacts WHERE id = ?1",
            [contact.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((current, Some(identity))) = row else {
        return Ok(None);
    };
    if !is_placeholder(&current) {
        return Ok(None);
    }
    tx.execute(
        "UPDATE contacts SET claimed_handle = ?2 WHERE id = ?1",
        params![contact.0, handle],
    )?;
    Ok(Some(Claim {
        contact,
        handle,
        identity,
    }))
}

/// Claims recorded and not settled yet (the relay did not answer), to check again.
pub(crate) fn unsettled(conn: &Connection) -> rusqlite::Result<Vec<Claim>> {
    let mut stmt = conn.prepare(
        "SELECT id, claimed_handle, identity_key FROM contacts
         WHERE claimed_handle != '' AND handle LIKE '#%' AND identity_key IS NOT NULL
         ORDER BY id",
    )?;
    stmt.query_map([], |r| {
        Ok(Claim {
            contact: ContactId(r.get(0)?),
            handle: r.get(1)?,
            identity: r.get(2)?,
        })
    })?
    .collect()
}

/// The `LookupHandle` request that checks `claim`.
pub(crate) fn lookup(claim: &Claim) -> relay::LookupHandle {
    relay::LookupHandle {
        handle: claim.handle.clone(),
    }
}

/// Judges `claim` by the relay's `reply` to its [`lookup`]: confirmed only when the relay maps
/// exactly the claimed handle to exactly the sender's identity.
pub(crate) fn judge(claim: &Claim, reply: &server_frame::Body) -> Verdict {
    use relay::ErrorCode as C;
    match reply {
        server_frame::Body::HandleFound(found)
            if found.identity == claim.identity
                && identity::normalise_handle(&found.handle) == claim.handle =>
        {
            Verdict::Confirmed
        }
        server_frame::Body::HandleFound(_) => Verdict::Refused,
        server_frame::Body::Error(e) => match C::try_from(e.code) {
            Ok(C::NotFound | C::HandleInvalid | C::BadRequest) => Verdict::Refused,
            _ => Verdict::Unanswered,
        },
        _ => Verdict::Unanswered,
    }
}

/// Applies `verdict` to `claim`. Confirmed: the contact takes the handle (as its name too, and
/// as its direct chat's title where those still show the placeholder) and its chat is
/// returned; refused: the claim is forgotten; unanswered: it is kept for the next connection.
/// Nothing changes when the contact got a real handle meanwhile (the user added them) or
/// another contact already has this handle.
pub(crate) fn settle(
    tx: &Transaction<'_>,
    claim: &Claim,
    verdict: Verdict,
) -> rusqlite::Result<Option<ChatId>> {
    match verdict {
        Verdict::Unanswered => {
            tracing::debug!(contact = %claim.contact, "claimed handle not checked yet");
            return Ok(None);
        }
        Verdict::Refused => {
            tracing::debug!(contact = %claim.contact, "claimed handle refused by the relay");
            forget(tx, claim)?;
            return Ok(None);
        }
        Verdict::Confirmed => {}
    }
    let current: Option<String> = tx
        .query_row(
            "SELECT handle FROM contacts WHERE id = ?1 AND identity_key = ?2",
            params![claim.contact.0, claim.identity],
            |r| r.get(0),
        )
        .optional()?;
    let Some(placeholder) = current.filter(|h| is_placeholder(h)) else {
        forget(tx, claim)?;
        return Ok(None);
    };
    let taken: Option<i64> = tx
        .query_row(
            "SELECT id FROM contacts WHERE handle = ?1",
            [&claim.handle],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() {
        tracing::debug!(
            contact = %claim.contact,
            "claimed handle belongs to another contact here; placeholder kept"
        );
        forget(tx, claim)?;
        return Ok(None);
    }
    tx.execute(
        "UPDATE contacts
         SET handle = ?2, claimed_handle = '',
             display_name = CASE WHEN display_name IN (?3, '') THEN ?2 ELSE display_name END
         WHERE id = ?1",
        params![claim.contact.0, claim.handle, placeholder],
    )?;
    tx.execute(
        "UPDATE chats SET title = ?2
         WHERE contact_id = ?1 AND kind = 'direct' AND title IN (?3, '')",
        params![claim.contact.0, claim.handle, placeholder],
    )?;
    tx.query_row(
        "SELECT id FROM chats WHERE contact_id = ?1 AND kind = 'direct'",
        [claim.contact.0],
        |r| r.get(0).map(ChatId),
    )
    .optional()
}

fn forget(tx: &Transaction<'_>, claim: &Claim) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE contacts SET claimed_handle = '' WHERE id = ?1 AND claimed_handle = ?2",
        params![claim.contact.0, claim.handle],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
