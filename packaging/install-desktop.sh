#!/bin/sh
# Add the packaged Amorpha (this folder) to the desktop menu of the current user.
set -e
here=$(cd "$(dirname "$0")" && pwd)
case "$here" in  # characters a desktop entry's Exec would need escaped twice over
  *[\"\`\$\\\&\|]*) echo "Cannot add $here to the menu: move Amorpha to a folder whose path has none of \" \` \$ \\ & |" >&2; exit 1 ;;
esac
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
mkdir -p "$apps" "$icons"
cp "$here/amorpha.png" "$icons/amorpha.png"
# Exec quoted, as the desktop entry spec asks for a path with spaces
sed "s|^Exec=amorpha|Exec=\"$here/amorpha\"|" "$here/amorpha.desktop" > "$apps/amorpha.desktop"
echo "Amorpha added to the menu ($apps/amorpha.desktop)"
