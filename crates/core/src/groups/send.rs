//! Sending to a group: our sender key, the fan-out of one ciphertext to every member.

use missiva_crypto::sender_keys::{SenderKey, SenderKeyError};
use missiva_proto::Message as _;
use missiva_proto::payload::{self, Payload, Sealed, payload::Body};
use rusqlite::{Transaction, params};

use super::store::{Member, load, members};
use crate::clock;
use crate::ids::{ChatId, MessageId};
use crate::sync::outbox::{self, PAYLOAD_VERSION};

/// Sends `payload` to every member of the group `chat`: encrypted once with our sender key
/// (made, and sent to the members who lack it, first), the same ciphertext in one outbox row
/// per member. False when we are not a member (nothing is queued). A message sent to a group
/// with nobody else in it is marked sent at once.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    chat: ChatId,
    message: Option<MessageId>,
    payload: &Payload,
) -> rusqlite::Result<bool> {
    let Some(g) = load(tx, chat)? else {
        return Ok(false);
    };
    if !g.member {
        return Ok(false);
    }
    let stored: Option<Vec<u8>> = tx.query_row(
        "SELECT sender_key FROM groups WHERE chat_id = ?1",
        [chat.0],
        |r| r.get(0),
    )?;
    let mut key = match stored.as_deref().map(SenderKey::from_bytes) {
        Some(Ok(key)) => key,
        _ => SenderKey::generate(&g.uid, &mut rand::rng()).map_err(crypto_failure)?,
    };
    let key_id = i64::from(key.key_id().0);
    let list = members(tx, chat)?;
    let lacking: Vec<&Member> = list.iter().filter(|m| m.key_sent != Some(key_id)).collect();
    if !lacking.is_empty() {
        let distribution = key.distribution_message();
        let p = outbox::control(Body::GroupSenderKey(payload::GroupSenderKey {
            group_id: g.uid.clone(),
            distribution: distribution.to_bytes().to_vec(),
        }));
        for m in lacking {
            outbox::enqueue(tx, m.contact, None, &p)?;
            tx.execute(
                "UPDATE group_members SET key_sent = ?3 WHERE chat_id = ?1 AND contact_id = ?2",
                params![chat.0, m.contact.0, key_id],
            )?;
        }
    }
    let mut inner = payload.clone();
    inner.group_id = g.uid.clone();
    let plaintext = zeroize::Zeroizing::new(inner.encode_to_vec());
    let ciphertext = key.encrypt(&plaintext).map_err(crypto_failure)?;
    tx.execute(
        "UPDATE groups SET sender_key = ?2 WHERE chat_id = ?1",
        params![chat.0, key.to_bytes().as_slice()],
    )?;
    let content = Sealed {
        version: PAYLOAD_VERSION,
        group_message: ciphertext,
        ..Sealed::default()
    }
    .encode_to_vec();
    let now = clock::now_ms();
    let mut insert = tx.prepare_cached(
        "INSERT INTO outbox (envelope_id, contact_id, recipient, message_uid, payload, content,
                             created_at)
         VALUES (?1, ?2, ?3, ?4, x'', ?5, ?6)",
    )?;
    for m in &list {
        insert.execute(params![
            MessageId::random().0.as_slice(),
            m.contact.0,
            m.identity,
            message.map(|id| id.0.to_vec()),
            content,
            now
        ])?;
    }
    if list.is_empty()
        && let Some(id) = message
    {
        tx.execute(
            "UPDATE messages SET state = 'sent' WHERE uid = ?1 AND state = 'pending'",
            [id.0.as_slice()],
        )?;
    }
    Ok(true)
}

fn crypto_failure(e: SenderKeyError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}
