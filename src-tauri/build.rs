//! Lists every app command so that each window needs an explicit capability for it.

// When adding a command: add it here, to `generate_handler!` in lib.rs, and to
// capabilities/main.json.
const COMMANDS: &[&str] = &[
    "app_info",
    "list_accounts",
    "unlock",
    "create_account",
    "rename_account",
    "remove_account",
    "select_account",
    "subscribe_events",
    "has_passcode",
    "set_passcode",
    "set_visible_chat",
    "connection_state",
    "list_contacts",
    "add_contact",
    "list_chats",
    "chat_for_contact",
    "mark_read",
    "set_draft",
    "set_typing",
    "list_messages",
    "send_message",
    "search_messages",
    "attachment_data",
    "save_attachment",
    "pick_import_file",
    "preview_import",
    "run_import",
    "cancel_import",
    "create_poll",
    "vote_poll",
    "retract_vote",
    "close_poll",
    "create_group",
    "group_info",
    "add_group_members",
    "remove_group_member",
    "rename_group",
    "set_group_admin",
    "leave_group",
    "choose_group_avatar",
    "remove_group_avatar",
    "group_avatar",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        eprintln!("tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
