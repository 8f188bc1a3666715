#!/usr/bin/env bash
# Usage: run-relay.sh RELAY_BIN COMMAND [ARGS...]
# Starts a local relay on loopback, runs COMMAND with MISSIVA_RELAY set to it (the app offers
# it in the new-account dialog), and stops the relay when COMMAND exits. `make run` uses it:
#   scripts/run-relay.sh target/debug/missiva-relay scripts/run.sh target/debug/missiva
# The port is fixed (accounts store their relay's URL, so it must survive restarts):
# MISSIVA_RELAY_PORT, default 7400. The relay's database: MISSIVA_RELAY_DB, default
# $XDG_DATA_HOME/missiva-dev-relay/relay.db. A relay already answering on the port is reused;
# with MISSIVA_RELAY already set, none is started.
set -euo pipefail
relay_bin="$1"; shift

if [ -n "${MISSIVA_RELAY:-}" ]; then
  exec "$@"
fi

port="${MISSIVA_RELAY_PORT:-7400}"
url="ws://127.0.0.1:$port"
health() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /health HTTP/1.0\r\n\r\n' >&3 && grep -q '^ok' <&3" 2>/dev/null; }

relay_pid=""
if health; then
  echo "run: reusing the relay already listening on $url" >&2
else
  db="${MISSIVA_RELAY_DB:-${XDG_DATA_HOME:-$HOME/.local/share}/missiva-dev-relay/relay.db}"
  mkdir -p "$(dirname "$db")"
  out="$(mktemp)"
  "$relay_bin" --listen "127.0.0.1:$port" --db "$db" >"$out" &
  relay_pid=$!
  trap 'kill "$relay_pid" 2>/dev/null || true; wait "$relay_pid" 2>/dev/null || true; rm -f "$out"' EXIT
  for _ in $(seq 100); do
    if grep -q '^listening on ' "$out"; then break; fi
    if ! kill -0 "$relay_pid" 2>/dev/null; then
      echo "run: the relay did not start (is port $port taken? set MISSIVA_RELAY_PORT)" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q '^listening on ' "$out" || { echo "run: the relay did not report its address" >&2; exit 1; }
  echo "run: local relay on $url (database $db)" >&2
fi

export MISSIVA_RELAY="$url"
# Not exec: the relay is stopped when the app exits.
"$@"
