//! Importing a WhatsApp chat export: pick the file, preview it, run the import with progress,
//! cancel it. The work is core's (`missiva_core::import::whatsapp`); these commands move it off
//! the async runtime and report progress over a channel.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use missiva_core::ids::{AccountId, ChatId};
use missiva_core::import::whatsapp::ImportError;
use missiva_core::import::whatsapp::apply::{self, ImportOptions, Progress, Summary, Target};
use missiva_core::import::whatsapp::archive::Source;
use missiva_core::import::whatsapp::model::DateOrder;
use missiva_core::import::whatsapp::report::Preview;
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use ts_rs::TS;

use super::file_dialog::{Ask, choose};
use crate::error::IpcError;
use crate::state::{AppState, blocking};

/// Where the wizard puts the imported messages.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[ts(export)]
pub enum ImportTarget {
    /// A new chat with this title.
    NewChat {
        /// The chat's title.
        title: String,
    },
    /// An existing chat of the account.
    Chat {
        /// The chat.
        chat: ChatId,
    },
}

/// The preview of one export file, as the wizard shows it.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ImportPreview {
    /// The file, as given.
    pub path: String,
    /// Its name, for the wizard's title.
    pub file_name: String,
    /// What it holds.
    #[serde(flatten)]
    #[ts(flatten)]
    pub preview: Preview,
}

/// Asks for a WhatsApp export with the system's file dialog; `None` when the user cancels.
#[tauri::command]
pub async fn pick_import_file<R: Runtime>(app: AppHandle<R>) -> Result<Option<String>, IpcError> {
    let picked = choose(&app, Ask::Open, |d| {
        d.set_title("Import a WhatsApp chat")
            .add_filter("WhatsApp chat export (.txt, .zip)", &["txt", "zip"])
    })
    .await?;
    Ok(picked.map(|path| path.display().to_string()))
}

/// Reads the export at `path` once and describes it: format, counts, participants, dates, the
/// first messages and lines not understood. Touches no account.
#[tauri::command]
pub async fn preview_import(
    path: String,
    date_order: Option<DateOrder>,
) -> Result<ImportPreview, IpcError> {
    blocking(move || {
        let file = PathBuf::from(&path);
        let source = Source::open(&file)?;
        let preview = apply::preview(&source, date_order)?;
        let file_name = file
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        Ok(ImportPreview {
            path,
            file_name,
            preview,
        })
    })
    .await
}

/// Imports the export at `path` into `account`, reporting progress on `on_progress`; resolves
/// with the summary once the whole history is in (and visible), or rejects with `cancelled`.
#[tauri::command]
#[allow(clippy::too_many_arguments)] // each is one choice the wizard made
pub async fn run_import(
    state: State<'_, AppState>,
    account: AccountId,
    path: String,
    me: Option<String>,
    target: ImportTarget,
    date_order: Option<DateOrder>,
    on_progress: Channel<Progress>,
) -> Result<Summary, IpcError> {
    let handle = state.account(account).await?;
    let cancel = Arc::new(AtomicBool::new(false));
    state.begin_import(account, Arc::clone(&cancel))?;
    let options = ImportOptions {
        me,
        target: match target {
            ImportTarget::NewChat { title } => Target::NewChat { title },
            ImportTarget::Chat { chat } => Target::Chat(chat),
        },
        date_order,
    };
    let result = blocking(move || {
        let source = Source::open(&PathBuf::from(path))?;
        let mut progress = |p: Progress| {
            let _ = on_progress.send(p);
        };
        match apply::import(&handle, &source, &options, &mut progress, &cancel) {
            // The user chose to stop: the app offers no resume, so nothing of it stays.
            Err(ImportError::Cancelled) => {
                apply::discard_cancelled(&handle)?;
                Err(ImportError::Cancelled.into())
            }
            other => Ok(other?),
        }
    })
    .await;
    state.end_import(account);
    result
}

/// Stops the import running in `account` at its next batch; nothing of it stays visible.
#[tauri::command]
pub fn cancel_import(state: State<'_, AppState>, account: AccountId) -> Result<(), IpcError> {
    state.cancel_import(account);
    Ok(())
}
