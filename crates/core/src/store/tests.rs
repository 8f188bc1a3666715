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
    assert_eq!(store.schema_version().unwrap(), 2);
    insert_message(&store, "ciao mondo");
    assert_eq!(search(&store, "mondo"), 1);
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

    let store = Store::open(&path, &key, "a").unwrap();
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
