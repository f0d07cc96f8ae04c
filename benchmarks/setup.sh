#!/usr/bin/env bash
# Install the benchmark's optional peers into the active Python environment.
#
#   bash benchmarks/setup.sh
#
# numbalsoda has no wheel for every Python and builds from source with gfortran:
# gfortran is installed with apt-get when missing (as root, or via sudo). A peer
# that cannot be installed is skipped with a line saying why; the suite then
# reports it as missing.
set -u
cd "$(dirname "$0")/.."

if ! command -v gfortran >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }; then
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq gfortran >/dev/null \
            || echo "setup: could not install gfortran with apt-get; numbalsoda will be skipped"
    else
        echo "setup: gfortran missing and apt-get not usable here; numbalsoda will be skipped"
    fi
fi

if python -m pip install -e ".[bench]"; then
    echo "setup: benchmark extra installed (numbalsoda, jax, diffrax)"
    exit 0
fi
echo "setup: installing the bench extra as a whole failed; trying each peer alone"
python -m pip install "numbalsoda>=0.3.4" \
    || echo "setup: numbalsoda not installed (it builds from source and needs gfortran); the suite reports it missing"
python -m pip install "jax>=0.4.30" "diffrax>=0.6" \
    || echo "setup: jax/diffrax not installed (no wheel for this platform?); the suite reports diffrax missing"
exit 0
