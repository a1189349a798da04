#!/bin/bash
# Prepare a pi-gen checkout (branch bookworm-arm64) to build the Learning Hub image: the stage,
# the hub's wheel built from this checkout, the appliance files, the Wi-Fi settings, a config.
# Then build with pi-gen itself: cd PI_GEN && ./build-docker.sh     (see README.md here)
set -euo pipefail

usage() {
  echo "Usage: raspberrypi/image/prepare.sh --country XX [--ssid NAME] [--password PW]" >&2
  echo "                                    [--wheel FILE] PI_GEN_DIR" >&2
  exit 2
}

COUNTRY="" SSID="Learning Hub" PASSWORD="" PI_GEN="" WHEEL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --country) COUNTRY=${2:-}; shift ;;
    --ssid) SSID=${2:-}; shift ;;
    --password) PASSWORD=${2:-}; shift ;;
    --wheel) WHEEL=${2:-}; shift ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) PI_GEN=$1 ;;
  esac
  shift
done
if [ -z "$COUNTRY" ] || [ -z "$PI_GEN" ]; then
  usage
fi
COUNTRY=${COUNTRY^^}
[ -x "$PI_GEN/build-docker.sh" ] || { echo "prepare.sh: $PI_GEN is not a pi-gen checkout" >&2; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
STAGE="$PI_GEN/stage-learnhub"
FILES="$STAGE/00-learnhub/files"

# The settings are checked now, not halfway through a long build.
CHECK=$(mktemp -d)
trap 'rm -rf "$CHECK"' EXIT
python3 "$SOURCE/raspberrypi/bin/learnhub-appliance" init-config "$CHECK/learnhub.toml" \
  --country "$COUNTRY" --ssid "$SSID" --password "$PASSWORD" >/dev/null

rm -rf "$STAGE"
cp -r "$HERE/stage-learnhub" "$STAGE"
mkdir -p "$FILES/docs"
if [ -n "$WHEEL" ]; then
  cp "$WHEEL" "$FILES/"
else
  # From a clean copy: an old build/ folder in the checkout could slip stale files in.
  mkdir "$CHECK/src"
  cp -r "$SOURCE/pyproject.toml" "$SOURCE/README.md" "$SOURCE/LICENSE" \
    "$SOURCE/hub" "$SOURCE/content" "$SOURCE/sync" "$CHECK/src/"
  python3 -m pip wheel --quiet --no-deps --wheel-dir "$FILES" "$CHECK/src"
fi
cp -r "$SOURCE/raspberrypi" "$FILES/raspberrypi"
cp -r "$SOURCE/requirements" "$FILES/requirements"  # the lock install.sh installs from
rm -rf "$FILES/raspberrypi/image"
cp "$SOURCE/docs/operator-guide.md" "$FILES/docs/"
printf 'COUNTRY=%q\nSSID=%q\nPASSWORD=%q\n' "$COUNTRY" "$SSID" "$PASSWORD" > "$FILES/settings.env"
sed "s/@COUNTRY@/$COUNTRY/" "$HERE/config.in" > "$PI_GEN/config"
touch "$PI_GEN/stage2/SKIP_IMAGES"  # one image: ours, not also the plain Lite one

echo "Ready. Now: cd $PI_GEN && ./build-docker.sh"
echo "The image appears in $PI_GEN/deploy/ as *-learnhub.img.xz"
