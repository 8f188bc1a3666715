//! The SQL of polls: creating, voting, closing, receiving, and the view of a poll message.

use missiva_proto::payload::{self, Payload, payload::Body};
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use super::tally::{self, EventKey, Rules, Tally, Vote};
use super::{Definition, LivePoll, PollError, To, enqueue_to, members};
use crate::chats;
use crate::clock;
use crate::events::EventKind;
use crate::identity;
use crate::ids::{ChatId, ContactId, MessageId};
use crate::messages::{self, MessageView, PollOptionView, PollView};
use crate::sync::outbox;

/// This account, as a voter in `poll_events`.
const ME: i64 = 0;

/// A poll as stored.
struct Row {
    id: i64,
    uid: MessageId,
    chat: ChatId,
    /// `None`: this account created it.
    creator: Option<ContactId>,
    options: Vec<String>,
    multiple: bool,
    anonymous: bool,
    quiz_correct: Option<u32>,
    explanation: String,
    closes_at_ms: Option<i64>,
    hide_results: bool,
    no_revote: bool,
    tally: String,
    tally_voters: u32,
    tally_revision: i64,
    tally_closed_at: Option<i64>,
    published_revision: i64,
}

impl Row {
    fn rules(&self) -> Rules {
        Rules {
            options: self.options.len(),
            multiple: self.multiple,
            no_revote: self.no_revote,
            closes_at_ms: self.closes_at_ms,
        }
    }

    fn creator_voter(&self) -> i64 {
        self.creator.map_or(ME, |c| c.0)
    }

    /// Counted by this member (everything but someone else's anonymous poll).
    fn counted_here(&self) -> bool {
        !self.anonymous || self.creator.is_none()
    }
}

fn load(conn: &Connection, uid: MessageId) -> rusqlite::Result<Option<Row>> {
    conn.query_row(
        "SELECT m.id, m.chat_id, m.sender_id, p.options, p.multiple, p.anonymous, p.quiz_correct,
                p.explanation, p.closes_at, p.hide_results, p.no_revote, p.tally, p.tally_voters,
                p.tally_revision, p.tally_closed_at, p.published_revision
         FROM messages m JOIN polls p ON p.message_id = m.id
         WHERE m.uid = ?1 AND m.kind = 'poll'",
        [uid.0.as_slice()],
        |r| {
            let options: String = r.get(3)?;
            Ok(Row {
                id: r.get(0)?,
                uid,
                chat: ChatId(r.get(1)?),
                creator: r.get::<_, Option<i64>>(2)?.map(ContactId),
                options: serde_json::from_str(&options).unwrap_or_default(),
                multiple: r.get(4)?,
                anonymous: r.get(5)?,
                quiz_correct: r.get(6)?,
                explanation: r.get(7)?,
                closes_at_ms: r.get(8)?,
                hide_results: r.get(9)?,
                no_revote: r.get(10)?,
                tally: r.get(11)?,
                tally_voters: r.get(12)?,
                tally_revision: r.get(13)?,
                tally_closed_at: r.get(14)?,
                published_revision: r.get(15)?,
            })
        },
    )
    .optional()
}

fn key_of(uid: &[u8], sent_at_ms: i64) -> EventKey {
    let mut id = [0u8; 16];
    if let Some(bytes) = uid.get(..16) {
        id.copy_from_slice(bytes);
    }
    EventKey { sent_at_ms, id }
}

/// The votes (of `voter` only, when given) and the creator's closes of `row`.
fn events(
    conn: &Connection,
    row: &Row,
    voter: Option<i64>,
) -> rusqlite::Result<(Vec<Vote>, Vec<EventKey>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, voter_id, kind, sent_at, options FROM poll_events WHERE poll_id = ?1",
    )?;
    let mut votes = Vec::new();
    let mut closes = Vec::new();
    let rows = stmt.query_map([row.id], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    for event in rows {
        let (uid, who, kind, sent_at, options) = event?;
        let key = key_of(&uid, sent_at);
        match kind.as_str() {
            "close" if who == row.creator_voter() => closes.push(key),
            "vote" if voter.is_none_or(|v| v == who) => votes.push(Vote {
                voter: who,
                key,
                choice: serde_json::from_str(&options).unwrap_or_default(),
            }),
            _ => {}
        }
    }
    Ok((votes, closes))
}

