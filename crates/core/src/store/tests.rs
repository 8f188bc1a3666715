use super::*;

fn insert_message(store: &Store, body: &str) {
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO chats (kind, title, created_at, last_activity_at)
                 VALUES ('direct', 'c', 0, 0)",
                [],
            )?;
            let chat = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO messages (uid, chat_id, body, sent_at, received_at)
                 VALUES (randomblob(16), ?1, ?2, 0, 0)",
                rusqlite::params![chat, body],
            )
            .map(|_| ())
        })
        .unwrap();
}

fn search(store: &Store, term: &str) -> i64 {
    store
        .read(|c| {
            c.query_row(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1",
                [term],
                |r| r.get(0),
            )
        })
        .unwrap()
}

#[test]
fn migrations_are_valid() {
    migrations().validate().unwrap();
}

#[test]
fn migrations_apply_to_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let key = DbKey::random();
    let store = Store::create(&dir.path().join("db"), &key, "a").unwrap();
    assert_eq!(store.schema_version().unwrap(), 8);
    insert_message(&store, "ciao mondo");
    assert_eq!(search(&store, "mondo"), 1);
}

#[test]
fn schema_6_rebuilds_the_search_index_without_losing_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = DbKey::random();
    let old = Store::create_to(&path, &key, "a", Some(5)).unwrap();
    insert_message(&old, "searchable before the rebuild");
    drop(old);

    let store = Store::open_to(&path, &key, "a", Some(6)).unwrap();
    assert_eq!(search(&store, "rebuild"), 1);
    // The triggers were made again: new, edited and deleted messages keep the index right.
    insert_message(&store, "written after the rebuild");
    assert_eq!(search(&store, "rebuild"), 2);
    store
        .write(|tx| tx.execute("UPDATE messages SET body = 'changed' WHERE id = 1", []))
        .unwrap();
    assert_eq!(search(&store, "rebuild"), 1);
    assert_eq!(search(&store, "changed"), 1);
    store
        .write(|tx| tx.execute("DELETE FROM messages WHERE id = 2", []))
        .unwrap();
    assert_eq!(search(&store, "rebuild"), 0);
}

#[test]
fn migrations_upgrade_a_database_made_by_the_previous_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = DbKey::random();
    let old = Store::create_to(&path, &key, "a", Some(1)).unwrap();
    assert_eq!(old.schema_version().unwrap(), 1);
    insert_message(&old, "written before search existed");
    drop(old);

    let store = Store::open_to(&path, &key, "a", Some(2)).unwrap();
    assert_eq!(store.schema_version().unwrap(), 2);
    // Rows from schema 1 survive and become searchable; the new tables work.
    assert_eq!(search(&store, "existed"), 1);
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO attachments (message_id, name, path) VALUES (1, 'a.jpg', 'm/1')",
                [],
            )
        })
        .unwrap();
}

#[test]
fn settings_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("db"), &DbKey::random(), "a").unwrap();
    assert_eq!(store.setting("theme").unwrap(), None);
    store.set_setting("theme", "dark").unwrap();
    store.set_setting("theme", "light").unwrap();
    assert_eq!(store.setting("theme").unwrap().as_deref(), Some("light"));
}

#[test]
fn tables_are_strict() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("db"), &DbKey::random(), "a").unwrap();
    let err = store.write(|tx| {
        tx.execute(
            "INSERT INTO contacts (handle, created_at) VALUES ('x', 'not a number')",
            [],
        )
    });
    assert!(
        err.is_err(),
        "a STRICT table must refuse text in an INTEGER column"
    );
}

#[test]
fn database_file_is_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::create(&path, &DbKey::random(), "a").unwrap();
    insert_message(&store, "plaintext-marker-4711");
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3"));
    assert!(!bytes.windows(21).any(|w| w == b"plaintext-marker-4711"));
}

#[test]
fn wrong_key_is_refused_and_file_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::create(&path, &DbKey::random(), "Work").unwrap();
    insert_message(&store, "hello");
    drop(store);
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path, &DbKey::random(), "Work").unwrap_err();
    assert!(matches!(err, StoreError::WrongKey { ref account } if account == "Work"));
    assert!(err.to_string().contains("\"Work\""), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn missing_file_is_an_error_not_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let err = Store::open(&path, &DbKey::random(), "Home").unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }));
    assert!(!path.exists());
}

