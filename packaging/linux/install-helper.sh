#!/bin/sh
# Umbra's AppImage cannot install a system service by itself: the app runs this script as root
# through pkexec (packaging/appimage/helper-install.ts says what it will do, then runs it).
#
#   install-helper.sh install --appimage FILE [--user NAME]
#   install-helper.sh install --from DIR [--user NAME]
#       Puts a copy of the app in /opt/umbra-helper (the helper and the Node.js it runs on,
#       resources/helper/node, live inside the AppImage, whose mount disappears when the app
#       quits; root cannot read that mount anyway), then runs setup-helper.sh install from that copy: the group
#       "umbra" with NAME in it, /usr/lib/umbra/umbrad, /usr/bin/umbra, the units, enabled and
#       started. FILE is the AppImage, unpacked with its own --appimage-extract (no FUSE needed);
#       DIR is an unpacked app (a folder with resources/helper/). Run again over an
#       installed helper, it replaces the copy and restarts the helper.
#   install-helper.sh uninstall [--purge]
#       setup-helper.sh remove (helper stopped and disabled, kill-switch table deleted), then
#       /opt/umbra-helper; with --purge also the settings and the group.
#
# UMBRA_ROOT, for tests only: a folder that stands for /.
set -e

ROOT=${UMBRA_ROOT:-}
INSTALL_DIR=/opt/umbra-helper

say() { printf 'umbra: %s\n' "$*"; }
die() { printf 'umbra: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: install-helper.sh install (--appimage FILE | --from DIR) [--user NAME] | uninstall [--purge]"; }

[ $# -ge 1 ] || usage
CMD=$1
shift
APPIMAGE_FILE=
FROM_DIR=
USER_NAME=
PURGE=
while [ $# -gt 0 ]; do
  case $1 in
    --appimage) [ $# -ge 2 ] || usage; APPIMAGE_FILE=$2; shift 2 ;;
    --from) [ $# -ge 2 ] || usage; FROM_DIR=$2; shift 2 ;;
    --user) [ $# -ge 2 ] || usage; USER_NAME=$2; shift 2 ;;
    --purge) PURGE=1; shift ;;
    *) die "unknown option: $1" ;;
  esac
done

if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
  die "install-helper.sh must run as root (the app runs it with pkexec)"
fi

# Makes $1 (a folder holding an unpacked app) the installed copy, replacing any earlier one in
# two renames; the running helper keeps its open files until it is restarted.
put_in_place() {
  staged=$1
  [ -x "$staged/resources/helper/node/bin/node" ] || die "no Node.js runtime (resources/helper/node/bin/node) in the unpacked app"
  [ -f "$staged/resources/helper/bin/umbrad.js" ] || die "no helper in the unpacked app"
  if [ "$(id -u)" = 0 ]; then chown -R 0:0 "$staged"; fi
  chmod -R go-w "$staged"
  chmod 0755 "$staged"
  old=
  if [ -e "$ROOT$INSTALL_DIR" ]; then
    old=$work/previous
    mv "$ROOT$INSTALL_DIR" "$old"
  fi
  mv "$staged" "$ROOT$INSTALL_DIR"
  if [ -n "$old" ]; then rm -rf "$old"; fi
}

cmd_install() {
  if [ -n "$APPIMAGE_FILE" ] && [ -n "$FROM_DIR" ]; then usage; fi
  mkdir -p "$ROOT/opt"
  work=$(mktemp -d "$ROOT/opt/.umbra-helper.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  if [ -n "$APPIMAGE_FILE" ]; then
    case $APPIMAGE_FILE in /*) ;; *) die "--appimage must be an absolute path" ;; esac
    [ -f "$APPIMAGE_FILE" ] || die "no AppImage at $APPIMAGE_FILE"
    say "unpacking $APPIMAGE_FILE into $INSTALL_DIR"
    (cd "$work" && "$APPIMAGE_FILE" --appimage-extract >/dev/null)
    put_in_place "$work/squashfs-root"
  elif [ -n "$FROM_DIR" ]; then
    [ -d "$FROM_DIR" ] || die "no folder $FROM_DIR"
    say "copying $FROM_DIR into $INSTALL_DIR"
    cp -R "$FROM_DIR" "$work/app"
    put_in_place "$work/app"
  else
    usage
  fi
  set -- install --app-dir "$INSTALL_DIR"
  if [ -n "$USER_NAME" ]; then set -- "$@" --user "$USER_NAME"; fi
  sh "$ROOT$INSTALL_DIR/resources/packaging/linux/setup-helper.sh" "$@"
  say "the helper is installed; to remove it: sudo $INSTALL_DIR/resources/packaging/linux/install-helper.sh uninstall"
}

cmd_uninstall() {
  setup=$ROOT$INSTALL_DIR/resources/packaging/linux/setup-helper.sh
  [ -f "$setup" ] || die "no helper installed in $INSTALL_DIR"
  # Copied out first: the copy it lives in is deleted below.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp "$setup" "$work/setup-helper.sh"
  if [ -n "$PURGE" ]; then
    sh "$work/setup-helper.sh" purge
  else
    sh "$work/setup-helper.sh" remove
  fi
  rm -rf "$ROOT$INSTALL_DIR"
  say "removed the helper and $INSTALL_DIR"
}

case $CMD in
  install) cmd_install ;;
  uninstall) cmd_uninstall ;;
  *) usage ;;
esac
