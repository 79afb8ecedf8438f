#!/usr/bin/env bash
# Builds the container image and checks it the way an operator would, without
# a Docker engine: Debian's podman builds it (--isolation=chroot), and since
# `podman run` is refused here the image is started by hand, as a runtime
# would: its filesystem (podman image mount) under a writable overlay, /proc
# and /dev mounted, its environment, user and ENTRYPOINT taken from the image
# config, then chroot. tests/container/container_test.py then
#   - makes a hybrid bundle whose LLM uses SentencePiece's tokenizer.model
#     (../shared/tokenizers/llama2-spm) with the image's own `sasrecllm`,
#   - starts the image's server on it (the bundle at /models/bundle, as the
#     image's defaults say), as uid 65532,
#   - runs the image's HEALTHCHECK, calls it with the image's client (health,
#     info, a HYBRID Recommend), reads /metrics, and drains it with SIGTERM,
# and this script prints the image's size.
#
#   scripts/container-test.sh            # build (ccache-cached) + check
#   scripts/container-test.sh --no-build # check the image already built
#
# Environment: IMAGE (default localhost/sasrecllm:cpu), CONTAINER_TEST_WORK
# (default build/container-test). Needs root (mounts, chroot), podman and, the
# first time, debootstrap (SETUP_CONTAINER_TOOLS=1 scripts/setup.sh --no-build
# installs both). The debian:bookworm base is made locally with debootstrap
# --variant=minbase (no registry is reachable here) and also tagged
# bookworm-slim, so the runtime's base here is minbase, not Docker Hub's slim
# image.
# Exit 0 when every check passed, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
IMAGE=${IMAGE:-localhost/sasrecllm:cpu}
WORK=$(realpath -m "${CONTAINER_TEST_WORK:-build/container-test}")
SHARED=$(realpath -m ../shared)
BUILD=1
[ "${1:-}" = "--no-build" ] && BUILD=0

say() { echo "container-test: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (overlay mount and chroot)"
command -v podman >/dev/null || die "podman is missing (SETUP_CONTAINER_TOOLS=1 scripts/setup.sh --no-build)"
[ -d "$SHARED/tokenizers/llama2-spm" ] || die "$SHARED/tokenizers/llama2-spm is missing"

# The base image, made once (podman keeps it).
if ! podman image exists docker.io/library/debian:bookworm; then
  command -v debootstrap >/dev/null || die "debootstrap is missing (SETUP_CONTAINER_TOOLS=1 scripts/setup.sh --no-build)"
  say "making the debian:bookworm base image with debootstrap --variant=minbase"
  rm -rf "$WORK/base-rootfs"
  mkdir -p "$WORK"
  debootstrap --variant=minbase bookworm "$WORK/base-rootfs" http://deb.debian.org/debian >&2
  tar -C "$WORK/base-rootfs" -c . | podman import - docker.io/library/debian:bookworm >&2
  rm -rf "$WORK/base-rootfs"
fi
podman image exists docker.io/library/debian:bookworm-slim ||
  podman tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim

if [ "$BUILD" = 1 ]; then
  say "podman build -t $IMAGE (the first build compiles everything: ~15 min on 2 cores)"
  start=$(date +%s)
  # docker format: OCI images have no HEALTHCHECK.
  podman build --isolation=chroot --pull=never --format docker -t "$IMAGE" . >&2
  say "image built in $(($(date +%s) - start)) s"
fi
podman image exists "$IMAGE" || die "no image $IMAGE (run without --no-build)"

# The image's filesystem, writable on top, with what a runtime mounts.
ROOT="$WORK/root"
cleanup() {
  set +e
  # Whatever still runs from the image's root (a failed check's server).
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] && kill -9 "$pid" 2>/dev/null
  done
  mountpoint -q "$ROOT" && umount -R "$ROOT"
  podman image unmount "$IMAGE" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
rm -rf "$WORK/upper" "$WORK/overlay-work" "$WORK/test"
mkdir -p "$ROOT" "$WORK/upper" "$WORK/overlay-work" "$WORK/test"
LOWER=$(podman image mount "$IMAGE")
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$WORK/upper,workdir=$WORK/overlay-work" "$ROOT"
mount -t proc proc "$ROOT/proc"
mount --rbind /dev "$ROOT/dev"
mount --rbind /sys "$ROOT/sys"
# The test's work folder and ../shared at the same paths inside and outside.
for dir in "$WORK/test" "$SHARED"; do
  mkdir -p "$ROOT$dir"
  mount --bind "$dir" "$ROOT$dir"
done
mount -o remount,bind,ro "$ROOT$SHARED"

# The image's config: what `docker run` would use.
# (podman shows the Docker-format HEALTHCHECK beside .Config, not in it.)
podman image inspect "$IMAGE" | python3 -c '
import json, sys
image = json.load(sys.stdin)[0]
config = image["Config"]
config["Healthcheck"] = config.get("Healthcheck") or image.get("Healthcheck")
json.dump(config, sys.stdout, indent=1)' > "$WORK/test/image-config.json" ||
  die "cannot read the image config of $IMAGE"
python3 - "$WORK/test/image-config.json" "$ROOT" "$WORK/test/in-image" <<'PY'
import json, shlex, sys
config, root, out = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
env = " ".join(shlex.quote(e) for e in config.get("Env") or [])
user = config.get("User") or "0:0"
if ":" not in user:
    user += ":" + user
# in-image [--root] [K=V ...] -- CMD ARGS: CMD in the image's filesystem with
# its environment (K=V on top) as its user (--root: as root, for the tools
# that write the test's files). exec, so that signals reach the command.
with open(out, "w") as f:
    f.write(f"""#!/bin/sh
user={shlex.quote(user)}
if [ "$1" = --root ]; then user=0:0; shift; fi
extra=""
while [ "$1" != -- ]; do extra="$extra $1"; shift; done
shift
exec chroot --userspec="$user" {shlex.quote(root)} /usr/bin/env -i {env} $extra "$@"
""")
PY
[ -s "$WORK/test/in-image" ] || die "cannot write $WORK/test/in-image"
chmod +x "$WORK/test/in-image"

rc=0
# A network namespace of its own, as a container has: the server on its
# default ports, whatever else this machine listens on.
unshare --net sh -c 'ip link set lo up && exec python3 tests/container/container_test.py "$@"' \
  sh "$WORK/test" "$ROOT" || rc=$?

size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
base=$(podman image inspect docker.io/library/debian:bookworm-slim --format '{{.Size}}')
say "image $IMAGE: $((size / 1000000)) MB ($((base / 1000000)) MB base + $(((size - base) / 1000000)) MB on top)"
[ "$rc" = 0 ] && say "all checks passed" || say "FAILED"
exit "$rc"
