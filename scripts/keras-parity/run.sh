#!/bin/sh
# Keras parity, end to end: Keras writes the files and its outputs, tl-kit loads them and compares.
# Usage (from the repository root, with a Python that has keras 3, tensorflow and h5py):
#   sh scripts/keras-parity/run.sh [OUT_DIR] [PYTHON]
set -e
OUT="${1:-/tmp/keras-parity}"
PYTHON="${2:-python3}"
"$PYTHON" scripts/keras-parity/make_keras_files.py --out "$OUT"
KERAS_PARITY_DIR="$OUT" npx vitest run test/keras/parity.test.ts