fn count(conn: &Connection, row: &Row, voter: Option<i64>) -> rusqlite::Result<Tally> {
    let (votes, closes) = events(conn, row, voter)?;
    Ok(tally::count(&row.rules(), &votes, &closes))
}

fn is_closed(closed_at: Option<i64>, now_ms: i64) -> bool {
    closed_at.is_some_and(|c| now_ms > c)
}

fn insert_poll(tx: &Transaction<'_>, message_id: i64, d: &Definition) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO polls (message_id, options, multiple, anonymous, quiz_correct, explanation,
                            closes_at, hide_results, no_revote)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            message_id,
            serde_json::to_string(&d.options).unwrap_or_else(|_| "[]".to_owned()),
            d.multiple,
            d.anonymous,
            d.quiz_correct,
            d.explanation,
            d.closes_at_ms,
            d.hide_results,
            d.no_revote
        ],
    )?;
    Ok(())
}

fn insert_event(
    tx: &Transaction<'_>,
    poll: &Row,
    uid: &[u8],
    voter: i64,
    kind: &str,
    sent_at_ms: i64,
    options: &[u32],
) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO poll_events (poll_id, uid, voter_id, kind, sent_at, options)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            poll.id,
            uid,
            voter,
            kind,
            sent_at_ms,
            serde_json::to_string(options).unwrap_or_else(|_| "[]".to_owned())
        ],
    )?;
    Ok(n > 0)
}

/// Stores a new poll of ours in `chat` and queues it for the chat's members.
pub(super) fn create(
    tx: &Transaction<'_>,
    chat: ChatId,
    d: &Definition,
) -> Result<MessageView, PollError> {
    let to = members(tx, chat)?;
    let id = MessageId::random();
    let now = clock::now_ms();
    tx.execute(
        "INSERT INTO messages (uid, chat_id, sender_id, kind, body, sent_at, received_at, state)
         VALUES (?1, ?2, NULL, 'poll', ?3, ?4, ?4, 'pending')",
        params![id.0.as_slice(), chat.0, d.question, now],
    )?;
    insert_poll(tx, tx.last_insert_rowid(), d)?;
    let body = Body::PollCreate(payload::PollCreate {
        question: d.question.clone(),
        options: d.options.clone(),
        multiple: d.multiple,
        anonymous: d.anonymous,
        quiz_correct: d.quiz_correct,
        explanation: d.explanation.clone(),
        closes_at_ms: d.closes_at_ms.unwrap_or(0),
        hide_results: d.hide_results,
        no_revote: d.no_revote,
    });
    enqueue_to(tx, &to, Some(id), &outbox::payload(id, now, body))?;
    chats::touch(tx, chat, now)?;
    let view = messages::one(tx, id)?.ok_or(PollError::NotFound { id })?;
    Ok(with_poll(tx, view)?)
}

