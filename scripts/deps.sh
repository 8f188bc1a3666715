#!/usr/bin/env bash
# Installs whatever Missiva's build, run and tests need and is missing; quick when nothing is.
# Debian/Ubuntu: apt packages, the UI's npm packages, tauri-driver.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config file
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libssl-dev libsoup-3.0-dev libdbus-1-dev
  xvfb xauth dbus-x11 webkit2gtk-driver libnotify-bin python3-dbus python3-gi
  chromium librsvg2-bin imagemagick icoutils desktop-file-utils xdotool x11-utils
  gnome-keyring libsecret-tools mosquitto
)

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "deps: cargo is missing: install Rust with rustup first" >&2; exit 1; }
command -v npm >/dev/null || { echo "deps: npm is missing: install Node.js 20 first" >&2; exit 1; }

# npm packages: reinstall only when the lock file changed since the last install.
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "deps: installing the UI's npm packages"
  # Not `npm ci`: the registry reachable here lacks other platforms' optional @tauri-apps/cli
  # binaries, which `npm ci` insists on; `install --no-save` keeps the lock file as it is.
  (cd ui && npm install --no-save --no-audit --no-fund --loglevel=error)
fi

if ! command -v tauri-driver >/dev/null; then
  echo "deps: installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "deps: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
