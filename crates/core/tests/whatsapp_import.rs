//! The apply stage of the WhatsApp import on a real account (SQLCipher database, media folder):
//! an Android `.zip` with media into a new chat, its media encrypted at rest, the same file
//! again adding nothing, and a cancelled import that shows nothing until a new one completes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use missiva_core::account::Account;
use missiva_core::accounts::Accounts;
use missiva_core::events::EventKind;
use missiva_core::import::whatsapp::ImportError;
use missiva_core::import::whatsapp::apply::{
    self, BATCH, ImportOptions, MEDIA_FOLDER, Progress, Target,
};
use missiva_core::import::whatsapp::archive::Source;
use missiva_crypto::attachment::{self, AttachmentKey};
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/whatsapp-archive")
            .join(name),
    )
    .unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    accounts: Accounts,
    account: Account,
}

fn account() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Accounts::open(&dir.path().join("data"), common::file_keystore()).unwrap();
    let info = accounts.create_local("Marta", None).unwrap();
    let account = accounts.account(info.id).unwrap();
    Fixture {
        dir,
        accounts,
        account,
    }
}

/// `WhatsApp Chat - Tom Ake.zip` as Android writes it: the text and three of the four media it
/// names (`IMG-20210214-WA0009.jpg` is missing).
fn android_zip(dir: &Path) -> PathBuf {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, bytes) in [
        ("WhatsApp Chat with Tom Ake.txt", fixture("android.txt")),
        ("IMG-20210214-WA0002.jpg", fixture("photo.jpg")),
        ("STK-20210214-WA0003.webp", fixture("sticker.webp")),
        ("Anna Rossi.vcf", fixture("contact.vcf")),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    let path = dir.join("WhatsApp Chat - Tom Ake.zip");
    std::fs::write(&path, zip.finish().unwrap().into_inner()).unwrap();
    path
}

fn options(target: Target) -> ImportOptions {
    ImportOptions {
        me: Some("Marta Ruiz".to_owned()),
        target,
        date_order: None,
    }
}

