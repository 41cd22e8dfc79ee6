#!/usr/bin/env bash
# Set everything up, write the sample exports (fixed seed, so the same on every machine) and run the
# monthly pipeline on them. Outputs land under $NSI_DATA_DIR (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Thirteen months, so the briefing has its trend, its change on last year and early warnings; the
# twelve months before are computed without briefings, the last month gets them.
.venv/bin/nsi sample --from 2023-03 --to 2024-03 --scale "${SCALE:-0.01}"
.venv/bin/nsi run 2023-03 --to 2024-02 --stage ingest --stage index
.venv/bin/nsi run 2024-03
# Delivery to the example offices: with no mail server configured, the messages go to the outbox only.
env -u NSI_SMTP_HOST NSI_RECIPIENTS="${NSI_RECIPIENTS:-config/recipients.example.yaml}" .venv/bin/nsi deliver 2024-03
echo "briefings: ${NSI_DATA_DIR:-data}/out/2024-03/reports/*.pdf (320100.pdf is the city overview)"
echo "messages:  ${NSI_DATA_DIR:-data}/out/2024-03/outbox/<code>/*.eml"
echo "audit:     .venv/bin/nsi verify --from 2023-03 --to 2024-03   (every month rebuilt from the archive and compared)"
