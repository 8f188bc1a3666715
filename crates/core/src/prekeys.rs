//! Signed and one-time prekeys: stored, published, used once, replenished when the relay says it
//! runs low, and the signed prekey rotated when it is old.
//!
//! missiva-crypto does not export prekey secrets, so each prekey is stored as the 32-byte seed of
//! a ChaCha20 stream it is generated from: the same seed, id and creation time give the same key
//! pair (Ed25519 signatures are deterministic). The seed is the secret and lives only here.

use missiva_crypto::identity::IdentityKeyPair;
use missiva_crypto::prekeys::{OneTimePreKey, SignedPreKey};
use missiva_crypto::x3dh::ReplayGuard;
use missiva_proto::relay;
use rand::{Rng as _, SeedableRng as _};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use zeroize::Zeroizing;

use crate::clock;

/// One-time prekeys generated at a time.
pub(crate) const ONE_TIME_BATCH: u32 = 100;
/// Signed prekeys kept besides the current one, for initial messages still in flight.
const PREVIOUS_SIGNED_KEPT: i64 = 1;
/// The setting holding the next one-time prekey id (ids are never reused).
const NEXT_ONE_TIME_ID: &str = "prekeys.next_one_time_id";

/// A prekey's id, creation time (Unix seconds) and secret seed. `Debug` shows no secret.
pub struct PrekeySeed {
    pub(crate) id: u32,
    pub(crate) created_at: u64,
    seed: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for PrekeySeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrekeySeed")
            .field("id", &self.id)
            .field("seed", &"<redacted>")
            .finish()
    }
}

impl PrekeySeed {
    /// A new random seed for prekey `id`.
    pub(crate) fn random(id: u32, created_at: u64) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(seed.as_mut());
        PrekeySeed {
            id,
            created_at,
            seed,
        }
    }

    fn from_row(id: u32, created_at: u64, seed: &[u8]) -> Option<Self> {
        let seed: [u8; 32] = seed.try_into().ok()?;
        Some(PrekeySeed {
            id,
            created_at,
            seed: Zeroizing::new(seed),
        })
    }

    fn rng(&self) -> rand::rngs::ChaCha20Rng {
        rand::rngs::ChaCha20Rng::from_seed(*self.seed)
    }

    #[cfg(test)]
    pub(crate) fn seed_bytes(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The signed prekey this seed stands for.
    pub(crate) fn signed(&self, identity: &IdentityKeyPair) -> SignedPreKey {
        SignedPreKey::generate(identity, self.id, self.created_at, &mut self.rng())
    }

    /// The one-time prekey this seed stands for.
    pub(crate) fn one_time(&self) -> Option<OneTimePreKey> {
        OneTimePreKey::generate_batch(self.id, 1, &mut self.rng())
            .into_iter()
            .next()
    }
}

/// The relay's form of a signed prekey.
pub(crate) fn signed_public(identity: &IdentityKeyPair, seed: &PrekeySeed) -> relay::SignedPrekey {
    let public = seed.signed(identity).public();
    relay::SignedPrekey {
        id: public.id,
        public_key: public.key.as_bytes().to_vec(),
        signature: public.signature.to_vec(),
    }
}

/// The relay's form of a one-time prekey.
pub(crate) fn one_time_public(seed: &PrekeySeed) -> relay::OneTimePrekey {
    relay::OneTimePrekey {
        id: seed.id,
        public_key: seed
            .one_time()
            .map(|k| k.public().as_bytes().to_vec())
            .unwrap_or_default(),
    }
}

pub(crate) fn insert_signed(
    tx: &Transaction<'_>,
    seed: &PrekeySeed,
    current: bool,
    uploaded: bool,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO signed_prekeys (id, seed, created_at, current, uploaded)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            seed.id,
            seed.seed.as_slice(),
            i64::try_from(seed.created_at).unwrap_or(i64::MAX),
            current,
            uploaded
        ],
    )?;
    Ok(())
}

