#!/usr/bin/env bash
# Set up a hall node on a clean Raspberry Pi OS Lite (Bookworm or later, 64-bit), as root:
#
#   sudo deploy/install.sh --config /path/to/<hall-id>.toml [--source DIR] [--screen kiosk|display|none]
#                          [--board-model TEXT]
#
# What it does (docs/operations.md, "Install on a Pi"):
#   1. Debian packages: python3-venv, curl, the GPIO library of the hall's [devices] pin_factory
#      for this board (auto: python3-lgpio on a Pi 5, python3-rpi.gpio on older boards; the board
#      is read from /proc/device-tree/model, or --board-model), and for a screen cage + chromium;
#   2. the service user `onestop` (groups dialout and gpio: serial readers and GPIO lines) and,
#      for a screen, `onestop-screen` (groups video, render, input);
#   3. a virtual environment /opt/onestop/venv with `onestop[edge]` only (no central packages),
#      from the source tree DIR (default: the tree this script is in);
#   4. the hall file as /etc/onestop/hall.toml (root:onestop 0640: it holds the broker password);
#   5. the systemd units (onestop-edge, and the screen asked for), the udev rule naming the badge
#      readers, bounded journald logs, NTP and fake-hwclock (a Pi has no real-time clock);
#   6. starts the node and runs `onestop-edge doctor`.
# Run it again to upgrade: it reinstalls the package and the units and restarts the node.
# --dry-run prints each command instead of running it.
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$SOURCE/deploy"
CONFIG=""
SCREEN="none"
DRY=0
BOARD_MODEL=""
PREFIX=/opt/onestop
ETC=/etc/onestop
DATA=/var/lib/onestop/data

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

die() {
    echo "install.sh: $*" >&2
    exit 2
}

run() {
    if [ "$DRY" = 1 ]; then
        local arg line="+" safe='^[][A-Za-z0-9_./:=,@%+-]+$'
        for arg in "$@"; do
            if [[ "$arg" =~ $safe ]]; then
                line+=" $arg"
            else
                line+=" $(printf '%q' "$arg")"
            fi
        done
        printf '%s\n' "$line"
    else
        "$@"
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --config) CONFIG="${2:-}"; shift 2 ;;
        --source) SOURCE="${2:-}"; DEPLOY="$SOURCE/deploy"; shift 2 ;;
        --screen) SCREEN="${2:-}"; shift 2 ;;
        --board-model) BOARD_MODEL="${2:-}"; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
    esac
done

[ -n "$CONFIG" ] || die "--config FILE is required (the hall's TOML file)"
[ -f "$CONFIG" ] || die "no such hall file: $CONFIG"
[ -f "$SOURCE/pyproject.toml" ] || die "$SOURCE is not the onestop source tree (no pyproject.toml)"
case "$SCREEN" in kiosk|display|none) ;; *) die "--screen must be kiosk, display or none, not $SCREEN" ;; esac
if [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root (sudo)"
fi

# the port the node serves on, from [http] listen (default 127.0.0.1:8100), and the GPIO pin
# factory of [devices] pin_factory (default auto), one per line
SETTINGS="$(python3 - "$CONFIG" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    cfg = tomllib.load(f)
print(cfg.get("http", {}).get("listen", "127.0.0.1:8100"))
print(cfg.get("devices", {}).get("pin_factory", "auto"))
PY
)" || die "$CONFIG is not valid TOML"
LISTEN="${SETTINGS%%$'\n'*}"
PIN_FACTORY="${SETTINGS##*$'\n'}"
PORT="${LISTEN##*:}"

# the GPIO library for the pin factory on this board (gpiozero imports it; docs/operations.md)
if [ -z "$BOARD_MODEL" ] && [ -r /proc/device-tree/model ]; then
    BOARD_MODEL="$(tr -d '\0' </proc/device-tree/model)"
fi
GPIO_PACKAGES=()
case "$PIN_FACTORY" in
    lgpio) GPIO_PACKAGES=(python3-lgpio) ;;
    rpigpio)
        case "$BOARD_MODEL" in
            "Raspberry Pi 5"*) die "$CONFIG: field \$.devices.pin_factory: RPi.GPIO does not drive a Pi 5's pins; use \"lgpio\" or \"auto\"" ;;
        esac
        GPIO_PACKAGES=(python3-rpi.gpio) ;;
    native) ;;
    auto)
        case "$BOARD_MODEL" in
            "Raspberry Pi 5"*|"Raspberry Pi Compute Module 5"*) GPIO_PACKAGES=(python3-lgpio) ;;
            "Raspberry Pi"*) GPIO_PACKAGES=(python3-rpi.gpio) ;;
            *) GPIO_PACKAGES=(python3-lgpio) ;;  # not known as a Pi: lgpio drives every Pi's pins
        esac ;;
    mock) die "$CONFIG: field \$.devices.pin_factory: \"mock\" is for --simulate only, not a hall node" ;;
    *) die "$CONFIG: field \$.devices.pin_factory: one of auto, lgpio, rpigpio, native, not $PIN_FACTORY" ;;
