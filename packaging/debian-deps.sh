#!/usr/bin/env bash
# Installs the Debian packages Qt 6 and OpenGL need (Xvfb + Mesa for headless runs) when any is
# missing. As root it runs apt-get; otherwise it prints the command for the user to run.
set -euo pipefail
pkgs=(xvfb xauth libgl1 libglx-mesa0 libgl1-mesa-dri libegl1 libegl-mesa0 libxkbcommon0
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-sync1 libxcb-xfixes0 libxcb-xkb1 libxcb-util1
  libxcb-glx0 libx11-xcb1 libdbus-1-3 libfontconfig1 libfreetype6 fonts-dejavu-core libglib2.0-0)
command -v dpkg-query >/dev/null || { echo "not a Debian system: install Qt 6/OpenGL/Xvfb libraries yourself"; exit 0; }
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages for Qt/OpenGL: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing Debian packages for Qt/OpenGL; run: sudo apt-get install ${missing[*]}"
fi
