//! The real app window through WebDriver: waiting for elements and values, creating an
//! account with a handle on a relay, screenshots.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::{TauriDriver, artifacts_dir};

/// How long any step may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A tauri-driver whose app instances use `data`, the file keystore, English and `relay` as
/// the relay the new-account dialog offers.
pub fn driver_on(data: &std::path::Path, relay: &str) -> Result<TauriDriver> {
    TauriDriver::start(&[
        ("MISSIVA_DATA_DIR", data.as_os_str()),
        ("MISSIVA_KEYSTORE", "file".as_ref()),
        ("MISSIVA_RELAY", relay.as_ref()),
        ("LANG", "en_US.UTF-8".as_ref()),
    ])
}

/// The element `css` matches, once there is one.
pub async fn wait_css(c: &Client, css: &str) -> Result<Element> {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("waiting for {css}"))
}

/// Runs `script` (a function body returning a value) until `done` accepts what it returns.
pub async fn poll_js(
    c: &Client,
    what: &str,
    script: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let start = Instant::now();
    loop {
        let v = c.execute(script, vec![]).await?;
        if done(&v) {
            return Ok(v);
        }
        if start.elapsed() > WAIT {
            bail!("waiting for {what}: last saw {v}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates the account `name` with `@handle` on `relay` from the welcome screen and waits until
/// it is online.
pub async fn create_account(c: &Client, name: &str, handle: &str, relay: &str) -> Result<()> {
    // The welcome screen's one button opens the new-account dialog.
    wait_css(c, "button.btn-large").await?.click().await?;
    wait_css(c, "[role=dialog] input[id$='-name']")
        .await?
        .send_keys(name)
        .await?;
    // The relay the app was started with (MISSIVA_RELAY, via app_info) is offered.
    poll_js(
        c,
        "the offered relay",
        "return document.querySelector(\"[role=dialog] input[id$='-relay']\")?.value ?? null",
        |v| v.as_str() == Some(relay),
    )
    .await?;
    wait_css(c, "[role=dialog] input[id$='-handle']")
        .await?
        .send_keys(handle)
        .await?;
    wait_css(c, "[role=dialog] button[type=submit]")
        .await?
        .click()
        .await?;
    wait_css(c, &format!("nav button.account[aria-label=\"{name}\"]")).await?;
    poll_js(
        c,
        "the connection to the relay",
        "return document.querySelector('p.status[role=status]')?.dataset.state ?? null",
        |v| v.as_str() == Some("online"),
    )
    .await?;
    Ok(())
}

/// Saves a screenshot of the window as `name` in the artifacts folder.
pub async fn shoot(c: &Client, name: &str) -> Result<()> {
    std::fs::write(artifacts_dir()?.join(name), c.screenshot().await?)?;
    Ok(())
}
