#!/usr/bin/env bash
# Runs one command as root inside a small virtual machine that boots Debian's
# own kernel (the one linux-image-amd64 depends on), and exits with the
# command's exit status. For what the host's kernel refuses, e.g.
# bpf_probe_write_user under lockdown.
#
# Usage: test/vm/run-in-vm.sh COMMAND [ARG...]
#        test/vm/run-in-vm.sh --prepare   (only fetch the kernel; setup.sh does)
#
# The guest's root file system is the host's own / (9p, read-write, as root),
# with fresh proc, sysfs, devtmpfs, bpffs, tracefs, debugfs, securityfs and
# cgroup2, and its own tmpfs on /tmp and /run. Host directories there that
# the command needs stay visible: the working directory, every argument and
# every passed variable naming a path under /tmp or /run (its top directory,
# e.g. /tmp/clone, is bind-mounted over the guest's tmpfs), so a checkout
# under /tmp works. lo is up; there is no other network. The
# command runs in the caller's working directory with the caller's PATH,
# HOME, USER, LANG, LC_ALL, TZ, GO*, CGO_* and OTRACE_* variables
# (plus the names listed in OTRACE_VM_ENV). Its stdout and stderr, merged,
# reach our stdout through a second serial port; the kernel's console goes to
# a log shown on stderr only when the guest fails, the kernel's log since
# boot (dmesg) when the command fails.
#
# KVM when /dev/kvm is backed by hardware virtualization (vmx or svm);
# otherwise qemu emulates the CPU (TCG): slower, but a stock kernel boots.
# Some machines' /dev/kvm (kvm_pvm, in a nested Firecracker VM) runs only
# kernels built for it: a stock kernel hangs there, so auto picks TCG.
#
# Exit status: the command's; 77 (skip) when qemu is missing, or KVM when
# OTRACE_VM_ACCEL=kvm; 1 when the guest reports none (crash, timeout).
#
# Environment:
#   OTRACE_VM_CACHE    kernel cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/otrace-vm)
#   OTRACE_VM_DIST     Debian release whose kernel to boot, e.g. trixie
#                      (default: the host's apt sources); another release's
#                      package lists are kept in the cache, the host's
#                      sources are left alone
#   OTRACE_VM_KERNEL   kernel package (default: what linux-image-amd64 depends on)
#   OTRACE_VM_ACCEL    auto (default), kvm or tcg
#   OTRACE_VM_TIMEOUT  seconds before the guest is killed (default 600)
#   OTRACE_VM_MEMORY   guest memory (default 2G); OTRACE_VM_CPUS (default 2)
#   OTRACE_VM_DMESG=1  always print the guest's kernel log on stderr
#   OTRACE_VM_APPEND   more kernel command line, e.g. preempt=full
#
# The kernel package is downloaded with apt-get download and unpacked into
# the cache, never installed: the host's /boot and bootloader are untouched.
set -euo pipefail
shopt -s inherit_errexit # errors inside $(...) stop us too

cache="${OTRACE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/otrace-vm}"
timeout_s="${OTRACE_VM_TIMEOUT:-600}"
memory="${OTRACE_VM_MEMORY:-2G}"
cpus="${OTRACE_VM_CPUS:-2}"
me="run-in-vm"

# Modules the guest loads from its initramfs to mount the host's / over 9p
# (their dependencies come along; built-in ones are skipped).
modules=(virtio_pci 9pnet_virtio 9p)

