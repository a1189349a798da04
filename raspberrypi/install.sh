#!/bin/bash
# Install Learning Hub as an appliance on Raspberry Pi OS Lite (Bookworm, 64-bit) or Debian 12:
# the hub in a virtualenv under /opt/learnhub, its data in /var/lib/learnhub, its settings in
# /etc/learnhub/learnhub.toml, a hardened systemd service on port 80, the Wi-Fi hotspot with a
# captive portal, USB sticks, and care for an SD card and a Pi with no clock.
#
# Run it again at any time: it changes only what differs, and never overwrites the settings.
# See docs/operator-guide.md.
set -euo pipefail
umask 022  # the modes below are the ones given, whatever the caller's umask

usage() {
  cat <<'EOF'
Usage: sudo raspberrypi/install.sh [options]

  --country XX        the two-letter code of the country the hub is in (Wi-Fi radio rules)
  --ssid NAME         the hub's Wi-Fi name (default "Learning Hub")
  --password PW       a Wi-Fi password, 8 to 63 characters (default: an open network)
  --channel N         the Wi-Fi channel (default 6)
  --no-wifi           no hotspot: the hub joins the network the machine is already on
  --wheel FILE        install this learnhub wheel (default: build from this checkout)
  --wheelhouse DIR    take every Python package from DIR (an offline install)
  --keep-hostname     do not rename the machine to the hub's hostname (learnhub)
  --no-start          install and enable, but start nothing (image builds)
  --root DIR          write every file into DIR instead of this system: no packages, no
                      virtualenv, no services (to inspect or to build an image)
  --dry-run           print what would be done, change nothing
  --uninstall         remove the hub; its data and settings stay (add --purge to delete them)
  -h, --help          this help

The settings (--country, --ssid, ...) only seed a new /etc/learnhub/learnhub.toml; to change
them later edit that file and run: sudo learnhub-appliance apply
EOF
}

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(dirname "$HERE")
ROOT="" DRY_RUN=0 ACTION=install PURGE=0 START=1 WIFI=1 KEEP_HOSTNAME=0
WHEEL="" WHEELHOUSE="" SSID="Learning Hub" PASSWORD="" COUNTRY="" CHANNEL=6

while [ $# -gt 0 ]; do
  case "$1" in
    --country) COUNTRY=${2:?--country needs a value}; shift ;;
    --ssid) SSID=${2:?--ssid needs a value}; shift ;;
    --password) PASSWORD=${2:?--password needs a value}; shift ;;
    --channel) CHANNEL=${2:?--channel needs a value}; shift ;;
    --no-wifi) WIFI=0 ;;
    --wheel) WHEEL=$(realpath "${2:?--wheel needs a file}"); shift ;;
    --wheelhouse) WHEELHOUSE=$(realpath "${2:?--wheelhouse needs a folder}"); shift ;;
    --keep-hostname) KEEP_HOSTNAME=1 ;;
    --no-start) START=0 ;;
    --root) ROOT=$(realpath -m "${2:?--root needs a folder}"); shift ;;
    --dry-run) DRY_RUN=1 ;;
    --uninstall) ACTION=uninstall ;;
    --purge) PURGE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

PREFIX=/opt/learnhub
VENV=$PREFIX/venv
BIN=$PREFIX/bin
DATA=/var/lib/learnhub
CONF_DIR=/etc/learnhub
CONFIG=$CONF_DIR/learnhub.toml
UNITS=/etc/systemd/system
USER_NAME=learnhub
PYTHON=python3
SCRIPTS=(learnhub-appliance learnhub-usb learnhub-verify learnhub-portal learnhub-clock-save)
UNIT_FILES=(learnhub.service learnhub-dns.service learnhub-portal.service learnhub-portal.timer
  learnhub-usb@.service learnhub-verify.service learnhub-verify.timer
  learnhub-clock-save.service learnhub-clock-save.timer)
ENABLED=(learnhub.service learnhub-verify.timer learnhub-clock-save.timer)
WIFI_ENABLED=(learnhub-dns.service learnhub-portal.timer)
PACKAGES=(python3 python3-venv systemd udev fake-hwclock avahi-daemon util-linux
  exfatprogs ntfs-3g ca-certificates)
