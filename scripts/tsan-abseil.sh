#!/usr/bin/env bash
# Builds Debian's own Abseil (the source package of the installed libabsl-dev,
# with Debian's patches) under ThreadSanitizer, as shared libraries with
# Debian's SONAMEs, into DEST/lib (default build-tsan/abseil-tsan/lib).
#
#   scripts/tsan-abseil.sh [DEST]
#
# Why: absl::Mutex (ours, and gRPC's gpr_mu, which wraps it) waits on a futex,
# which TSan cannot see unless Abseil itself is compiled with -fsanitize=thread
# (it then reports its locks to TSan). Without it every access guarded by an
# absl::Mutex reads as a race. scripts/test.sh --sanitize=thread runs the tests
# with LD_LIBRARY_PATH=DEST/lib, so the binaries (linked against the system
# libabsl_*.so.20220623) and the system's gRPC load these instead. Same version,
# same options.h, same ABI: only the instrumentation differs.
#
# The source comes from Debian's archive through apt (signed, checked), into a
# private apt state folder: the system's sources.list is not touched. Takes
# about 10 minutes on 2 cores; a second run with the libraries in place does
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=$(realpath -m "${1:-build-tsan/abseil-tsan}")
VERSION=$(dpkg-query -W -f='${source:Version}' libabsl-dev)
if [ -f "$DEST/lib/.built-$VERSION" ]; then
  echo "tsan-abseil: $DEST/lib is up to date (abseil $VERSION)" >&2
  exit 0
fi
WORK="$DEST/src"
APT="$WORK/apt"
rm -rf "$WORK"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
cat > "$APT/sources.list" <<'EOF'
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
EOF
APT_OPTS=(-o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/nonexistent
          -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache")
echo "tsan-abseil: fetching Debian's abseil $VERSION source" >&2
apt-get "${APT_OPTS[@]}" update -qq
(cd "$WORK" && apt-get "${APT_OPTS[@]}" source -qq "abseil=$VERSION" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
SRC=$(find "$WORK" -maxdepth 1 -type d -name 'abseil-*' | head -1)
[ -n "$SRC" ] || { echo "tsan-abseil: apt-get source abseil=$VERSION unpacked nothing" >&2; exit 1; }

# Debian's own configuration (debian/rules: C++17, shared), plus TSan.
FLAGS="-fsanitize=thread -fno-omit-frame-pointer -g -O1"
echo "tsan-abseil: building $SRC under TSan" >&2
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_STANDARD=17 \
  -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$DEST" -DCMAKE_INSTALL_LIBDIR=lib \
  -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread >/dev/null
cmake --build "$WORK/build" -j "${JOBS:-$(nproc)}"
cmake --install "$WORK/build" >/dev/null
# The SONAMEs must be the system's, or the loader would not substitute them.
objdump -p "$DEST/lib/libabsl_synchronization.so" | grep -q 'SONAME *libabsl_synchronization.so.20220623' ||
  { echo "tsan-abseil: the built SONAME differs from Debian's" >&2; exit 1; }
rm -rf "$WORK"
touch "$DEST/lib/.built-$VERSION"
echo "tsan-abseil: built into $DEST/lib" >&2