#[test]
fn schema_3_upgrades_a_schema_2_database_with_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = DbKey::random();
    let old = Store::create_to(&path, &key, "a", Some(2)).unwrap();
    old.write(|tx| {
        tx.execute(
            "INSERT INTO contacts (handle, identity_key, created_at) VALUES ('bea', x'01', 5)",
            [],
        )?;
        tx.execute(
            "INSERT INTO chats (kind, title, contact_id, created_at, last_activity_at)
             VALUES ('direct', 'bea', 1, 5, 5)",
            [],
        )?;
        tx.execute(
            "INSERT INTO messages (uid, chat_id, sender_id, body, sent_at, received_at, state)
             VALUES (randomblob(16), 1, 1, 'from schema two', 5, 5, 'received')",
            [],
        )
        .map(|_| ())
    })
    .unwrap();
    drop(old);

    let store = Store::open_to(&path, &key, "a", Some(3)).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3);
    let (changed, previous, error): (i64, Vec<u8>, String) = store
        .read(|c| {
            c.query_row(
                "SELECT k.identity_changed, k.previous_identity, m.error
                 FROM contacts k JOIN messages m ON m.sender_id = k.id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .unwrap();
    assert_eq!((changed, previous, error), (0, Vec::new(), String::new()));
    assert_eq!(search(&store, "schema"), 1);
    // The new tables exist and a second direct chat with the same contact is refused.
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO outbox (envelope_id, contact_id, recipient, payload, created_at)
                 VALUES (randomblob(16), 1, x'01', x'', 6)",
                [],
            )
            .map(|_| ())
        })
        .unwrap();
    let duplicate = store.write(|tx| {
        tx.execute(
            "INSERT INTO chats (kind, title, contact_id, created_at, last_activity_at)
             VALUES ('direct', 'bea again', 1, 6, 6)",
            [],
        )
    });
    assert!(duplicate.is_err());
}

#[test]
fn schema_4_upgrades_a_schema_3_database_with_a_sender_known_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = DbKey::random();
    let old = Store::create_to(&path, &key, "a", Some(3)).unwrap();
    old.write(|tx| {
        tx.execute(
            "INSERT INTO contacts (handle, display_name, identity_key, created_at)
             VALUES ('#0102030405060708', '#0102030405060708', x'01', 5)",
            [],
        )
        .map(|_| ())
    })
    .unwrap();
    drop(old);

    let store = Store::open_to(&path, &key, "a", Some(4)).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    let (handle, claimed): (String, String) = store
        .read(|c| {
            c.query_row("SELECT handle, claimed_handle FROM contacts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .unwrap();
    assert_eq!(
        (handle.as_str(), claimed.as_str()),
        ("#0102030405060708", "")
    );
}

#[test]
fn schema_5_upgrades_a_schema_4_database_with_chats_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = DbKey::random();
    let old = Store::create_to(&path, &key, "a", Some(4)).unwrap();
    insert_message(&old, "written before imports existed");
    drop(old);

    let store = Store::open_to(&path, &key, "a", Some(5)).unwrap();
    assert_eq!(store.schema_version().unwrap(), 5);
    // Rows from before are neither imported nor hidden, and stay searchable.
    let (chat_import, msg_import, author, meta): (i64, i64, String, String) = store
        .read(|c| {
            c.query_row(
                "SELECT c.import_id, m.import_id, m.author_name, m.import_meta
                 FROM messages m JOIN chats c ON c.id = m.chat_id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })
        .unwrap();
    assert_eq!((chat_import, msg_import), (0, 0));
    assert_eq!((author.as_str(), meta.as_str()), ("", ""));
    assert_eq!(search(&store, "imports"), 1);
    let bad_state = store.write(|tx| {
        tx.execute(
            "INSERT INTO imports (source_digest, chat_id, target, state, created_at)
             VALUES (x'00', 1, 'new', 'paused', 0)",
            [],
        )
    });
    assert!(bad_state.is_err());
}