pub(crate) fn insert_one_time(
    tx: &Transaction<'_>,
    seed: &PrekeySeed,
    uploaded: bool,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO one_time_prekeys (id, seed, uploaded) VALUES (?1, ?2, ?3)",
        params![seed.id, seed.seed.as_slice(), uploaded],
    )?;
    Ok(())
}

pub(crate) fn set_next_one_time_id(tx: &Transaction<'_>, id: u32) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![NEXT_ONE_TIME_ID, id.to_string()],
    )?;
    Ok(())
}

fn next_one_time_id(conn: &Connection) -> rusqlite::Result<u32> {
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [NEXT_ONE_TIME_ID],
            |r| r.get(0),
        )
        .optional()?;
    let from_setting = v.and_then(|v| v.parse::<u32>().ok()).unwrap_or(1);
    let max: Option<u32> =
        conn.query_row("SELECT max(id) FROM one_time_prekeys", [], |r| r.get(0))?;
    Ok(from_setting.max(max.map_or(1, |m| m.saturating_add(1))))
}

fn seed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<PrekeySeed>> {
    let id: u32 = r.get(0)?;
    let created: i64 = r.get(1)?;
    let seed: Vec<u8> = r.get(2)?;
    let seed = Zeroizing::new(seed);
    Ok(PrekeySeed::from_row(
        id,
        u64::try_from(created).unwrap_or(0),
        &seed,
    ))
}

/// The signed prekey `id`, if still held.
pub(crate) fn signed_prekey(
    conn: &Connection,
    identity: &IdentityKeyPair,
    id: u32,
) -> rusqlite::Result<Option<SignedPreKey>> {
    let seed = conn
        .query_row(
            "SELECT id, created_at, seed FROM signed_prekeys WHERE id = ?1",
            [id],
            seed_row,
        )
        .optional()?
        .flatten();
    Ok(seed.map(|s| s.signed(identity)))
}

/// The one-time prekey `id`, if not used yet.
pub(crate) fn one_time_prekey(
    conn: &Connection,
    id: u32,
) -> rusqlite::Result<Option<OneTimePreKey>> {
    let seed = conn
        .query_row(
            "SELECT id, 0, seed FROM one_time_prekeys WHERE id = ?1",
            [id],
            seed_row,
        )
        .optional()?
        .flatten();
    Ok(seed.and_then(|s| s.one_time()))
}

/// Deletes one-time prekey `id`: it has been used.
pub(crate) fn consume_one_time(tx: &Transaction<'_>, id: u32) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM one_time_prekeys WHERE id = ?1", [id])?;
    Ok(())
}

/// The replay guard of answered initial messages.
pub(crate) fn replay_guard(conn: &Connection) -> rusqlite::Result<ReplayGuard> {
    let bytes: Option<Vec<u8>> = conn
        .query_row("SELECT state FROM replay_guard WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    // A damaged guard is replaced by an empty one: one-time prekeys still stop most replays and
    // refusing every new session would be worse.
    Ok(bytes
        .and_then(|b| ReplayGuard::from_bytes(&b).ok())
        .unwrap_or_default())
}

pub(crate) fn save_replay_guard(tx: &Transaction<'_>, guard: &ReplayGuard) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO replay_guard (id, state) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state",
        [guard.to_bytes()],
    )?;
    Ok(())
}

/// Keys waiting to be uploaded, with the ids to mark once the relay says `Ok`.
#[derive(Debug)]
pub(crate) struct PendingUpload {
    pub(crate) frame: relay::UploadPrekeys,
    pub(crate) signed_id: Option<u32>,
    pub(crate) one_time_ids: Vec<u32>,
}

