//! Searching an account's messages (full text, SQLite FTS5 over `messages_fts`): what the user
//! types is matched word by word, each word as a prefix, accents and case ignored.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::Account;
use crate::clock;
use crate::ids::{ChatId, MessageId};
use crate::messages::VISIBLE;
use crate::store::StoreError;

/// The most hits one search returns.
pub const MAX_HITS: u32 = 200;
/// The longest query, in bytes.
pub const MAX_QUERY_BYTES: usize = 256;

/// One message that matches a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SearchHit {
    /// Its chat.
    pub chat: ChatId,
    /// The message (32 hex characters).
    #[ts(type = "string")]
    pub message: MessageId,
    /// The text around the match, the matched words between `\u{2}` and `\u{3}`.
    pub snippet: String,
    /// When it was written (RFC 3339, UTC).
    pub sent_at: String,
    /// Sent by this account.
    pub outgoing: bool,
    /// Who wrote it when not this account: the contact's handle, or the name an imported
    /// history gives.
    pub author: Option<String>,
}

/// Errors of searching.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The query is too long.
    #[error("the search is longer than {MAX_QUERY_BYTES} bytes")]
    TooLong,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SearchError {
    fn from(e: rusqlite::Error) -> Self {
        SearchError::Store(e.into())
    }
}

/// The FTS5 query for what the user typed: every word, quoted (so no character is an operator),
/// as a prefix; `None` when nothing searchable is left.
fn fts_query(typed: &str) -> Option<String> {
    let words: Vec<String> = typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl Account {
    /// The newest messages (at most `limit`, capped at [`MAX_HITS`]) whose text holds every
    /// word of `query`, newest first. An empty query finds nothing.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, SearchError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(SearchError::TooLong);
        }
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let limit = limit.min(MAX_HITS);
        self.db(move |s| {
            s.read_with::<_, SearchError>(|c| {
                let mut stmt = c.prepare(&format!(
                    "SELECT m.chat_id, m.uid,
                            snippet(messages_fts, 0, char(2), char(3), '…', 12),
                            m.sent_at,
                            m.sender_id IS NULL AND m.kind != 'system' AND m.author_name = '',
                            COALESCE(k.handle, NULLIF(m.author_name, ''))
                     FROM messages_fts
                     JOIN messages m ON m.id = messages_fts.rowid
                     LEFT JOIN contacts k ON k.id = m.sender_id
                     WHERE messages_fts MATCH ?1 AND {VISIBLE}
                     ORDER BY m.sent_at DESC, m.id DESC
                     LIMIT ?2"
                ))?;
                let hits = stmt
                    .query_map(params![fts, limit], |r| {
                        let uid: Vec<u8> = r.get(1)?;
                        Ok(SearchHit {
                            chat: ChatId(r.get(0)?),
                            message: MessageId::from_slice(&uid).unwrap_or(MessageId([0; 16])),
                            snippet: r.get(2)?,
                            sent_at: clock::rfc3339(r.get(3)?),
                            outgoing: r.get(4)?,
                            author: r.get(5)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(hits)
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn typed_words_become_quoted_prefixes_and_operators_stay_text() {
        assert_eq!(fts_query("pizza"), Some("\"pizza\"*".to_owned()));
        assert_eq!(
            fts_query("  Where's the \"tent\" OR NEAR(x) "),
            Some("\"Where\"* \"s\"* \"the\"* \"tent\"* \"OR\"* \"NEAR\"* \"x\"*".to_owned())
        );
        assert_eq!(fts_query("* - \"\" ()"), None);
        assert_eq!(
            fts_query("caffè 東京"),
            Some("\"caffè\"* \"東京\"*".to_owned())
        );
    }
}
