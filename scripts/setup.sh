#!/usr/bin/env bash
# make setup: everything weft needs on a Debian 12 machine, idempotent and quick
# when all is there. Says plainly what it could not do and why; exits non-zero
# only when the Python environment itself cannot be built.
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PY=${PYTHON:-python3}
missing=()
say() { printf 'setup: %s\n' "$*"; }

# --- Debian packages: bcc, kernel headers, iproute2 (lab namespaces), curl (the demo's copy tool)
apt_pkgs=(python3-bpfcc linux-headers-amd64 iproute2 curl)
need=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if ((${#need[@]})); then
  if [[ $EUID -ne 0 ]]; then
    missing+=("Debian packages ${need[*]} (not root: run 'sudo make setup')")
  else
    say "installing ${need[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }; then
      missing+=("Debian packages ${need[*]} (apt-get failed)")
    fi
  fi
fi

# --- kernel headers where bcc looks for them ---------------------------------------
kbuild=/lib/modules/$(uname -r)/build
if [[ ! -e $kbuild/include ]]; then
  hdr=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)
  if [[ -z $hdr ]]; then
    missing+=("kernel headers (no /usr/src/linux-headers-*-amd64; install linux-headers-amd64)")
  elif [[ $EUID -ne 0 ]]; then
    missing+=("headers link $kbuild -> $hdr (not root)")
  else
    mkdir -p "$(dirname "$kbuild")" && ln -sfn "$hdr" "$kbuild" && say "linked $kbuild -> $hdr"
  fi
fi

# --- tracefs ----------------------------------------------------------------------------
if [[ ! -e /sys/kernel/tracing/events ]]; then
  if [[ $EUID -ne 0 ]]; then
    missing+=("tracefs at /sys/kernel/tracing (not root)")
  elif ! mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
    missing+=("tracefs at /sys/kernel/tracing (mount failed)")
  fi
fi
[[ -e /sys/kernel/btf/vmlinux ]] || missing+=("BTF (/sys/kernel/btf/vmlinux): the sensor's tracepoint programs do not need it, CO-RE tools would")

# --- the Python environment -------------------------------------------------------------
if [[ ! -x $VENV/bin/python ]]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV" || { say "FAILED: cannot create a virtual environment with $PY"; exit 1; }
fi
stamp=$VENV/.weft-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  say "installing weft and its dependencies into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e '.[dev]' \
    || { say "FAILED: pip install (see above)"; exit 1; }
  touch "$stamp"
fi

# --- PostgreSQL: the production store; its tests start their own server --------------------
# (tests/postgres_support.py runs initdb and pg_ctl from Debian's package as the
# postgres user, on a free port on 127.0.0.1; no cluster of the package is used.)
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
pg_ready() { local b; b=$(pg_bin); [[ -n $b && -x $b/initdb && -x $b/pg_ctl ]] && "$b/postgres" --version >/dev/null 2>&1; }
if ! pg_ready; then
  if [[ $EUID -ne 0 ]]; then
    missing+=("PostgreSQL server, Debian package postgresql (not root: run 'sudo make setup'): the store tests on PostgreSQL need it")
  elif ! command -v apt-get >/dev/null; then
    missing+=("PostgreSQL server (no apt-get: install it so /usr/lib/postgresql/<ver>/bin has initdb and pg_ctl): the store tests on PostgreSQL need it")
  else
    say "installing postgresql"
    ((${#need[@]})) || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    pg_ready || missing+=("PostgreSQL server, Debian package postgresql (apt-get failed, or no initdb/pg_ctl after it): the store tests on PostgreSQL need it")
  fi
fi
if pg_ready && [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  missing+=("the postgres OS user (the PostgreSQL tests run the server as it; reinstall postgresql-common)")
fi
"$VENV/bin/python" -c 'import psycopg' 2>/dev/null || missing+=("the psycopg driver in $VENV (pip install -e '.[dev]')")

# bcc's Python module lives in Debian's dist-packages: expose it alone to the venv.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ -d /usr/lib/python3/dist-packages/bcc ]]; then
  mkdir -p "$VENV/bcc-only"
  ln -sfn /usr/lib/python3/dist-packages/bcc "$VENV/bcc-only/bcc"
  echo "$PWD/$VENV/bcc-only" > "$site/weft-bcc.pth"
  "$VENV/bin/python" -c 'import bcc' 2>/dev/null || missing+=("bcc does not import in $VENV")
else
  missing+=("bcc's Python module (/usr/lib/python3/dist-packages/bcc; install python3-bpfcc)")
fi

# --- generated protobuf code ------------------------------------------------------------------
make -s proto || { say "FAILED: make proto"; exit 1; }

if ((${#missing[@]})); then
  say "done, but without:"
  for m in "${missing[@]}"; do say "  - $m"; done
  say "the eBPF sensor and the lab need these; everything else works."
else
  say "ready (bcc, headers, tracefs, PostgreSQL, Python environment, generated code)"
fi
