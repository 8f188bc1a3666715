#!/usr/bin/env bash
# Regenerates every icon Tauri v2 needs from the single hand-written source icons/missiva.svg.
#   PNGs: rsvg-convert (apt: librsvg2-bin), forced to 8-bit RGBA with ImageMagick (apt: imagemagick)
#   ICO : icotool (apt: icoutils), sizes 16/24/32/48/64/256
# Installs nothing; idempotent (outputs are simply overwritten).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ICONS="$ROOT/icons"
SRC="$ICONS/missiva.svg"

die() { echo "icons.sh: error: $*" >&2; exit 1; }

need() { # need TOOL APT_PACKAGE
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install it with: apt-get install -y $2"
}
need rsvg-convert librsvg2-bin
need icotool icoutils
# Use ImageMagick's real convert by absolute path (a stand-in 'convert' may shadow it on PATH).
IM=/usr/bin/convert
if ! { [[ -x "$IM" ]] && "$IM" -version 2>/dev/null | grep -q ImageMagick; }; then
  die "ImageMagick's /usr/bin/convert not found; install it with: apt-get install -y imagemagick"
fi

[[ -f "$SRC" ]] || die "source SVG missing: $SRC"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# render SIZE OUT: SVG -> PNG at SIZExSIZE, guaranteed 8-bit RGBA (PNG colour type 6),
# metadata stripped so reruns produce identical bytes.
render() {
  local size=$1 out=$2
  rsvg-convert --width "$size" --height "$size" --keep-aspect-ratio \
    --format png "$SRC" -o "$TMP/raw.png"
  "$IM" "$TMP/raw.png" -strip -define png:exclude-chunks=date,time \
    -define png:color-type=6 -define png:bit-depth=8 "PNG32:$out"
  local t
  t="$(file -b "$out")"
  [[ "$t" == *"${size} x ${size}, 8-bit/color RGBA"* ]] || die "$out is not ${size}x${size} RGBA: $t"
  echo "  $(basename "$out"): $t"
}

echo "Generating icons from $SRC"
render 32  "$ICONS/32x32.png"
render 64  "$ICONS/64x64.png"
render 128 "$ICONS/128x128.png"
render 256 "$ICONS/128x128@2x.png"
render 256 "$ICONS/256x256.png"     # referenced by src-tauri/tauri.conf.json
render 512 "$ICONS/icon.png"

# Multi-size Windows ICO; 256 px is stored PNG-compressed (standard since Vista), the rest as BMP.
ico_args=()
for s in 16 24 32 48 64; do
  render "$s" "$TMP/ico-$s.png" >/dev/null
  ico_args+=("$TMP/ico-$s.png")
done
cp "$ICONS/128x128@2x.png" "$TMP/ico-256.png"
icotool --create --output="$ICONS/icon.ico" "${ico_args[@]}" --raw="$TMP/ico-256.png"

sizes="$(icotool --list "$ICONS/icon.ico" | sed -n 's/.*--width=\([0-9]*\).*/\1/p' | sort -n | tr '\n' ' ')"
[[ "$sizes" == "16 24 32 48 64 256 " ]] || die "icon.ico has unexpected sizes: $sizes"
echo "  icon.ico: sizes ${sizes% }"
echo "Done."
