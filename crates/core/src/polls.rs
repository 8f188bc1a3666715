//! Polls inside end-to-end encrypted chats.
//!
//! A poll is a message; votes, retractions and the close are further messages about it. Every
//! member keeps the events it received and computes the tally from them with [`tally::count`], a
//! pure function of the *set* of events: whatever order they arrive in, every member that has the
//! same events shows the same result. The rule, precisely:
//!
//! - Each event has a key `(sent_at_ms, id)` (the sender's clock, then the 16-byte message id as
//!   unsigned bytes): a total order that every member computes the same way.
//! - The poll is closed at the smallest of its `closes_at` and the `sent_at_ms` of the creator's
//!   close events (events from anyone else are ignored). A vote whose `sent_at_ms` is after the
//!   close does not count, whenever it arrives.
//! - A voter's choice is that of their greatest vote (a retraction is a vote for nothing). When
//!   the creator disabled revoting, their *first* vote counts and later ones are ignored. Two
//!   events with the same key (one id sent twice with other options, which no Missiva client
//!   does) are ordered by their options, so even then every member agrees.
//! - A choice is cleaned before it counts: options out of range are dropped, duplicates are
//!   merged, and a single-choice poll keeps only the smallest option index.
//!
//! Anonymous polls: votes go only to the creator, who counts them and publishes tallies (counts
//! only, numbered by a revision); the others show the latest revision they received.

mod store;
pub mod tally;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::Account;
use crate::chats::{self, ChatError};
use crate::clock;
use crate::events::EventKind;
use crate::ids::{ChatId, MessageId};
use crate::messages::MessageView;
use crate::store::StoreError;
use crate::sync::outbox;

pub(crate) use store::{receive, with_poll};

/// Options a poll has, at least and at most.
pub const MIN_OPTIONS: usize = 2;
/// See [`MIN_OPTIONS`].
pub const MAX_OPTIONS: usize = 12;
/// The longest question, in characters.
pub const MAX_QUESTION_CHARS: usize = 300;
/// The longest option, in characters.
pub const MAX_OPTION_CHARS: usize = 100;
/// The longest quiz explanation, in characters.
pub const MAX_EXPLANATION_CHARS: usize = 200;

/// A new poll, as its creator describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PollSetup {
    /// The question.
    pub question: String,
    /// The options, 2 to 12.
    pub options: Vec<String>,
    /// Several options may be chosen.
    pub multiple: bool,
    /// Votes go only to the creator, who publishes the counts.
    pub anonymous: bool,
    /// Quiz mode: the index of the correct option.
    pub quiz_correct: Option<u32>,
    /// Quiz mode: shown after voting.
    pub explanation: String,
    /// Closes by itself at this time (RFC 3339).
    pub closes_at: Option<String>,
    /// Results are shown only once the poll is closed.
    pub hide_results: bool,
    /// A voter's first vote is final (no change, no retraction).
    pub no_revote: bool,
}

/// What is wrong with a poll or a vote.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The question is empty or too long.
    #[error("the question must be 1 to {MAX_QUESTION_CHARS} characters")]
    BadQuestion,
    /// Too few or too many options, or an empty or too long one.
    #[error(
        "a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options of 1 to {MAX_OPTION_CHARS} characters"
    )]
    BadOptions,
    /// The quiz names an option the poll does not have, or allows several answers.
    #[error("a quiz has exactly one correct answer among its options (and no multiple choice)")]
    BadQuiz,
    /// The explanation is too long, or given without a quiz.
    #[error(
        "a quiz explanation is at most {MAX_EXPLANATION_CHARS} characters, and only for quizzes"
    )]
    BadExplanation,
    /// The close time is not a time, or is in the past.
    #[error("the close time must be a future RFC 3339 time")]
    BadCloseTime,
    /// No poll with this id.
    #[error("there is no poll {id}")]
    NotFound {
        /// The id asked for.
        id: MessageId,
    },
    /// The poll is closed.
    #[error("the poll is closed: it takes no more votes")]
    Closed,
    /// An option the poll does not have.
    #[error("option {option} does not exist (the poll has {options}; options are numbered from 0)")]
    NoSuchOption {
        /// The option asked for.
        option: u32,
        /// How many the poll has.
        options: usize,
    },
    /// Several options in a single-choice poll, or none.
    #[error("choose one option (this poll is single choice)")]
    OneOption,
    /// No option chosen.
    #[error("choose at least one option (to take a vote back, retract it)")]
    NoOption,
    /// The creator disabled changing votes.
    #[error("votes in this poll are final: it cannot be changed or retracted")]
    Final,
    /// Only the creator can do this.
    #[error("only the poll's creator can close it")]
    NotCreator,
    /// The chat.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for PollError {
    fn from(e: rusqlite::Error) -> Self {
        PollError::Store(e.into())
    }
}

