//! WhatsApp import benchmark (issue 6): generates a realistic 1,000,000-message export in both
//! families (Android `.txt`, iOS `_chat.txt`, and the iOS export zipped as the phone shares it),
//! then measures
//!
//! - parse-only throughput (archive + detect + parse, release build): messages/s and MB/s, in one
//!   pass as the wizard's preview reads a file (`detect_and_parse`), and in the two passes the
//!   import runs (`detect`, then `Parser`);
//! - the JavaScript reference, the npm package `whatsapp-chat-parser`, on the same files in the
//!   same run (installed on first use under `target/whatsapp-bench-js`), and the ratio;
//! - the full import into a fresh account (SQLCipher + FTS + commit): wall time and peak RSS
//!   (`VmHWM`), in a child process (this binary re-invoked with `WHATSAPP_BENCH_CHILD`) so that
//!   the peak is the import's own.
//!
//! `cargo bench -p missiva-core --bench whatsapp_import`. `WHATSAPP_BENCH_MESSAGES` sets another
//! message count (quick runs); `WHATSAPP_BENCH_NO_JS=1` skips the JavaScript reference;
//! `WHATSAPP_BENCH_DIR=DIR` keeps the generated exports in `DIR` (to profile one stage);
//! `WHATSAPP_BENCH_PARSE_ONLY=1` skips the full imports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use missiva_core::accounts::{Accounts, OpenOptions};
use missiva_core::import::whatsapp::apply::{self, ImportOptions, Target};
use missiva_core::import::whatsapp::archive::Source;
use missiva_core::import::whatsapp::detect::{Visit, detect, detect_and_parse};
use missiva_core::import::whatsapp::model::{Detection, EntryKind, Family, Parsed};
use missiva_core::import::whatsapp::parse::Parser;
use missiva_core::keystore::KeystoreKind;
use time::macros::datetime;
use time::{Duration as Span, PrimitiveDateTime};

/// Messages (records: messages and system events) per generated export.
const MESSAGES: usize = 1_000_000;
/// Parse runs per file; the best is reported (the machine is shared).
const RUNS: usize = 5;
/// Set in the child process that runs one full import.
const CHILD_ENV: &str = "WHATSAPP_BENCH_CHILD";

