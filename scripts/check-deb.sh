#!/usr/bin/env bash
# Checks a built Missiva .deb: its layout and menu entry, then (with a display) installs it,
# starts it the way the desktop menu does, waits for the window, screenshots it, removes it.
# Needs dpkg-deb, desktop-file-validate (desktop-file-utils), xdotool, ImageMagick's import.
set -euo pipefail
deb="${1:?usage: check-deb.sh PATH.deb}"
root="$(cd "$(dirname "$0")/.." && pwd)"
artifacts="${ARTIFACTS:-$root/artifacts}"
fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
ok() { echo "check-deb: ok: $*"; }

[ -f "$deb" ] || fail "no such file $deb"
[ "$(dpkg-deb -f "$deb" Package)" = missiva ] || fail "package name is not missiva"
ok "package $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version), depends: $(dpkg-deb -f "$deb" Depends)"

tree=$(mktemp -d); trap 'rm -rf "$tree"' EXIT
dpkg-deb -x "$deb" "$tree"
[ -x "$tree/usr/bin/missiva" ] || fail "/usr/bin/missiva is missing or not executable"
ok "/usr/bin/missiva"

desktop=$(ls "$tree"/usr/share/applications/*.desktop 2>/dev/null | head -n1)
[ -n "$desktop" ] || fail "no .desktop file under /usr/share/applications"
desktop-file-validate "$desktop" || fail "desktop-file-validate rejects $(basename "$desktop")"
field() { sed -n "s/^$1=//p" "$desktop" | head -n1; }
[ "$(field Name)" = Missiva ] || fail "Name= is not Missiva"
exec_line=$(field Exec)
[ "${exec_line%% *}" = missiva ] || fail "Exec= does not start the missiva binary: $exec_line"
[ -n "$(field Categories)" ] || fail "no Categories="
icon=$(field Icon)
ls "$tree"/usr/share/icons/hicolor/*/apps/"$icon".png >/dev/null 2>&1 || fail "Icon=$icon has no PNG in hicolor"
ok "$(basename "$desktop"): Exec=$exec_line Icon=$icon Categories=$(field Categories)"

if [ -z "${DISPLAY:-}" ]; then
  echo "check-deb: no DISPLAY: skipped installing and launching"
  exit 0
fi

dpkg -i "$deb" >/dev/null || fail "dpkg -i failed (missing dependencies?)"
trap 'dpkg -r missiva >/dev/null 2>&1 || true; rm -rf "$tree"' EXIT
ok "installed with dpkg -i"
installed="/usr/share/applications/$(basename "$desktop")"
[ -f "$installed" ] || fail "the menu entry was not installed"

# Start it as the menu would: the installed entry's Exec= without field codes.
cmd=$(sed -n 's/^Exec=//p' "$installed" | head -n1 | sed 's/ *%[fFuUdDnNickvm]//g')
data=$(mktemp -d)
MISSIVA_DATA_DIR="$data" MISSIVA_KEYSTORE=file timeout 60 $cmd >/dev/null 2>&1 &
pid=$!
found=""
for _ in $(seq 150); do
  if xdotool search --name '^Missiva$' >/dev/null 2>&1; then found=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$found" ] || { kill "$pid" 2>/dev/null || true; fail "no window titled Missiva appeared"; }
sleep 3 # let the page render before the screenshot
mkdir -p "$artifacts"
import -window root "$artifacts/deb-window.png"
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rm -rf "$data"
ok "started from the menu entry; window screenshot in $artifacts/deb-window.png"
