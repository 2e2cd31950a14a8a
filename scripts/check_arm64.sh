#!/usr/bin/env bash
# make check-arm64: the runtime on aarch64 under qemu user-mode emulation, against x86-64 (what it judges:
# scripts/arm64_parity.py). Runs on an x86-64 Debian/Ubuntu host as root or with sudo; installs what it needs.
#
#   1. apt: qemu-user-static (aarch64 binaries run through binfmt_misc), debootstrap
#   2. an arm64 Debian bookworm root (Python 3.11, as on Raspberry Pi OS bookworm) from the Debian archive apt
#      is configured with here, cached in $CACHE
#   3. the official aarch64 wheels of the device dependencies (numpy, onnxruntime, openvino, ...), downloaded on
#      the host at the host venv's versions, installed into a venv inside the root (cached); gsv-edge's own wheel
#      is built from this checkout on every run
#   4. on x86-64: the tiny v2 conformance model converted three times (fp32, rpi4, rpi5; cached by the content of
#      convert/, runtime/ and profiles/) and measured
#   5. on aarch64: the same measurements, the rpi4 pack on an emulated Cortex-A72 (Raspberry Pi 4) and the rpi5
#      pack on a Cortex-A76 (Raspberry Pi 5), the fp32 pack on both; then the comparison and its summary
#
# Environment: GSV_ARM64_CACHE (default ~/.cache/gsv-edge-arm64), GSV_ARM64_WORK (default build/arm64),
# GSV_CONFORMANCE (default ../shared/conformance), GSV_ARM64_TIMEOUT (seconds per emulated measurement run).
set -euo pipefail

# --- inside a private mount namespace (see run_arm64): mounts vanish with the process ---------------------------
if [ "${1:-}" = "--enter" ]; then
  root=$2 work=$3 scripts=$4 cpuinfo=$5 cpu=$6
  shift 6
  mount --make-rprivate /
  mount -t proc proc "$root/proc"
  # qemu-user shows the guest the host's /proc/cpuinfo, an x86 one, which ONNX Runtime's CPU detection
  # (pytorch/cpuinfo) crashes on: the guest sees a cpuinfo of the board's CPU instead.
  mount --bind "$cpuinfo" "$root/proc/cpuinfo"
  # OpenVINO's ARM plugin reads the CPU topology from /sys; without it its CPU plugin never finishes loading.
  mount --rbind /sys "$root/sys"
  mkdir -p "$root/mnt/work" "$root/mnt/scripts"
  mount --bind "$work" "$root/mnt/work"
  mount --bind "$scripts" "$root/mnt/scripts"
  exec chroot "$root" env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 QEMU_CPU="$cpu" "$@"
fi

cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=${GSV_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gsv-edge-arm64}
WORK=${GSV_ARM64_WORK:-build/arm64}
CONFORMANCE=${GSV_CONFORMANCE:-../shared/conformance}
RUN_TIMEOUT=${GSV_ARM64_TIMEOUT:-1800}
SUITE=bookworm
ROOT=$CACHE/root-$SUITE
HOST_PY=.venv/bin/python
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
STARTED=$SECONDS

say() { echo "check-arm64: $*"; }
fail() { echo "check-arm64: error: $*" >&2; exit 1; }
elapsed() { echo "$((SECONDS - $1)) s"; }

[ "$(uname -m)" = x86_64 ] || fail "this check runs on an x86-64 host and emulates aarch64 (this is $(uname -m))"
[ -x "$HOST_PY" ] || fail "$HOST_PY is missing; run make setup first (make check-arm64 does)"
[ -f "$CONFORMANCE/v2-tiny/gpt.ckpt" ] || fail "no conformance model in $CONFORMANCE (set GSV_CONFORMANCE)"
mkdir -p "$CACHE" "$WORK"
WORK=$(cd "$WORK" && pwd)
CONFORMANCE=$(cd "$CONFORMANCE" && pwd)

# --- 1. system packages ------------------------------------------------------------------------------------------
missing=()
for package in qemu-user-static debootstrap debian-archive-keyring; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || fail "needs ${missing[*]} (Debian/Ubuntu packages) and apt-get to install them"
  say "installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
BINFMT=/proc/sys/fs/binfmt_misc
if [ ! -e "$BINFMT/register" ]; then
  $SUDO mount -t binfmt_misc binfmt_misc "$BINFMT" || fail "cannot mount $BINFMT (a container without it cannot run aarch64 binaries)"
