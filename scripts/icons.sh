#!/usr/bin/env bash
# Regenerates every icon size Tauri needs from the one source, icons/missiva.svg.
# Needs rsvg-convert (apt: librsvg2-bin) and ImageMagick's convert (apt: imagemagick).
set -euo pipefail
cd "$(dirname "$0")/../icons"

need() { command -v "$1" >/dev/null || [ -x "$1" ] || { echo "icons: $1 is missing: apt-get install $2" >&2; exit 1; }; }
need rsvg-convert librsvg2-bin
# Use Debian's ImageMagick by path: another 'convert' may come first on PATH.
CONVERT=/usr/bin/convert
need "$CONVERT" imagemagick

png() { rsvg-convert --width "$1" --height "$1" --keep-aspect-ratio missiva.svg -o "$2"; }
png 32 32x32.png
png 64 64x64.png
png 128 128x128.png
png 256 256x256.png
png 512 icon.png

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for s in 16 24 32 48 64 256; do png "$s" "$tmp/$s.png"; done
"$CONVERT" "$tmp"/{16,24,32,48,64,256}.png icon.ico

# Tauri's generate_context! accepts only RGBA PNGs.
for f in *.png; do
  file "$f" | grep -q 'RGBA' || { echo "icons: $f is not RGBA" >&2; exit 1; }
done
echo "icons: generated $(ls *.png icon.ico | tr '\n' ' ')"