WIFI_PACKAGES=(network-manager dnsmasq-base iproute2 iw rfkill)
# Files the installer owns (uninstall removes them); the rendered network files are
# learnhub-appliance's and are listed there.
OWNED_FILES=(/usr/local/bin/learnhub /etc/udev/rules.d/90-learnhub-usb.rules
  /etc/systemd/journald.conf.d/60-learnhub.conf /etc/tmpfiles.d/learnhub.conf
  /etc/NetworkManager/dispatcher.d/90-learnhub-portal
  /etc/NetworkManager/system-connections/learnhub-hotspot.nmconnection
  /etc/NetworkManager/dnsmasq-shared.d/learnhub.conf /etc/learnhub/dnsmasq.conf
  /etc/learnhub/appliance.env /etc/modprobe.d/learnhub-wifi.conf)

CHANGED=0

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
# target PATH: where PATH of the installed system is written (under --root DIR when given).
target() { printf '%s%s' "$ROOT" "$1"; }
live() { [ -z "$ROOT" ]; }
systemd_running() { live && [ -d /run/systemd/system ]; }

# run CMD...: do it, or only show it with --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

# put MODE SRC DEST: install a file when it differs from what is there.
put() {
  local mode=$1 src=$2 dest
  dest=$(target "$3")
  if [ -f "$dest" ] && [ ! -L "$dest" ] && cmp -s "$src" "$dest" \
    && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
    return 0
  fi
  CHANGED=$((CHANGED + 1))
  if [ "$DRY_RUN" = 1 ]; then
    say "would write $3 (mode $mode)"
  else
    install -D -m "$mode" "$src" "$dest"
    say "wrote $3"
  fi
}

# remove PATH: delete an installed file (and say so), if it is there.
remove() {
  local path
  path=$(target "$1")
  if [ -e "$path" ] || [ -L "$path" ]; then
    run rm -rf -- "$path"
    say "removed $1"
  fi
}

# hub_ids: "uid gid" of the hub's user on the target (numbers, read from the target's files).
hub_ids() {
  local uid gid
  uid=$(awk -F: -v u="$USER_NAME" '$1 == u { print $3 }' "$(target /etc/passwd)" 2>/dev/null)
  gid=$(awk -F: -v u="$USER_NAME" '$1 == u { print $3 }' "$(target /etc/group)" 2>/dev/null)
  [ -n "$uid" ] && [ -n "$gid" ] && printf '%s %s\n' "$uid" "$gid"
}

preflight() {
  if live && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" -ne 0 ]; then
    die "run it as root: sudo $0"
  fi
  if [ -n "$ROOT" ] && [ "$ROOT" = / ]; then
    die "--root / is this system: leave --root out instead"
  fi
}