fn main() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        full_import_child(Path::new(&path));
        return;
    }
    if let Some(path) = std::env::var_os("WHATSAPP_BENCH_PARSE_FILE") {
        parse_one_file(Path::new(&path));
        return;
    }
    let messages =
        std::env::var("WHATSAPP_BENCH_MESSAGES").map_or(MESSAGES, |n| n.parse().unwrap());
    // `WHATSAPP_BENCH_DIR` keeps the generated exports there (for profiling one stage).
    let kept = std::env::var_os("WHATSAPP_BENCH_DIR").map(PathBuf::from);
    let temporary = tempfile::tempdir().unwrap();
    let dir = kept.as_deref().unwrap_or(temporary.path());
    std::fs::create_dir_all(dir).unwrap();
    println!(
        "whatsapp_import: {messages} messages per export, best of {RUNS} runs, in {}",
        dir.display()
    );

    let mut rows = Vec::new();
    for family in [Family::Android, Family::Ios] {
        let started = Instant::now();
        let path = dir.join(match family {
            Family::Android => "WhatsApp Chat with Book Club.txt",
            _ => "_chat.txt",
        });
        let generated = generate(&path, family, messages);
        println!(
            "generated {} export: {} records ({} authored), {:.1} MB in {:.1?}",
            family.as_str(),
            generated.records,
            generated.authored,
            mb(generated.bytes),
            started.elapsed()
        );
        rows.push(Row::measure(family.as_str(), &path, &generated));
        if family == Family::Ios {
            let zip = dir.join("WhatsApp Chat - Book Club.zip");
            zip_export(&path, &zip);
            rows.push(Row::measure("ios (zip)", &zip, &generated));
        }
    }

    let js = js_reference_available();
    println!();
    println!(
        "parse only (archive + detect + parse in one pass, as the preview), release build; goal: >= 10x the JS reference"
    );
    println!(
        "{:<10} {:>10} {:>9} {:>12} {:>9} | {:>12} {:>12} {:>8}",
        "export", "records", "time", "messages/s", "MB/s", "JS time", "JS msg/s", "ratio"
    );
    for row in &rows {
        let mut line = format!(
            "{:<10} {:>10} {:>8.2}s {:>12.0} {:>9.1} |",
            row.name,
            row.records,
            row.best.as_secs_f64(),
            row.records as f64 / row.best.as_secs_f64(),
            mb(row.bytes) / row.best.as_secs_f64()
        );
        // The JS parser reads text only: the zip row has no JS figure.
        match (&js, row.text_path.as_deref()) {
            (Ok(prefix), Some(text)) => match run_js(prefix, text) {
                Ok((js_messages, js_time)) => {
                    let ratio = js_time.as_secs_f64() / row.best.as_secs_f64();
                    let _ = write!(
                        line,
                        " {:>11.2}s {:>12.0} {:>7.1}x {}",
                        js_time.as_secs_f64(),
                        js_messages as f64 / js_time.as_secs_f64(),
                        ratio,
                        if ratio >= 10.0 {
                            "(goal met)"
                        } else {
                            "(GOAL NOT MET)"
                        }
                    );
                    if js_messages != row.records {
                        let _ = write!(line, " [JS found {js_messages} messages]");
                    }
                }
                Err(error) => {
                    let _ = write!(line, " JS failed: {error}");
                }
            },
            (Err(why), Some(_)) => {
                let _ = write!(line, " JS reference not run: {why}");
            }
            (_, None) => line.push_str(" (no JS figure for a zip)"),
        }
        println!("{line}");
    }

    println!();
    println!(
        "breakdown (best runs): the one pass; the two passes the import runs (the detect pass, the parse pass); the archive layer alone"
    );
    println!(
        "{:<10} {:>9} {:>11} {:>9} {:>9} {:>14}",
        "export", "one pass", "two passes", "detect", "parse", "archive MB/s"
    );
    for row in &rows {
        println!(
            "{:<10} {:>8.2}s {:>10.2}s {:>8.2}s {:>8.2}s {:>14.0}",
            row.name,
            row.best.as_secs_f64(),
            row.two_passes.as_secs_f64(),
            row.detect.as_secs_f64(),
            row.parse.as_secs_f64(),
            mb(row.bytes) / row.read.as_secs_f64()
        );
    }

    if std::env::var_os("WHATSAPP_BENCH_PARSE_ONLY").is_some() {
        return;
    }
    println!();
    println!(
        "full import into an account (SQLCipher + FTS + commit); goals: < 10 s, peak RSS < 200 MB"
    );
    for row in &rows {
        match full_import(&row.path) {
            Ok(done) => println!(
                "{:<10} {:>10} records ({} added): {:.2}s, peak RSS {:.0} MB {}",
                row.name,
                row.records,
                done.added,
                done.wall.as_secs_f64(),
                done.peak_rss_kib as f64 / 1024.0,
                if done.wall < Duration::from_secs(10) && done.peak_rss_kib < 200 * 1024 {
                    "(goals met)"
                } else {
                    "(GOAL NOT MET)"
                }
            ),
            Err(error) => println!("{:<10} full import failed: {error}", row.name),
        }
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

// --- Parse only -----------------------------------------------------------------------------

struct Row {
    name: &'static str,
    path: PathBuf,
    /// The plain text file, for the JS reference.
    text_path: Option<PathBuf>,
    records: usize,
    bytes: u64,
    /// Open + detect + parse in one pass, best run.
    best: Duration,
    /// Open + detect + parse in two passes, best run; the detect pass alone and the parse pass
    /// alone (best runs).
    two_passes: Duration,
    detect: Duration,
    parse: Duration,
    /// Open + reading the text through the archive layer, nothing parsed.
    read: Duration,
}

impl Row {
    fn measure(name: &'static str, path: &Path, generated: &Generated) -> Row {
        let (mut best, mut two_best, mut detect_best, mut parse_best, mut read_best) = (
            Duration::MAX,
            Duration::MAX,
            Duration::MAX,
            Duration::MAX,
            Duration::MAX,
        );
        for _ in 0..RUNS {
            // The archive layer alone: the text read to the end, nothing parsed.
            let started = Instant::now();
            let source = Source::open(path).unwrap();
            let read = std::io::copy(&mut source.text().unwrap(), &mut std::io::sink()).unwrap();
            read_best = read_best.min(started.elapsed());
            assert!(read > 0);

            let started = Instant::now();
            let (two_detection, two_counts, detect_time) =
                parse_file_twice(path, &generated.is_system);
            let total = started.elapsed();
            two_best = two_best.min(total);
            detect_best = detect_best.min(detect_time);
            parse_best = parse_best.min(total.saturating_sub(detect_time));

            let started = Instant::now();
            let (detection, counts) = parse_file(path, &generated.is_system);
            best = best.min(started.elapsed());
            assert_eq!(detection, two_detection, "{name}: one pass and two passes");
            assert_eq!(
                (
                    counts.records,
                    counts.authored,
                    counts.system,
                    counts.unparsed
                ),
                (
                    two_counts.records,
                    two_counts.authored,
                    two_counts.system,
                    two_counts.unparsed
                ),
                "{name}: one pass and two passes"
            );
            assert_eq!(
                counts.records, generated.records,
                "{name}: parsed {} records of {} ({} lines not understood; detection {detection:?})",
                counts.records, generated.records, counts.unparsed
            );
            assert_eq!(
                counts.authored, generated.authored,
                "{name}: authored messages; first misread: {:#?}",
                counts.misread
            );
            assert_eq!(counts.system, generated.system, "{name}: system events");
        }
        let is_zip = path.extension().is_some_and(|e| e == "zip");
        Row {
            name,
            path: path.to_path_buf(),
            text_path: (!is_zip).then(|| path.to_path_buf()),
            records: generated.records,
            bytes: generated.bytes,
            best,
            two_passes: two_best,
            detect: detect_best,
            parse: parse_best,
            read: read_best,
        }
    }
}

#[derive(Default)]
struct Counts {
    records: usize,
    authored: usize,
    system: usize,
    unparsed: usize,
    /// The first records read as the wrong kind (system event or not).
    misread: Vec<String>,
}

impl Counts {
    fn add(&mut self, item: Parsed, expected: &[bool]) {
        match item {
            Parsed::Entry(entry) => {
                let system = matches!(entry.kind, EntryKind::System { .. });
                if expected.get(self.records).is_some_and(|&e| e != system)
                    && self.misread.len() < 5
                {
                    self.misread.push(format!(
                        "line {}: {:?} {:?} {:?}",
                        entry.line, entry.author, entry.kind, entry.body
                    ));
                }
                self.records += 1;
                if system {
                    self.system += 1;
                } else if entry.author.is_some() {
                    self.authored += 1;
                }
            }
            Parsed::Unparsed(_) => self.unparsed += 1,
        }
    }
}

/// What the wizard's preview does: open the export, detect and parse in one pass.
fn parse_file(path: &Path, expected: &[bool]) -> (Detection, Counts) {
    let source = Source::open(path).unwrap();
    let mut counts = Counts::default();
    let detection = detect_and_parse(
        || source.text(),
        None,
        |visit| match visit {
            Visit::Item(item) => counts.add(item, expected),
            Visit::Restart => counts = Counts::default(),
        },
    )
    .unwrap();
    (detection, counts)
}

/// What an import does before touching the database: open the export, detect, parse (the time
/// of the detect pass too).
fn parse_file_twice(path: &Path, expected: &[bool]) -> (Detection, Counts, Duration) {
    let started = Instant::now();
    let source = Source::open(path).unwrap();
    let detection = detect(source.text().unwrap(), None).unwrap();
    let detect_time = started.elapsed();
    let mut counts = Counts::default();
    for item in Parser::new(source.text().unwrap(), &detection) {
        counts.add(item.unwrap(), expected);
    }
    (detection, counts, detect_time)
}

/// `WHATSAPP_BENCH_PARSE_FILE=PATH`: detect and parse one existing export, in two passes with
/// one worker and with the default (or `WHATSAPP_BENCH_WORKERS=N`), then in one pass with the
/// default workers, five times each (for profiling; no generation, no import).
fn parse_one_file(path: &Path) {
    // `WHATSAPP_BENCH_PASSES=1` or `2`: only the one pass, or only the two passes.
    let passes = std::env::var("WHATSAPP_BENCH_PASSES").unwrap_or_default();
    let workers: Vec<usize> = match passes.as_str() {
        "1" => Vec::new(),
        _ => {
            std::env::var("WHATSAPP_BENCH_WORKERS").map_or(vec![1, 0], |n| vec![n.parse().unwrap()])
        }
    };
    for workers in workers {
        for _ in 0..5 {
            let started = Instant::now();
            let source = Source::open(path).unwrap();
            let detection = detect(source.text().unwrap(), None).unwrap();
            let detected = started.elapsed();
            let reader = source.text().unwrap();
            let parser = if workers == 0 {
                Parser::new(reader, &detection)
            } else {
                Parser::with_workers(reader, &detection, workers)
            };
            let items = parser.count();
            println!(
                "workers {}: {items} items, detect {:.3}s, parse {:.3}s",
                if workers == 0 {
                    "default".to_owned()
                } else {
                    workers.to_string()
                },
                detected.as_secs_f64(),
                (started.elapsed() - detected).as_secs_f64()
            );
        }
    }
    let one_pass_runs = if passes == "2" { 0 } else { 5 };
    for _ in 0..one_pass_runs {
        let started = Instant::now();
        let (_, counts) = parse_file(path, &[]);
        println!(
            "one pass: {} items, {:.3}s",
            counts.records + counts.unparsed,
            started.elapsed().as_secs_f64()
        );
    }
}

// --- JavaScript reference -------------------------------------------------------------------

/// The npm prefix holding `whatsapp-chat-parser`, installed there if missing.
fn js_reference_available() -> Result<PathBuf, String> {
    if std::env::var_os("WHATSAPP_BENCH_NO_JS").is_some() {
        return Err("WHATSAPP_BENCH_NO_JS is set".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let prefix = target.join("whatsapp-bench-js");
    if !prefix
        .join("node_modules/whatsapp-chat-parser/package.json")
        .exists()
    {
        println!(
            "installing the JS reference: npm install --no-save --prefix {} whatsapp-chat-parser",
            prefix.display()
        );
        std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&prefix)
            .arg("whatsapp-chat-parser")
            .status()
            .map_err(|e| format!("npm: {e}"))?;
        if !status.success() {
            return Err(format!("npm install failed ({status})"));
        }
    }
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node: {e}"))?;
    let version = String::from_utf8_lossy(&node.stdout).trim().to_owned();
    let package =
        std::fs::read_to_string(prefix.join("node_modules/whatsapp-chat-parser/package.json"))
            .map_err(|e| e.to_string())?;
    let package: serde_json::Value = serde_json::from_str(&package).map_err(|e| e.to_string())?;
    println!(
        "JS reference: whatsapp-chat-parser {} on node {version}",
        package["version"].as_str().unwrap_or("?")
    );
    Ok(prefix)
}

/// Runs `parseString` over `file` in node ([`RUNS`] times in one process, best kept; node's
/// start-up and the file read are not timed).
fn run_js(prefix: &Path, file: &Path) -> Result<(usize, Duration), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/whatsapp-js-parse.mjs");
    let output = Command::new("node")
        .arg("--max-old-space-size=8192")
        .arg(&script)
        .arg(prefix)
        .arg(file)
        .arg(RUNS.to_string())
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "node exited {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let messages = result["messages"].as_u64().ok_or("no message count")?;
    let best_ms = result["best_ms"].as_f64().ok_or("no time")?;
    Ok((
        usize::try_from(messages).unwrap(),
        Duration::from_secs_f64(best_ms / 1000.0),
    ))
}

// --- Full import ----------------------------------------------------------------------------

/// What the child reports about its import.
struct Imported {
    wall: Duration,
    peak_rss_kib: u64,
    added: u64,
}

/// A full import of `export` into a fresh account, in a child process (this binary again, with
/// [`CHILD_ENV`] set) so that the peak RSS is the import's own and not the generator's or the
/// earlier parse runs'.
fn full_import(export: &Path) -> Result<Imported, String> {
    let output = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .env(CHILD_ENV, export)
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "the import child exited {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let field = |name: &str| -> Result<u64, String> {
        stdout
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| format!("no {name} in the child's output: {stdout}"))?
            .parse()
            .map_err(|e| format!("{name}: {e}"))
    };
    Ok(Imported {
        wall: Duration::from_millis(field("wall_ms")?),
        peak_rss_kib: field("peak_rss_kib")?,
        added: field("added")?,
    })
}

