//! Double Ratchet sessions per contact, in the encrypted store. A contact may have several (both
//! sides set one up at once); messages are sent with the active one, the last that received.

use missiva_crypto::ratchet::Session;
use rusqlite::{Connection, Transaction, params};

use crate::clock;
use crate::ids::ContactId;

/// A stored session with what the send and receive paths need to know about it.
pub(crate) struct StoredSession {
    pub(crate) id: i64,
    pub(crate) session: Session,
    /// Our X3DH initial message, to attach until the peer has replied.
    pub(crate) initial: Option<Vec<u8>>,
    /// The peer's initial message this session answered.
    pub(crate) their_initial: Option<Vec<u8>>,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("id", &self.id)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// The sessions of `contact`, the active one first, then newest first. Rows that no longer
/// parse are skipped (and logged): they can decrypt nothing.
pub(crate) fn for_contact(
    conn: &Connection,
    contact: ContactId,
) -> rusqlite::Result<Vec<StoredSession>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, state, initial, their_initial FROM sessions WHERE contact_id = ?1
         ORDER BY active DESC, id DESC",
    )?;
    let rows = stmt.query_map([contact.0], |r| {
        let state: Vec<u8> = r.get(1)?;
        let state = zeroize::Zeroizing::new(state);
        Ok((
            r.get::<_, i64>(0)?,
            Session::from_bytes(&state),
            r.get::<_, Option<Vec<u8>>>(2)?,
            r.get::<_, Option<Vec<u8>>>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, session, initial, their_initial) = row?;
        match session {
            Ok(session) => out.push(StoredSession {
                id,
                session,
                initial,
                their_initial,
            }),
            Err(e) => tracing::warn!(session = id, error = %e, "unreadable session skipped"),
        }
    }
    Ok(out)
}

/// The session to send with, if the contact has one.
pub(crate) fn active(
    conn: &Connection,
    contact: ContactId,
) -> rusqlite::Result<Option<StoredSession>> {
    Ok(for_contact(conn, contact)?.into_iter().next())
}

/// Stores a new session and makes it the active one.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    contact: ContactId,
    session: &Session,
    initial: Option<&[u8]>,
    their_initial: Option<&[u8]>,
) -> rusqlite::Result<i64> {
    tx.execute(
        "UPDATE sessions SET active = 0 WHERE contact_id = ?1",
        [contact.0],
    )?;
    tx.execute(
        "INSERT INTO sessions (contact_id, state, initial, their_initial, active, created_at)
         VALUES (?1, ?2, ?3, ?4, 1, ?5)",
        params![
            contact.0,
            session.to_bytes().as_slice(),
            initial,
            their_initial,
            clock::now_ms()
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Saves a session's new state after encrypting with it.
pub(crate) fn save(tx: &Transaction<'_>, id: i64, session: &Session) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE sessions SET state = ?2 WHERE id = ?1",
        params![id, session.to_bytes().as_slice()],
    )?;
    Ok(())
}

/// Saves a session that just decrypted a message: the peer has it, so our initial message
/// need not travel any more, and it becomes the one to send with.
pub(crate) fn save_received(
    tx: &Transaction<'_>,
    contact: ContactId,
    id: i64,
    session: &Session,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE sessions SET active = (id = ?2) WHERE contact_id = ?1",
        params![contact.0, id],
    )?;
    tx.execute(
        "UPDATE sessions SET state = ?2, initial = NULL WHERE id = ?1",
        params![id, session.to_bytes().as_slice()],
    )?;
    Ok(())
}

/// Forgets every session with `contact` (their identity changed).
pub(crate) fn delete_all(tx: &Transaction<'_>, contact: ContactId) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM sessions WHERE contact_id = ?1", [contact.0])?;
    Ok(())
}

/// Why a session could not be started from a relay's bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The bundle is malformed.
    #[error("the relay sent a malformed prekey bundle: {0}")]
    BadBundle(String),
    /// The bundle is for another identity than the contact's.
    #[error("the relay sent a prekey bundle of another identity")]
    IdentityMismatch,
    /// X3DH refused the bundle (forged signed prekey, bad key).
    #[error("the contact's prekeys are not valid: {0}")]
    X3dh(#[from] missiva_crypto::x3dh::X3dhError),
    /// The ratchet could not start.
    #[error("cannot start the session: {0}")]
    Ratchet(#[from] missiva_crypto::ratchet::RatchetError),
    /// The database.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The relay's bundle in missiva-crypto's form (its serialization, to avoid a dependency on
/// the curve crates here).
pub(crate) fn parse_bundle(
    bundle: &missiva_proto::relay::Bundle,
) -> Result<missiva_crypto::prekeys::PreKeyBundle, SetupError> {
    let spk = bundle
        .signed_prekey
        .as_ref()
        .ok_or_else(|| SetupError::BadBundle("no signed prekey".to_owned()))?;
    let mut bytes = Vec::with_capacity(240);
    bytes.push(missiva_crypto::prekeys::BUNDLE_VERSION);
    bytes.extend_from_slice(&bundle.identity);
    bytes.extend_from_slice(&spk.id.to_be_bytes());
    if spk.public_key.len() != 32 || spk.signature.len() != 64 || bundle.identity.len() != 64 {
        return Err(SetupError::BadBundle("wrong key length".to_owned()));
    }
    bytes.extend_from_slice(&spk.public_key);
    bytes.extend_from_slice(&spk.signature);
    match &bundle.one_time_prekey {
        Some(opk) if opk.public_key.len() == 32 => {
            bytes.push(1);
            bytes.extend_from_slice(&opk.id.to_be_bytes());
            bytes.extend_from_slice(&opk.public_key);
        }
        Some(_) => return Err(SetupError::BadBundle("wrong key length".to_owned())),
        None => bytes.push(0),
    }
    missiva_crypto::prekeys::PreKeyBundle::from_bytes(&bytes)
        .map_err(|e| SetupError::BadBundle(e.to_string()))
}

/// X3DH with the contact's bundle: verifies it is theirs (`expected` identity) and signed,
/// then stores the new session (active, with our initial message to attach).
pub(crate) fn initiate(
    tx: &Transaction<'_>,
    ours: &missiva_crypto::identity::IdentityKeyPair,
    contact: ContactId,
    expected: &[u8],
    bundle: &missiva_proto::relay::Bundle,
) -> Result<(), SetupError> {
    let bundle = parse_bundle(bundle)?;
    if bundle.identity.to_bytes().as_slice() != expected {
        return Err(SetupError::IdentityMismatch);
    }
    let mut rng = rand::rng();
    let (initial, agreement) = missiva_crypto::x3dh::initiate(ours, &bundle, &mut rng)?;
    let session = Session::initiator(&agreement, &bundle.signed_prekey.key, &mut rng)?;
    insert(tx, contact, &session, Some(&initial.to_bytes()), None)?;
    Ok(())
}
