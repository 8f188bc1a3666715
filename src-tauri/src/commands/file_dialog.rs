//! The system's file dialog (GTK on Linux), parented to the main window, awaited.

use std::path::PathBuf;

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::{DialogExt, FileDialogBuilder};

use crate::error::{ErrorCode, IpcError};

/// Which question the dialog asks.
pub(crate) enum Ask {
    /// An existing file to open.
    Open,
    /// Where to write a file.
    Save,
}

/// A file dialog for `app`, parented to its main window; `configure` sets its title, filters or
/// suggested name.
pub(crate) async fn choose<R: Runtime>(
    app: &AppHandle<R>,
    ask: Ask,
    configure: impl FnOnce(FileDialogBuilder<R>) -> FileDialogBuilder<R>,
) -> Result<Option<PathBuf>, IpcError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = configure(app.dialog().file());
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.set_parent(&window);
    }
    let answer = move |picked| {
        let _ = tx.send(picked);
    };
    match ask {
        Ask::Open => dialog.pick_file(answer),
        Ask::Save => dialog.save_file(answer),
    }
    let picked = rx
        .await
        .map_err(|_| IpcError::new(ErrorCode::Internal, "the file dialog closed unexpectedly"))?;
    picked
        .map(|file| {
            file.into_path().map_err(|e| {
                IpcError::new(
                    ErrorCode::InvalidInput,
                    format!("this place cannot be used: {e}"),
                )
            })
        })
        .transpose()
}