/// In the child: a fresh account (file keystore), then the import timed from opening the
/// export to the last commit; prints `added=… wall_ms=… peak_rss_kib=…`.
fn full_import_child(export: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        keystore: KeystoreKind::File,
        ..OpenOptions::default()
    };
    let mut accounts = Accounts::open(&dir.path().join("data"), options).unwrap();
    let info = accounts.create_local("bench", None).unwrap();
    let account = accounts.account(info.id).unwrap();

    let started = Instant::now();
    let source = Source::open(export).unwrap();
    let options = ImportOptions {
        me: Some("Marta Ruiz".into()),
        target: Target::NewChat {
            title: "Book Club".into(),
        },
        date_order: None,
    };
    let summary = apply::import(
        &account,
        &source,
        &options,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let wall = started.elapsed();
    println!(
        "added={} wall_ms={} peak_rss_kib={}",
        summary.added,
        wall.as_millis(),
        peak_rss_kib()
    );
}

/// This process's peak resident set (`VmHWM` in `/proc/self/status`; Linux), 0 if unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

// --- Generator ------------------------------------------------------------------------------

struct Generated {
    /// Per record, whether it is a system event (to name the records a parser misreads).
    is_system: Vec<bool>,
    records: usize,
    authored: usize,
    system: usize,
    bytes: u64,
}

