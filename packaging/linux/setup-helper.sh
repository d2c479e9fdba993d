#!/bin/sh
# Umbra: puts the privileged helper, umbrad, into the system, or takes it out again. One script
# for both ways Umbra ships: the .deb's maintainer scripts run it from /opt/Umbra, the AppImage's
# install-helper.sh (through pkexec) from /opt/umbra-helper. Runs as root.
#
#   setup-helper.sh install --app-dir DIR [--user NAME]
#       a first install (or a re-install): the group "umbra" (and NAME in it), the launchers
#       /usr/lib/umbra/umbrad and /usr/bin/umbra, the two units and, where DNS is a plain
#       resolv.conf, the drop-in that lets the helper write it (umbrad dns-access); enables both
#       units and (re)starts the helper
#   setup-helper.sh upgrade --app-dir DIR
#       a newer version over an installed one: launchers, units and drop-in replaced, the helper restarted
#       if it runs. The settings (/var/lib/umbra) and a kill-switch block in the kernel stay: the
#       new helper finds the table and adopts it
#   setup-helper.sh remove
#       stops and disables both units, then deletes the kill-switch table (inet umbra), so an
#       uninstall never leaves the machine offline, and the boot ruleset; removes the launchers,
#       units and drop-in. The settings and the group stay
#   setup-helper.sh purge
#       remove, then the settings (/var/lib/umbra) and the group too
#
# DIR is where the app is unpacked: DIR/resources/helper/ (the helper, and in node/ the Node.js
# it runs on). NAME
# (default: $SUDO_USER, else the user whose uid pkexec gives in $PKEXEC_UID) is added to the
# group "umbra", whose members may control the helper without root.
# UMBRA_ROOT, for tests only: a folder that stands for / in every path this script reads or
# writes (the commands it runs, systemctl and the like, are faked on PATH there).
set -e

ROOT=${UMBRA_ROOT:-}
GROUP=umbra
UNITS="umbrad.service umbra-early-boot.service"
UNIT_DIR=/usr/lib/systemd/system
DNS_DROP_IN=$UNIT_DIR/umbrad.service.d/dns-access.conf
LAUNCHER=/usr/lib/umbra/umbrad
CLI=/usr/bin/umbra
STATE_DIR=/var/lib/umbra
BOOT_RULESET=$STATE_DIR/boot-killswitch.nft