if (($# == 0)); then
	echo "usage: $0 COMMAND [ARG...] | --prepare" >&2
	exit 2
fi

# skip: the one-line reason, and 77, which ctest reads as "skipped"
skip() {
	echo "$me: SKIP: $*" >&2
	exit 77
}

# dist_apt points apt (APT_CONFIG) at a private configuration in the cache
# whose only source is Debian's OTRACE_VM_DIST, and fetches its package
# lists once a day.
dist_apt() {
	local d="$cache/apt-$OTRACE_VM_DIST"
	mkdir -p "$d/lists/partial" "$d/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
		"http://deb.debian.org/debian $OTRACE_VM_DIST main" >"$d/sources.list"
	cat >"$d/apt.conf" <<-EOF
		Dir::Etc::SourceList "$d/sources.list";
		Dir::Etc::SourceParts "/nonexistent";
		Dir::State::Lists "$d/lists";
		Dir::Cache "$d";
	EOF
	export APT_CONFIG="$d/apt.conf"
	if [[ -z $(find "$d/lists" -maxdepth 1 -name '*Packages*' -mtime -1) ]]; then
		apt-get -qq -o APT::Sandbox::User=root update >&2
	fi
}

# kernel_package prints the name of the kernel image package to boot.
kernel_package() {
	if [[ -n ${OTRACE_VM_KERNEL:-} ]]; then
		echo "$OTRACE_VM_KERNEL"
		return
	fi
	local dep
	dep=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n 1)
	if [[ -z $dep && $EUID -eq 0 ]]; then
		# a fresh machine may have no package lists yet
		apt-get update -qq >&2
		dep=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
			sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n 1)
	fi
	if [[ -z $dep ]]; then
		echo "$me: apt knows no linux-image-amd64 (run apt-get update, or set OTRACE_VM_KERNEL)" >&2
		exit 1
	fi
	echo "$dep"
}

# prepare_kernel fetches and unpacks the kernel package once, keeping only
# vmlinuz, the modules listed above with their dependencies (in load order,
# in modules.load) and the kernel release; it prints the cache directory.
prepare_kernel() {
	local pkg version dir tmp release m
	if [[ -n ${OTRACE_VM_DIST:-} ]]; then
		dist_apt
	fi
	pkg=$(kernel_package)
	version=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
	dir="$cache/${pkg}_${version:-unknown}"
	if [[ -f $dir/vmlinuz && -f $dir/modules.load ]]; then
		echo "$dir"
		return
	fi
	for tool in apt-get dpkg-deb depmod modprobe; do
		command -v "$tool" >/dev/null || {
			echo "$me: $tool is missing (scripts/setup.sh installs it)" >&2
			exit 1
		}
	done
	echo "$me: fetching $pkg $version into $cache" >&2
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/tmp.XXXXXX")
	# shellcheck disable=SC2064 # expand $tmp now
	trap "rm -rf '$tmp'" EXIT
	# as root, apt would drop to _apt, who may not write to $cache
	(cd "$tmp" && apt-get -qq -o APT::Sandbox::User=root download "$pkg" >&2)
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	# merged /usr (Debian 13 on): depmod and modprobe look in lib/modules
	if [[ ! -e $tmp/x/lib && -d $tmp/x/usr/lib/modules ]]; then
		ln -s usr/lib "$tmp/x/lib"
	fi
	release=$(basename "$(find "$tmp/x/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)")
	depmod -b "$tmp/x" "$release"
	mkdir -p "$tmp/out/modules"
	cp "$tmp/x/boot/vmlinuz-$release" "$tmp/out/vmlinuz"
	echo "$release" >"$tmp/out/release"
	# "insmod /path/x.ko" lines in load order; a module two others need appears twice
	for m in "${modules[@]}"; do
		modprobe -d "$tmp/x" -S "$release" --show-depends "$m"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r m; do
		# newer kernels compress their modules; busybox's insmod wants them plain
		local ko
		ko=$(basename "$m")
		case $ko in
		*.ko.xz) xz -dc "$m" >"$tmp/out/modules/${ko%.xz}" ;;
		*.ko.zst) zstd -qdc "$m" >"$tmp/out/modules/${ko%.zst}" ;;
		*.ko.gz) gzip -dc "$m" >"$tmp/out/modules/${ko%.gz}" ;;
		*) cp "$m" "$tmp/out/modules/" ;;
		esac
		echo "${ko%.ko*}.ko" >>"$tmp/out/modules.load"
	done
	touch "$tmp/out/modules.load" # every module may be built in
	rm -rf "$dir"
	mv "$tmp/out" "$dir"
	rm -rf "$tmp"
	trap - EXIT
	echo "$dir"
}

if [[ $1 == --prepare ]]; then
	prepare_kernel >/dev/null
	exit 0
fi

command -v qemu-system-x86_64 >/dev/null ||
	skip "qemu-system-x86_64 is missing (Debian package qemu-system-x86)"
