#!/usr/bin/env bash
# Rebuild the vendored report fonts (reports/fonts/NSI-Sans-{Regular,Bold}.otf) from Debian's
# Noto Sans CJK (face 2 of the TTC = Simplified Chinese). The subset is GB2312 + ASCII + CJK and
# full-width punctuation + every character of the reference data, methodology, templates and
# generator tables, so no report text can fall back to a system font. Run from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { apt-get update -qq; apt-get install -y -qq --no-install-recommends fonts-noto-cjk fontconfig; }
mkdir -p reports/fonts
.venv/bin/python - <<'PY' > reports/fonts/charset.txt
import pathlib
chars = {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0x3000, 0x3040)}
chars |= {chr(c) for c in range(0xFF01, 0xFF5F)} | {chr(c) for c in range(0xFFE0, 0xFFE7)}
chars |= set("–—‘’“”…·•℃№‰※→←↑↓▲▼●○■□±×÷≤≥≈≠∑Δ‖堃喆昇珺")
for lead in range(0xA1, 0xF8):
    for trail in range(0xA1, 0xFF):
        try:
            chars.add(bytes([lead, trail]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
sources = [*pathlib.Path("data/reference").glob("*"), *pathlib.Path("nsi").rglob("*.py"),
           *pathlib.Path("indicators").rglob("*.yaml"), *pathlib.Path("reports/templates").glob("*")]
for path in sources:
    chars |= {c for c in path.read_text(encoding="utf-8") if ord(c) > 0x7F}
print("".join(sorted(c for c in chars if c.isprintable() or c == "\u3000")), end="")
PY
for weight in Regular Bold; do
  ttc=$(fc-match -f '%{file}' "Noto Sans CJK SC:${weight,,}")
  .venv/bin/pyftsubset "$ttc" --font-number=2 --text-file=reports/fonts/charset.txt --layout-features='*' \
    --name-IDs='*' --notdef-outline --output-file="reports/fonts/NSI-Sans-${weight}.otf"
done
copyright=/usr/share/doc/fonts-noto-cjk/copyright
{ echo "Noto Sans CJK SC, subset for the Nanjing Safety Index reports."; echo;
  sed -n '/^Copyright/,$p' "$copyright" 2>/dev/null || cat "$copyright"; } > reports/fonts/OFL.txt
ls -l reports/fonts