/// Imports the export at `path` into `target` of the fixture's account, to the end.
fn import_file(f: &Fixture, path: &Path, target: Target) -> apply::Summary {
    apply::import(
        &f.account,
        &Source::open(path).unwrap(),
        &options(target),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

fn new_chat() -> Target {
    Target::NewChat {
        title: "Tom Ake".to_owned(),
    }
}

fn media_files(f: &Fixture) -> Vec<PathBuf> {
    let root = f
        .account
        .store()
        .path()
        .parent()
        .unwrap()
        .join(MEDIA_FOLDER);
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_android_zip_imports_with_its_media_encrypted_into_a_new_chat() {
    let f = account();
    let zip = android_zip(f.dir.path());
    let source = Source::open(&zip).unwrap();

    let preview = apply::preview(&source, None).unwrap();
    assert_eq!(preview.report.participants, vec!["Marta Ruiz", "Tom Ake"]);
    assert_eq!(preview.chat_title.as_deref(), Some("Tom Ake"));
    assert_eq!(preview.guessed_me.as_deref(), Some("Marta Ruiz"));
    assert_eq!(preview.report.media_found, 3);
    assert_eq!(preview.report.media_missing, 2);
    assert_eq!(preview.entries.len(), 7);

    let mut events = f.accounts.events().subscribe();
    let mut progress = Vec::new();
    let summary = apply::import(
        &f.account,
        &source,
        &options(new_chat()),
        &mut |p: Progress| progress.push(p),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(summary.added, 7);
    assert_eq!(summary.media_stored, 3);
    assert_eq!(
        summary.report, preview.report,
        "the same counts before and after"
    );
    let last = progress.last().unwrap();
    assert_eq!(last.entries_done, 7);
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(last.bytes_total, fixture("android.txt").len() as u64);

    let messages = f.account.messages(summary.chat, None, 100).await.unwrap();
    let seen: Vec<(&str, Option<&str>, bool, &str)> = messages
        .iter()
        .map(|m| {
            (
                m.kind.as_str(),
                m.author.as_deref(),
                m.outgoing,
                m.sent_at.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("system", None, false, "2021-02-14T09:05:00Z"),
            ("text", None, true, "2021-02-14T09:05:00Z"),
            ("media", Some("Tom Ake"), false, "2021-02-14T09:06:00Z"),
            ("media", None, true, "2021-02-14T09:07:00Z"),
            ("media", Some("Tom Ake"), false, "2021-02-14T09:08:00Z"),
            ("contact", None, true, "2021-02-14T09:10:00Z"),
            ("media", Some("Tom Ake"), false, "2021-02-14T09:11:00Z"),
        ]
    );
    assert_eq!(messages[1].text, "buongiorno");
    assert_eq!(messages[2].text, "Nice view");
    assert!(messages.iter().all(|m| m.imported));

    // Three encrypted files, none holding the plaintext, each decrypting with its row's key.
    let files = media_files(&f);
    assert_eq!(files.len(), 3);
    let rows: Vec<(String, String, Vec<u8>)> = f
        .account
        .store()
        .read(|c| {
            let mut s = c.prepare("SELECT name, path, file_key FROM attachments ORDER BY id")?;
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "IMG-20210214-WA0002.jpg",
            "STK-20210214-WA0003.webp",
            "Anna Rossi.vcf"
        ]
    );
    let media_root = f
        .account
        .store()
        .path()
        .parent()
        .unwrap()
        .join(MEDIA_FOLDER);
    for ((_, path, key), original) in rows
        .iter()
        .zip(["photo.jpg", "sticker.webp", "contact.vcf"])
    {
        let blob = std::fs::read(media_root.join(path)).unwrap();
        let plain = fixture(original);
        assert_ne!(blob, plain);
        let mut out = Vec::new();
        attachment::decrypt(
            &AttachmentKey::from_bytes(key).unwrap(),
            blob.as_slice(),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, plain, "{original}");
    }

    // The UI hears about it.
    let mut kinds = Vec::new();
    while let Ok(Some(event)) =
        tokio::time::timeout(std::time::Duration::from_millis(200), events.recv()).await
    {
        kinds.push(event.kind);
    }
    assert!(kinds.contains(&EventKind::ChatsChanged), "{kinds:?}");
    assert!(
        kinds.contains(&EventKind::MessagesChanged { chat: summary.chat }),
        "{kinds:?}"
    );

    let chats = f.account.chats().await.unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].title, "Tom Ake");
    assert_eq!(chats[0].kind, "direct");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_zip_again_adds_no_message_and_no_file() {
    let f = account();
    let zip = android_zip(f.dir.path());
    let source = Source::open(&zip).unwrap();
    let run = |target: Target| {
        apply::import(
            &f.account,
            &source,
            &options(target),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap()
    };
    let first = run(new_chat());
    let files = media_files(&f);
    let again = run(new_chat());
    assert_eq!(
        (again.chat, again.added, again.already_there),
        (first.chat, 0, 7)
    );
    let into_same_chat = run(Target::Chat(first.chat));
    assert_eq!(into_same_chat.added, 0);
    assert_eq!(media_files(&f), files, "no new (orphan) media files");
    assert_eq!(
        f.account
            .messages(first.chat, None, 100)
            .await
            .unwrap()
            .len(),
        7
    );
    assert_eq!(f.account.chats().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_import_is_invisible_until_an_import_of_the_same_file_completes() {
    let f = account();
    let path = f.dir.path().join("WhatsApp Chat with Tom Ake.txt");
    let total = BATCH * 3 + 17;
    let mut text = String::new();
    for i in 0..total {
        let author = if i % 3 == 0 { "Marta Ruiz" } else { "Tom Ake" };
        text.push_str(&format!(
            "{:02}/03/2021, {:02}:{:02} - {author}: line {i}\n",
            1 + i / 1440 % 28,
            i / 60 % 24,
            i % 60
        ));
    }
    std::fs::write(&path, text).unwrap();
    let source = Source::open(&path).unwrap();
    let cancel = AtomicBool::new(false);
    let result = apply::import(
        &f.account,
        &source,
        &options(new_chat()),
        &mut |p| {
            if p.entries_done >= BATCH as u64 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    );
    assert!(matches!(result, Err(ImportError::Cancelled)), "{result:?}");
    assert!(f.account.chats().await.unwrap().is_empty());

    let summary = apply::import(
        &f.account,
        &source,
        &options(new_chat()),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert!(summary.resumed);
    assert_eq!(summary.added, total as u64);
    let chats = f.account.chats().await.unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(
        chats[0].last_message.as_ref().unwrap().text,
        format!("line {}", total - 1)
    );
    assert_eq!(chats[0].unread, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_order_override_changes_the_timestamps() {
    let f = account();
    let path = f.dir.path().join("WhatsApp Chat with Tom Ake.txt");
    std::fs::write(&path, "03/04/2021, 10:00 - Tom Ake: ciao\n").unwrap();
    let source = Source::open(&path).unwrap();
    let mut opts = options(new_chat());
    opts.date_order = Some(missiva_core::import::whatsapp::model::DateOrder::MonthDayYear);
    let summary = apply::import(
        &f.account,
        &source,
        &opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let messages = f.account.messages(summary.chat, None, 10).await.unwrap();
    assert_eq!(messages[0].sent_at, "2021-03-04T10:00:00Z");
    assert_eq!(summary.report.date_order.as_str(), "mdy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_media_show_in_the_conversation_and_save_to_a_file() {
    let f = account();
    let zip = android_zip(f.dir.path());
    let source = Source::open(&zip).unwrap();
    let summary = apply::import(
        &f.account,
        &source,
        &options(new_chat()),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let messages = f.account.messages(summary.chat, None, 100).await.unwrap();
    let photo = messages
        .iter()
        .flat_map(|m| &m.attachments)
        .find(|a| a.name == "IMG-20210214-WA0002.jpg")
        .expect("the photo is attached to its message")
        .clone();
    assert_eq!(photo.mime, "image/jpeg");
    assert_eq!(photo.size, fixture("photo.jpg").len() as u64);
    let attached: usize = messages.iter().map(|m| m.attachments.len()).sum();
    assert_eq!(attached, 3, "the missing photo has no attachment");
    // ...but its message still names it.
    let missing: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.missing_file.as_deref())
        .collect();
    assert_eq!(missing, vec!["IMG-20210214-WA0009.jpg"]);

    // Shown: the plaintext, decrypted in memory.
    let (view, bytes) = f.account.attachment_bytes(photo.id).await.unwrap();
    assert_eq!(view, photo);
    assert_eq!(bytes, fixture("photo.jpg"));

    // Saved: the plaintext in the chosen file.
    let dest = f.dir.path().join("saved.jpg");
    let size = f
        .account
        .save_attachment(photo.id, dest.clone())
        .await
        .unwrap();
    assert_eq!(size, photo.size);
    assert_eq!(std::fs::read(&dest).unwrap(), fixture("photo.jpg"));

    // A stored copy that fails authentication is an error, and the file saved before stays.
    let stored = media_files(&f);
    for file in &stored {
        let mut bytes = std::fs::read(file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(file, bytes).unwrap();
    }
    let err = f.account.attachment_bytes(photo.id).await.unwrap_err();
    assert!(err.to_string().contains("cannot be read"), "{err}");
    let err = f
        .account
        .save_attachment(photo.id, dest.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot be read"), "{err}");
    assert_eq!(std::fs::read(&dest).unwrap(), fixture("photo.jpg"));
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // An unknown id is not found.
    let err = f
        .account
        .attachment_bytes(photo.id + 100)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no attachment"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_history_imported_into_a_chat_goes_above_what_it_holds() {
    let f = account();
    let zip = android_zip(f.dir.path());
    let first = import_file(&f, &zip, new_chat());
    // A year earlier, from another export of the same chat.
    let older = f.dir.path().join("WhatsApp Chat with Tom Ake.txt");
    std::fs::write(
        &older,
        "14/02/2020, 10:00 - Tom Ake: a year ago\n15/02/2020, 11:00 - Marta Ruiz: still here\n",
    )
    .unwrap();
    import_file(&f, &older, Target::Chat(first.chat));

    let page = f.account.messages(first.chat, None, 100).await.unwrap();
    let sent: Vec<&str> = page.iter().map(|m| m.sent_at.as_str()).collect();
    let mut sorted = sent.clone();
    sorted.sort_unstable();
    assert_eq!(sent, sorted, "oldest first, by when they were written");
    assert_eq!(page[0].text, "a year ago");
    assert_eq!(page[1].text, "still here");
    // Nobody to send to in a chat an import created.
    let err = f.account.send(first.chat, "hello?").await.unwrap_err();
    assert!(err.to_string().contains("no one to send to"), "{err}");

    // Paging back from the newest walks the same order without gaps or repeats.
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let older = f.account.messages(first.chat, before, 2).await.unwrap();
        if older.is_empty() {
            break;
        }
        before = Some(older[0].id);
        walked.splice(0..0, older.into_iter().map(|m| m.id));
    }
    assert_eq!(walked, page.iter().map(|m| m.id).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_poll_shows_as_a_closed_poll_with_its_counts() {
    let f = account();
    let text =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/whatsapp/b04_polls_mobile.txt");
    let summary = import_file(&f, &text, new_chat());
    let page = f.account.messages(summary.chat, None, 100).await.unwrap();
    let polls: Vec<_> = page.iter().filter_map(|m| m.poll.as_ref()).collect();
    assert_eq!(polls.len(), 2, "{page:?}");
    assert_eq!(polls[0].question, "Where shall we eat?");
    let options: Vec<(&str, Option<u32>)> = polls[0]
        .options
        .iter()
        .map(|o| (o.text.as_str(), o.votes))
        .collect();
    assert_eq!(
        options,
        vec![("Pizza", Some(3)), ("Sushi", Some(1)), ("🍜", Some(0))]
    );
    assert!(polls.iter().all(|p| p.closed));
    assert_eq!(polls[1].options[1].text, "Montagna (ne discutiamo)");
    assert!(
        page.iter()
            .filter(|m| m.kind != "poll")
            .all(|m| m.poll.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_history_is_searchable_word_by_word() {
    let f = account();
    let zip = android_zip(f.dir.path());
    let summary = import_file(&f, &zip, new_chat());

    let hits = f.account.search("NICE vi", 50).await.unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].chat, summary.chat);
    assert_eq!(hits[0].author.as_deref(), Some("Tom Ake"));
    assert!(!hits[0].outgoing);
    assert_eq!(hits[0].snippet, "\u{2}Nice\u{3} \u{2}view\u{3}");
    assert_eq!(hits[0].sent_at, "2021-02-14T09:06:00Z");
    // Operators are text: nothing breaks, nothing matches.
    assert!(
        f.account
            .search("view NOT nice", 50)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(f.account.search("\"(*", 50).await.unwrap().is_empty());
    // Accents and case do not matter; an own message has no author.
    let own = f.account.search("BUONGIORNO", 50).await.unwrap();
    assert_eq!(own.len(), 1);
    assert!(own[0].outgoing && own[0].author.is_none());
    let err = f.account.search(&"x".repeat(300), 50).await.unwrap_err();
    assert!(err.to_string().contains("longer than"), "{err}");
}