install_packages() {
  local wanted=("${PACKAGES[@]}") missing=()
  [ "$WIFI" = 1 ] && wanted+=("${WIFI_PACKAGES[@]}")
  if ! live; then
    say "(--root: no packages; the target needs: ${wanted[*]})"
    return 0
  fi
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get to install them"
  say "Installing Debian packages: ${missing[*]}"
  run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

check_python() {
  live || return 0
  [ "$DRY_RUN" = 1 ] && ! command -v "$PYTHON" >/dev/null && return 0
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11 or newer is needed (Raspberry Pi OS Bookworm and Debian 12 have it)"
}

create_user() {
  put 0644 "$HERE/system/sysusers.conf" /etc/sysusers.d/learnhub.conf
  if live; then
    run systemd-sysusers /etc/sysusers.d/learnhub.conf
  else
    run systemd-sysusers --root="$ROOT" "$(target /etc/sysusers.d/learnhub.conf)"
  fi
}

create_dirs() {
  put 0644 "$HERE/system/tmpfiles.conf" /etc/tmpfiles.d/learnhub.conf
  if live; then
    run systemd-tmpfiles --create /etc/tmpfiles.d/learnhub.conf
  else
    # /run is made at boot on the target, not stored in a tree.
    run systemd-tmpfiles --root="$ROOT" --create --exclude-prefix=/run \
      "$(target /etc/tmpfiles.d/learnhub.conf)"
  fi
}

install_config() {
  local dir conf ids
  dir=$(target "$CONF_DIR")
  conf=$(target "$CONFIG")
  run install -d -m 0750 "$dir"
  if [ -e "$conf" ]; then
    say "kept $CONFIG (your settings)"
  else
    local args=(init-config "$conf" --ssid "$SSID" --password "$PASSWORD" --country "$COUNTRY"
      --channel "$CHANNEL")
    [ "$WIFI" = 1 ] || args+=(--no-wifi)
    CHANGED=$((CHANGED + 1))
    if [ "$DRY_RUN" = 1 ]; then
      say "would write $CONFIG"
    else
      "$PYTHON" "$HERE/bin/learnhub-appliance" "${args[@]}" \
        || die "fix $CONFIG (the line above says what), then run install.sh again"
    fi
  fi
  # The hub reads its settings as its own user (the group); nobody else may read the password.
  if ids=$(hub_ids); then
    run chown "0:${ids#* }" "$dir"
    [ -e "$conf" ] && run chown "0:${ids#* }" "$conf" && run chmod 0640 "$conf"
  fi
  return 0
}

install_files() {
  local script unit
  for script in "${SCRIPTS[@]}"; do
    put 0755 "$HERE/bin/$script" "$BIN/$script"
  done
  put 0755 "$HERE/bin/learnhub" /usr/local/bin/learnhub
  for unit in "${UNIT_FILES[@]}"; do
    put 0644 "$HERE/systemd/$unit" "$UNITS/$unit"
  done
  put 0644 "$HERE/udev/90-learnhub-usb.rules" /etc/udev/rules.d/90-learnhub-usb.rules
  put 0644 "$HERE/system/journald.conf" /etc/systemd/journald.conf.d/60-learnhub.conf
  if [ -f "$SOURCE/docs/operator-guide.md" ]; then
    put 0644 "$SOURCE/docs/operator-guide.md" "$PREFIX/share/doc/operator-guide.md"
  fi
  if [ "$WIFI" = 1 ]; then
    put 0755 "$HERE/network/90-learnhub-portal" /etc/NetworkManager/dispatcher.d/90-learnhub-portal
  else
    remove /etc/NetworkManager/dispatcher.d/90-learnhub-portal
  fi
}

render_network() {
  local args=(--config "$(target "$CONFIG")" render --root "${ROOT:-/}")
  [ "$DRY_RUN" = 1 ] && args+=(--dry-run)
  if [ "$DRY_RUN" = 1 ] && [ ! -e "$(target "$CONFIG")" ]; then
    say "would render the Wi-Fi and DNS files from $CONFIG"
    return 0
  fi
  "$PYTHON" "$HERE/bin/learnhub-appliance" "${args[@]}" \
    || die "fix $CONFIG (the line above says what), then run install.sh again"
  # From here on the settings file, not the options, says whether there is a hotspot.
  local env_file wifi
  env_file=$(target /etc/learnhub/appliance.env)
  if [ -f "$env_file" ]; then
    wifi=$(sed -n "s/^WIFI='\(.*\)'$/\1/p" "$env_file")
    if [ "$wifi" = yes ]; then WIFI=1; else WIFI=0; fi
  fi
}

install_venv() {
  if ! live; then
    say "(--root: no virtualenv; it is made on the target, where its paths are right)"
    return 0
  fi
  local pip=(run "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
  [ -n "$WHEELHOUSE" ] && pip+=(--no-index --find-links "$WHEELHOUSE")
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    run "$PYTHON" -m venv --clear "$VENV"
    CHANGED=$((CHANGED + 1))
  fi
  local what=$WHEEL
  if [ -z "$WHEEL" ]; then
    [ -f "$SOURCE/pyproject.toml" ] || die "no --wheel given and $SOURCE is not a learnhub checkout"
    # Build from a clean copy: a checkout's old build/ folder could slip stale files in.
    if [ "$DRY_RUN" = 1 ]; then
      what=/tmp/learnhub-build/learnhub
    else
      what=$(mktemp -d)/learnhub
    fi
    run mkdir -p "$what"
    run cp -r "$SOURCE/pyproject.toml" "$SOURCE/README.md" "$SOURCE/LICENSE" \
      "$SOURCE/hub" "$SOURCE/content" "$SOURCE/sync" "$what/"
  fi
  say "Installing learnhub from ${WHEEL:-$SOURCE} into $VENV"
  # Exactly the locked versions, checked against their hashes: a library's new release never
  # changes what a school gets. Then the hub itself, with nothing else pulled in.
  [ -f "$SOURCE/requirements/hub.txt" ] || die "$SOURCE/requirements/hub.txt (the lock) is missing"
  "${pip[@]}" --require-hashes --no-deps -r "$SOURCE/requirements/build.txt" \
    -r "$SOURCE/requirements/hub.txt"
  # Same version number, newer code (a rebuilt wheel): --force-reinstall replaces the hub.
  "${pip[@]}" --force-reinstall --no-deps --no-build-isolation "$what"
  if [ -z "$WHEEL" ]; then
    run rm -rf "$(dirname "$what")"
  fi
}

set_hostname() {
  local name
  [ "$KEEP_HOSTNAME" = 1 ] && return 0
  name=$(sed -n "s/^HUB_HOSTNAME='\(.*\)'$/\1/p" "$(target /etc/learnhub/appliance.env)" 2>/dev/null || true)
  if [ -z "$name" ]; then
    [ "$DRY_RUN" = 1 ] && say "would name this machine after the settings' hostname"
    return 0
  fi
  if [ "$(cat "$(target /etc/hostname)" 2>/dev/null)" != "$name" ]; then
    CHANGED=$((CHANGED + 1))
    if systemd_running; then
      run hostnamectl set-hostname "$name"
    elif [ "$DRY_RUN" = 1 ]; then
      say "would write /etc/hostname ($name)"
    else
      printf '%s\n' "$name" > "$(target /etc/hostname)"
    fi
  fi
  local hosts
  hosts=$(target /etc/hosts)
  if ! grep -qE "^127\.0\.1\.1[[:space:]]+$name\$" "$hosts" 2>/dev/null; then
    if [ "$DRY_RUN" = 1 ]; then
      say "would name 127.0.1.1 $name in /etc/hosts"
    else
      touch "$hosts"
      sed -i '/^127\.0\.1\.1[[:space:]]/d' "$hosts"
      printf '127.0.1.1\t%s\n' "$name" >> "$hosts"
    fi
  fi
}

enable_services() {
  local units=("${ENABLED[@]}")
  [ "$WIFI" = 1 ] && units+=("${WIFI_ENABLED[@]}")
  if ! live; then
    run systemctl --root="$ROOT" enable "${units[@]}"
    return 0
  fi
  if [ "$WIFI" = 0 ]; then
    run systemctl disable "${WIFI_ENABLED[@]}" 2>/dev/null || true
  fi
  if ! systemd_running; then
    run systemctl enable "${units[@]}"
    say "(systemd is not running here, e.g. a chroot: the hub starts at the next boot)"
    return 0
  fi
  run systemctl daemon-reload
  run systemctl enable "${units[@]}"
  run udevadm control --reload
  # The journal moves to memory (60-learnhub.conf) once journald restarts.
  [ "$CHANGED" -gt 0 ] && run systemctl restart systemd-journald.service
  [ "$START" = 1 ] || return 0
  if [ "$WIFI" = 1 ]; then
    run "$BIN/learnhub-appliance" apply || say "warning: the Wi-Fi hotspot did not start (see above)"
  fi
  run systemctl restart learnhub.service
  run systemctl start "${units[@]}"
}

do_install() {
  preflight
  install_packages
  check_python
  create_user
  create_dirs
  install_config
  install_files
  render_network
  install_venv
  set_hostname
  enable_services
  if [ "$DRY_RUN" = 1 ]; then
    say "Dry run: nothing was changed."
  elif [ -n "$ROOT" ]; then
    say "Staged into $ROOT ($CHANGED files changed)."
  else
    say ""
    say "Learning Hub is installed ($CHANGED files changed)."
    say "Settings: $CONFIG    Data: $DATA    Logs: journalctl -u learnhub"
    say "Next: open http://<this machine>/admin/setup and type the setup code from:"
    say "      journalctl -u learnhub | grep 'setup code'"
  fi
}

do_uninstall() {
  preflight
  local unit all=("${ENABLED[@]}" "${WIFI_ENABLED[@]}")
  if systemd_running; then
    run systemctl disable --now "${all[@]}" 2>/dev/null || true
    run nmcli connection down learnhub-hotspot 2>/dev/null || true
  elif live; then
    run systemctl disable "${all[@]}" 2>/dev/null || true
  else
    run systemctl --root="$ROOT" disable "${all[@]}" 2>/dev/null || true
  fi
  for unit in "${UNIT_FILES[@]}"; do
    remove "$UNITS/$unit"
  done
  for path in "${OWNED_FILES[@]}"; do
    remove "$path"
  done
  remove "$PREFIX"
  if systemd_running; then
    run systemctl daemon-reload
    run udevadm control --reload
    run nmcli connection reload 2>/dev/null || true
  fi
  if [ "$PURGE" = 1 ]; then
    remove "$DATA"
    remove "$CONF_DIR"
    remove /etc/sysusers.d/learnhub.conf
    if live; then
      run userdel "$USER_NAME" 2>/dev/null || true
    else
      run userdel --root "$ROOT" "$USER_NAME" 2>/dev/null || true
    fi
    say "Learning Hub is removed, with its data and settings."
  else
    say "Learning Hub is removed. Kept: its data ($DATA), settings ($CONFIG) and user;"
    say "run again with --uninstall --purge to delete those too."
  fi
}

if [ "$ACTION" = uninstall ]; then
  do_uninstall
else
  do_install
fi
