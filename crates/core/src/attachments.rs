//! Files attached to messages (today: the media of imported chat histories). Each is stored
//! encrypted with the attachment cipher under its own key, in the account's media folder; the
//! row in `attachments` holds its name, type, size, path and key. Reading one decrypts it in
//! memory (to show it) or into a file the user chose (to save it), never leaving plaintext
//! behind on failure.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use missiva_crypto::attachment::{self, AttachmentKey};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::Account;
use crate::atomic_file;
use crate::messages::VISIBLE;
use crate::store::StoreError;

/// The folder beside the account's database that holds its encrypted files.
pub const MEDIA_FOLDER: &str = "media";
/// The largest file [`Account::attachment_bytes`] decrypts into memory; larger ones are saved.
pub const MAX_IN_MEMORY: u64 = 64 * 1024 * 1024;

/// A file attached to a message, as the conversation shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AttachmentView {
    /// Its id within the account.
    #[ts(type = "number")]
    pub id: i64,
    /// The file name it came with.
    pub name: String,
    /// Its MIME type.
    pub mime: String,
    /// Its size in bytes (plaintext).
    #[ts(type = "number")]
    pub size: u64,
}

/// Errors reading an attachment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// No visible attachment with this id.
    #[error("there is no attachment {id}")]
    NotFound {
        /// The id.
        id: i64,
    },
    /// Too large to show; it can be saved.
    #[error("{name} is too large to show here ({size} bytes); save it instead")]
    TooLarge {
        /// Its name.
        name: String,
        /// Its size.
        size: u64,
    },
    /// The stored file is missing, unreadable, or fails authentication.
    #[error("the stored copy of {name} cannot be read: {reason}")]
    Damaged {
        /// Its name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Writing the copy the user asked for.
    #[error("cannot write {path}: {source}")]
    Write {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for AttachmentError {
    fn from(e: rusqlite::Error) -> Self {
        AttachmentError::Store(e.into())
    }
}

/// The attachments of a message from the JSON array the conversation's query builds; a
/// malformed value (which the query cannot produce) is none.
pub(crate) fn parse_column(json: Option<String>) -> Vec<AttachmentView> {
    json.and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

struct Stored {
    view: AttachmentView,
    path: PathBuf,
    key: AttachmentKey,
}

fn stored(conn: &Connection, db: &Path, id: i64) -> Result<Stored, AttachmentError> {
    let row = conn
        .query_row(
            &format!(
                "SELECT a.name, a.mime, a.size, a.path, a.file_key FROM attachments a
                 JOIN messages m ON m.id = a.message_id
                 WHERE a.id = ?1 AND {VISIBLE}"
            ),
            params![id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<Vec<u8>>>(4)?,
                ))
            },
        )
        .optional()?
        .ok_or(AttachmentError::NotFound { id })?;
    let (name, mime, size, relative, key) = row;
    let damaged = |reason: &str| AttachmentError::Damaged {
        name: name.clone(),
        reason: reason.to_owned(),
    };
    // The path is relative to the media folder and must stay inside it.
    let relative = Path::new(&relative);
    if relative.as_os_str().is_empty()
        || !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(damaged("its path is not inside the media folder"));
    }
    let folder = db
        .parent()
        .ok_or_else(|| damaged("the account has no folder"))?;
    let key = key
        .as_deref()
        .ok_or_else(|| damaged("it has no key"))
        .and_then(|k| AttachmentKey::from_bytes(k).map_err(|_| damaged("its key is malformed")))?;
    Ok(Stored {
        path: folder.join(MEDIA_FOLDER).join(relative),
        key,
        view: AttachmentView {
            id,
            name,
            mime,
            size: u64::try_from(size).unwrap_or(0),
        },
    })
}

fn decrypt_into(stored: &Stored, out: &mut impl std::io::Write) -> Result<u64, AttachmentError> {
    let damaged = |reason: String| AttachmentError::Damaged {
        name: stored.view.name.clone(),
        reason,
    };
    let file = std::fs::File::open(&stored.path).map_err(|e| damaged(e.to_string()))?;
    attachment::decrypt(&stored.key, std::io::BufReader::new(file), out)
        .map_err(|e| damaged(e.to_string()))
}

impl Account {
    /// The attachment `id`, decrypted, to show it; files over [`MAX_IN_MEMORY`] must be saved.
    pub async fn attachment_bytes(
        &self,
        id: i64,
    ) -> Result<(AttachmentView, Vec<u8>), AttachmentError> {
        self.db(move |s| {
            let stored = s.read_with(|c| stored(c, s.path(), id))?;
            if stored.view.size > MAX_IN_MEMORY {
                return Err(AttachmentError::TooLarge {
                    name: stored.view.name,
                    size: stored.view.size,
                });
            }
            let mut bytes = Vec::with_capacity(usize::try_from(stored.view.size).unwrap_or(0));
            decrypt_into(&stored, &mut bytes)?;
            Ok((stored.view, bytes))
        })
        .await
    }

    /// Decrypts the attachment `id` into a file at `dest` (replacing one there), returning its
    /// size. The bytes go to a temporary file beside it first, so a failure leaves no partial
    /// plaintext and no damaged `dest`.
    pub async fn save_attachment(&self, id: i64, dest: PathBuf) -> Result<u64, AttachmentError> {
        self.db(move |s| {
            let stored = s.read_with(|c| stored(c, s.path(), id))?;
            let mut failed = None;
            let mut written = 0;
            let result = atomic_file::write_with(&dest, 0o644, |file| {
                let mut out = std::io::BufWriter::new(file);
                match decrypt_into(&stored, &mut out) {
                    Ok(n) => written = n,
                    Err(e) => {
                        failed = Some(e);
                        return Err(std::io::Error::other("the attachment cannot be read"));
                    }
                }
                out.flush()
            });
            if let Some(e) = failed {
                return Err(e);
            }
            result.map_err(|source| AttachmentError::Write {
                path: dest.display().to_string(),
                source,
            })?;
            Ok(written)
        })
        .await
    }
}
