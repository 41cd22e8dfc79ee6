#!/usr/bin/env bash
# Set everything up, write the sample exports (fixed seed, so the same on every machine) and run the
# monthly pipeline on them. Outputs land under $NSI_DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
FROM=${FROM:-2024-01}
TO=${TO:-2024-03}
.venv/bin/nsi sample --from "$FROM" --to "$TO" --scale "${SCALE:-0.01}"
.venv/bin/nsi run "$FROM" --to "$TO"