/// A poll's state as a member sees it, beyond what [`crate::messages::PollView`] shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LivePoll {
    /// Several options may be chosen.
    pub multiple: bool,
    /// Votes are visible to the poll's creator only.
    pub anonymous: bool,
    /// A quiz.
    pub quiz: bool,
    /// The correct option of a quiz, once this member voted (or the poll closed; always for
    /// its creator).
    pub correct: Option<u32>,
    /// The quiz's explanation, when `correct` is shown.
    pub explanation: Option<String>,
    /// When it closes by itself (RFC 3339).
    pub closes_at: Option<String>,
    /// The results stay hidden until the poll closes.
    pub hide_results: bool,
    /// Votes are final.
    pub no_revote: bool,
    /// This account created it.
    pub mine: bool,
    /// This account's choice (empty: no vote).
    pub own_choice: Vec<u32>,
    /// Members whose vote counts; null while results are hidden.
    pub voters: Option<u32>,
}

/// Validated poll settings, ready to store and send.
pub(crate) struct Definition {
    pub(crate) question: String,
    pub(crate) options: Vec<String>,
    pub(crate) multiple: bool,
    pub(crate) anonymous: bool,
    pub(crate) quiz_correct: Option<u32>,
    pub(crate) explanation: String,
    pub(crate) closes_at_ms: Option<i64>,
    pub(crate) hide_results: bool,
    pub(crate) no_revote: bool,
}

impl Definition {
    /// Checks `setup`; `now_ms` for the close time.
    pub(crate) fn check(setup: PollSetup, now_ms: i64) -> Result<Self, PollError> {
        let closes_at_ms = match &setup.closes_at {
            None => None,
            Some(t) => Some(
                clock::parse_rfc3339(t)
                    .filter(|&ms| ms > now_ms)
                    .ok_or(PollError::BadCloseTime)?,
            ),
        };
        Self::from_parts(
            setup.question,
            setup.options,
            setup.multiple,
            setup.anonymous,
            setup.quiz_correct,
            setup.explanation,
            closes_at_ms,
            setup.hide_results,
            setup.no_revote,
        )
    }

    /// Checks the parts of a poll (also those of a received one).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        question: String,
        options: Vec<String>,
        multiple: bool,
        anonymous: bool,
        quiz_correct: Option<u32>,
        explanation: String,
        closes_at_ms: Option<i64>,
        hide_results: bool,
        no_revote: bool,
    ) -> Result<Self, PollError> {
        let question = question.trim().to_owned();
        if question.is_empty() || question.chars().count() > MAX_QUESTION_CHARS {
            return Err(PollError::BadQuestion);
        }
        let options: Vec<String> = options.iter().map(|o| o.trim().to_owned()).collect();
        if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&options.len())
            || options
                .iter()
                .any(|o| o.is_empty() || o.chars().count() > MAX_OPTION_CHARS)
        {
            return Err(PollError::BadOptions);
        }
        if let Some(c) = quiz_correct
            && (multiple || usize::try_from(c).map_or(true, |c| c >= options.len()))
        {
            return Err(PollError::BadQuiz);
        }
        let explanation = explanation.trim().to_owned();
        if explanation.chars().count() > MAX_EXPLANATION_CHARS
            || (quiz_correct.is_none() && !explanation.is_empty())
        {
            return Err(PollError::BadExplanation);
        }
        Ok(Definition {
            question,
            options,
            multiple,
            anonymous,
            quiz_correct,
            explanation,
            closes_at_ms,
            hide_results,
            no_revote,
        })
    }
}

