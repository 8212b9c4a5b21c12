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

# The dashboard's browser test (tests/dashboard/test_browser.py) drives Debian's chromium
# through Playwright (which cannot download a browser of its own here): the test set-up (any
# set of extras with dev) installs it with apt-get when it is missing.
ensure_chromium() {
    if [ -x /usr/bin/chromium ]; then return 0; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing chromium (apt-get) for the dashboard's browser test" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "setup: /usr/bin/chromium is missing and apt-get cannot run here (not root?);" \
             "the browser test needs it: sudo apt-get install chromium" >&2
    fi
}
case ",$extras," in *,dev,*) ensure_chromium ;; esac

# Up to date when a stamp for these extras, or for a superset of them, is newer than
# pyproject.toml (so `make run` after `make test` installs nothing).
up_to_date() {
    [ -x .venv/bin/python ] || return 1
    local stamp have want
    for stamp in .venv/.installed-*; do
        [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] || continue
        have=",${stamp#.venv/.installed-},"
        for want in ${extras//,/ }; do
            case "$have" in *",$want,"*) ;; *) continue 2 ;; esac
        done
        return 0
    done
    return 1
}
stamp=".venv/.installed-$extras"
if up_to_date; then
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
