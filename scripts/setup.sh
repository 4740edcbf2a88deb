#!/usr/bin/env bash
# Create .venv (once) and install facecolab with its dev tools into it. Idempotent: when
# requirements*.txt and pyproject.toml are unchanged since the last successful install (a stamp
# in .venv), nothing is installed again.
#
#   . scripts/setup.sh      (bash) set up, then activate .venv in this shell. The shell's own
#                           options are left as they were, and a failure returns non-zero
#                           without closing the shell.
#   bash scripts/setup.sh   set up only; exits non-zero on any failure (CI).
#
# The install runs in its own bash process with strict options (set -euo pipefail), so they
# never reach a shell that sources this file.

_facecolab_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "${_FACECOLAB_SETUP_INSTALL:-}" = 1 ]; then
  set -euo pipefail
  cd "$_facecolab_root"
  stamp=.venv/.facecolab-setup
  [ -x .venv/bin/python ] || python3 -m venv .venv
  wanted="$(cat requirements.txt requirements-dev.txt pyproject.toml | cksum) $PWD"
  # Up to date: same requirements, and the venv imports this checkout's facecolab (from /,
  # so the working folder on sys.path cannot stand in for the install).
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && (cd / &&
    "$_facecolab_root/.venv/bin/python" -c 'import sys, facecolab
sys.exit(not facecolab.__file__.startswith(sys.argv[1]))' "$_facecolab_root/") 2>/dev/null; then
    echo "scripts/setup.sh: .venv is up to date (requirements unchanged)"
    exit 0
  fi
  rm -f "$stamp"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  printf '%s\n' "$wanted" >"$stamp"
  exit 0
fi

if _FACECOLAB_SETUP_INSTALL=1 bash "$_facecolab_root/scripts/setup.sh"; then
  . "$_facecolab_root/.venv/bin/activate"
  unset _facecolab_root
else
  _facecolab_status=$?
  echo "scripts/setup.sh: setting up $_facecolab_root/.venv failed (exit $_facecolab_status)" >&2
  unset _facecolab_root
  # Sourced: return to the caller (a script under set -e stops there); executed: exit.
  eval "unset _facecolab_status; return $_facecolab_status 2>/dev/null || exit $_facecolab_status"
fi
