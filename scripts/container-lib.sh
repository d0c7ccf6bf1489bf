# Shell functions of scripts/container-test.sh: a private Docker engine,
# Debian base images made with debootstrap, and the stand-in images of the
# compose services. Source it after lib.sh; do not run it.
#
# Everything lives under one work folder and is removed by
# stop_private_dockerd, so the machine's own Docker setup, if any, is never
# touched.

# Subnets of the private engine. The bridge carries image builds, which need
# Debian's mirror, so it alone is masqueraded to the outside. Compose
# networks come from the pool and may not leave the machine: their
# containers talk only to each other and to ports published on loopback.
TODO_CI_BRIDGE=todo-ci0
TODO_CI_BRIDGE_CIDR=172.29.0.1/24
TODO_CI_BRIDGE_SUBNET=172.29.0.0/24
TODO_CI_POOL=172.30.0.0/16

# Debian's docker client, whatever other docker is first on the PATH: its
# API version matches the engine and its legacy builder uses local base
# images without asking a registry.
docker() { command /usr/bin/docker "$@"; }

DOCKERD_RULES=()

# Inserts (-I) or deletes (-D) one iptables rule: action, table, chain, then
# the rule's match and target words.
iptables_rule() {
  local action=$1 table=$2 chain=$3
  shift 3
  iptables -w -t "$table" "$action" "$chain" "$@"
}

# Prints the device of the default route.
default_route_device() {
  ip route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}'
}

# Starts dockerd with its data on a tmpfs under $1 and sets DOCKER_HOST.
# The tmpfs is there because some sandboxes (gVisor) accept overlayfs only
# on top of tmpfs, and it makes cleanup one unmount. Docker's iptables
# management is off, because gVisor does not support its rules. So this
# function adds the two rules the setup needs, and stop_private_dockerd
# removes them again. Ports are published through docker-proxy, which
# listens on the host.
start_private_dockerd() {
  local folder=$1
  local device mtu
  device=$(default_route_device)
  [ -n "$device" ] || die "no default route; image builds need Debian's mirror"
  mtu=$(cat "/sys/class/net/$device/mtu")

  DOCKERD_FOLDER=$folder
  mkdir -p "$folder/root" "$folder/exec"
  mount -t tmpfs -o "size=${TODO_DOCKER_TMPFS_SIZE:-16g},mode=0711" tmpfs "$folder/root"
  DOCKERD_TMPFS=$folder/root

  ip link add name "$TODO_CI_BRIDGE" type bridge
  DOCKERD_BRIDGE=$TODO_CI_BRIDGE
  ip addr add "$TODO_CI_BRIDGE_CIDR" dev "$TODO_CI_BRIDGE"
  ip link set "$TODO_CI_BRIDGE" up

  DOCKERD_IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
  # Each rule is "table chain match... target", inserted first in its chain.
  DOCKERD_RULES=(
    "nat POSTROUTING -s $TODO_CI_BRIDGE_SUBNET -o $device -j MASQUERADE"
    "filter FORWARD -s $TODO_CI_POOL -o $device -j DROP"
  )
  local rule
  for rule in "${DOCKERD_RULES[@]}"; do
    # shellcheck disable=SC2086 # a rule is a list of words
    iptables_rule -I $rule
  done

  echo '{}' >"$folder/daemon.json"
  say "starting a private dockerd in $folder (MTU $mtu)"
  dockerd --config-file "$folder/daemon.json" \
    --data-root "$folder/root/data" --exec-root "$folder/exec" \
    --pidfile "$folder/dockerd.pid" --host "unix://$folder/docker.sock" \
    --iptables=false --bridge "$TODO_CI_BRIDGE" --mtu "$mtu" \
    --default-address-pool "base=$TODO_CI_POOL,size=24" \
    >"$folder/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST="unix://$folder/docker.sock"

  local attempt
  for attempt in $(seq 1 150); do
    docker version >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.2
  done
  tail -n 20 "$folder/dockerd.log" >&2
  die "dockerd did not start; see $folder/dockerd.log"
}