esac
echo "board: ${BOARD_MODEL:-unknown}; GPIO pin factory $PIN_FACTORY: ${GPIO_PACKAGES[*]:-no package}"

echo "== packages"
# espeak-ng: the display board's voice without the internet (Mandarin, edge.voice)
# fonts-noto-cjk: the Chinese font embedded in the PDF notices (edge.pages.notices_pdf) and the screens' glyphs
PACKAGES=(python3-venv curl fake-hwclock systemd-timesyncd espeak-ng fonts-noto-cjk "${GPIO_PACKAGES[@]}")
if [ "$SCREEN" != none ]; then
    PACKAGES+=(cage chromium)
fi
run apt-get update
run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"

echo "== users"
run groupadd -f --system gpio
run groupadd -f --system dialout
if ! id onestop >/dev/null 2>&1; then
    run useradd --system --home-dir /var/lib/onestop --shell /usr/sbin/nologin --user-group onestop
fi
run usermod -a -G dialout,gpio onestop
if [ "$SCREEN" != none ]; then
    if ! id onestop-screen >/dev/null 2>&1; then
        run useradd --system --create-home --home-dir /var/lib/onestop-screen --shell /usr/sbin/nologin \
            --user-group onestop-screen
    fi
    run usermod -a -G video,render,input onestop-screen
fi

echo "== python environment (onestop[edge] only)"
run install -d -m 0755 "$PREFIX"
# the apt GPIO library (python3-lgpio / python3-rpi.gpio) is seen from the venv: gpiozero uses it
run python3 -m venv --system-site-packages "$PREFIX/venv"
run "$PREFIX/venv/bin/pip" install --quiet --upgrade pip
run "$PREFIX/venv/bin/pip" install --quiet "${SOURCE}[edge]"
run install -d -m 0755 "$PREFIX/src/docs"
run install -m 0644 "$SOURCE/docs/operations.md" "$PREFIX/src/docs/operations.md"

echo "== configuration"
run install -d -m 0750 -o root -g onestop "$ETC"
run install -m 0640 -o root -g onestop "$CONFIG" "$ETC/hall.toml"
if [ "$DRY" = 1 ]; then
    echo "+ write $ETC/screen.env: ONESTOP_URL=http://127.0.0.1:$PORT"
else
    printf 'ONESTOP_URL=http://127.0.0.1:%s\n' "$PORT" >"$ETC/screen.env"
fi

echo "== system: units, udev rule, logs, clock"
run install -m 0644 "$DEPLOY/onestop-edge.service" /etc/systemd/system/onestop-edge.service
run install -m 0644 "$DEPLOY/onestop-kiosk.service" /etc/systemd/system/onestop-kiosk.service
run install -m 0644 "$DEPLOY/onestop-display.service" /etc/systemd/system/onestop-display.service
run install -m 0644 "$DEPLOY/99-onestop-readers.rules" /etc/udev/rules.d/99-onestop-readers.rules
run install -d -m 0755 /etc/systemd/journald.conf.d
run install -m 0644 "$DEPLOY/journald-onestop.conf" /etc/systemd/journald.conf.d/onestop.conf
run udevadm control --reload-rules
run udevadm trigger --subsystem-match=tty
run systemctl restart systemd-journald
run systemctl enable --now systemd-timesyncd fake-hwclock
run systemctl daemon-reload

echo "== start"
run systemctl enable onestop-edge
run systemctl restart onestop-edge
for s in kiosk display; do
    if [ "$SCREEN" = "$s" ]; then
        run systemctl enable onestop-$s
        run systemctl restart onestop-$s
    else
        run systemctl disable --now onestop-$s
    fi
done
if [ "$SCREEN" != none ]; then
    run systemctl set-default graphical.target
fi

echo "== doctor"
# exit 1 from the doctor says what to fix; the node is installed either way
run runuser -u onestop -- "$PREFIX/venv/bin/onestop-edge" doctor --config "$ETC/hall.toml" --data-dir "$DATA" \
    || echo "install.sh: the doctor found problems (above); fix them and run: sudo -u onestop $PREFIX/venv/bin/onestop-edge doctor --config $ETC/hall.toml --data-dir $DATA"
echo "installed: the node serves on port $PORT (journalctl -u onestop-edge -f)"
