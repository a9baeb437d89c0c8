# Shared by scripts/serve and scripts/test: make .venv and install hoplink with the given extras.
# Re-installs only when pyproject.toml changed since the last install.
ensure_venv() {
  local extras="$1"
  local py="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    if ! "$py" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "python3 -m venv is missing; installing Debian's python3-venv" >&2
        apt-get install -y -qq python3-venv >/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; }
        "$py" -m venv .venv
      else
        echo "python3 -m venv failed: install it first (Debian: sudo apt-get install python3-venv)" >&2
        exit 1
      fi
    fi
  fi
  local stamp=".venv/.hoplink-installed${extras:+-$extras}"
  local digest
  digest=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    echo "Installing hoplink${extras:+ with [$extras]} into .venv ..." >&2
    .venv/bin/python -m pip install -q --upgrade pip >&2
    .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}" >&2
    echo "$digest" > "$stamp"
  fi
}
