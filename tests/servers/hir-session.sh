# shellcheck shell=bash
# hir-session.sh: a private X display, D-Bus session bus and unlocked GNOME
# keyring, for build-aux/test and build-aux/demo.  Source it from bash, then:
#
#   hir_session_start DIR [xvfb]   DIR: an empty private directory for sockets,
#                                  keyrings and XDG dirs; "xvfb" also starts
#                                  Xvfb (1280x900x24) and sets DISPLAY.
#   hir_session_stop               kills what hir_session_start started.
#
# Exports DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, XDG_DATA_HOME,
# XDG_CONFIG_HOME, XDG_CACHE_HOME (all inside DIR, so the user's real
# keyring and settings are never touched) and DISPLAY when it starts Xvfb.
#
# SPDX-License-Identifier: GPL-3.0-or-later

HIR_SESSION_PIDS=()

hir_session_fail() {
  echo "hir-session: $*" >&2
  return 1
}

# Wait up to $1 tenths of a second for the command in "${@:2}" to succeed.
hir_session_wait() {
  local tries=$1
  shift
  while ((tries-- > 0)); do
    if "$@"; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

hir_session_start_xvfb() {
  local dir=$1
  # -displayfd: Xvfb picks a free display itself and writes its number.
  Xvfb -displayfd 3 -screen 0 1280x900x24 -nolisten tcp 3>"$dir/display" \
    >"$dir/xvfb.log" 2>&1 &
  HIR_SESSION_PIDS+=($!)
  hir_session_wait 100 test -s "$dir/display" ||
    hir_session_fail "Xvfb did not start: $(tail -5 "$dir/xvfb.log")" || return 1
  DISPLAY=":$(head -1 "$dir/display")"
  export DISPLAY
}

hir_session_name_owned() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}

hir_session_start() {
  local dir=$1 want_xvfb=${2:-}
  mkdir -p "$dir/runtime" "$dir/data" "$dir/config" "$dir/cache"
  chmod 700 "$dir" "$dir/runtime"
  export XDG_RUNTIME_DIR="$dir/runtime"
  export XDG_DATA_HOME="$dir/data"
  export XDG_CONFIG_HOME="$dir/config"
  export XDG_CACHE_HOME="$dir/cache"

  if [[ $want_xvfb == xvfb ]]; then
    hir_session_start_xvfb "$dir" || return 1
  fi

  dbus-daemon --session --nofork --nopidfile --print-address=3 3>"$dir/dbus-address" \
    >"$dir/dbus.log" 2>&1 &
  HIR_SESSION_PIDS+=($!)
  hir_session_wait 100 test -s "$dir/dbus-address" ||
    hir_session_fail "dbus-daemon did not start: $(tail -5 "$dir/dbus.log")" || return 1
  DBUS_SESSION_BUS_ADDRESS=$(head -1 "$dir/dbus-address")
  export DBUS_SESSION_BUS_ADDRESS

  # --unlock reads the login keyring's password from stdin and creates the
  # keyring if there is none.  Wait for it to own the Secret Service name
  # before anyone asks, or D-Bus activation would start a second, locked one.
  printf '%s' hirondelle-test |
    gnome-keyring-daemon --foreground --unlock --components=secrets \
      >"$dir/keyring.log" 2>&1 &
  HIR_SESSION_PIDS+=($!)
  hir_session_wait 100 hir_session_name_owned org.freedesktop.secrets ||
    hir_session_fail "gnome-keyring-daemon did not start: $(tail -5 "$dir/keyring.log")" ||
    return 1

  # Prove libsecret works end to end: store, look up, clear.
  local probe
  printf '%s' probe-value |
    secret-tool store --label='Hirondelle session probe' hirondelle-probe 1 2>"$dir/secret.log" ||
    hir_session_fail "secret-tool store failed: $(cat "$dir/secret.log")" || return 1
  probe=$(secret-tool lookup hirondelle-probe 1 2>>"$dir/secret.log")
  [[ $probe == probe-value ]] ||
    hir_session_fail "secret-tool lookup returned '$probe': $(cat "$dir/secret.log")" || return 1
  secret-tool clear hirondelle-probe 1
}

hir_session_stop() {
  local pid child
  # Reverse order: keyring, then the bus, then the display.  Services the
  # bus started on demand (dconf, the accessibility bus...) are its children.
  for ((i = ${#HIR_SESSION_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${HIR_SESSION_PIDS[i]}
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
      kill "$child" 2>/dev/null || true
    done
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${HIR_SESSION_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  HIR_SESSION_PIDS=()
}
