#!/usr/bin/env bash
# Records what a real NetworkManager answers over D-Bus (busctl --json=short get-property) for a
# wired connection that took its address by DHCP from a real server (dnsmasq), into
# helper/platform/network-identity/testdata/nm-recorded-*. NetworkManager runs in a network
# namespace this script creates and deletes, and in a private mount namespace (its /run and
# /var/lib directories are tmpfs there), on a private dbus-daemon that can start no services: it
# touches nothing of the host's. Needs root, iproute2, util-linux, dbus-daemon, network-manager
# and dnsmasq-base. The log (NetworkManager's lines, its lease file) goes to stdout.
set -euo pipefail
out="$(cd "$(dirname "$0")/../../helper/platform/network-identity/testdata" && pwd)"
tmp="$(mktemp -d)"
c=umbra-nmrec-c
r=umbra-nmrec-r
nm_pid=
# shellcheck source=dhcp-lab.sh
. "$(dirname "$0")/dhcp-lab.sh"
cleanup() {
  # NetworkManager first, and wait for it, so its namespace and tmpfs mounts are gone before the
  # network namespace is deleted.
  if [ -n "$nm_pid" ]; then kill "$nm_pid" 2>/dev/null || true; wait "$nm_pid" 2>/dev/null || true; fi
  lab_cleanup
}
trap cleanup EXIT
lab_up

# A private system bus on which nothing can be bus-activated (see private-system-bus.conf).
sed "s#@BUS_SOCKET@#$tmp/bus#" "$(dirname "$0")/private-system-bus.conf" >"$tmp/bus.conf"
ip netns exec "$c" dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile 2>"$tmp/dbus.log" &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus"
for _ in $(seq 50); do [ -S "$tmp/bus" ] && break; sleep 0.1; done

mkdir -p "$tmp/connections" "$tmp/empty"
cat >"$tmp/nm.conf" <<EOF
[main]
plugins=keyfile
dns=none
rc-manager=unmanaged
hostname-mode=none
systemd-resolved=false
no-auto-default=*
auth-polkit=false

[keyfile]
path=$tmp/connections

# A veth without udev is unmanaged unless configured otherwise.
[device-umbra-eth0]
match-device=interface-name:eth0
managed=1

[logging]
level=INFO
audit=false
EOF
cat >"$tmp/connections/umbra-eth0.nmconnection" <<EOF
[connection]
id=umbra-eth0
uuid=5f3c1d1e-8b0a-4c55-9a51-0d6e2b7c9a10
type=ethernet
interface-name=eth0
autoconnect=true

[ethernet]

[ipv4]
method=auto
# Keeps this machine's hostname out of the lease (dnsmasq echoes it back as option 12).
dhcp-send-hostname=false

[ipv6]
method=ignore
EOF
chmod 600 "$tmp/connections/umbra-eth0.nmconnection"

# /run/NetworkManager does not exist on a host where it never ran, so all of /run is a tmpfs here
# (creating the directory would touch the host's /run). /sys is read-only to it: with a writable
# /sys NetworkManager waits for udev to initialise each link, and no udev runs in the namespace, so
# eth0 would stay unmanaged ("platform-init"). ip netns exec, unshare (no --fork) and sh's exec all exec: $! is NetworkManager's own PID.
ip netns exec "$c" unshare -m --propagation private sh -c '
  mount -t tmpfs tmpfs /run && mkdir /run/NetworkManager
  mount -t tmpfs tmpfs /var/lib/NetworkManager
  mount -o remount,bind,ro /sys
  exec NetworkManager --no-daemon --debug --config="$0/nm.conf" --config-dir="$0/empty" \
    --state-file="$0/state" --pid-file="$0/nm.pid"' "$tmp" >"$tmp/nm.log" 2>&1 &
nm_pid=$!

nm() { busctl --json=short --system get-property org.freedesktop.NetworkManager "$@"; }
data() { sed -n 's/.*"data":"\([^"]*\)".*/\1/p'; }
first() { sed -n 's/.*"data":\["\([^"]*\)".*/\1/p'; }

primary=/
dhcp4=/
for _ in $(seq 60); do
  primary="$(nm /org/freedesktop/NetworkManager org.freedesktop.NetworkManager PrimaryConnection 2>/dev/null | data)" || true
  if [ -n "$primary" ] && [ "$primary" != / ]; then
    state="$(busctl --system get-property org.freedesktop.NetworkManager "$primary" \
      org.freedesktop.NetworkManager.Connection.Active State 2>/dev/null || true)"
    dhcp4="$(nm "$primary" org.freedesktop.NetworkManager.Connection.Active Dhcp4Config 2>/dev/null | data)" || true
    # State 2 is NM_ACTIVE_CONNECTION_STATE_ACTIVATED.
    [ "$state" = "u 2" ] && [ -n "$dhcp4" ] && [ "$dhcp4" != / ] && break
  fi
  sleep 0.5
done
if [ -z "$dhcp4" ] || [ "$dhcp4" = / ]; then
  echo "NetworkManager did not activate eth0 by DHCP; its devices and log:" >&2
  for d in $(busctl --system get-property org.freedesktop.NetworkManager /org/freedesktop/NetworkManager \
    org.freedesktop.NetworkManager Devices 2>/dev/null | grep -o '"[^"]*"' | tr -d '"' || true); do
    busctl --system get-property org.freedesktop.NetworkManager "$d" org.freedesktop.NetworkManager.Device \
      Interface Managed State StateReason Udi >&2 || true
  done
  cat "$tmp/nm.log" >&2
  exit 1
fi

nm /org/freedesktop/NetworkManager org.freedesktop.NetworkManager PrimaryConnection >"$out/nm-recorded-primary.json"
nm "$primary" org.freedesktop.NetworkManager.Connection.Active Type SpecificObject Devices Dhcp4Config \
  >"$out/nm-recorded-active.json"
device="$(first <"$out/nm-recorded-active.json")"
nm "$device" org.freedesktop.NetworkManager.Device Interface >"$out/nm-recorded-device.json"
nm "$dhcp4" org.freedesktop.NetworkManager.DHCP4Config Options >"$out/nm-recorded-dhcp4.json"
{
  NetworkManager --version
  busctl --version | head -1
  dnsmasq --version | head -1
  echo "dnsmasq DHCP server address: 198.51.100.1 (lan0 in $r)"
} >"$out/nm-recorded-version.txt"

# The lease file NetworkManager's DHCP client keeps, seen from inside its mount namespace.
echo "== /var/lib/NetworkManager in NetworkManager's mount namespace"
nsenter -t "$nm_pid" -m ls -la /var/lib/NetworkManager
for f in $(nsenter -t "$nm_pid" -m sh -c 'ls /var/lib/NetworkManager/*.lease 2>/dev/null' || true); do
  echo "== $f"
  nsenter -t "$nm_pid" -m cat "$f"
done
echo "== eth0 in $c"
ip -n "$c" -4 address show dev eth0
echo "== NetworkManager log"
cat "$tmp/nm.log"
echo "recorded into $out"
