#!/bin/sh
# Keras parity, end to end: Keras writes the files and its outputs, tl-kit loads them and compares.
# Usage (from the repository root, with a Python that has keras 3, tensorflow and h5py):
#   sh scripts/keras-parity/run.sh [OUT_DIR] [PYTHON]
set -e
OUT="${1:-/tmp/keras-parity}"
PYTHON="${2:-python3}"
# KERAS_PARITY_ONLY=a,b restricts both steps to those models.
if [ -n "$KERAS_PARITY_ONLY" ]; then
  "$PYTHON" scripts/keras-parity/make_keras_files.py --out "$OUT" --only $(echo "$KERAS_PARITY_ONLY" | tr ',' ' ')
else
  "$PYTHON" scripts/keras-parity/make_keras_files.py --out "$OUT"
fi
KERAS_PARITY_DIR="$OUT" npx vitest run test/keras/parity.test.ts