# KVM needs a read-writable /dev/kvm backed by hardware virtualization: a
# /dev/kvm without vmx or svm among the CPU flags (e.g. kvm_pvm in a nested
# Firecracker VM) runs only kernels built for it, and a stock one hangs.
kvm_ok() {
	[[ -c /dev/kvm && -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo
}
accel=${OTRACE_VM_ACCEL:-auto}
case $accel in
kvm) kvm_ok || skip "no usable KVM: /dev/kvm missing or not read-writable, or no vmx/svm CPU flag" ;;
tcg) ;;
auto)
	if kvm_ok; then
		accel=kvm
	else
		accel=tcg
		echo "$me: no hardware-backed KVM here; emulating the guest with TCG (slower)" >&2
	fi
	;;
*)
	echo "$me: OTRACE_VM_ACCEL must be auto, kvm or tcg" >&2
	exit 2
	;;
esac
busybox=$(command -v busybox || true)
if [[ -z $busybox || $(file -bL "$busybox") != *"statically linked"* ]]; then
	echo "$me: a static busybox is missing (Debian package busybox-static)" >&2
	exit 1
fi
command -v cpio >/dev/null || {
	echo "$me: cpio is missing" >&2
	exit 1
}

kdir=$(prepare_kernel)
run=$(mktemp -d "${TMPDIR:-/tmp}/otrace-vm.XXXXXX")
qemu_pid=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [[ -n $qemu_pid ]]; then
		kill "$qemu_pid" 2>/dev/null || true
	fi
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The command, as a bash script the guest runs chrooted into the host's /.
{
	echo '#!/bin/bash'
	names=(PATH HOME USER LOGNAME LANG LC_ALL TZ) # not TMPDIR: the guest has its own /tmp
	while read -r name; do
		case $name in GO* | CGO_* | OTRACE_*) names+=("$name") ;; esac
	done < <(compgen -e)
	# shellcheck disable=SC2206 # a list of names, split on purpose
	names+=(${OTRACE_VM_ENV:-})
	for name in "${names[@]}"; do
		if [[ -v $name ]]; then
			printf 'export %s=%q\n' "$name" "${!name}"
		fi
	done
	printf 'umask %s\n' "$(umask)"
	printf 'cd %q || exit 1\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$run/cmd"

