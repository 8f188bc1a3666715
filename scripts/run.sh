#!/usr/bin/env bash
# Starts the Missiva app built at $1. Keys go to the OS keychain when a Secret Service answers
# on the session bus; otherwise (a headless box) to the file keystore, with a warning.
set -euo pipefail
app="$1"; shift || true

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display (DISPLAY/WAYLAND_DISPLAY unset): start a desktop session, or try 'xvfb-run make run'" >&2
  exit 1
fi

if [ -z "${MISSIVA_KEYSTORE:-}" ]; then
  names=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.ListActivatableNames 2>/dev/null || true)
  names+=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.ListNames 2>/dev/null || true)
  if ! grep -q '"org.freedesktop.secrets"' <<<"$names"; then
    echo "run: no Secret Service on the session bus: using the file keystore (weaker: keys protected only by file permissions)" >&2
    export MISSIVA_KEYSTORE=file
  fi
fi

exec "$app" "$@"