/// xorshift64*: deterministic, so every run parses the same files.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn percent(&mut self) -> usize {
        self.below(100)
    }
}

const AUTHORS: &[&str] = &[
    "Marta Ruiz",
    "Tom Ake",
    "Giulia Bianchi",
    "Zoë O'Neil",
    "Дмитрий Иванов",
    "李明",
    "Jean-Luc: the 2nd",
    "\u{202a}+39\u{a0}333\u{a0}123\u{a0}4567\u{202c}",
    "~\u{202f}Carla",
];

const WORDS: &[&str] = &[
    "ok",
    "yes",
    "no",
    "see",
    "you",
    "at",
    "the",
    "station",
    "tomorrow",
    "tonight",
    "dinner",
    "where",
    "are",
    "we",
    "going",
    "ciao",
    "perché",
    "no?",
    "grazie",
    "mille",
    "Grüße",
    "aus",
    "Köln",
    "ありがとう",
    "好的",
    "😂",
    "👍🏽",
    "❤️",
    "🎉",
    "lol",
    "haha",
    "maybe",
    "later",
    "call",
    "me",
    "when",
    "free",
    "10:30",
    "5 pm",
    "https://example.org/trip",
    "🙏",
    "what",
    "time",
    "is",
    "it",
    "bring",
    "the",
    "tickets",
    "and",
    "snacks",
];