/// Records this account's vote (`choice` empty: a retraction) and queues it: to every member,
/// or for an anonymous poll to its creator only.
pub(super) fn vote(
    tx: &Transaction<'_>,
    poll: MessageId,
    choice: &[u32],
) -> Result<ChatId, PollError> {
    let row = load(tx, poll)?.ok_or(PollError::NotFound { id: poll })?;
    let now = clock::now_ms();
    let (own, closes) = events(tx, &row, Some(ME))?;
    if is_closed(tally::closed_at(&row.rules(), &closes), now) {
        return Err(PollError::Closed);
    }
    for &option in choice {
        if usize::try_from(option).map_or(true, |o| o >= row.options.len()) {
            return Err(PollError::NoSuchOption {
                option,
                options: row.options.len(),
            });
        }
    }
    let mut choice = choice.to_vec();
    choice.sort_unstable();
    choice.dedup();
    if !row.multiple && choice.len() > 1 {
        return Err(PollError::OneOption);
    }
    if row.no_revote && !own.is_empty() {
        return Err(PollError::Final);
    }
    let id = MessageId::random();
    insert_event(tx, &row, &id.0, ME, "vote", now, &choice)?;
    let body = Body::PollVote(payload::PollVote {
        poll_id: row.uid.0.to_vec(),
        options: choice,
    });
    match (row.anonymous, row.creator) {
        (true, None) => publish_tally(tx, &row)?,
        (true, Some(creator)) => enqueue_to(
            tx,
            &To::Contacts(vec![creator]),
            None,
            &outbox::payload(id, now, body),
        )?,
        (false, _) => enqueue_to(
            tx,
            &members(tx, row.chat)?,
            None,
            &outbox::payload(id, now, body),
        )?,
    }
    Ok(row.chat)
}

/// Closes a poll of ours now and tells the members.
pub(super) fn close(tx: &Transaction<'_>, poll: MessageId) -> Result<ChatId, PollError> {
    let row = load(tx, poll)?.ok_or(PollError::NotFound { id: poll })?;
    if row.creator.is_some() {
        return Err(PollError::NotCreator);
    }
    let now = clock::now_ms();
    let (_, closes) = events(tx, &row, Some(ME))?;
    if is_closed(tally::closed_at(&row.rules(), &closes), now) {
        return Err(PollError::Closed);
    }
    let id = MessageId::random();
    insert_event(tx, &row, &id.0, ME, "close", now, &[])?;
    let body = Body::PollClose(payload::PollClose {
        poll_id: row.uid.0.to_vec(),
    });
    enqueue_to(
        tx,
        &members(tx, row.chat)?,
        None,
        &outbox::payload(id, now, body),
    )?;
    if row.anonymous {
        publish_tally(tx, &row)?;
    }
    Ok(row.chat)
}

/// Sends the members the counts of an anonymous poll of ours (not while its results are
/// hidden and it is open).
fn publish_tally(tx: &Transaction<'_>, row: &Row) -> rusqlite::Result<()> {
    let t = count(tx, row, None)?;
    if row.hide_results && !is_closed(t.closed_at_ms, clock::now_ms()) {
        return Ok(());
    }
    let revision = row.published_revision.saturating_add(1);
    tx.execute(
        "UPDATE polls SET published_revision = ?2 WHERE message_id = ?1",
        params![row.id, revision],
    )?;
    let body = Body::PollTally(payload::PollTally {
        poll_id: row.uid.0.to_vec(),
        voters: t.voters(),
        counts: t.counts,
        revision: u64::try_from(revision).unwrap_or(0),
        closed_at_ms: t.closed_at_ms.unwrap_or(0),
    });
    let id = MessageId::random();
    enqueue_to(
        tx,
        &recipients(tx, row.chat)?,
        None,
        &outbox::payload(id, clock::now_ms(), body),
    )
}

/// The members of `chat` to send to (a 1:1 chat: its contact; a group while we are in it;
/// none for an imported history).
fn recipients(conn: &Connection, chat: ChatId) -> rusqlite::Result<To> {
    match crate::groups::membership(conn, chat)? {
        Some(true) => return Ok(To::Group(chat)),
        Some(false) => return Ok(To::Contacts(Vec::new())),
        None => {}
    }
    let contact: Option<Option<i64>> = conn
        .query_row(
            "SELECT contact_id FROM chats WHERE id = ?1",
            [chat.0],
            |r| r.get(0),
        )
        .optional()?;
    Ok(To::Contacts(
        contact.flatten().map(ContactId).into_iter().collect(),
    ))
}

/// What receiving a poll payload did.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Events to emit after the commit.
    pub(crate) events: Vec<EventKind>,
    /// Something was queued for sending.
    pub(crate) queued: bool,
    /// A new poll message.
    pub(crate) message: Option<MessageId>,
}