impl Account {
    /// Creates a poll in `chat` and sends it to the chat's members.
    pub async fn create_poll(
        &self,
        chat: ChatId,
        setup: PollSetup,
    ) -> Result<MessageView, PollError> {
        let definition = Definition::check(setup, clock::now_ms())?;
        let view = self
            .db(move |s| s.write_with(|tx| store::create(tx, chat, &definition)))
            .await?;
        self.kick();
        self.emit(EventKind::MessagesChanged { chat });
        self.emit(EventKind::ChatsChanged);
        Ok(view)
    }

    /// Votes for `options` (indexes from 0) in `poll`, or changes this account's vote.
    pub async fn vote(&self, poll: MessageId, options: Vec<u32>) -> Result<(), PollError> {
        if options.is_empty() {
            return Err(PollError::NoOption);
        }
        let chat = self
            .db(move |s| s.write_with(|tx| store::vote(tx, poll, &options)))
            .await?;
        self.after_change(chat);
        Ok(())
    }

    /// Takes back this account's vote in `poll`.
    pub async fn retract_vote(&self, poll: MessageId) -> Result<(), PollError> {
        let chat = self
            .db(move |s| s.write_with(|tx| store::vote(tx, poll, &[])))
            .await?;
        self.after_change(chat);
        Ok(())
    }

    /// Closes `poll` (its creator only): no more votes.
    pub async fn close_poll(&self, poll: MessageId) -> Result<(), PollError> {
        let chat = self
            .db(move |s| s.write_with(|tx| store::close(tx, poll)))
            .await?;
        self.after_change(chat);
        Ok(())
    }

    fn after_change(&self, chat: ChatId) {
        self.kick();
        self.emit(EventKind::MessagesChanged { chat });
    }

    /// The poll message `poll`, with its current results.
    pub async fn poll(&self, poll: MessageId) -> Result<MessageView, PollError> {
        let view = self
            .message(poll)
            .await
            .map_err(|_| PollError::NotFound { id: poll })?;
        if view.kind != "poll" || view.poll.is_none() {
            return Err(PollError::NotFound { id: poll });
        }
        Ok(view)
    }
}

/// Whom poll traffic goes to.
pub(crate) enum To {
    /// These contacts, over the pairwise sessions.
    Contacts(Vec<crate::ids::ContactId>),
    /// Every member of the group of this chat, as one group message.
    Group(ChatId),
}

/// The chat's members to send poll traffic to (a 1:1 chat: its contact; a group: its members,
/// while this account is one).
fn members(tx: &rusqlite::Transaction<'_>, chat: ChatId) -> Result<To, PollError> {
    match crate::groups::membership(tx, chat)? {
        Some(true) => Ok(To::Group(chat)),
        Some(false) => Err(PollError::Chat(ChatError::NotMember { chat })),
        None => Ok(To::Contacts(vec![chats::contact_of(tx, chat)?])),
    }
}

fn enqueue_to(
    tx: &rusqlite::Transaction<'_>,
    to: &To,
    message: Option<MessageId>,
    payload: &missiva_proto::payload::Payload,
) -> rusqlite::Result<()> {
    match to {
        To::Contacts(list) => {
            for &contact in list {
                outbox::enqueue(tx, contact, message, payload)?;
            }
        }
        To::Group(chat) => {
            crate::groups::enqueue(tx, *chat, message, payload)?;
        }
    }
    Ok(())
}
