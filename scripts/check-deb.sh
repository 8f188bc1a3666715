#!/usr/bin/env bash
# Checks a built Missiva .deb.
#
#   scripts/check-deb.sh PATH_TO.deb
#
# Static part (always): package name, /usr/bin/missiva, the menu entry (.desktop) and its icon.
# Launch part (only when $DISPLAY is set; needs root): dpkg -i, start the app exactly as the
# desktop menu would (Exec= of the installed entry, field codes stripped), wait for a window
# titled "Missiva", screenshot the screen to artifacts/deb-window.png, kill the app, dpkg -r.
#
# Every wait is bounded; prints each check; exits non-zero with a message on the first failure.
# Needs (apt): dpkg, desktop-file-utils, file; for the launch part also xdotool (or x11-utils),
# imagemagick (import; or x11-apps' xwd + imagemagick's convert), coreutils' timeout.
# Environment: ARTIFACTS (default: <repo>/artifacts), CHECK_DEB_WINDOW_TIMEOUT (default 30 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARTIFACTS="${ARTIFACTS:-$ROOT/artifacts}"
case "$ARTIFACTS" in /*) ;; *) ARTIFACTS="$ROOT/$ARTIFACTS" ;; esac
WINDOW_TIMEOUT="${CHECK_DEB_WINDOW_TIMEOUT:-30}"
PKG=missiva
BIN=/usr/bin/missiva

fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
ok()   { echo "check-deb: ok:   $*"; }
info() { echo "check-deb: $*"; }
need() { # need TOOL APT_PACKAGE
  command -v "$1" >/dev/null 2>&1 || fail "'$1' not found; install it with: apt-get install -y $2"
}

# Runs dpkg ARGS..., retrying for up to 120 s while another apt/dpkg holds the lock
# (dpkg 1.21 has no lock timeout of its own). Output goes to the file named by $DPKG_LOG.
dpkg_waiting() {
  local deadline=$((SECONDS + 120)) rc
  while :; do
    rc=0; timeout 300 dpkg "$@" >"$DPKG_LOG" 2>&1 || rc=$?
    if ((rc != 0)) && grep -qi 'lock' "$DPKG_LOG" && ((SECONDS < deadline)); then
      sleep 2; continue
    fi
    return "$rc"
  done
}
DPKG_LOG=/dev/null

# ---------------------------------------------------------------- cleanup (runs on every exit)
TMPS=()
APP_PID=""
INSTALLED=""
cleanup() {
  local rc=$?
  if [[ -n "$APP_PID" ]] && kill -0 "$APP_PID" 2>/dev/null; then
    # timeout(1) runs the app in its own process group and forwards TERM to the whole group.
    kill -TERM "$APP_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$APP_PID" 2>/dev/null || kill -KILL "$APP_PID" 2>/dev/null || true
  fi
  if [[ -n "$INSTALLED" ]]; then
    local rmlog; rmlog="$(mktemp /tmp/check-deb-rm.XXXXXX)"; TMPS+=("$rmlog")
    if DPKG_LOG="$rmlog" dpkg_waiting -r "$PKG"; then
      info "removed the package (dpkg -r $PKG)"
    else
      echo "check-deb: warning: 'dpkg -r $PKG' failed; remove it by hand" >&2
      [[ $rc -ne 0 ]] || rc=1
    fi
  fi
  if ((${#TMPS[@]})); then rm -rf "${TMPS[@]}"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Reads KEY from the [Desktop Entry] group only (not from [Desktop Action ...], no Name[xx]=).
desktop_field() { # desktop_field FILE KEY
  awk -v key="$2" '
    /^\[/ { group = $0; next }
    group == "[Desktop Entry]" {
      i = index($0, "=");
      if (i == 0) next;
      k = substr($0, 1, i - 1); sub(/[ \t]+$/, "", k);
      if (k == key) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit }
    }' "$1"
}

# Splits an Exec= value into words (quotes honoured), drops field codes (%f %U ...), %% -> %.
# Prints the words NUL-separated.
exec_words() {
  local word
  printf '%s\n' "$1" | xargs -r -n1 printf '%s\0' 2>/dev/null | while IFS= read -r -d '' word; do
    case "$word" in
      %[fFuUdDnNickvm]) continue ;;
    esac
    printf '%s\0' "${word//%%/%}"
  done
}

# ---------------------------------------------------------------- static checks
[[ $# -eq 1 ]] || { echo "usage: $0 PATH_TO.deb" >&2; exit 2; }
DEB="$1"
[[ -f "$DEB" ]] || fail "no such file: $DEB"
need dpkg-deb dpkg
need desktop-file-validate desktop-file-utils
need file file
need awk mawk
need xargs findutils
info "checking $DEB"

name="$(dpkg-deb --field "$DEB" Package 2>/dev/null)" || fail "dpkg-deb cannot read $DEB (not a .deb?)"
[[ "$name" == "$PKG" ]] || fail "package name is '$name', expected '$PKG'"
ok "package name: $name (version $(dpkg-deb --field "$DEB" Version), arch $(dpkg-deb --field "$DEB" Architecture))"
deps="$(dpkg-deb --field "$DEB" Depends)"
info "      depends: ${deps:-<none>}"

TREE="$(mktemp -d /tmp/check-deb.XXXXXX)"; TMPS+=("$TREE")
dpkg-deb --extract "$DEB" "$TREE" || fail "dpkg-deb --extract failed"

[[ -e "$TREE$BIN" || -L "$TREE$BIN" ]] || fail "$BIN is not in the package"
[[ -f "$TREE$BIN" && ! -L "$TREE$BIN" ]] || fail "$BIN is not a regular file"
[[ -x "$TREE$BIN" ]] || fail "$BIN is not executable (mode $(stat -c %A "$TREE$BIN"))"
ok "$BIN: executable, $(stat -c %s "$TREE$BIN") bytes, $(file -b "$TREE$BIN" | cut -d, -f1)"

shopt -s nullglob
entries=("$TREE"/usr/share/applications/*.desktop)
shopt -u nullglob
((${#entries[@]})) || fail "no .desktop file under /usr/share/applications/"
# Tolerant of the file name: take the entry whose Exec= starts the missiva binary.
DESKTOP=""
for d in "${entries[@]}"; do
  first="$(exec_words "$(desktop_field "$d" Exec)" | head -z -n1 | tr -d '\0')"
  if [[ "$first" == "$PKG" || "$first" == "$BIN" ]]; then DESKTOP="$d"; break; fi
done
if [[ -z "$DESKTOP" ]]; then
  ((${#entries[@]} == 1)) \
    || fail "none of the .desktop files under /usr/share/applications/ has Exec= naming $PKG"
  DESKTOP="${entries[0]}"
fi
DESKTOP_REL="${DESKTOP#"$TREE"}"
info "menu entry: $DESKTOP_REL"

if ! out="$(desktop-file-validate "$DESKTOP" 2>&1)"; then
  echo "$out" >&2
  fail "desktop-file-validate rejects $DESKTOP_REL"
fi
if [[ -z "$out" ]]; then
  ok "desktop-file-validate: clean"
else
  echo "$out"
  ok "desktop-file-validate: passes (hints above)"
fi

[[ "$(desktop_field "$DESKTOP" Type)" == Application ]] || fail "Type= is not Application"
exec_line="$(desktop_field "$DESKTOP" Exec)"
[[ -n "$exec_line" ]] || fail "no Exec= line"
first="$(exec_words "$exec_line" | head -z -n1 | tr -d '\0')"
[[ "$first" == "$PKG" || "$first" == "$BIN" ]] \
  || fail "Exec=$exec_line does not start the binary ($PKG or $BIN)"
ok "Exec=$exec_line"

dname="$(desktop_field "$DESKTOP" Name)"
[[ "$dname" == Missiva ]] || fail "Name=$dname, expected Name=Missiva"
ok "Name=$dname"

cats="$(desktop_field "$DESKTOP" Categories)"
[[ -n "$cats" ]] || fail "no Categories= line"
ok "Categories=$cats"

icon="$(desktop_field "$DESKTOP" Icon)"
[[ -n "$icon" ]] || fail "no Icon= line"
icon_pngs=()
if [[ "$icon" == /* ]]; then
  [[ -f "$TREE$icon" ]] || fail "Icon=$icon: that file is not in the package"
  icon_pngs=("$TREE$icon")
else
  [[ "$icon" != */* && "$icon" != *.png && "$icon" != *.svg ]] \
    || fail "Icon=$icon: a themed icon name must have no path and no extension"
  shopt -s nullglob
  icon_pngs=("$TREE"/usr/share/icons/hicolor/*/apps/"$icon".png)
  shopt -u nullglob
  ((${#icon_pngs[@]})) || fail "Icon=$icon: no /usr/share/icons/hicolor/*/apps/$icon.png in the package"
fi
for p in "${icon_pngs[@]}"; do
  t="$(file -b "$p")"
  [[ "$t" == "PNG image data"* ]] || fail "${p#"$TREE"} is not a PNG: $t"
  ok "icon ${p#"$TREE"}: $(cut -d, -f2 <<<"$t" | sed 's/^ //')"
done
ok "Icon=$icon resolves to ${#icon_pngs[@]} PNG(s) under /usr/share/icons/hicolor"

info "static checks passed"

# ---------------------------------------------------------------- launch checks
if [[ -z "${DISPLAY:-}" ]]; then
  info "DISPLAY is not set: SKIPPED installing and launching (run under xvfb-run for the full check)"
  exit 0
fi

[[ $EUID -eq 0 ]] || fail "installing needs root (dpkg -i); run as root or unset DISPLAY for the static part only"
need dpkg dpkg
need timeout coreutils
need setsid util-linux
if command -v xdotool >/dev/null 2>&1; then
  find_window() { timeout 5 xdotool search --onlyvisible --name '^Missiva$' 2>/dev/null | head -n1; }
elif command -v xwininfo >/dev/null 2>&1; then
  find_window() { timeout 5 xwininfo -root -tree 2>/dev/null | awk '/ "Missiva": / { print $1; exit }'; }
else
  fail "neither xdotool nor xwininfo found; install it with: apt-get install -y xdotool"
fi
if [[ -x /usr/bin/import ]] && /usr/bin/import -version 2>/dev/null | grep -q ImageMagick; then
  screenshot() { timeout 30 /usr/bin/import -window root "$1"; }
elif command -v xwd >/dev/null 2>&1 && [[ -x /usr/bin/convert ]]; then
  screenshot() { timeout 30 xwd -root -silent | timeout 30 /usr/bin/convert xwd:- "png:$1"; }
else
  fail "ImageMagick's import not found; install it with: apt-get install -y imagemagick"
fi
info "DISPLAY=$DISPLAY: installing and launching"

# dpkg -i; waits (bounded) for another apt/dpkg to let go of the lock.
install_log="$(mktemp /tmp/check-deb-dpkg.XXXXXX)"; TMPS+=("$install_log")
DPKG_LOG="$install_log"
INSTALLED=1   # from here on, cleanup removes the package even if the install is half done
if ! dpkg_waiting -i "$DEB"; then
  cat "$install_log" >&2
  if grep -q 'dependency problems\|depends on' "$install_log"; then
    # Pull in missing dependencies only; --no-remove makes apt abort rather than remove anything.
    info "dependencies missing: trying 'apt-get -f install --no-remove'"
    need apt-get apt
    if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -f install -y --no-remove \
         -o DPkg::Lock::Timeout=120 >"$install_log" 2>&1; then
      cat "$install_log" >&2
      fail "dependencies of $PKG are missing and cannot be installed without removing packages: $deps"
    fi
  else
    fail "dpkg -i $DEB failed"
  fi
fi
[[ "$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null)" == "install ok installed" ]] \
  || fail "$PKG is not fully installed after dpkg -i"
ok "installed with dpkg -i ($(dpkg-query -W -f='${Version}' "$PKG"))"

INSTALLED_DESKTOP="$DESKTOP_REL"
[[ -f "$INSTALLED_DESKTOP" ]] || fail "menu entry $INSTALLED_DESKTOP was not installed"
[[ -x "$BIN" ]] || fail "$BIN was not installed"

# Start it as the desktop menu would: Exec= of the installed entry, without field codes.
argv=()
while IFS= read -r -d '' w; do argv+=("$w"); done < <(exec_words "$(desktop_field "$INSTALLED_DESKTOP" Exec)")
((${#argv[@]})) || fail "the installed menu entry has an empty Exec="
info "starting: ${argv[*]}"
# A desktop session always has a session bus; give the app one if we run without (bare xvfb-run).
if [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]] && command -v dbus-run-session >/dev/null 2>&1; then
  argv=(dbus-run-session -- "${argv[@]}")
  info "no session D-Bus: starting it under dbus-run-session"
fi

mkdir -p "$ARTIFACTS"
APP_LOG="$ARTIFACTS/deb-app.log"
DATA="$(mktemp -d /tmp/check-deb-data.XXXXXX)"; TMPS+=("$DATA")
rm -f "$ARTIFACTS/deb-window.png"
# Hard cap on the app's life; timeout(1) puts it in its own process group, killed as one.
# setsid keeps it away from our controlling terminal; stdin from /dev/null.
MISSIVA_DATA_DIR="$DATA" MISSIVA_KEYSTORE=file \
  setsid timeout -k 5 $((WINDOW_TIMEOUT + 60)) "${argv[@]}" </dev/null >"$APP_LOG" 2>&1 &
APP_PID=$!

win=""
deadline=$((SECONDS + WINDOW_TIMEOUT))
while ((SECONDS < deadline)); do
  win="$(find_window || true)"
  [[ -n "$win" ]] && break
  if ! kill -0 "$APP_PID" 2>/dev/null; then
    rc=0; wait "$APP_PID" 2>/dev/null || rc=$?
    APP_PID=""
    tail -n 30 "$APP_LOG" >&2 || true
    fail "the app exited (status $rc) before a window titled Missiva appeared; log: $APP_LOG"
  fi
  sleep 0.5
done
if [[ -z "$win" ]]; then
  tail -n 30 "$APP_LOG" >&2 || true
  fail "no window titled 'Missiva' within ${WINDOW_TIMEOUT}s; log: $APP_LOG"
fi
ok "window 'Missiva' appeared (id $win) after $((WINDOW_TIMEOUT - (deadline - SECONDS)))s"

sleep 3   # let the web view paint before the screenshot
screenshot "$ARTIFACTS/deb-window.png" || fail "taking the screenshot failed"
[[ -s "$ARTIFACTS/deb-window.png" ]] || fail "the screenshot is empty"
ok "screenshot: $ARTIFACTS/deb-window.png ($(file -b "$ARTIFACTS/deb-window.png" | cut -d, -f2 | sed 's/^ //'))"

kill -0 "$APP_PID" 2>/dev/null || fail "the app died right after showing its window; log: $APP_LOG"
kill -TERM "$APP_PID" 2>/dev/null || true
for _ in $(seq 20); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.5; done
kill -KILL -- "-$APP_PID" 2>/dev/null || kill -KILL "$APP_PID" 2>/dev/null || true
wait "$APP_PID" 2>/dev/null || true
APP_PID=""
ok "app stopped"
info "all checks passed (the package is removed on exit)"
