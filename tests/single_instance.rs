//! A second launch of the app hands over to the running one (which focuses its window) and
//! exits, instead of opening a second window on the same data. Run by `make test-app`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use missiva_tests::{ChildGuard, app_binary};

fn missiva_windows() -> Result<usize> {
    let out = Command::new("xdotool")
        .args(["search", "--name", "^Missiva$"])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).lines().count())
}

#[test]
#[ignore = "needs a display, a session bus and the built app: run by make test-app"]
fn a_second_launch_exits_and_leaves_the_first_window() -> Result<()> {
    let data = tempfile::tempdir()?;
    let launch = || {
        Command::new(app_binary()?)
            .env("MISSIVA_DATA_DIR", data.path())
            .env("MISSIVA_KEYSTORE", "file")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(anyhow::Error::from)
    };
    let mut first = ChildGuard(launch()?);
    let start = Instant::now();
    while missiva_windows()? == 0 {
        ensure!(
            start.elapsed() < Duration::from_secs(30),
            "the first window never appeared"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // GTK maps more than one X window per app window: wait until the count settles.
    let mut windows = missiva_windows()?;
    loop {
        std::thread::sleep(Duration::from_millis(700));
        let now = missiva_windows()?;
        if now == windows {
            break;
        }
        ensure!(
            start.elapsed() < Duration::from_secs(30),
            "the window count never settled"
        );
        windows = now;
    }

    let mut second = launch()?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait()? {
            break status;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = second.kill();
            bail!("the second launch kept running: single-instance did not hand over");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    ensure!(status.success(), "the second launch failed: {status}");
    ensure!(
        first.0.try_wait()?.is_none(),
        "the first app must keep running"
    );
    std::thread::sleep(Duration::from_millis(700));
    ensure!(missiva_windows()? == windows, "no new window may appear");
    Ok(())
}

/// Waits until at least `want` Missiva windows exist and their count settles; returns it.
fn settled_windows(want: usize) -> Result<usize> {
    let start = Instant::now();
    let mut windows = missiva_windows()?;
    loop {
        std::thread::sleep(Duration::from_millis(700));
        let now = missiva_windows()?;
        if now >= want && now == windows {
            return Ok(now);
        }
        ensure!(
            start.elapsed() < Duration::from_secs(30),
            "expected {want} or more Missiva windows, saw {now}"
        );
        windows = now;
    }
}

#[test]
#[ignore = "needs a display, a session bus and the built app: run by make test-app"]
fn instances_on_two_data_folders_run_side_by_side() -> Result<()> {
    let (one, two) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let launch = |data: &std::path::Path| {
        Command::new(app_binary()?)
            .env("MISSIVA_DATA_DIR", data)
            .env("MISSIVA_KEYSTORE", "file")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(anyhow::Error::from)
    };
    let before = missiva_windows()?;
    let mut first = ChildGuard(launch(one.path())?);
    let with_one = settled_windows(before + 1)?;
    let mut second = ChildGuard(launch(two.path())?);
    // The second one must not hand over and exit: it opens a window of its own.
    let with_two = settled_windows(with_one + 1)?;
    ensure!(with_two > with_one);
    ensure!(
        first.0.try_wait()?.is_none(),
        "the first app must keep running"
    );
    ensure!(
        second.0.try_wait()?.is_none(),
        "the second app, on another data folder, must keep running"
    );
    Ok(())
}
