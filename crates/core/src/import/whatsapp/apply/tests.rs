use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use missiva_crypto::attachment::{self, AttachmentKey};
use time::macros::datetime;

use super::*;
use crate::contacts;
use crate::events::EventBus;
use crate::ids::AccountId;
use crate::import::whatsapp::model::{
    DateOrderBasis, EntryKind, Family, MediaKind, Poll, PollOption, SystemEvent, Unparsed,
};
use crate::messages::MessageView;
use crate::secret::DbKey;
use crate::store::Store;

struct Fixture {
    _dir: tempfile::TempDir,
    account: Account,
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("db"), &DbKey::random(), "t").unwrap();
    Fixture {
        _dir: dir,
        account: Account::new(AccountId(1), store, EventBus::default(), None),
        runtime: tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
    }
}

impl Fixture {
    fn messages(&self, chat: ChatId) -> Vec<MessageView> {
        self.runtime
            .block_on(self.account.messages(chat, None, 1000))
            .unwrap()
    }

    fn chat_ids(&self) -> Vec<ChatId> {
        self.runtime
            .block_on(self.account.chats())
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect()
    }

    fn count(&self, sql: &str) -> i64 {
        self.account
            .store()
            .read(|c| c.query_row(sql, [], |r| r.get(0)))
            .unwrap()
    }
}

#[derive(Default)]
struct Media(BTreeMap<String, Vec<u8>>);

