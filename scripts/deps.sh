#!/usr/bin/env bash
# Install everything daxcow needs to build a Rust-enabled Linux 7.3, the module and the QEMU
# guest, from the package registries only.  Idempotent: a second run checks and returns in
# seconds.  Must run as root on Debian 12 (bookworm) x86-64.
set -euo pipefail
# Under pipefail a reader that stops early (grep -q, awk's exit) can kill the writer with SIGPIPE
# and fail the pipeline with status 141: readers of multi-line output here read all of it.

BINDGEN_VERSION=${BINDGEN_VERSION:-0.73.2}
SRCLIST=/etc/apt/sources.list.d/debian.sources
BACKPORTS_LIST=/etc/apt/sources.list.d/daxcow-trixie-backports.sources
BACKPORTS_PIN=/etc/apt/preferences.d/daxcow-trixie-backports

die() { echo "deps: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (apt-get and /usr/src need it)"

# Packages from bookworm itself.
BOOKWORM_PKGS=(build-essential bc bison flex libelf-dev libssl-dev cpio kmod rsync python3
	libclang-19-dev clang-19 lld-19 llvm-19 xfsprogs fio duperemove ndctl udev busybox-static dmsetup
	attr acl psmisc qemu-system-x86
	# What fstests runs inside the guest (the guest's root is this machine's): gawk for
	# `awk -e` (mawk refuses it: generic/352 and 353 fail), quota for the quota tests, indent
	# for xfs/122 (which checks the on-disk structure sizes in xfsprogs' headers), fsverity for
	# generic/574 (on PROFILE=fstests, whose kernel has CONFIG_FS_VERITY).
	gawk quota indent fsverity)
# Packages that must come from trixie-backports (named one by one; the suite is pinned low).
BACKPORTS_PKGS=(linux-source-7.3)

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

add_backports_source() {
	[ -f "$BACKPORTS_LIST" ] && [ -f "$BACKPORTS_PIN" ] && return 0
	[ -f "$SRCLIST" ] || die "no $SRCLIST to copy the Debian mirror and key from"
	# Same mirror and key as the existing bookworm entry, so no host name is written here.
	local uri key
	uri=$(awk '/^URIs:/ { print $2; exit }' "$SRCLIST")
	key=$(awk '/^Signed-By:/ { print $2; exit }' "$SRCLIST")
	[ -n "$uri" ] && [ -n "$key" ] || die "cannot read URIs/Signed-By from $SRCLIST"
	cat > "$BACKPORTS_LIST" <<EOT
Types: deb
URIs: $uri
Suites: trixie-backports trixie
Components: main
Signed-By: $key
EOT
	# Low pin: nothing is taken from trixie unless named as pkg/trixie-backports.
	cat > "$BACKPORTS_PIN" <<EOT
Package: *
Pin: release n=trixie-backports
Pin-Priority: 100

Package: *
Pin: release n=trixie
Pin-Priority: 50
EOT
	rm -f /var/lib/apt/daxcow-updated
}

apt_update_once() {
	# One update per change of sources; later runs skip it (that is what makes them fast).
	if [ ! -f /var/lib/apt/daxcow-updated ] || [ "$BACKPORTS_LIST" -nt /var/lib/apt/daxcow-updated ]; then
		apt-get update -q >/dev/null || die "apt-get update failed"
		touch /var/lib/apt/daxcow-updated
	fi
}

apt_install() {
	# $@: package specs; each missing one is installed, and one that cannot be had is named.
	local missing=() spec name
	for spec in "$@"; do
		name=${spec%%/*}
		have_pkg "$name" || missing+=("$spec")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	apt_update_once
	for spec in "${missing[@]}"; do
		name=${spec%%/*}
		apt-cache show "$spec" >/dev/null 2>&1 || apt-cache policy "$name" | grep Candidate: >/dev/null ||
			die "package $spec cannot be had from the configured registries"
	done
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
		|| die "apt-get install failed for: ${missing[*]}"
}

add_backports_source
# DAXCOW_EXTRA_PKGS: more packages to require (the pipeline self-test names a missing one).
apt_install "${BOOKWORM_PKGS[@]}" ${DAXCOW_EXTRA_PKGS:-}
bp=()
for p in "${BACKPORTS_PKGS[@]}"; do bp+=("$p/trixie-backports"); done
apt_install "${bp[@]}"

# rust-src must be the very version of the rustc that builds the kernel: pick that version of
# Debian's package (backports carries several), and replace any other one.
rustc_v=$(rustc --version | awk '{ print $2 }')
installed_src_v() { dpkg-query -W -f='${Status} ${Version}' rust-src 2>/dev/null |
	awk '/install ok installed/ { print $4 }' | sed -E 's/^[0-9]+://; s/[+~-].*//'; }
if [ "$(installed_src_v)" != "$rustc_v" ]; then
	apt_update_once
	want=$(apt-cache madison rust-src |
		awk -v v="$rustc_v" '$3 ~ "^(0:)?"v"[+~-]" && want == "" { want = $3 } END { print want }')
	[ -n "$want" ] || die "no Debian rust-src $rustc_v (rustc is $rustc_v; available: $(apt-cache madison rust-src | awk '{ printf "%s ", $3 }'))"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --allow-downgrades \
		"rust-src=$want" || die "apt-get install rust-src=$want failed"
fi
src_v=$(installed_src_v)
[ "$rustc_v" = "$src_v" ] || die "rustc is $rustc_v but Debian rust-src is $src_v: they must match"
[ -d "/usr/src/rustc-$rustc_v/library" ] || die "rust-src installed but /usr/src/rustc-$rustc_v/library is missing"
[ -f /usr/src/linux-source-7.3.tar.xz ] || die "linux-source-7.3 installed but /usr/src/linux-source-7.3.tar.xz is missing"

# bindgen: Debian 12's is too old for 7.3; a pinned version installed with cargo.
if ! bindgen --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION" \
		|| die "cargo install bindgen-cli $BINDGEN_VERSION failed"
fi

echo "deps: all present (rustc $rustc_v, rust-src $src_v, $(bindgen --version))"
