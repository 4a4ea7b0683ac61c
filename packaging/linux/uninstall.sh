#!/bin/sh
# Remove TPI Chart installed by install.sh for this account. The patient data, the audit keys,
# the clinic folder and exported notes are NEVER removed: this prints where they are.
# PREFIX overrides ~/.local, as for install.sh.
set -eu

APP_ID=org.tpichart.TPIChart
PREFIX=${PREFIX:-$HOME/.local}

rm -rf "$PREFIX/lib/tpi-chart" "$PREFIX/lib/tpi-chart.new"
# The command link only if it is ours (points into the bundle we installed).
if [ -L "$PREFIX/bin/tpi-chart" ]; then
  case $(readlink "$PREFIX/bin/tpi-chart") in
    "$PREFIX/lib/tpi-chart/"*) rm -f "$PREFIX/bin/tpi-chart" ;;
  esac
fi
rm -f "$PREFIX/share/applications/$APP_ID.desktop" "$PREFIX/share/metainfo/$APP_ID.metainfo.xml"
rm -f "$PREFIX/share/icons/hicolor/scalable/apps/$APP_ID.svg"
for size in 16 24 32 48 64 128 256 512; do
  rm -f "$PREFIX/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
command -v update-desktop-database >/dev/null 2>&1 && \
  update-desktop-database -q "$PREFIX/share/applications" 2>/dev/null || true

DATA=${XDG_DATA_HOME:-$HOME/.local/share}/tpi-chart
CONFIG=${XDG_CONFIG_HOME:-$HOME/.config}/tpi-chart
echo "TPI Chart was removed from $PREFIX. Your data was kept:"
echo "  database and its backups before updates: $DATA"
echo "  audit key and clinic folder:             $CONFIG"
echo "  exported notes: the export folder set in Settings (by default ~/Documents/TPI Chart notes)"
echo "  a database chosen with --db or TPI_CHART_DB stays where it is"
echo "Back it up before deleting it (tpi-chart backup --out FILE); the law may require keeping it."