/// Prepares the relay's keys: rotates the signed prekey when it is old, adds a batch of
/// one-time prekeys when `low` (the relay said it runs low) or none are held, and returns what
/// the relay does not have yet (None: nothing to upload).
pub(crate) fn prepare_upload(
    tx: &Transaction<'_>,
    identity: &IdentityKeyPair,
    low: bool,
) -> rusqlite::Result<Option<PendingUpload>> {
    rotate_if_needed(tx, identity, clock::now_secs())?;
    let unsent: i64 = tx.query_row(
        "SELECT count(*) FROM one_time_prekeys WHERE uploaded = 0",
        [],
        |r| r.get(0),
    )?;
    let held: i64 = tx.query_row("SELECT count(*) FROM one_time_prekeys", [], |r| r.get(0))?;
    if (low && unsent == 0) || held == 0 {
        let first = next_one_time_id(tx)?;
        for i in 0..ONE_TIME_BATCH {
            insert_one_time(tx, &PrekeySeed::random(first.wrapping_add(i), 0), false)?;
        }
        set_next_one_time_id(tx, first.wrapping_add(ONE_TIME_BATCH))?;
    }

    let signed = tx
        .query_row(
            "SELECT id, created_at, seed FROM signed_prekeys WHERE current = 1 AND uploaded = 0",
            [],
            seed_row,
        )
        .optional()?
        .flatten();
    let mut stmt =
        tx.prepare("SELECT id, 0, seed FROM one_time_prekeys WHERE uploaded = 0 ORDER BY id")?;
    let one_time = stmt
        .query_map([], seed_row)?
        .filter_map(|r| r.transpose())
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if signed.is_none() && one_time.is_empty() {
        return Ok(None);
    }
    Ok(Some(PendingUpload {
        frame: relay::UploadPrekeys {
            signed_prekey: signed.as_ref().map(|s| signed_public(identity, s)),
            one_time_prekeys: one_time.iter().map(one_time_public).collect(),
        },
        signed_id: signed.map(|s| s.id),
        one_time_ids: one_time.iter().map(|s| s.id).collect(),
    }))
}

/// Records that the relay accepted `upload`.
pub(crate) fn mark_uploaded(tx: &Transaction<'_>, upload: &PendingUpload) -> rusqlite::Result<()> {
    if let Some(id) = upload.signed_id {
        tx.execute("UPDATE signed_prekeys SET uploaded = 1 WHERE id = ?1", [id])?;
    }
    let mut stmt = tx.prepare_cached("UPDATE one_time_prekeys SET uploaded = 1 WHERE id = ?1")?;
    for id in &upload.one_time_ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// Replaces the current signed prekey when `needs_rotation` says so, keeping the previous one
/// for initial messages still on their way, and forgets replay tags of dropped prekeys.
pub(crate) fn rotate_if_needed(
    tx: &Transaction<'_>,
    identity: &IdentityKeyPair,
    now: u64,
) -> rusqlite::Result<bool> {
    let current = tx
        .query_row(
            "SELECT id, created_at, seed FROM signed_prekeys WHERE current = 1",
            [],
            seed_row,
        )
        .optional()?
        .flatten();
    let due = match &current {
        Some(seed) => seed.signed(identity).needs_rotation(now),
        None => true,
    };
    if !due {
        return Ok(false);
    }
    let max: Option<u32> = tx.query_row("SELECT max(id) FROM signed_prekeys", [], |r| r.get(0))?;
    let id = max.map_or(1, |m| m.wrapping_add(1));
    tx.execute("UPDATE signed_prekeys SET current = 0", [])?;
    insert_signed(tx, &PrekeySeed::random(id, now), true, false)?;
    tx.execute(
        "DELETE FROM signed_prekeys WHERE current = 0 AND id NOT IN
           (SELECT id FROM signed_prekeys WHERE current = 0 ORDER BY id DESC LIMIT ?1)",
        [PREVIOUS_SIGNED_KEPT],
    )?;
    let mut stmt = tx.prepare("SELECT id FROM signed_prekeys")?;
    let held = stmt
        .query_map([], |r| r.get::<_, u32>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut guard = replay_guard(tx)?;
    guard.retain_signed_prekeys(&held);
    save_replay_guard(tx, &guard)?;
    tracing::info!(signed_prekey = id, "signed prekey rotated");
    Ok(true)
}

#[cfg(test)]
mod tests;
