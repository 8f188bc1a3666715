//! The thin desktop shell: Tauri commands that call missiva-core, events to the UI.

pub mod commands;
pub mod error;
pub mod notifications;
pub mod options;
pub mod state;

#[cfg(test)]
mod tests;

use missiva_core::events::EventKind;
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
    let context = tauri::generate_context!();
    // One instance per data folder: a second launch on the same folder hands over to the
    // first, while instances on other folders (`--data-dir`) run side by side.
    let instance_id = options.instance_id(&context.config().identifier);
    let single_instance = tauri_plugin_single_instance::Builder::new()
        .callback(|app, _args, _cwd| {
            // A second launch focuses the window that is already open.
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        })
        .dbus_id(instance_id)
        .build();
    let builder = tauri::Builder::default()
        .plugin(single_instance)
        .plugin(tauri_plugin_dialog::init());
    match build(builder, state::AppState::new(options), context) {
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
        .setup(|app| {
            notifications::watch(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| {
            let Some(state) = window.try_state::<state::AppState>() else {
                return;
            };
            match event {
                // Back in the window with a chat on screen: that chat's notification is stale.
                tauri::WindowEvent::Focused(true) => {
                    if let Some((account, chat)) = state.visible_chat() {
                        state.notifier().dismiss(account, chat);
                    }
                }
                // A file dropped on the window: the UI offers to import it.
                tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) => {
                    if let Some(path) = paths.first() {
                        state.events().emit(
                            None,
                            EventKind::ImportFileDropped {
                                path: path.display().to_string(),
                            },
                        );
                    }
                }
                _ => {}
            }
        })
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
            commands::accounts::connection_state,
            commands::contacts::list_contacts,
            commands::contacts::add_contact,
            commands::chats::list_chats,
            commands::chats::chat_for_contact,
            commands::chats::mark_read,
            commands::chats::set_draft,
            commands::chats::set_typing,
            commands::chats::set_visible_chat,
            commands::messages::list_messages,
            commands::messages::send_message,
            commands::messages::search_messages,
            commands::messages::attachment_data,
            commands::messages::save_attachment,
            commands::import::pick_import_file,
            commands::import::preview_import,
            commands::import::run_import,
            commands::import::cancel_import,
            commands::polls::create_poll,
            commands::polls::vote_poll,
            commands::polls::retract_vote,
            commands::polls::close_poll,
            commands::groups::create_group,
            commands::groups::group_info,
            commands::groups::add_group_members,
            commands::groups::remove_group_member,
            commands::groups::rename_group,
            commands::groups::set_group_admin,
            commands::groups::leave_group,
            commands::groups::choose_group_avatar,
            commands::groups::remove_group_avatar,
            commands::groups::group_avatar,
        ])
        .build(context)
}
