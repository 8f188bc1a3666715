//! One bounded event bus for all accounts. Events say what changed, not the data: the UI
//! re-queries. A subscriber that falls behind gets an explicit `EventsLost`, never a silent gap.

use serde::Serialize;
use tokio::sync::broadcast;
use ts_rs::TS;

use crate::ids::{AccountId, ChatId, ContactId, MessageId};
use crate::sync::ConnectionState;

/// How many events a slow subscriber may fall behind before it is told it lost some.
pub const EVENT_CAPACITY: usize = 1024;

/// Something changed, in one account or (with `account: None`) in the set of accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Event {
    /// The account concerned, if any.
    pub account: Option<AccountId>,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
#[ts(export)]
pub enum EventKind {
    /// An account was added.
    AccountCreated,
    /// An account's name changed.
    AccountRenamed,
    /// An account was removed with its data.
    AccountRemoved,
    /// Another account is now the one shown.
    AccountSelected,
    /// The subscriber fell behind and missed `count` events: re-query everything.
    EventsLost {
        /// How many were dropped.
        #[ts(type = "number")]
        count: u64,
    },
    /// Contacts were added or changed.
    ContactsChanged,
    /// The chat list changed (a chat was added, its last message, unread count or draft).
    ChatsChanged,
    /// Messages of `chat` were added or changed state.
    MessagesChanged {
        /// The chat.
        chat: ChatId,
    },
    /// A message arrived (for notifications); `messagesChanged` follows for the list.
    IncomingMessage {
        /// Its chat.
        chat: ChatId,
        /// The message.
        #[ts(type = "string")]
        message: MessageId,
    },
    /// The account's connection to its relay changed.
    ConnectionChanged {
        /// The new state.
        state: ConnectionState,
    },
    /// The other person in `chat` started or stopped typing.
    Typing {
        /// The chat.
        chat: ChatId,
        /// Whether they are typing.
        typing: bool,
    },
    /// A contact's identity key changed: their safety number is different.
    IdentityChanged {
        /// The contact.
        contact: ContactId,
    },
    /// Emitted by the desktop shell, never by core: the user clicked a notification of `chat`.
    OpenChat {
        /// The chat to show.
        chat: ChatId,
    },
    /// Emitted by the desktop shell, never by core: a file was dropped on the window (the UI
    /// offers to import it as a chat history).
    ImportFileDropped {
        /// The dropped file.
        path: String,
    },
}

/// The sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(EVENT_CAPACITY)
    }
}

impl EventBus {
    /// A bus that holds at most `capacity` undelivered events per subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        EventBus { tx }
    }

    /// Sends `kind` about `account` to every subscriber (none listening is fine).
    pub fn emit(&self, account: Option<AccountId>, kind: EventKind) {
        let _ = self.tx.send(Event { account, kind });
    }

    /// A new subscriber that sees events emitted from now on.
    pub fn subscribe(&self) -> EventReceiver {
        EventReceiver {
            rx: self.tx.subscribe(),
        }
    }
}

/// The receiving side of the bus.
#[derive(Debug)]
pub struct EventReceiver {
    rx: broadcast::Receiver<Event>,
}

impl EventReceiver {
    /// The next event, `EventsLost` after an overflow, `None` once the bus is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        match self.rx.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(count)) => Some(lost(count)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is waiting, without blocking.
    pub fn try_recv(&mut self) -> Option<Event> {
        match self.rx.try_recv() {
            Ok(event) => Some(event),
            Err(broadcast::error::TryRecvError::Lagged(count)) => Some(lost(count)),
            Err(_) => None,
        }
    }
}

fn lost(count: u64) -> Event {
    Event {
        account: None,
        kind: EventKind::EventsLost { count },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn overflow_is_reported_as_events_lost() {
        let bus = EventBus::new(4);
        let mut rx = bus.subscribe();
        for _ in 0..10 {
            bus.emit(Some(AccountId(1)), EventKind::AccountRenamed);
        }
        let first = rx.recv().await.unwrap();
        assert_eq!(first.kind, EventKind::EventsLost { count: 6 });
        for _ in 0..4 {
            assert_eq!(rx.recv().await.unwrap().kind, EventKind::AccountRenamed);
        }
        assert!(rx.try_recv().is_none());
    }

    #[test]
    fn events_serialize_tagged_for_the_ui() {
        let e = Event {
            account: Some(AccountId(3)),
            kind: EventKind::EventsLost { count: 2 },
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"account":3,"kind":{"type":"eventsLost","count":2}}"#
        );
        let e = Event {
            account: None,
            kind: EventKind::AccountCreated,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"account":null,"kind":{"type":"accountCreated"}}"#
        );
    }
}
