# Two "hosts" on this machine, sourced by two_hosts.sh and overlap_bench.sh: network namespaces
# NS0 and NS1 joined by a veth pair VETH0/VETH1, with addresses SUBNET.1 and SUBNET.2 (/24).
# Needs root and iproute2.

# host_pair_up NS VETH SUBNET
host_pair_up() {
  local ns=$1 veth=$2 subnet=$3 h
  ip netns add "${ns}0"
  ip netns add "${ns}1"
  ip link add "${veth}0" type veth peer name "${veth}1"
  for h in 0 1; do
    ip link set "$veth$h" netns "$ns$h"
    ip -n "$ns$h" addr add "$subnet.$((h + 1))/24" dev "$veth$h"
    ip -n "$ns$h" link set lo up
    ip -n "$ns$h" link set "$veth$h" up
  done
}

# host_pair_down NS: removes both namespaces (and so the veth pair); quiet when they are gone.
host_pair_down() {
  ip netns del "${1}0" 2>/dev/null || true
  ip netns del "${1}1" 2>/dev/null || true
}