/// Stores a poll payload from `contact` in their chat `chat`. Payloads about a poll of another
/// chat, closes and tallies not from the poll's creator, and votes in someone else's anonymous
/// poll are dropped.
pub(crate) fn receive(
    tx: &Transaction<'_>,
    contact: ContactId,
    chat: ChatId,
    p: &Payload,
) -> rusqlite::Result<Received> {
    let mut out = Received::default();
    let poll_of = |poll_id: &[u8]| -> rusqlite::Result<Option<Row>> {
        let Some(uid) = MessageId::from_slice(poll_id) else {
            return Ok(None);
        };
        Ok(load(tx, uid)?.filter(|row| row.chat == chat))
    };
    match &p.body {
        Some(Body::PollCreate(c)) => {
            let Some(uid) = MessageId::from_slice(&p.message_id) else {
                return Ok(out);
            };
            let Ok(d) = Definition::from_parts(
                c.question.clone(),
                c.options.clone(),
                c.multiple,
                c.anonymous,
                c.quiz_correct,
                c.explanation.clone(),
                (c.closes_at_ms != 0).then_some(c.closes_at_ms),
                c.hide_results,
                c.no_revote,
            ) else {
                tracing::warn!("malformed poll dropped");
                return Ok(out);
            };
            let now = clock::now_ms();
            let n = tx.execute(
                "INSERT OR IGNORE INTO messages
                   (uid, chat_id, sender_id, kind, body, sent_at, received_at, state)
                 VALUES (?1, ?2, ?3, 'poll', ?4, ?5, ?6, 'received')",
                params![
                    uid.0.as_slice(),
                    chat.0,
                    contact.0,
                    d.question,
                    p.sent_at_ms,
                    now
                ],
            )?;
            if n == 0 {
                return Ok(out);
            }
            insert_poll(tx, tx.last_insert_rowid(), &d)?;
            chats::touch(tx, chat, now)?;
            // No receipts in groups.
            if crate::groups::membership(tx, chat)?.is_none() {
                let receipt = outbox::receipt_payload(payload::ReceiptKind::Delivered, &[uid]);
                outbox::enqueue(tx, contact, None, &receipt)?;
            }
            out.queued = true;
            out.message = Some(uid);
            out.events
                .push(EventKind::IncomingMessage { chat, message: uid });
            out.events.push(EventKind::ChatsChanged);
        }
        Some(Body::PollVote(v)) => {
            let Some(row) = poll_of(&v.poll_id)? else {
                return Ok(out);
            };
            if !row.counted_here() {
                tracing::warn!("a vote in someone else's anonymous poll dropped");
                return Ok(out);
            }
            if insert_event(
                tx,
                &row,
                &p.message_id,
                contact.0,
                "vote",
                p.sent_at_ms,
                &v.options,
            )? && row.anonymous
            {
                publish_tally(tx, &row)?;
                out.queued = true;
            }
        }
        Some(Body::PollClose(c)) => {
            let Some(row) = poll_of(&c.poll_id)?.filter(|r| r.creator == Some(contact)) else {
                return Ok(out);
            };
            insert_event(
                tx,
                &row,
                &p.message_id,
                contact.0,
                "close",
                p.sent_at_ms,
                &[],
            )?;
        }
        Some(Body::PollTally(t)) => {
            let Some(row) =
                poll_of(&t.poll_id)?.filter(|r| r.creator == Some(contact) && r.anonymous)
            else {
                return Ok(out);
            };
            let revision = i64::try_from(t.revision).unwrap_or(i64::MAX);
            if revision > row.tally_revision && t.counts.len() == row.options.len() {
                tx.execute(
                    "UPDATE polls SET tally = ?2, tally_voters = ?3, tally_revision = ?4,
                                      tally_closed_at = ?5
                     WHERE message_id = ?1",
                    params![
                        row.id,
                        serde_json::to_string(&t.counts).unwrap_or_default(),
                        t.voters,
                        revision,
                        (t.closed_at_ms != 0).then_some(t.closed_at_ms)
                    ],
                )?;
            }
        }
        _ => return Ok(out),
    }
    out.events.push(EventKind::MessagesChanged { chat });
    Ok(out)
}