impl MediaFiles for Media {
    fn has_media(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
    fn read_media(&self, name: &str) -> Result<Option<Vec<u8>>, ImportError> {
        Ok(self.0.get(name).cloned())
    }
}

fn detection() -> Detection {
    Detection {
        family: Family::Android,
        date_order: DateOrder::DayMonthYear,
        date_order_basis: DateOrderBasis::FieldAbove12,
        date_order_inconsistent: false,
        hour12: false,
        crlf_records: false,
        header_lines: 0,
    }
}

fn entry(line: u64, author: Option<&str>, body: &str, kind: EntryKind) -> Entry {
    Entry {
        line,
        timestamp: datetime!(2021-02-14 09:05) + time::Duration::minutes(line as i64),
        author: author.map(Into::into),
        body: body.into(),
        kind,
        attachment: None,
        edited: false,
    }
}

fn text(line: u64, author: &str, body: &str) -> Entry {
    entry(line, Some(author), body, EntryKind::Text)
}

fn options(target: Target) -> ImportOptions {
    ImportOptions {
        me: Some("Marco".to_owned()),
        target,
        date_order: None,
    }
}

fn new_chat() -> Target {
    Target::NewChat {
        title: "Anna".to_owned(),
    }
}

fn import_entries(
    f: &Fixture,
    entries: Vec<Result<Parsed, ImportError>>,
    media: &Media,
    digest: u8,
    target: Target,
    cancel_after_batches: Option<u32>,
) -> Result<Summary, ImportError> {
    let cancel = AtomicBool::new(false);
    let mut batches = 0u32;
    let mut progress = |_: Progress| {
        batches += 1;
        if cancel_after_batches.is_some_and(|n| batches >= n) {
            cancel.store(true, Ordering::Relaxed);
        }
    };
    run(
        &f.account,
        Input {
            detection: detection(),
            digest: Digest::of([digest; 16], Family::Android, DateOrder::DayMonthYear),
            entries: entries.into_iter(),
            media,
            bytes_total: 0,
            bytes_done: &|| 0,
        },
        &options(target),
        &mut progress,
        &cancel,
    )
}

fn many(n: u64) -> Vec<Result<Parsed, ImportError>> {
    (1..=n)
        .map(|i| {
            let author = if i % 2 == 0 { "Marco" } else { "Anna" };
            Ok(Parsed::Entry(text(
                i,
                author,
                &format!("message number {i}"),
            )))
        })
        .collect()
}

#[test]
fn imported_messages_keep_authors_timestamps_and_kinds() {
    let f = fixture();
    let mut photo = entry(
        4,
        Some("Anna"),
        "look",
        EntryKind::Media {
            media: MediaKind::Image,
            omitted: false,
        },
    );
    photo.attachment = Some("IMG-20210214-WA0001.jpg".to_owned());
    let mut edited = text(6, "Anna", "fixed typo");
    edited.edited = true;
    let entries = vec![
        Ok(Parsed::Unparsed(Unparsed {
            line: 1,
            text: "preamble".to_owned(),
        })),
        Ok(Parsed::Entry(entry(
            2,
            None,
            "Messages are end-to-end encrypted.",
            EntryKind::System {
                event: SystemEvent::Encryption,
            },
        ))),
        Ok(Parsed::Entry(text(3, "Marco", "ciao Anna"))),
        Ok(Parsed::Entry(photo)),
        Ok(Parsed::Entry(entry(
            5,
            Some("Anna"),
            "",
            EntryKind::Poll(Box::new(Poll {
                question: "Pizza or sushi?".to_owned(),
                options: vec![
                    PollOption {
                        text: "Pizza \"napoletana\"".to_owned(),
                        votes: Some(2),
                    },
                    PollOption {
                        text: "Sushi".to_owned(),
                        votes: None,
                    },
                ],
            })),
        ))),
        Ok(Parsed::Entry(edited)),
    ];
    let mut media = Media::default();
    media.0.insert(
        "IMG-20210214-WA0001.jpg".to_owned(),
        b"\xff\xd8 a small jpeg".to_vec(),
    );
    let summary = import_entries(&f, entries, &media, 1, new_chat(), None).unwrap();
    assert_eq!(summary.added, 5);
    assert_eq!(summary.media_stored, 1);
    assert_eq!(summary.report.messages, 4);
    assert_eq!(summary.report.system, 1);
    assert_eq!(summary.report.unparsed_total, 1);
    assert_eq!(f.chat_ids(), vec![summary.chat]);

    let list = f.messages(summary.chat);
    let seen: Vec<(&str, Option<&str>, bool, &str, &str)> = list
        .iter()
        .map(|m| {
            (
                m.kind.as_str(),
                m.author.as_deref(),
                m.outgoing,
                m.text.as_str(),
                m.sent_at.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "system",
                None,
                false,
                "Messages are end-to-end encrypted.",
                "2021-02-14T09:07:00Z"
            ),
            ("text", None, true, "ciao Anna", "2021-02-14T09:08:00Z"),
            ("media", Some("Anna"), false, "look", "2021-02-14T09:09:00Z"),
            (
                "poll",
                Some("Anna"),
                false,
                "Pizza or sushi?\nPizza \"napoletana\"\nSushi",
                "2021-02-14T09:10:00Z"
            ),
            (
                "text",
                Some("Anna"),
                false,
                "fixed typo",
                "2021-02-14T09:11:00Z"
            ),
        ]
    );
    assert!(list.iter().all(|m| m.imported && m.sender.is_none()));
    assert!(
        list.iter()
            .all(|m| m.state == crate::messages::MessageState::Read)
    );
    // Poll structure and flags are kept for later conversion.
    let meta: Vec<String> = f
        .account
        .store()
        .read(|c| {
            let mut s = c.prepare("SELECT import_meta FROM messages ORDER BY id")?;
            s.query_map([], |r| r.get(0))?.collect()
        })
        .unwrap();
    assert_eq!(meta[0], r#"{"event":"encryption"}"#);
    assert_eq!(meta[1], "");
    assert_eq!(
        meta[2],
        r#"{"media":"image","omitted":false,"attachment":"IMG-20210214-WA0001.jpg"}"#
    );
    assert_eq!(
        meta[3],
        r#"{"question":"Pizza or sushi?","options":[{"text":"Pizza \"napoletana\"","votes":2},{"text":"Sushi","votes":null}]}"#
    );
    assert_eq!(meta[4], r#"{"edited":true}"#);
    // Searchable, and never unread.
    assert_eq!(
        f.count("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'sushi'"),
        1
    );
    assert_eq!(f.runtime.block_on(f.account.unread()).unwrap(), 0);
}

#[test]
fn media_are_encrypted_into_the_account_media_folder() {
    let f = fixture();
    let mut photo = entry(
        1,
        Some("Anna"),
        "",
        EntryKind::Media {
            media: MediaKind::Image,
            omitted: false,
        },
    );
    photo.attachment = Some("IMG-1.jpg".to_owned());
    let mut missing = photo.clone();
    missing.line = 2;
    missing.attachment = Some("IMG-2.jpg".to_owned());
    let plain = b"the photo's bytes, which must not be on disk in the clear".repeat(3000);
    let mut media = Media::default();
    media.0.insert("IMG-1.jpg".to_owned(), plain.clone());
    let entries = vec![Ok(Parsed::Entry(photo)), Ok(Parsed::Entry(missing))];
    let summary = import_entries(&f, entries, &media, 2, new_chat(), None).unwrap();
    assert_eq!(summary.report.media_found, 1);
    assert_eq!(summary.report.media_missing, 1);
    let (name, mime, size, path, key): (String, String, i64, String, Vec<u8>) = f
        .account
        .store()
        .read(|c| {
            c.query_row(
                "SELECT name, mime, size, path, file_key FROM attachments",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
        })
        .unwrap();
    assert_eq!((name.as_str(), mime.as_str()), ("IMG-1.jpg", "image/jpeg"));
    assert_eq!(size, plain.len() as i64);
    let file = f
        .account
        .store()
        .path()
        .parent()
        .unwrap()
        .join(MEDIA_FOLDER)
        .join(&path);
    let blob = std::fs::read(&file).unwrap();
    assert!(!blob.windows(20).any(|w| w == &plain[..20]));
    let mut decrypted = Vec::new();
    let key = AttachmentKey::from_bytes(&key).unwrap();
    attachment::decrypt(&key, blob.as_slice(), &mut decrypted).unwrap();
    assert_eq!(decrypted, plain);
}

#[test]
fn importing_the_same_file_twice_adds_nothing() {
    let f = fixture();
    let first = import_entries(&f, many(30), &Media::default(), 3, new_chat(), None).unwrap();
    let again = import_entries(&f, many(30), &Media::default(), 3, new_chat(), None).unwrap();
    assert_eq!((first.added, first.already_there), (30, 0));
    assert_eq!((again.added, again.already_there), (0, 30));
    assert_eq!(again.chat, first.chat);
    assert_eq!(f.chat_ids(), vec![first.chat]);
    assert_eq!(f.count("SELECT count(*) FROM messages"), 30);
}

#[test]
fn identical_entries_of_one_file_are_all_kept() {
    let f = fixture();
    let same = || Ok(Parsed::Entry(text(1, "Anna", "ok")));
    let summary = import_entries(
        &f,
        vec![same(), same(), same()],
        &Media::default(),
        4,
        new_chat(),
        None,
    )
    .unwrap();
    assert_eq!(summary.added, 3);
    assert_eq!(f.messages(summary.chat).len(), 3);
}

#[test]
fn a_cancelled_import_shows_nothing_and_a_new_import_completes_it() {
    let f = fixture();
    let total = BATCH as u64 * 2 + 500;
    let err =
        import_entries(&f, many(total), &Media::default(), 5, new_chat(), Some(1)).unwrap_err();
    assert!(matches!(err, ImportError::Cancelled));
    assert!(f.chat_ids().is_empty());
    assert_eq!(f.count("SELECT count(*) FROM messages"), BATCH as i64);
    assert_eq!(
        f.count("SELECT count(*) FROM imports WHERE state = 'cancelled'"),
        1
    );

    let summary = import_entries(&f, many(total), &Media::default(), 5, new_chat(), None).unwrap();
    assert!(summary.resumed);
    assert_eq!(summary.added, total);
    assert_eq!(f.chat_ids(), vec![summary.chat]);
    assert_eq!(f.count("SELECT count(*) FROM messages"), total as i64);
    assert_eq!(f.count("SELECT count(*) FROM chats"), 1);
}

#[test]
fn an_interrupted_import_into_an_existing_chat_hides_its_messages_until_done() {
    let f = fixture();
    let chat = f
        .account
        .store()
        .write(|tx| {
            let contact = contacts::insert_placeholder(tx, &[7; 64])?;
            let chat = crate::chats::direct_chat(tx, contact)?;
            crate::messages::insert_incoming(
                tx,
                chat,
                contact,
                crate::ids::MessageId::random(),
                "live",
                1,
            )?;
            Ok(chat)
        })
        .unwrap();
    // The file breaks after the first batch, as a crash would stop it.
    let mut broken = many(BATCH as u64 + 10);
    broken.insert(BATCH + 5, Err(ImportError::Invalid("disk gone".to_owned())));
    assert!(import_entries(&f, broken, &Media::default(), 6, Target::Chat(chat), None).is_err());
    let visible = f.messages(chat);
    assert_eq!(visible.len(), 1);
    assert_eq!(visible[0].text, "live");
    assert_eq!(
        f.count("SELECT count(*) FROM imports WHERE state = 'running'"),
        1
    );

    let summary = import_entries(
        &f,
        many(BATCH as u64 + 10),
        &Media::default(),
        6,
        Target::Chat(chat),
        None,
    )
    .unwrap();
    assert_eq!(summary.chat, chat);
    assert_eq!(summary.added, BATCH as u64 + 10);
    assert_eq!(f.count("SELECT count(*) FROM messages"), BATCH as i64 + 11);
    assert_eq!(f.messages(chat).len(), 1000);
}

#[test]
fn the_same_file_into_another_chat_is_a_copy() {
    let f = fixture();
    let a = import_entries(&f, many(5), &Media::default(), 8, new_chat(), None).unwrap();
    let b = import_entries(
        &f,
        many(5),
        &Media::default(),
        8,
        Target::Chat(a.chat),
        None,
    )
    .unwrap();
    assert_eq!(b.added, 0, "same chat: nothing new");
    let other = f
        .account
        .store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO chats (kind, title, created_at, last_activity_at)
                 VALUES ('group', 'other', 0, 0)",
                [],
            )?;
            Ok(ChatId(tx.last_insert_rowid()))
        })
        .unwrap();
    let c = import_entries(&f, many(5), &Media::default(), 8, Target::Chat(other), None).unwrap();
    assert_eq!(c.added, 5);
}

#[test]
fn a_new_chat_sorts_by_its_newest_message_and_is_a_group_when_several_wrote() {
    let f = fixture();
    let entries = vec![
        Ok(Parsed::Entry(text(1, "Anna", "hi"))),
        Ok(Parsed::Entry(text(3, "Luca", "hello"))),
        Ok(Parsed::Entry(text(2, "Marco", "hey"))),
    ];
    let summary = import_entries(&f, entries, &Media::default(), 9, new_chat(), None).unwrap();
    let chats = f.runtime.block_on(f.account.chats()).unwrap();
    assert_eq!(chats[0].kind, "group");
    assert_eq!(chats[0].last_activity_at, "2021-02-14T09:08:00Z");
    assert_eq!(chats[0].last_message.as_ref().unwrap().text, "hello");
    assert_eq!(summary.report.participants, vec!["Anna", "Luca", "Marco"]);
}

#[test]
fn a_missing_target_is_a_clear_error_that_writes_nothing() {
    let f = fixture();
    let err = import_entries(
        &f,
        many(3),
        &Media::default(),
        10,
        Target::Chat(ChatId(99)),
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no chat 99"), "{err}");
    let err = import_entries(
        &f,
        many(3),
        &Media::default(),
        10,
        Target::Contact(ContactId(5)),
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no contact 5"), "{err}");
    assert_eq!(f.count("SELECT count(*) FROM imports"), 0);
}

#[test]
fn a_contact_without_a_chat_gets_one_only_when_the_import_is_done() {
    let f = fixture();
    let contact = f
        .account
        .store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO contacts (handle, created_at) VALUES ('bea', 0)",
                [],
            )?;
            Ok(ContactId(tx.last_insert_rowid()))
        })
        .unwrap();
    let err = import_entries(
        &f,
        many(BATCH as u64 + 1),
        &Media::default(),
        11,
        Target::Contact(contact),
        Some(1),
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Cancelled));
    assert!(f.chat_ids().is_empty());
    let summary = import_entries(
        &f,
        many(BATCH as u64 + 1),
        &Media::default(),
        11,
        Target::Contact(contact),
        None,
    )
    .unwrap();
    assert_eq!(f.chat_ids(), vec![summary.chat]);
    assert_eq!(summary.added, BATCH as u64 + 1);
}

