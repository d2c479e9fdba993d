# Sourced by the recording scripts (record-dhcp-leases.sh, record-networkmanager.sh): a client
# namespace "$c" (eth0) and a router namespace "$r" (lan0, 198.51.100.1/24) joined by a veth, each
# with its own /etc/netns/<ns>/resolv.conf first, and dnsmasq serving leases on lan0. The caller
# sets c, r and tmp (a fresh temporary directory) and runs lab_cleanup on exit: it stops what was
# started here (by PID, waiting), deletes both namespaces, their /etc/netns dirs and "$tmp".
pids=()

lab_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  ip netns del "$c" 2>/dev/null || true
  ip netns del "$r" 2>/dev/null || true
  rm -rf "/etc/netns/$c" "/etc/netns/$r" "$tmp"
}

lab_up() {
  for ns in "$c" "$r"; do
    mkdir -p "/etc/netns/$ns" && echo 'nameserver 198.51.100.1' >"/etc/netns/$ns/resolv.conf"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip -n "$r" link add lan0 type veth peer name eth0 netns "$c"
  ip -n "$r" address add 198.51.100.1/24 dev lan0
  ip -n "$r" link set lan0 up
  ip netns exec "$r" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --bind-interfaces --interface=lan0 \
    --dhcp-range=198.51.100.50,198.51.100.99,12h --dhcp-option=3,198.51.100.1 \
    --dhcp-leasefile="$tmp/dnsmasq.leases" --pid-file= 2>"$tmp/dnsmasq.log" &
  pids+=($!)
}
