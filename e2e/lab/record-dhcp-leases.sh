#!/usr/bin/env bash
# Records the lease files three real DHCP clients write (ISC dhclient, dhcpcd, systemd-networkd)
# for a lease from a real DHCP server (dnsmasq), into helper/platform/network-identity/testdata/.
# Everything runs in two network namespaces this script creates and deletes; dhcpcd and networkd
# run in private mount namespaces too, so their state directories and configuration touch nothing
# of the host's. Needs root, iproute2, dnsmasq-base, isc-dhcp-client, dhcpcd-base and systemd.
set -euo pipefail
out="$(cd "$(dirname "$0")/../../helper/platform/network-identity/testdata" && pwd)"
tmp="$(mktemp -d)"
c=umbra-dhcprec-c
r=umbra-dhcprec-r
# shellcheck source=dhcp-lab.sh
. "$(dirname "$0")/dhcp-lab.sh"
trap lab_cleanup EXIT
lab_up
ip -n "$c" link set eth0 up
sleep 0.5
# dhclient: one lease, its script a no-op (nothing is configured), the lease file where we say.
ip netns exec "$c" timeout 20 dhclient -1 -4 -sf /bin/true -pf "$tmp/dhclient.pid" -lf "$tmp/dhclient.leases" eth0
kill "$(cat "$tmp/dhclient.pid")" 2>/dev/null || true
cp "$tmp/dhclient.leases" "$out/dhclient.eth0.leases"
# dhcpcd: one lease, no hooks; /var/lib/dhcpcd and /run/dhcpcd private to it.
ip netns exec "$c" unshare -m sh -c '
  mount -t tmpfs tmpfs /var/lib/dhcpcd && mount -t tmpfs tmpfs /run
  timeout 20 dhcpcd -1 -4 -B --noipv4ll -c /bin/true eth0 >/dev/null 2>&1 || true
  cp /var/lib/dhcpcd/eth0.lease "$0/dhcpcd-eth0.lease"' "$tmp"
cp "$tmp/dhcpcd-eth0.lease" "$out/dhcpcd-eth0.lease"
ip -n "$c" address flush dev eth0
# networkd: its own /run/systemd and .network file; a read-only /sys tells it no udev is coming.
mkdir -p "$tmp/network"
printf '[Match]\nName=eth0\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' >"$tmp/network/eth0.network"
ip netns exec "$c" unshare -m sh -c '
  mount -t tmpfs tmpfs /run/systemd && mount --bind "$0/network" /etc/systemd/network && mount -o remount,ro /sys
  /usr/lib/systemd/systemd-networkd >/dev/null 2>&1 & pid=$!
  for _ in $(seq 100); do [ -s /run/systemd/netif/leases/2 ] && break; sleep 0.1; done
  cp /run/systemd/netif/leases/2 "$0/networkd.lease"; kill $pid' "$tmp"
cp "$tmp/networkd.lease" "$out/networkd-lease"
{ dnsmasq --version | head -1; dhclient --version 2>&1 | head -1; dhcpcd --version | head -1; /usr/lib/systemd/systemd-networkd --version | head -1; } >"$out/dhcp-leases-versions.txt"
echo "recorded into $out"