#[test]
fn discarding_a_cancelled_import_removes_its_rows_chat_and_files() {
    let f = fixture();
    let mut entries = many(BATCH as u64 + 3);
    let mut photo = text(0, "Anna", "photo");
    photo.attachment = Some("IMG-1.jpg".to_owned());
    entries.insert(0, Ok(Parsed::Entry(photo)));
    let mut media = Media::default();
    media.0.insert("IMG-1.jpg".to_owned(), b"jpeg".to_vec());
    let err = import_entries(&f, entries, &media, 12, new_chat(), Some(1)).unwrap_err();
    assert!(matches!(err, ImportError::Cancelled));
    let media_root = f
        .account
        .store()
        .path()
        .parent()
        .unwrap()
        .join(MEDIA_FOLDER);
    assert_eq!(std::fs::read_dir(&media_root).unwrap().count(), 1);
    assert_eq!(f.count("SELECT count(*) FROM attachments"), 1);

    // A cancelled import into a contact's new chat that received a live message meanwhile.
    let contact = f
        .account
        .store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO contacts (handle, created_at) VALUES ('bea', 0)",
                [],
            )?;
            Ok(ContactId(tx.last_insert_rowid()))
        })
        .unwrap();
    let err = import_entries(
        &f,
        many(BATCH as u64 + 3),
        &Media::default(),
        13,
        Target::Contact(contact),
        Some(1),
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Cancelled));
    let live_chat = f
        .account
        .store()
        .write(|tx| {
            let chat = crate::chats::direct_chat(tx, contact)?;
            crate::messages::insert_incoming(
                tx,
                chat,
                contact,
                crate::ids::MessageId::random(),
                "live",
                1,
            )?;
            Ok(chat)
        })
        .unwrap();
    assert!(f.chat_ids().is_empty());

    assert_eq!(discard_cancelled(&f.account).unwrap(), 2);
    assert_eq!(f.count("SELECT count(*) FROM imports"), 0);
    assert_eq!(f.count("SELECT count(*) FROM attachments"), 0);
    assert_eq!(f.count("SELECT count(*) FROM messages"), 1);
    assert_eq!(f.chat_ids(), vec![live_chat]);
    assert_eq!(std::fs::read_dir(&media_root).unwrap().count(), 0);
    assert_eq!(discard_cancelled(&f.account).unwrap(), 0);
}

#[test]
fn an_imported_chat_without_a_contact_can_be_read_and_drafted() {
    let f = fixture();
    let summary = import_entries(&f, many(3), &Media::default(), 14, new_chat(), None).unwrap();
    f.runtime
        .block_on(f.account.mark_read(summary.chat))
        .unwrap();
    f.runtime
        .block_on(f.account.set_draft(summary.chat, ""))
        .unwrap();
    assert!(matches!(
        f.runtime.block_on(f.account.mark_read(ChatId(999))),
        Err(crate::chats::ChatError::NotFound { .. })
    ));
    assert_eq!(f.count("SELECT count(*) FROM outbox"), 0);
}
