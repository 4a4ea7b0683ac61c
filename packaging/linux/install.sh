#!/bin/sh
# Install the TPI Chart desktop bundle for this account only (no administrator rights needed):
#   ~/.local/lib/tpi-chart/            the bundle (replaced on each install)
#   ~/.local/bin/tpi-chart             the command
#   ~/.local/share/applications/       the menu entry; icons under ~/.local/share/icons/hicolor/
#   ~/.local/share/metainfo/           the AppStream description (software centres read it)
# Usage: install.sh [BUNDLE_FOLDER]   (default: dist/tpi-chart of this checkout, or the folder
#        this script sits in when it ships inside the bundle). PREFIX overrides ~/.local.
# Patient data is never touched: it lives in the data folder (see uninstall.sh).
set -eu

APP_ID=org.tpichart.TPIChart
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-$HOME/.local}

if [ $# -ge 1 ]; then
  BUNDLE=$1
elif [ -x "$HERE/../tpi-chart" ]; then
  BUNDLE=$HERE/..
else
  BUNDLE=$HERE/../../dist/tpi-chart
fi
if [ ! -x "$BUNDLE/tpi-chart" ]; then
  echo "install.sh: no TPI Chart bundle at $BUNDLE (build it: python packaging/build.py)" >&2
  exit 1
fi
BUNDLE=$(cd "$BUNDLE" && pwd)
# The desktop files sit beside this script in a checkout, or under share/ inside a bundle.
SOURCE=$HERE
[ -f "$SOURCE/$APP_ID.desktop" ] || SOURCE=$BUNDLE/share
ICONS=$HERE/../icons
[ -f "$ICONS/tpi-chart.svg" ] || ICONS=$BUNDLE/share/icons

LIB=$PREFIX/lib/tpi-chart
# Copy next to the old version first, then swap: a failed copy leaves the old one working.
mkdir -p "$PREFIX/lib" "$PREFIX/bin"
rm -rf "$LIB.new"
cp -R "$BUNDLE" "$LIB.new"
rm -rf "$LIB"
mv "$LIB.new" "$LIB"
ln -sf "$LIB/tpi-chart" "$PREFIX/bin/tpi-chart"

APPS=$PREFIX/share/applications
mkdir -p "$APPS" "$PREFIX/share/metainfo" "$PREFIX/share/icons/hicolor/scalable/apps"
# The menu entry names the installed command by its full path: ~/.local/bin is not on every
# desktop session's PATH.
sed -e "s|^Exec=tpi-chart|Exec=$LIB/tpi-chart|" -e "s|^TryExec=tpi-chart|TryExec=$LIB/tpi-chart|" \
  "$SOURCE/$APP_ID.desktop" > "$APPS/$APP_ID.desktop"
cp "$SOURCE/$APP_ID.metainfo.xml" "$PREFIX/share/metainfo/$APP_ID.metainfo.xml"
cp "$ICONS/tpi-chart.svg" "$PREFIX/share/icons/hicolor/scalable/apps/$APP_ID.svg"
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$PREFIX/share/icons/hicolor/${size}x${size}/apps"
  cp "$ICONS/tpi-chart-$size.png" "$PREFIX/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && \
  gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" 2>/dev/null || true

echo "TPI Chart $("$LIB/tpi-chart" --version | head -n 1 | cut -d' ' -f2) installed in $LIB"
echo "Command: $PREFIX/bin/tpi-chart; menu entry: TPI Chart. Check the computer: tpi-chart doctor"