# Host directories under /tmp or /run that the command reaches: the guest's
# tmpfs would hide them, so init bind-mounts them back (their top directory).
keep_dir() {
	local p=$1
	[[ $p == /* && -e $p ]] || return 0
	p=$(realpath -m "$p")
	case $p in
	/tmp/?* | /run/?*) ;;
	*) return 0 ;;
	esac
	p=$(cut -d/ -f1-3 <<<"$p")
	grep -qxF -- "$p" "$run/keep" 2>/dev/null || echo "$p" >>"$run/keep"
}
: >"$run/keep"
keep_dir "$PWD"
for arg in "$@"; do
	keep_dir "$arg"
done
while read -r name; do
	case $name in GO* | CGO_* | OTRACE_*) keep_dir "${!name}" ;; esac
done < <(compgen -e)

# The guest's init: load the 9p modules, mount the host's / and what a
# system needs over it, run the command with its output on ttyS1, leave its
# status, the kernel release and lockdown mode, and the kernel log in our run
# directory (reached before tmpfs hides the host's /tmp), and power off.
# cache=loose: the guest caches the host's files and writes back later (sync
# and umount at the end); it halves a Go build in the guest, and nothing on
# the host is expected to change what the command reads while it runs.
cat >"$run/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() {
	echo "otrace-vm: $*" >/dev/ttyS0
	sleep 1 # let the UART drain
	poweroff -f
}
for m in $(cat /modules.load); do
	insmod "/modules/$m" || die "insmod $m failed"
done
r=/newroot
mkdir -p $r /out
# the virtio device may show up a moment after its driver is loaded
for try in 1 2 3 4 5 6 7 8 9 10 fail; do
	[ $try = fail ] && die "cannot mount the host's / over 9p"
	mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=262144 hostroot $r 2>/dev/ttyS0 && break
	sleep 0.5
done
mount -o bind "$r$(cat /rundir)" /out || die "no run directory $(cat /rundir)"
# the host's directories under /tmp and /run that the command needs, kept
# aside before the guest's own tmpfs hides them
i=0
for d in $(cat /keep); do
	mkdir -p /keep.d/$i
	mount -o bind "$r$d" /keep.d/$i || die "cannot keep $d"
	i=$((i + 1))
done
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts devpts $r/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $r/dev/shm
mount -t tmpfs -o mode=1777 tmpfs $r/tmp
mount -t tmpfs -o mode=755 tmpfs $r/run
i=0
for d in $(cat /keep); do
	mkdir -p "$r$d"
	mount -o bind /keep.d/$i "$r$d" || die "cannot mount $d back"
	i=$((i + 1))
done
mount -t bpf bpf $r/sys/fs/bpf
mount -t tracefs tracefs $r/sys/kernel/tracing
mount -t debugfs debugfs $r/sys/kernel/debug
mount -t securityfs securityfs $r/sys/kernel/security
mount -t cgroup2 cgroup2 $r/sys/fs/cgroup
ip link set lo up
hostname otrace-vm
echo "kernel $(uname -r), lockdown: $(cat $r/sys/kernel/security/lockdown 2>/dev/null || echo n/a)" >/out/guest
cp /cmd $r/run/otrace-vm-cmd
stty -F /dev/ttyS1 raw -echo
chroot $r /bin/bash /run/otrace-vm-cmd </dev/null >/dev/ttyS1 2>&1
rc=$?
dmesg >/out/dmesg
echo $rc >/out/status
umount /out
sync
echo "otrace-vm: exit $rc" >/dev/ttyS0 # also here, should the file not make it
poweroff -f
EOF

# initramfs: busybox, the init above, the modules, the command
mkdir -p "$run/initramfs/bin" "$run/initramfs/modules" "$run/initramfs/proc" \
	"$run/initramfs/sys" "$run/initramfs/dev"
cp "$busybox" "$run/initramfs/bin/busybox"
install -m 755 "$run/init" "$run/initramfs/init"
cp "$run/cmd" "$run/initramfs/cmd"
cp "$run/keep" "$run/initramfs/keep"
echo "$run" >"$run/initramfs/rundir"
cp "$kdir/modules.load" "$run/initramfs/"
cp "$kdir"/modules/* "$run/initramfs/modules/" 2>/dev/null || true
(cd "$run/initramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$run/initramfs.gz"

if [[ $accel == kvm ]]; then
	machine=(-accel kvm -cpu host)
else
	machine=(-accel tcg -cpu max)
fi
# ttyS0: the kernel console, to a log; ttyS1: the command's output, to our stdout
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
	"${machine[@]}" -m "$memory" -smp "$cpus" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$kdir/vmlinuz" -initrd "$run/initramfs.gz" \
	-append "console=ttyS0 quiet panic=-1 rdinit=/init${OTRACE_VM_APPEND:+ $OTRACE_VM_APPEND}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,multidevs=remap \
	-serial "file:$run/console.log" -chardev stdio,id=out,signal=off -serial chardev:out \
	</dev/null 2>"$run/qemu.stderr" &
qemu_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=

rc=$(cat "$run/status" 2>/dev/null || sed -n 's/^otrace-vm: exit \([0-9][0-9]*\).*/\1/p' "$run/console.log" 2>/dev/null || true)
if [[ -f $run/guest ]]; then
	echo "$me: guest $(cat "$run/guest")" >&2
fi

if [[ -z $rc ]]; then
	if ((qemu_rc == 124 || qemu_rc == 137)); then
		echo "$me: the guest did not finish within ${timeout_s}s (OTRACE_VM_TIMEOUT); killed it" >&2
	elif grep -qi 'kvm' "$run/qemu.stderr"; then
		skip "qemu cannot use KVM: $(head -n 1 "$run/qemu.stderr")"
	else
		echo "$me: the guest stopped without reporting the command's exit status (qemu exit $qemu_rc)" >&2
	fi
	grep -v 'terminating on signal' "$run/qemu.stderr" >&2 || true
	if [[ -s $run/console.log ]]; then
		echo "$me: the guest's console (last 40 lines):" >&2
		tr -d '\r' <"$run/console.log" | tail -n 40 >&2
	fi
	exit 1
fi
if [[ ${OTRACE_VM_DMESG:-} == 1 ]]; then
	echo "$me: the guest's kernel log:" >&2
	cat "$run/dmesg" >&2
elif ((rc != 0)); then
	echo "$me: the guest's kernel log since boot (all of it: OTRACE_VM_DMESG=1):" >&2
	sed -n '/Run \/init as init process/,$p' "$run/dmesg" >&2
fi
exit "$rc"
