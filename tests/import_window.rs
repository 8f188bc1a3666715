//! The WhatsApp import wizard in the real app window: an export of each family (Android, iPhone,
//! iPhone 2015–2017, WhatsApp Web), each a `.zip` with a photo, chosen through the system's file dialog (GTK, driven with
//! xdotool), previewed, imported as the user ("Sam Carter", or "You") into a new chat; the chat then shows
//! the history with its authors, the imported mark and the photo, decrypted from the account's
//! store. Run by `make test-app` (Xvfb + dbus-run-session); `--ignored` elsewhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use fantoccini::Client;
use missiva_tests::window::{WAIT, create_account, driver_on, poll_js, shoot, wait_css};
use missiva_tests::{RelayProcess, launch};

/// The wizard's title, which is also the file dialog's.
const TITLE: &str = "Import a WhatsApp chat";

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/whatsapp")
            .join(name),
    )
    .unwrap()
}

/// A zip at `dir/name` holding `files`, deflated as phones write them.
fn zip(dir: &Path, name: &str, files: &[(&str, Vec<u8>)]) -> Result<PathBuf> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (file, bytes) in files {
        zip.start_file(*file, options)?;
        zip.write_all(bytes)?;
    }
    let path = dir.join(name);
    std::fs::write(&path, zip.finish()?.into_inner())?;
    Ok(path)
}

/// Runs xdotool with `args`.
fn xdotool(args: &[&str]) -> Result<String> {
    let out = Command::new("xdotool")
        .args(args)
        .output()
        .context("run xdotool (apt install xdotool)")?;
    ensure!(
        out.status.success(),
        "xdotool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Waits for the GTK file dialog titled `title`, types `path` into its location field (or, to
/// save, its name field) and confirms, as a user who pastes a path would.
fn answer_file_dialog(title: &str, path: &Path, save: bool) -> Result<()> {
    let start = Instant::now();
    let window = loop {
        let found = xdotool(&["search", "--onlyvisible", "--name", &format!("^{title}$")])
            .unwrap_or_default();
        if let Some(id) = found.lines().last() {
            break id.to_owned();
        }
        ensure!(
            start.elapsed() < WAIT,
            "the file dialog \"{title}\" did not open"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // No window manager under Xvfb: give the dialog the keyboard, then let it settle.
    xdotool(&["windowfocus", "--sync", &window])?;
    std::thread::sleep(Duration::from_millis(700));
    xdotool(&[
        "key",
        "--clearmodifiers",
        if save { "ctrl+a" } else { "ctrl+l" },
    ])?;
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["type", "--delay", "15", &path.display().to_string()])?;
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["key", "Return"])?;
    Ok(())
}

/// Every message line on screen: `[text, author|null, outgoing, imported, [image widths]]`.
const LINES: &str = "return [...document.querySelectorAll('[role=log] [data-message]')].map(l => [
    l.querySelector('.text')?.textContent ?? l.querySelector('span')?.textContent ?? '',
    l.querySelector('.author')?.textContent ?? null,
    l.classList.contains('outgoing'),
    !!l.querySelector('.imported') || l.classList.contains('event'),
    [...l.querySelectorAll('[data-attachment] img')].map(i => i.complete ? i.naturalWidth : 0),
]);";

struct Export<'a> {
    zip: PathBuf,
    format: &'a str,
    /// Who the user is among the people.
    me: &'a str,
    chat: &'a str,
    people: &'a [&'a str],
    /// `(text, author, outgoing)` of some lines, in order.
    lines: &'a [(&'a str, Option<&'a str>, bool)],
    /// The photo's width in pixels, once drawn.
    photo_width: u64,
    /// The question of a poll in it, shown as a poll card.
    poll: Option<&'a str>,
    /// Save the photo here (through the save dialog) and compare it with this original.
    save_photo: Option<(PathBuf, Vec<u8>)>,
    screenshot: &'a str,
}