/// `view` with its live poll filled in (a poll message of this account's chats).
pub(crate) fn with_poll(conn: &Connection, mut view: MessageView) -> rusqlite::Result<MessageView> {
    if view.kind == "poll" && view.poll.is_none() {
        view.poll = message_poll(conn, view.id, &view.text)?;
    }
    Ok(view)
}

/// The poll of message `uid` (question `question`) as a member sees it now; `None` if the
/// message is no live poll.
pub(crate) fn message_poll(
    conn: &Connection,
    uid: MessageId,
    question: &str,
) -> rusqlite::Result<Option<PollView>> {
    let Some(row) = load(conn, uid)? else {
        return Ok(None);
    };
    let now = clock::now_ms();
    let own = count(conn, &row, Some(ME))?;
    let own_choice = own.choices.get(&ME).cloned().unwrap_or_default();
    let (counts, voters, choices, closed_at) = if row.counted_here() {
        let t = count(conn, &row, None)?;
        let voters = t.voters();
        (Some(t.counts), voters, Some(t.choices), t.closed_at_ms)
    } else {
        let counts: Option<Vec<u32>> = serde_json::from_str(&row.tally).ok();
        let closed = [own.closed_at_ms, row.tally_closed_at]
            .into_iter()
            .flatten()
            .min();
        (counts, row.tally_voters, None, closed)
    };
    let closed = is_closed(closed_at, now);
    let mine = row.creator.is_none();
    let hidden = row.hide_results && !closed && !mine;
    let names = if row.anonymous || hidden {
        None
    } else {
        choices
            .map(|choices| voter_names(conn, &choices, row.options.len()))
            .transpose()?
    };
    let options = row
        .options
        .iter()
        .enumerate()
        .map(|(i, text)| PollOptionView {
            text: text.clone(),
            votes: if hidden {
                None
            } else {
                counts.as_ref().map(|c| c.get(i).copied().unwrap_or(0))
            },
            voters: names
                .as_ref()
                .map(|n| n.get(i).cloned().unwrap_or_default()),
        })
        .collect();
    let revealed = mine || closed || !own_choice.is_empty();
    Ok(Some(PollView {
        question: question.to_owned(),
        options,
        closed,
        live: Some(LivePoll {
            multiple: row.multiple,
            anonymous: row.anonymous,
            quiz: row.quiz_correct.is_some(),
            correct: row.quiz_correct.filter(|_| revealed),
            explanation: row
                .quiz_correct
                .filter(|_| revealed && !row.explanation.is_empty())
                .map(|_| row.explanation.clone()),
            closes_at: row.closes_at_ms.map(clock::rfc3339),
            hide_results: row.hide_results,
            no_revote: row.no_revote,
            mine,
            own_choice,
            voters: (!hidden).then_some(voters),
        }),
    }))
}

/// The handles of the voters of each option, sorted (this account by its own handle).
fn voter_names(
    conn: &Connection,
    choices: &std::collections::BTreeMap<tally::Voter, Vec<u32>>,
    options: usize,
) -> rusqlite::Result<Vec<Vec<String>>> {
    let mut names = vec![Vec::new(); options];
    let me = identity::handle(conn)?.unwrap_or_else(|| "me".to_owned());
    for (&voter, choice) in choices {
        let name = if voter == ME {
            me.clone()
        } else {
            conn.query_row("SELECT handle FROM contacts WHERE id = ?1", [voter], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .unwrap_or_default()
        };
        for &o in choice {
            if let Some(list) = usize::try_from(o).ok().and_then(|o| names.get_mut(o)) {
                list.push(name.clone());
            }
        }
    }
    // By name, so every member lists them alike (the store's own ids differ between members).
    for list in &mut names {
        list.sort();
    }
    Ok(names)
}
