# Shared by scripts/serve and scripts/test: Debian packages, then a virtualenv in .venv.
# Debian's Python refuses `pip install` outside a venv (PEP 668), so everything goes in .venv.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Please install as root: $*" >&2; return 1; fi
}

# ensure_debian_packages PKG... : install those not installed yet (one apt-get update first).
ensure_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "Missing system packages (${missing[*]}) and no apt-get to install them." >&2
    return 1
  fi
  echo "Installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_venv LOCK : make .venv and install exactly the versions in requirements/LOCK.txt
# ("hub" or "test"), checked against their hashes, then the project itself (editable, without
# dependencies or a build environment of its own, so nothing unlocked comes in). Runs again only
# when the lock or pyproject.toml changed since the last install.
ensure_venv() {
  local lock="requirements/$1.txt" python="${PYTHON:-python3}"
  if ! "$python" -c "import ensurepip, venv" 2>/dev/null; then
    ensure_debian_packages python3-venv
  fi
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local stamp=".venv/.installed-$1" want
  want="$(cat pyproject.toml requirements/build.txt "$lock" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    local pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
    "${pip[@]}" --require-hashes --no-deps -r requirements/build.txt -r "$lock"
    "${pip[@]}" --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
  fi
}