say() { printf 'umbra: %s\n' "$*"; }
warn() { printf 'umbra: warning: %s\n' "$*" >&2; }
die() { printf 'umbra: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: setup-helper.sh install|upgrade --app-dir DIR [--user NAME] | remove | purge"; }

# systemd is PID 1 (not a chroot, a container without it, or an image being built): only then
# are units started, stopped or reloaded. Enabling and disabling work either way.
systemd_running() { [ -d "$ROOT/run/systemd/system" ]; }

[ $# -ge 1 ] || usage
CMD=$1
shift
APP_DIR=
USER_ARG=
while [ $# -gt 0 ]; do
  case $1 in
    --app-dir) [ $# -ge 2 ] || usage; APP_DIR=$2; shift 2 ;;
    --user) [ $# -ge 2 ] || usage; USER_ARG=$2; shift 2 ;;
    *) die "unknown option: $1" ;;
  esac
done

if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
  die "setup-helper.sh must run as root"
fi

check_app_dir() {
  case $APP_DIR in
    /*) ;;
    *) die "--app-dir must be an absolute path" ;;
  esac
  # It is written into the launchers inside single quotes: keep it to plain path characters.
  case $APP_DIR in
    *[!A-Za-z0-9._/-]*) die "--app-dir may only hold letters, digits and . _ - /: $APP_DIR" ;;
  esac
  [ -x "$ROOT$APP_DIR/resources/helper/node/bin/node" ] || die "no Node.js runtime at $APP_DIR/resources/helper/node/bin/node"
  [ -f "$ROOT$APP_DIR/resources/helper/bin/umbrad.js" ] || die "no helper in $APP_DIR/resources/helper"
}

# The user to add to the group: --user, else whoever ran sudo or pkexec. Empty when unknown.
installing_user() {
  if [ -n "$USER_ARG" ]; then
    printf '%s\n' "$USER_ARG"
  elif [ -n "${SUDO_USER:-}" ]; then
    printf '%s\n' "$SUDO_USER"
  elif [ -n "${PKEXEC_UID:-}" ]; then
    getent passwd "$PKEXEC_UID" | cut -d: -f1
  fi
}

ensure_group() {
  if ! getent group "$GROUP" >/dev/null; then
    groupadd --system "$GROUP"
    say "created the system group $GROUP"
  fi
}

add_installing_user() {
  user=$(installing_user)
  case $user in
    '' | root)
      say "to control Umbra without sudo, join the group: sudo usermod -aG $GROUP \"\$USER\", then log in again"
      return 0 ;;
    -* | *[!A-Za-z0-9._-]*)
      warn "not a user name: $user"
      return 0 ;;
  esac
  if getent passwd "$user" >/dev/null; then
    usermod -a -G "$GROUP" "$user"
    say "added $user to the group $GROUP (it takes effect at the next login)"
  else
    warn "no user $user: not added to the group $GROUP"
  fi
}

# A launcher from its template, with the app's folder filled in; replaced in one rename.
write_launcher() {
  sed "s|@APP_DIR@|$APP_DIR|g" "$1" >"$ROOT$2.new"
  chmod 0755 "$ROOT$2.new"
  mv -f "$ROOT$2.new" "$ROOT$2"
}

install_files() {
  res=$ROOT$APP_DIR/resources
  mkdir -p "$ROOT/usr/lib/umbra" "$ROOT/usr/bin" "$ROOT$UNIT_DIR"
  write_launcher "$res/packaging/linux/umbrad.in" "$LAUNCHER"
  write_launcher "$res/packaging/linux/umbra.in" "$CLI"
  for unit in $UNITS; do
    cp "$res/helper/systemd/$unit" "$ROOT$UNIT_DIR/$unit.new"
    chmod 0644 "$ROOT$UNIT_DIR/$unit.new"
    mv -f "$ROOT$UNIT_DIR/$unit.new" "$ROOT$UNIT_DIR/$unit"
  done
}

# umbrad.service may write nothing outside its own directories; where DNS is a plain resolv.conf
# (no systemd-resolved, no NetworkManager) the helper decides what it must write and grants it in
# a drop-in (umbrad dns-access; the same choice it makes at start). Not fatal: if this fails, the
# helper says at connect what to run, and does not connect with DNS left to the network.
# --state-dir: during an upgrade the old helper may still have its content in resolv.conf, and
# its backup holds the original.
grant_dns_access() {
  if ! run_helper "$APP_DIR" dns-access --unit-dir "$ROOT$UNIT_DIR" --resolv-conf "$ROOT/etc/resolv.conf" --state-dir "$ROOT$STATE_DIR"; then
    warn "could not work out what DNS needs here; if connecting says resolv.conf is read-only, run: sudo $LAUNCHER dns-access"
  fi
}

# Runs umbrad from the app in $1 on its own Node, as the launcher does (without the caller's
# NODE_OPTIONS and NODE_PATH).
run_helper() {
  res=$ROOT$1/resources
  shift
  NODE_OPTIONS='' NODE_PATH='' "$res/helper/node/bin/node" "$res/helper/bin/umbrad.js" "$@"
}

# The app folder the installed launcher runs (empty when there is none).
installed_app_dir() {
  [ -f "$ROOT$LAUNCHER" ] || return 0
  sed -n "s|^exec '\(.*\)/resources/helper/node/bin/node' .*|\1|p" "$ROOT$LAUNCHER"
}

# After the helper stopped (its own undo has run): DNS left behind by a helper that died while
# connected goes back now, while the app is still there, before a purge deletes the backups.
restore_dns() {
  app=$(installed_app_dir)
  [ -n "$app" ] && [ -x "$ROOT$app/resources/helper/node/bin/node" ] || return 0
  run_helper "$app" dns-restore --resolv-conf "$ROOT/etc/resolv.conf" --state-dir "$ROOT$STATE_DIR" \
    || warn "could not put back the DNS a crashed helper left behind; check /etc/resolv.conf"
}

# Deletes the kill switch's nftables table, if there is one. The helper must be stopped first:
# while it runs it puts a flushed table back.
lift_block() {
  command -v nft >/dev/null 2>&1 || return 0
  if nft list table inet umbra >/dev/null 2>&1; then
    if nft delete table inet umbra; then
      say "removed the kill switch's firewall table (inet umbra)"
    else
      warn "could not delete the firewall table inet umbra; until it is gone (sudo nft delete table inet umbra) traffic stays blocked"
    fi
  fi
}

cmd_install() {
  check_app_dir
  ensure_group
  add_installing_user
  install_files
  grant_dns_access
  if systemd_running; then systemctl daemon-reload; fi
  # umbra-early-boot is only enabled, never started here: it loads the boot ruleset, which
  # exists only while "kill switch on boot" is on (ConditionPathExists=).
  systemctl enable $UNITS
  if systemd_running; then
    systemctl restart umbrad.service
    say "umbrad.service is running"
  else
    say "systemd is not running here: umbrad.service starts at the next boot"
  fi
}

cmd_upgrade() {
  check_app_dir
  ensure_group
  install_files
  grant_dns_access
  if systemd_running; then
    systemctl daemon-reload
    # Restarted only if it runs (an admin who stopped or disabled it keeps it that way). The
    # block, if any, stays in the kernel meanwhile, and the new helper adopts it.
    systemctl try-restart umbrad.service
  fi
}

cmd_remove() {
  if systemd_running; then
    systemctl stop $UNITS || warn "systemctl stop failed"
  fi
  if [ -f "$ROOT$UNIT_DIR/umbrad.service" ] || [ -f "$ROOT$UNIT_DIR/umbra-early-boot.service" ]; then
    systemctl disable $UNITS || warn "systemctl disable failed"
  fi
  restore_dns
  lift_block
  rm -f "$ROOT$BOOT_RULESET"
  rm -f "$ROOT$LAUNCHER" "$ROOT$CLI"
  for unit in $UNITS; do rm -f "$ROOT$UNIT_DIR/$unit"; done
  rm -f "$ROOT$DNS_DROP_IN"
  rmdir "$ROOT$UNIT_DIR/umbrad.service.d" 2>/dev/null || true
  rmdir "$ROOT/usr/lib/umbra" 2>/dev/null || true
  if systemd_running; then
    systemctl daemon-reload
    systemctl reset-failed $UNITS 2>/dev/null || true
  fi
}

cmd_purge() {
  cmd_remove
  rm -rf "$ROOT$STATE_DIR"
  if getent group "$GROUP" >/dev/null; then
    groupdel "$GROUP" || warn "could not delete the group $GROUP"
  fi
}

case $CMD in
  install) cmd_install ;;
  upgrade) cmd_upgrade ;;
  remove) cmd_remove ;;
  purge) cmd_purge ;;
  *) usage ;;
esac
