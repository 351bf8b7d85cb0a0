#!/bin/sh
# Installs the Debian packages named that are not installed yet (with sudo
# unless root), refreshing the package lists only when the install fails.
#   scripts/debian-packages.sh PACKAGE...
set -eu
missing=""
for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
[ -n "$missing" ] || exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q $missing \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q $missing; }
