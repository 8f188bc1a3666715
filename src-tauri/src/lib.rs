//! The thin desktop shell: Tauri commands that call missiva-core, events to the UI.

pub mod commands;
pub mod error;
pub mod options;
pub mod state;

#[cfg(test)]
mod tests;

use tauri::{Manager, Runtime};

/// Starts the app with the real runtime and returns the process exit code.
pub fn run() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MISSIVA_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = options::AppOptions::from_env_and_args();
    let builder =
        tauri::Builder::default().plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second launch focuses the window that is already open.
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }));
    match build(
        builder,
        state::AppState::new(options),
        tauri::generate_context!(),
    ) {
        Ok(app) => {
            app.run(|_, _| {});
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "the app could not start");
            eprintln!("missiva: the app could not start: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Builds the app on any runtime (the mock runtime in tests) with the given state.
pub fn build<R: Runtime>(
    builder: tauri::Builder<R>,
    state: state::AppState,
    context: tauri::Context<R>,
) -> tauri::Result<tauri::App<R>> {
    builder
        .manage(state)
        // When adding a command: also add it to build.rs and capabilities/main.json.
        .invoke_handler(tauri::generate_handler![
            commands::app::app_info,
            commands::app::subscribe_events,
            commands::accounts::list_accounts,
            commands::accounts::unlock,
            commands::accounts::create_account,
            commands::accounts::rename_account,
            commands::accounts::remove_account,
            commands::accounts::select_account,
            commands::settings::has_passcode,
            commands::settings::set_passcode,
        ])
        .build(context)
}
