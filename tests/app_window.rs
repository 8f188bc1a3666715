//! The real app window, driven through tauri-driver + WebKitWebDriver: create two accounts,
//! switch between them, restart the app on the same data folder and find them still there.
//! Run by `make test-app` (Xvfb + a private D-Bus session); `--ignored` elsewhere.

use std::time::Duration;

use anyhow::{Result, ensure};
use fantoccini::{Client, Locator};
use missiva_tests::window::wait_css;
use missiva_tests::{TauriDriver, artifacts_dir, launch};

const WAIT: Duration = Duration::from_secs(30);

async fn create_account(c: &Client, open_with: &str, name: &str) -> Result<()> {
    wait_css(c, open_with).await?.click().await?;
    let input = wait_css(c, "[role=dialog] input").await?;
    input.send_keys(name).await?;
    wait_css(c, "[role=dialog] button[type=submit]")
        .await?
        .click()
        .await?;
    wait_css(c, &format!("nav button.account[aria-label=\"{name}\"]")).await?;
    Ok(())
}

async fn header(c: &Client) -> Result<String> {
    let h1 = wait_css(c, "h1.account-name").await?;
    Ok(h1
        .prop("textContent")
        .await?
        .unwrap_or_default()
        .trim()
        .to_owned())
}

async fn wait_header(c: &Client, want: &str) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        let got = header(c).await?;
        if got == want {
            return Ok(());
        }
        ensure!(
            start.elapsed() < WAIT,
            "header shows {got:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tauri-driver whose app instances use `data` with the file keystore, in English.
fn driver_on(data: &std::path::Path) -> Result<TauriDriver> {
    TauriDriver::start(&[
        ("MISSIVA_DATA_DIR", data.as_os_str()),
        ("MISSIVA_KEYSTORE", "file".as_ref()),
        ("LANG", "en_US.UTF-8".as_ref()),
    ])
}

async fn pressed(c: &Client, name: &str) -> Result<bool> {
    let button = wait_css(c, &format!("nav button.account[aria-label=\"{name}\"]")).await?;
    Ok(button.attr("aria-pressed").await?.as_deref() == Some("true"))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display, tauri-driver and the built app: run by make test-app"]
async fn create_two_accounts_switch_and_find_them_after_a_restart() -> Result<()> {
    let data = tempfile::tempdir()?;
    let driver = driver_on(data.path())?;

    let c = launch(&driver).await?;
    if let Err(e) = first_run(&c).await {
        let png = c.screenshot().await?;
        std::fs::write(artifacts_dir()?.join("app-window-failure.png"), png)?;
        return Err(e);
    }
    c.close().await?;

    // Restart on the same data folder: both accounts are there, "Home" still selected.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c = launch(&driver).await?;
    wait_header(&c, "Home").await?;
    ensure!(pressed(&c, "Home").await?);
    let accounts = c.find_all(Locator::Css("nav button.account")).await?;
    let mut names = Vec::new();
    for a in accounts {
        names.push(a.attr("aria-label").await?.unwrap_or_default());
    }
    ensure!(
        names == ["Work", "Home"],
        "accounts after restart: {names:?}"
    );
    c.close().await?;
    Ok(())
}

async fn first_run(c: &Client) -> Result<()> {
    let c = c.clone();
    ensure!(c.title().await? == "Missiva", "window title");
    // No account yet: the welcome screen offers to create the first one.
    create_account(&c, "button.btn-large", "Work").await?;
    wait_header(&c, "Work").await?;
    create_account(&c, "nav button.add", "Home").await?;

    // One click switches; the rail marks the account on screen.
    wait_css(&c, "nav button.account[aria-label=\"Home\"]")
        .await?
        .click()
        .await?;
    wait_header(&c, "Home").await?;
    ensure!(pressed(&c, "Home").await? && !pressed(&c, "Work").await?);
    wait_css(&c, "nav button.account[aria-label=\"Work\"]")
        .await?
        .click()
        .await?;
    wait_header(&c, "Work").await?;
    ensure!(pressed(&c, "Work").await? && !pressed(&c, "Home").await?);
    wait_css(&c, "nav button.account[aria-label=\"Home\"]")
        .await?
        .click()
        .await?;
    wait_header(&c, "Home").await?;
    let png = c.screenshot().await?;
    std::fs::write(artifacts_dir()?.join("app-window.png"), png)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display, tauri-driver and the built app: run by make test-app"]
async fn a_passcode_set_in_settings_locks_the_next_start() -> Result<()> {
    let data = tempfile::tempdir()?;
    let driver = driver_on(data.path())?;

    let c = launch(&driver).await?;
    create_account(&c, "button.btn-large", "Vault").await?;
    wait_css(&c, "nav button.settings").await?.click().await?;
    // "Set passcode…" is the first button of the passcode section.
    wait_css(&c, "[role=dialog] .buttons button")
        .await?
        .click()
        .await?;
    wait_css(&c, "[role=dialog] input[type=password]").await?;
    for field in c
        .find_all(Locator::Css("[role=dialog] input[type=password]"))
        .await?
    {
        field.send_keys("2468").await?;
    }
    wait_css(&c, "[role=dialog] form button[type=submit]")
        .await?
        .click()
        .await?;
    wait_css(&c, "[role=dialog] .state.on").await?;
    c.close().await?;

    tokio::time::sleep(Duration::from_secs(1)).await;
    let c = launch(&driver).await?;
    let unlock = async {
        let input = wait_css(&c, "main form input[type=password]").await?;
        std::fs::write(
            artifacts_dir()?.join("app-unlock.png"),
            c.screenshot().await?,
        )?;
        input.send_keys("1111").await?;
        wait_css(&c, "main form button[type=submit]")
            .await?
            .click()
            .await?;
        wait_css(
            &c,
            "main form .error:not(:empty), main form [role=alert]:not(:empty)",
        )
        .await?;
        ensure!(
            c.find_all(Locator::Css("nav button.account"))
                .await?
                .is_empty(),
            "a wrong passcode must not open the accounts"
        );
        let input = wait_css(&c, "main form input[type=password]").await?;
        input.clear().await?;
        input.send_keys("2468").await?;
        wait_css(&c, "main form button[type=submit]")
            .await?
            .click()
            .await?;
        wait_css(&c, "nav button.account[aria-label=\"Vault\"]").await?;
        Ok::<_, anyhow::Error>(())
    };
    if let Err(e) = unlock.await {
        let png = c.screenshot().await?;
        std::fs::write(artifacts_dir()?.join("app-unlock-failure.png"), png)?;
        return Err(e);
    }
    c.close().await?;
    Ok(())
}