const SYSTEM_ANDROID: &[&str] = &[
    "{a} joined using this group's invite link",
    "{a} left",
    "Your security code with {a} changed. Tap to learn more.",
    "{a} added {b}",
    "{a} removed {b}",
    "{a} changed this group's icon",
    "{a} changed the subject from \"Trip\" to \"Trip 2025 🚆\"",
];

const SYSTEM_IOS: &[&str] = &[
    "\u{200e}{a} added {b}",
    "\u{200e}{a} left",
    "\u{200e}{a} changed this group's icon",
    "\u{200e}{a} changed the subject to “Trip 2025 🚆”",
    "\u{200e}{a} removed {b}",
];

fn body(rng: &mut Rng, out: &mut String) {
    let words = 1 + rng.below(14);
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(rng.pick(WORDS));
    }
}

/// Writes a `family` export of `messages` records to `path`. Mix per record: about 80% text
/// (6% of them multi-line, some with blank lines), 7% media (attached or omitted), 3% system
/// events, 1% deleted, 1% edited, 1% locations, the rest short replies.
fn generate(path: &Path, family: Family, messages: usize) -> Generated {
    let mut rng = Rng(0x5eed_0000_0000_0001 ^ family.as_str().len() as u64);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut at: PrimitiveDateTime = datetime!(2016-03-01 08:00:00);
    let (mut authored, mut system) = (0, 0);
    let mut is_system = Vec::with_capacity(messages);
    let mut line = String::with_capacity(512);
    let mut media_seq = 0_u32;
    let ios = family == Family::Ios;
    // Record separator: CRLF between iOS records, bare LF inside bodies (§3.1).
    let end = if ios { "\r\n" } else { "\n" };
    for record in 0..messages {
        line.clear();
        at += Span::seconds(1 + rng.below(900) as i64);
        let (y, mo, d, h, mi, s) = (
            at.year(),
            at.month() as u8,
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
        );
        if ios {
            let _ = write!(
                line,
                "[{d:02}/{mo:02}/{:02}, {h:02}:{mi:02}:{s:02}] ",
                y % 100
            );
        } else {
            let _ = write!(line, "{d:02}/{mo:02}/{y}, {h:02}:{mi:02} - ");
        }
        let roll = rng.percent();
        is_system.push(record == 0 || roll < 3);
        if record == 0 || roll < 3 {
            system += 1;
            let text = if record == 0 {
                "Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can \
                 read or listen to them. Tap to learn more."
            } else if ios {
                rng.pick(SYSTEM_IOS)
            } else {
                rng.pick(SYSTEM_ANDROID)
            };
            if ios {
                // iOS attributes group events to the group's name (§3.3).
                line.push_str("Book Club: ");
                if record == 0 {
                    line.push('\u{200e}');
                }
            }
            // Names as system texts write them: no `~` push-name mark, and no colon, which would
            // make `Jean-Luc: the 2nd left` a message by "Jean-Luc" to any parser.
            let actor = rng.pick(&AUTHORS[..6]);
            let other = rng.pick(&AUTHORS[..6]);
            line.push_str(&text.replace("{a}", actor).replace("{b}", other));
        } else {
            authored += 1;
            line.push_str(rng.pick(AUTHORS));
            line.push_str(": ");
            match roll {
                3..=9 => {
                    media_seq += 1;
                    let (kind, ext) = rng.pick(&[
                        ("IMG", "jpg"),
                        ("IMG", "jpg"),
                        ("VID", "mp4"),
                        ("PTT", "opus"),
                        ("STK", "webp"),
                    ]);
                    match (ios, rng.percent() < 30) {
                        (false, true) => line.push_str("<Media omitted>"),
                        (false, false) => {
                            let _ = write!(
                                line,
                                "{kind}-{y}{mo:02}{d:02}-WA{:04}.{ext} (file attached)",
                                media_seq % 10_000
                            );
                            if rng.percent() < 30 {
                                line.push('\n');
                                body(&mut rng, &mut line);
                            }
                        }
                        (true, true) => line.push_str(match kind {
                            "IMG" => "\u{200e}image omitted",
                            "VID" => "\u{200e}video omitted",
                            "PTT" => "\u{200e}audio omitted",
                            _ => "\u{200e}sticker omitted",
                        }),
                        (true, false) => {
                            let kind = match kind {
                                "IMG" => "PHOTO",
                                "VID" => "VIDEO",
                                "PTT" => "AUDIO",
                                _ => "STICKER",
                            };
                            let _ = write!(
                                line,
                                "\u{200e}<attached: {media_seq:08}-{kind}-{y}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}.{ext}>"
                            );
                        }
                    }
                }
                10 => line.push_str(if ios {
                    "\u{200e}This message was deleted."
                } else {
                    "This message was deleted"
                }),
                11 => {
                    body(&mut rng, &mut line);
                    line.push_str(if ios {
                        " \u{200e}<This message was edited>"
                    } else {
                        " <This message was edited>"
                    });
                }
                12 => line.push_str(if ios {
                    "\u{200e}Location: https://maps.google.com/?q=45.4642035,9.1899817"
                } else {
                    "location: https://maps.google.com/?q=45.4642035,9.1899817"
                }),
                13..=18 => {
                    // Multi-line, sometimes with a blank line kept inside.
                    body(&mut rng, &mut line);
                    for _ in 0..1 + rng.below(3) {
                        line.push('\n');
                        if rng.percent() < 25 {
                            line.push('\n');
                        }
                        body(&mut rng, &mut line);
                    }
                }
                _ => body(&mut rng, &mut line),
            }
        }
        line.push_str(end);
        out.write_all(line.as_bytes()).unwrap();
    }
    // On disk before anything is timed: the kernel writing 90 MB back while the parser runs
    // would slow the first measurements (and not the JS reference's, which come later).
    out.into_inner().unwrap().sync_all().unwrap();
    Generated {
        is_system,
        records: messages,
        authored,
        system,
        bytes: std::fs::metadata(path).unwrap().len(),
    }
}

/// The iOS export as the phone shares it: `_chat.txt` deflated in `WhatsApp Chat - NAME.zip`.
fn zip_export(text: &Path, zip_path: &Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("_chat.txt", options).unwrap();
    std::io::copy(&mut std::fs::File::open(text).unwrap(), &mut zip).unwrap();
    zip.finish().unwrap().sync_all().unwrap();
}
