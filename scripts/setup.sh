#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 interpreter and install the project (dev extras).
# Idempotent: re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${ABM_EXTRAS:-dev}"

ok_python() { "$1" -c 'import sys; assert (3,12) <= sys.version_info[:2] < (3,14)' 2>/dev/null; }

# Prefer 3.12 (the version the project is developed on), then 3.13; look on PATH and in pyenv.
find_python() {
    for minor in 12 13; do
        if command -v "python3.$minor" >/dev/null 2>&1 && ok_python "python3.$minor"; then
            command -v "python3.$minor"; return 0
        fi
        if command -v pyenv >/dev/null 2>&1; then
            for v in $(pyenv versions --bare 2>/dev/null | grep -E "^3\.$minor\.[0-9]+$" | sort -rV); do
                p="$(pyenv root)/versions/$v/bin/python3"
                if [ -x "$p" ] && ok_python "$p"; then echo "$p"; return 0; fi
            done
        fi
    done
    return 1
}

stamp=".venv/.installed-$extras"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
    exit 0
fi
if [ ! -x .venv/bin/python ]; then
    py="$(find_python)" || { echo "setup: no Python 3.12 or 3.13 found (tried python3.13, python3.12, pyenv); install one, e.g. 'pyenv install 3.12'" >&2; exit 1; }
    echo "setup: creating .venv with $py" >&2
    "$py" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[$extras]"
touch "$stamp"