# Stops the private dockerd and removes what start_private_dockerd made.
# Safe to call after a partial start.
stop_private_dockerd() {
  if [ -n "${DOCKERD_PID:-}" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    kill "$DOCKERD_PID"
    local _
    for _ in $(seq 1 150); do
      kill -0 "$DOCKERD_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
  fi

  # Bridges of compose networks that a killed engine left behind.
  local link
  for link in $(ip -o link show type bridge | awk -F': ' '{print $2}' | grep '^br-' || true); do
    if ip -4 addr show dev "$link" | grep -q "inet ${TODO_CI_POOL%%.0.0/16}\."; then
      ip link delete "$link" 2>/dev/null || true
    fi
  done
  if [ -n "${DOCKERD_BRIDGE:-}" ]; then
    ip link delete "$DOCKERD_BRIDGE" 2>/dev/null || true
  fi

  local rule
  for rule in "${DOCKERD_RULES[@]}"; do
    # shellcheck disable=SC2086 # a rule is a list of words
    iptables_rule -D $rule 2>/dev/null || true
  done
  DOCKERD_RULES=()
  if [ -n "${DOCKERD_IP_FORWARD:-}" ]; then
    echo "$DOCKERD_IP_FORWARD" >/proc/sys/net/ipv4/ip_forward
  fi

  if [ -n "${DOCKERD_TMPFS:-}" ]; then
    # containerd may keep overlay mounts of killed containers below it.
    local mount_point
    for mount_point in $(awk -v root="$DOCKERD_FOLDER/" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r); do
      umount -l "$mount_point" 2>/dev/null || true
    done
  fi
  DOCKERD_PID=
  DOCKERD_BRIDGE=
  DOCKERD_TMPFS=
  DOCKERD_IP_FORWARD=
}

# Prints the URI of the first apt source of this machine whose path ends in
# $1 ("debian" or "debian-security"), in deb822 or one-line format.
apt_source_uri() {
  local suffix=$1
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk -v suffix="/$suffix" '$1 == "URIs:" {for (i = 2; i <= NF; i++) if ($i ~ suffix "/?$") {print $i; exit}}')
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk -v suffix="/$suffix" '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ suffix "/?$") {print $i; exit}}')
  fi
  echo "${uri:-http://deb.debian.org/$suffix}"
}

# Makes the images debian:bookworm and debian:bookworm-slim. When Docker Hub
# does not resolve, as in CI, they are built with debootstrap from this
# machine's Debian mirror, once per run, and tagged with the upstream names
# so that FROM lines resolve to them.
make_debian_images() {
  local folder=$1
  # NOTE: the pull branch has not run in CI, where the registry never
  # resolves. It is there for machines that reach Docker Hub.
  if getent hosts registry-1.docker.io >/dev/null 2>&1 &&
    docker pull -q debian:bookworm >/dev/null 2>&1 && docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
    say "pulled debian:bookworm and debian:bookworm-slim"
    return 0
  fi

  local mirror security rootfs slim
  mirror=$(apt_source_uri debian)
  security=$(apt_source_uri debian-security)
  rootfs=$folder/rootfs
  slim=$folder/rootfs-slim
  say "making debian:bookworm with debootstrap from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$folder/debootstrap.log" 2>&1 ||
    { tail -n 20 "$folder/debootstrap.log" >&2; die "debootstrap failed; see $folder/debootstrap.log"; }

  # The same sources as the official image, on this machine's mirrors.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  # apt settings of the official images: downloaded packages and the
  # package caches are deleted after each apt run, and no translations are
  # fetched, so that image layers keep only what was installed.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  # Docker provides these files in every container.
  rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  rm -rf "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/*

  # The slim variant leaves out documentation, manual pages and
  # translations, now and in every later apt install, as the official one.
  cp -a "$rootfs" "$slim"
  cat >"$slim/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EXCLUDES'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EXCLUDES
  find "$slim/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$slim/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$slim"/usr/share/man/* "$slim"/usr/share/groff/* "$slim"/usr/share/info/* \
    "$slim"/usr/share/lintian/* "$slim"/usr/share/locale/*

  tar --numeric-owner -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm >/dev/null
  tar --numeric-owner -C "$slim" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs" "$slim"
}

# Checks that a container on the build bridge reaches the Debian mirror, so a
# failing apt-get in a build reads as a network problem, not a package one.
check_mirror_reachable() {
  docker run --rm debian:bookworm-slim bash -c 'timeout 60 apt-get update -qq' >/dev/null 2>&1 ||
    die "a container cannot reach the Debian mirror of /etc/apt/sources.list*; image builds need it"
}
