#!/usr/bin/env bash
# Starts the Missiva app built at $1. Keys go to the OS keychain when a Secret Service answers
# on the session bus; otherwise (a headless box) to the file keystore, with a warning.
set -euo pipefail
app="$1"; shift || true

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display (DISPLAY/WAYLAND_DISPLAY unset): start a desktop session, or try 'xvfb-run make run'" >&2
  exit 1
fi

# Only an existing session bus counts: asking dbus-send without one would autolaunch a bare bus
# on which a keyring is "activatable" but has no unlocked collection.
secret_service() {
  local bus="${DBUS_SESSION_BUS_ADDRESS:-}"
  if [ -z "$bus" ] && [ -S "/run/user/$(id -u)/bus" ]; then bus="unix:path=/run/user/$(id -u)/bus"; fi
  [ -n "$bus" ] || return 1
  local names
  names=$(for method in ListNames ListActivatableNames; do
            DBUS_SESSION_BUS_ADDRESS="$bus" timeout 5 dbus-send --session --print-reply \
              --dest=org.freedesktop.DBus /org/freedesktop/DBus "org.freedesktop.DBus.$method" || true
          done 2>/dev/null)
  grep -q '"org.freedesktop.secrets"' <<<"$names" || return 1
  # A keyring that is only activatable may have no collection to store keys in (a bare session
  # bus, as `dbus-run-session` gives): ask for the default collection, which starts the service.
  DBUS_SESSION_BUS_ADDRESS="$bus" timeout 10 dbus-send --session --print-reply \
    --dest=org.freedesktop.secrets /org/freedesktop/secrets/aliases/default \
    org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked \
    >/dev/null 2>&1
}

if [ -z "${MISSIVA_KEYSTORE:-}" ] && ! secret_service; then
  echo "run: no Secret Service on the session bus: using the file keystore (weaker: keys protected only by file permissions)" >&2
  export MISSIVA_KEYSTORE=file
fi

exec "$app" "$@"
