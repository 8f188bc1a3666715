//! Media of an export into the account's encrypted store: each file encrypted with the
//! attachment cipher under a fresh key, written and synced before the rows naming it commit.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use missiva_crypto::attachment::{self, AttachmentKey};

use super::{Entry, ImportError, MEDIA_FOLDER, MediaFiles};

/// A media file written to the store for one entry of the batch.
pub(super) struct StoredMedia {
    pub(super) name: String,
    pub(super) mime: &'static str,
    pub(super) size: u64,
    pub(super) relative: String,
    pub(super) key: AttachmentKey,
}

/// The folder (inside the media folder) of the files one import stored.
pub(super) fn import_folder(import: i64) -> String {
    format!("import-{import}")
}

/// The account's media folder, created if needed.
pub(super) fn media_dir(db_path: &Path) -> Result<PathBuf, ImportError> {
    let dir = db_path
        .parent()
        .map(|p| p.join(MEDIA_FOLDER))
        .ok_or_else(|| ImportError::Invalid("the account has no folder".to_owned()))?;
    std::fs::create_dir_all(&dir).map_err(|source| ImportError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(dir)
}

/// Encrypts the batch's media files into the store; `None` for entries without one.
pub(super) fn store_media(
    media_dir: &Path,
    import: i64,
    batch: &[(Entry, [u8; 16])],
    media: &dyn MediaFiles,
) -> Result<Vec<Option<StoredMedia>>, ImportError> {
    let folder = import_folder(import);
    let dir = media_dir.join(&folder);
    let mut out = Vec::with_capacity(batch.len());
    let mut wrote = false;
    for (entry, _) in batch {
        let Some(name) = entry.attachment.as_deref() else {
            out.push(None);
            continue;
        };
        let Some(bytes) = media.read_media(name)? else {
            out.push(None);
            continue;
        };
        if !wrote {
            std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
            wrote = true;
        }
        let key = AttachmentKey::generate(&mut rand::rng());
        let file_name = format!("{}.bin", hex::encode(rand::random::<[u8; 16]>()));
        let path = dir.join(&file_name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        attachment::encrypt(&key, bytes.as_slice(), &mut file).map_err(|e| match e {
            attachment::AttachmentError::Io(e) => io_error(&path, e),
            other => ImportError::Invalid(format!("cannot encrypt {name}: {other}")),
        })?;
        file.flush().map_err(|e| io_error(&path, e))?;
        file.sync_all().map_err(|e| io_error(&path, e))?;
        out.push(Some(StoredMedia {
            name: name.to_owned(),
            mime: mime_of(name),
            size: bytes.len() as u64,
            relative: format!("{folder}/{file_name}"),
            key,
        }));
    }
    if wrote {
        // The files' directory entries must be durable before the rows naming them commit.
        sync_dir(&dir)?;
        sync_dir(media_dir)?;
    }
    Ok(out)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), ImportError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), ImportError> {
    Ok(())
}

pub(super) fn io_error(path: &Path, source: std::io::Error) -> ImportError {
    ImportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The MIME type of a media file, from its extension.
pub(super) fn mime_of(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "mov" => "video/quicktime",
        "opus" => "audio/ogg",
        "ogg" => "audio/ogg",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "aac" => "audio/aac",
        "amr" => "audio/amr",
        "wav" => "audio/wav",
        "pdf" => "application/pdf",
        "vcf" => "text/vcard",
        "txt" => "text/plain",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}