fi
if [ ! -e "$BINFMT/qemu-aarch64" ]; then
  # qemu-user-static ships the registration line for systemd-binfmt; without systemd it is written here by hand.
  if [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    $SUDO sh -c "cat /usr/lib/binfmt.d/qemu-aarch64.conf > $BINFMT/register" || true
  fi
  [ -e "$BINFMT/qemu-aarch64" ] || $SUDO update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  [ -e "$BINFMT/qemu-aarch64" ] || fail "qemu-aarch64 is not registered in $BINFMT (see /usr/lib/binfmt.d/qemu-aarch64.conf)"
fi
# Without the F flag the kernel looks for the interpreter inside the root, so it must be there too.
INTERPRETER=$(awk '/^interpreter/ {print $2}' "$BINFMT/qemu-aarch64")

# --- 2. the arm64 root -------------------------------------------------------------------------------------------
# The Debian archive apt uses here: read from its sources at run time (deb822 .sources files or sources.list).
debian_archive() {
  local file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk '/^URIs:/ {uri=$2} /^Suites:/ && !/security/ && uri {print uri; exit}' "$file"
  done
  [ -f /etc/apt/sources.list ] && awk '$1 == "deb" && !/security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
    /etc/apt/sources.list
}
if [ ! -x "$ROOT/usr/bin/python3" ] || [ ! -f "$ROOT/.complete" ]; then
  archive=$(debian_archive | grep -m1 debian || true)
  [ -n "$archive" ] || fail "no Debian archive in apt's sources (/etc/apt/sources.list*); the arm64 root is built from one"
  say "building the arm64 $SUITE root in $ROOT (debootstrap, a few minutes)"
  t=$SECONDS
  $SUDO rm -rf "$ROOT.partial"
  $SUDO timeout 1800 debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$ROOT.partial" "$archive" >"$CACHE/debootstrap.log" 2>&1 \
    || fail "debootstrap failed (the last lines of $CACHE/debootstrap.log: $(tail -3 "$CACHE/debootstrap.log" | tr '\n' ' '))"
  $SUDO touch "$ROOT.partial/.complete"
  $SUDO rm -rf "$ROOT"
  $SUDO mv "$ROOT.partial" "$ROOT"
  say "root built in $(elapsed $t)"
fi
if ! grep -q '^flags:.*F' "$BINFMT/qemu-aarch64"; then
  $SUDO mkdir -p "$ROOT$(dirname "$INTERPRETER")"
  $SUDO cp "$INTERPRETER" "$ROOT$INTERPRETER"
fi
machine=$($SUDO chroot "$ROOT" /usr/bin/python3 -c 'import platform; print(platform.machine())' 2>&1) \
  || fail "the arm64 root does not run under qemu: $machine"
[ "$machine" = aarch64 ] || fail "the arm64 root's Python says it runs on $machine, not aarch64"

# --- 3. wheels and the venv inside the root ----------------------------------------------------------------------
# The device dependencies at the versions the host venv has, so both sides run the same libraries.
PINS=$CACHE/pins.txt
"$HOST_PY" -m pip freeze 2>/dev/null | grep -iE '^(numpy|openvino|onnxruntime|soundfile|soxr|tokenizers|regex|cffi)==' >"$PINS"
rm -rf "$CACHE/dist" && mkdir -p "$CACHE/dist"
"$HOST_PY" -m pip wheel -q --no-deps -w "$CACHE/dist" . 2>&1 | grep -v '^WARNING: Location' || true
ls "$CACHE"/dist/gsv_edge-*.whl >/dev/null 2>&1 || fail "could not build gsv-edge's wheel (pip wheel .)"
WHEEL=$(ls "$CACHE"/dist/gsv_edge-*.whl)
KEY=$(cat "$PINS" pyproject.toml | sha1sum | cut -c1-12)
WHEELS=$ROOT/wheels-$KEY
if [ ! -f "$WHEELS/.complete" ]; then
  say "downloading the aarch64 wheels (cp311, manylinux)"
  platforms=(--platform manylinux2014_aarch64)
  for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
  partial=$CACHE/wheels.partial
  rm -rf "$partial" && mkdir -p "$partial"
  # Two dependencies publish only source archives, both pure Python: built here as wheels, any platform.
  "$HOST_PY" -m pip wheel -q --no-deps -w "$partial" jieba==0.42.1 Distance==0.1.3 >/dev/null 2>&1 \
    || fail "could not build the jieba and Distance wheels"
  "$HOST_PY" -m pip download -q -d "$partial" --find-links "$partial" --only-binary=:all: --python-version 3.11 \
    --implementation cp --abi cp311 "${platforms[@]}" -c "$PINS" "$WHEEL" >"$CACHE/download.log" 2>&1 \
    || fail "pip download of the aarch64 wheels failed: $(grep -v '^WARNING: Location' "$CACHE/download.log" | tail -3 | tr '\n' ' ')"
  for needed in numpy onnxruntime openvino; do
    ls "$partial"/"$needed"-*aarch64*.whl >/dev/null 2>&1 || fail "no official aarch64 wheel of $needed was found ($(grep -i "^$needed==" "$PINS"))"
  done
  rm -f "$partial"/gsv_edge-*.whl
  $SUDO rm -rf "$ROOT"/wheels-* "$ROOT/opt/venv"
  $SUDO cp -r "$partial" "$WHEELS"
  $SUDO touch "$WHEELS/.complete"
  rm -rf "$partial"
fi
if [ ! -f "$ROOT/opt/venv/.complete-$KEY" ]; then
  say "installing the wheels into a venv inside the root (emulated: a few minutes)"
  t=$SECONDS
  $SUDO rm -rf "$ROOT/opt/venv"
  $SUDO chroot "$ROOT" env -i PATH=/usr/bin:/bin HOME=/root python3 -m venv /opt/venv
  $SUDO cp "$WHEEL" "$WHEELS/"
  $SUDO chroot "$ROOT" env -i PATH=/usr/bin:/bin HOME=/root timeout 1800 /opt/venv/bin/pip install -q --no-index \
    --find-links "/wheels-$KEY" "/wheels-$KEY/$(basename "$WHEEL")" || fail "pip could not install the wheels in the arm64 venv"
  $SUDO touch "$ROOT/opt/venv/.complete-$KEY"
  say "venv ready in $(elapsed $t)"
else
  $SUDO cp "$WHEEL" "$WHEELS/"
  $SUDO chroot "$ROOT" env -i PATH=/usr/bin:/bin HOME=/root /opt/venv/bin/pip install -q --no-index --no-deps \
    --force-reinstall "/wheels-$KEY/$(basename "$WHEEL")" || fail "pip could not install gsv-edge's wheel in the arm64 venv"
fi

# --- 4. packs and the x86-64 measurements ------------------------------------------------------------------------
SOURCES=$(find convert runtime profiles scripts/arm64_parity.py -type f \( -name '*.py' -o -name '*.toml' \) -print0 \
  | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-12)
if [ ! -f "$WORK/packs/.complete-$SOURCES" ]; then
  say "converting the tiny v2 conformance model for fp32, rpi4 and rpi5 (x86-64)"
  t=$SECONDS
  rm -rf "$WORK/packs"
  "$HOST_PY" scripts/arm64_parity.py prepare "$WORK" --conformance "$CONFORMANCE"
  touch "$WORK/packs/.complete-$SOURCES"
  say "packs converted in $(elapsed $t)"
fi
$SUDO rm -rf "$WORK"/x86_64 "$WORK"/aarch64-*
"$HOST_PY" scripts/arm64_parity.py measure "$WORK" "$WORK/x86_64" || fail "the x86-64 baseline failed (above)"

# --- 5. aarch64 -----------------------------------------------------------------------------------------------
# /proc/cpuinfo of each emulated board CPU, one entry per host core (what the guest's thread count sees).
cpuinfo() {  # $1: part number, $2: variant, $3: revision, $4: features
  local i
  for i in $(seq 0 $(($(nproc) - 1))); do
    printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\n' "$i" "$4"
    printf 'CPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' "$2" "$1" "$3"
  done
}
# Raspberry Pi 4: BCM2711, Cortex-A72 (Armv8.0: no fp16 arithmetic, no dot product, no crypto extension).
cpuinfo 0xd08 0x0 3 "fp asimd evtstrm crc32 cpuid" >"$CACHE/cpuinfo-cortex-a72"
# Raspberry Pi 5: BCM2712, Cortex-A76 (Armv8.2: fp16 arithmetic, dot product).
cpuinfo 0xd0b 0x4 1 "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp" \
  >"$CACHE/cpuinfo-cortex-a76"

run_arm64() {  # $1: qemu CPU model, $2: packs
  local t=$SECONDS status=0
  say "measuring $2 on aarch64 ($1, emulated)"
  $SUDO timeout "$RUN_TIMEOUT" unshare --mount --fork "$REPO/scripts/check_arm64.sh" --enter "$ROOT" "$WORK" \
    "$REPO/scripts" "$CACHE/cpuinfo-$1" "$1" /opt/venv/bin/python /mnt/scripts/arm64_parity.py measure /mnt/work \
    "/mnt/work/aarch64-$1" --packs "$2" 2> >(grep -v 'MIDR_EL1' >&2) || status=$?
  [ "$status" -ne 124 ] || say "the $1 run passed its ${RUN_TIMEOUT} s limit and was stopped"
  say "$1 done in $(elapsed $t)"
}
run_arm64 cortex-a72 fp32,rpi4
run_arm64 cortex-a76 fp32,rpi5

status=0
"$HOST_PY" scripts/arm64_parity.py compare "$WORK" || status=$?
say "took $(elapsed $STARTED) in all"
exit $status