/// Waits until the conversation on screen is the chat titled `title`.
async fn wait_for_chat(c: &Client, title: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        let open = wait_css(c, "main.conversation")
            .await?
            .attr("aria-label")
            .await?
            .unwrap_or_default();
        if open == title {
            return Ok(());
        }
        ensure!(
            start.elapsed() < WAIT,
            "the chat {title} did not open (on screen: {open})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> Result<String> {
    Ok(wait_css(c, css)
        .await?
        .prop("textContent")
        .await?
        .unwrap_or_default())
}

async fn import(c: &Client, export: &Export<'_>) -> Result<()> {
    wait_css(c, "button[aria-label='Account options']")
        .await?
        .click()
        .await?;
    wait_css(c, "[role=menu] [role=menuitem]:first-child")
        .await?
        .click()
        .await?;
    let choose = wait_css(c, "[role=dialog] .drop button").await?;
    ensure!(
        choose.text().await?.contains("Choose file"),
        "the wizard opens on choosing a file"
    );
    choose.click().await?;
    let zip = export.zip.clone();
    tokio::task::spawn_blocking(move || answer_file_dialog(TITLE, &zip, false)).await??;

    // The preview: where it came from, who is in it, what it holds.
    poll_js(
        c,
        "the preview",
        "return document.querySelector('[role=dialog] .preview')?.textContent ?? null",
        |v| v.as_str().is_some_and(|t| t.contains(export.format)),
    )
    .await?;
    let preview = text_of(c, "[role=dialog] .preview").await?;
    for person in export.people {
        ensure!(
            preview.contains(person),
            "{person} in the preview: {preview}"
        );
    }
    ensure!(
        preview.contains("1 found, 0 missing") || preview.contains("1 found, 1 missing"),
        "the photo is found in the zip: {preview}"
    );
    wait_css(c, "[role=dialog] select[id$='-me']")
        .await?
        .select_by_value(export.me)
        .await?;
    shoot(c, &format!("{}-preview.png", export.screenshot)).await?;
    wait_css(c, "[role=dialog] .actions .btn-primary")
        .await?
        .click()
        .await?;

    // Done: the summary, then the chat.
    poll_js(
        c,
        "the import summary",
        "return document.querySelector('[role=dialog] .done')?.textContent ?? null",
        |v| v.as_str().is_some_and(|t| t.contains("Import finished")),
    )
    .await?;
    let summary = text_of(c, "[role=dialog] .done").await?;
    ensure!(
        summary.contains("1 media file stored"),
        "the photo is stored: {summary}"
    );
    wait_css(c, "[role=dialog] .actions .btn-primary")
        .await?
        .click()
        .await?;
    wait_for_chat(c, export.chat).await?;

    // The history: authors, sides, the imported mark, and the photo drawn.
    let lines = poll_js(c, "the imported history", LINES, |v| {
        v.as_array().is_some_and(|ls| {
            ls.iter().any(|l| {
                l[4].as_array()
                    .is_some_and(|w| w.iter().any(|w| w.as_u64() == Some(export.photo_width)))
            })
        })
    })
    .await?;
    let lines = lines.as_array().context("lines")?;
    let mut from = 0;
    for (text, author, outgoing) in export.lines {
        let Some(at) = lines[from..].iter().position(|l| l[0] == *text) else {
            bail!("{text:?} not on screen (in order) in {lines:?}");
        };
        let line = &lines[from + at];
        if let Some(author) = author {
            ensure!(line[1] == *author, "author of {text:?}: {line}");
        }
        ensure!(line[2] == *outgoing, "side of {text:?}: {line}");
        ensure!(line[3] == true, "{text:?} is marked imported: {line}");
        from += at + 1;
    }
    if let Some(question) = export.poll {
        let card = wait_css(
            c,
            &format!("[role=log] [role=group][aria-label=\"Poll: {question}\"]"),
        )
        .await?;
        card.click().await?; // scrolls it into view for the screenshot
        let text = card.prop("textContent").await?.unwrap_or_default();
        ensure!(text.contains("2 votes · 67%"), "the poll's counts: {text}");
    }
    if let Some((dest, original)) = &export.save_photo {
        let save = wait_css(c, "[role=log] [data-attachment] button.save").await?;
        // Scrolled off above the poll: bring it back the way a user scrolling up would.
        c.execute(
            "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
            vec![serde_json::to_value(&save)?],
        )
        .await?;
        let to = dest.clone();
        tokio::task::spawn_blocking(move || answer_file_dialog("Save attachment", &to, true))
            .await??;
        let start = Instant::now();
        while std::fs::read(dest).ok().as_ref() != Some(original) {
            ensure!(
                start.elapsed() < WAIT,
                "the saved photo at {} is not the original",
                dest.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    shoot(c, &format!("{}.png", export.screenshot)).await?;
    Ok(())
}

/// The imported histories are searchable: words from the Android export find their message, and
/// choosing the hit opens that chat.
async fn search(c: &Client) -> Result<()> {
    wait_css(c, "input[type=search]")
        .await?
        .send_keys("hut view")
        .await?;
    let hit = wait_css(c, "[aria-label='Messages found'] button.hit").await?;
    let text = hit.prop("textContent").await?.unwrap_or_default();
    ensure!(
        text.contains("Giulia Bianchi") && text.contains("The view from the hut last year"),
        "the search hit: {text}"
    );
    shoot(c, "import-search.png").await?;
    hit.click().await?;
    wait_for_chat(c, "Giulia Bianchi").await
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display, tauri-driver, xdotool and the built app: make test-app"]
async fn an_export_of_each_family_imports_with_its_photo() -> Result<()> {
    let relay = RelayProcess::start()?;
    let dir = tempfile::tempdir()?;
    let android = zip(
        dir.path(),
        "WhatsApp Chat with Giulia Bianchi.zip",
        &[
            (
                "WhatsApp Chat with Giulia Bianchi.txt",
                data("WhatsApp Chat with Giulia Bianchi.txt"),
            ),
            ("IMG-20240312-WA0004.jpg", data("sunset.jpg")),
        ],
    )?;
    let iphone = zip(
        dir.path(),
        "WhatsApp Chat - Trip to Dolomiti.zip",
        &[
            ("_chat.txt", data("_chat.txt")),
            ("00000021-PHOTO-2024-06-14-20-17-45.jpg", data("menu.jpg")),
        ],
    )?;
    let legacy = zip(
        dir.path(),
        "WhatsApp Chat - Ana Lima.zip",
        &[
            ("_chat.txt", data("legacy_chat.txt")),
            ("2015-08-14-PHOTO-00004762.jpg", data("sunset.jpg")),
        ],
    )?;
    let web = zip(
        dir.path(),
        "WhatsApp Chat with Nora Quinn.zip",
        &[
            (
                "WhatsApp Chat with Nora Quinn.txt",
                data("WhatsApp Chat with Nora Quinn.txt"),
            ),
            ("IMG_4021.jpg", data("menu.jpg")),
        ],
    )?;
    let home = tempfile::tempdir()?;
    let driver = driver_on(home.path(), &relay.url)?;
    let c = launch(&driver).await?;

    let outcome = async {
        create_account(&c, "Sam", "sam", &relay.url).await?;
        import(
            &c,
            &Export {
                zip: android,
                format: "WhatsApp on Android",
                me: "Sam Carter",
                chat: "Giulia Bianchi",
                people: &["Giulia Bianchi", "Sam Carter"],
                lines: &[
                    (
                        "Ciao! Are you still coming on Saturday?",
                        Some("Giulia Bianchi"),
                        false,
                    ),
                    ("Yes! I'll bring the tent 🏕️", None, true),
                    (
                        "The view from the hut last year",
                        Some("Giulia Bianchi"),
                        false,
                    ),
                    (
                        "The path starts at 8:30,\nmeet at the car park?",
                        None,
                        false,
                    ),
                    ("See you there 👋", None, true),
                ],
                photo_width: 640,
                poll: Some("Dinner on Saturday?"),
                save_photo: Some((dir.path().join("saved.jpg"), data("sunset.jpg"))),
                screenshot: "import-android",
            },
        )
        .await?;
        import(
            &c,
            &Export {
                zip: iphone,
                format: "WhatsApp on iPhone",
                me: "Sam Carter",
                chat: "Trip to Dolomiti",
                people: &["Anna Verdi", "Luca Moretti", "Sam Carter"],
                lines: &[
                    (
                        "Who has the menu from the rifugio?",
                        Some("Luca Moretti"),
                        false,
                    ),
                    ("Dinner at 19:30, they close the kitchen early", None, false),
                    ("Perfect 👍", None, true),
                    ("And breakfast?\nNot before 7, I asked", None, false),
                ],
                photo_width: 480,
                poll: None,
                save_photo: None,
                screenshot: "import-iphone",
            },
        )
        .await?;
        import(
            &c,
            &Export {
                zip: legacy,
                format: "WhatsApp on iPhone (older version)",
                me: "Sam Carter",
                chat: "Ana Lima",
                people: &["Ana Lima", "Sam Carter"],
                lines: &[
                    ("Are you back from Lisbon?", Some("Ana Lima"), false),
                    ("Yes! Landed an hour ago", None, true),
                    ("The tram you told me about", None, false),
                ],
                photo_width: 640,
                poll: None,
                save_photo: None,
                screenshot: "import-iphone-2015",
            },
        )
        .await?;
        import(
            &c,
            &Export {
                zip: web,
                format: "WhatsApp Web or Desktop",
                me: "You",
                chat: "Nora Quinn",
                people: &["Nora Quinn", "You"],
                lines: &[
                    ("see you at the station", Some("Nora Quinn"), false),
                    ("Look at this", None, true),
                    ("Beautiful! Platform 4", None, false),
                ],
                photo_width: 480,
                poll: None,
                save_photo: None,
                screenshot: "import-web",
            },
        )
        .await?;
        search(&c).await
    }
    .await;
    if outcome.is_err() {
        let _ = shoot(&c, "import-failure.png").await;
    }
    let _ = c.close().await;
    outcome
}
