#!/usr/bin/env bash
# Rebuild the vendored report fonts reports/fonts/NSI-Sans-{Regular,Bold}.otf: static CFF subsets of
# Debian's Noto Sans CJK (bookworm fonts-noto-cjk, face 2 of the TTC = Simplified Chinese), loaded by
# @font-face in reports/templates/briefing.css so WeasyPrint never falls back to a system font.
#
# Character set: all of GB2312 + printable ASCII + U+3000-303F + U+FF00-FFEF + a list of punctuation
# and symbols + every non-ASCII character in data/reference/**, nsi/**/*.py, the report templates and
# the methodology YAML (the text the briefings can contain) + the guard characters 堃喆昇珺.
# Requested characters the source font lacks (unassigned code points) are left out of charset.txt
# and listed on stderr. Each font must stay under 4.5 MB; otherwise the half-width katakana/hangul
# part of U+FF00-FFEF is dropped (full-width ASCII U+FF01-FF5E and U+FFE0-FFE6 are kept).
#
# Writes reports/fonts/{NSI-Sans-Regular.otf,NSI-Sans-Bold.otf,charset.txt,OFL.txt}.
# Run from the repo root (as root, or with fonts-noto-cjk and fontconfig already installed).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! dpkg -s fonts-noto-cjk >/dev/null 2>&1 || ! command -v fc-match >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends fonts-noto-cjk fontconfig
fi

PY=.venv/bin/python
OUT=reports/fonts
LIMIT=$((4500 * 1000))   # 4.5 MB
mkdir -p "$OUT"
REGULAR=$(fc-match -f '%{file}' 'Noto Sans CJK SC:regular')
BOLD=$(fc-match -f '%{file}' 'Noto Sans CJK SC:bold')
case "$REGULAR $BOLD" in
  *NotoSansCJK-Regular.ttc*NotoSansCJK-Bold.ttc) ;;
  *) echo "fc-match did not find the Noto Sans CJK TTCs (got: $REGULAR, $BOLD)" >&2; exit 1 ;;
esac

# Writes $OUT/charset.txt (one line, sorted by code point, no newline): the requested characters
# that both source faces map. $1 = 1 to drop the half-width katakana/hangul forms.
write_charset() {
  "$PY" - "$REGULAR" "$BOLD" "$1" <<'PY'
import pathlib
import sys

from fontTools.ttLib import TTFont

regular, bold, drop_halfwidth = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
chars = {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0x3000, 0x3040)}
if drop_halfwidth:
    chars |= {chr(c) for c in range(0xFF01, 0xFF5F)} | {chr(c) for c in range(0xFFE0, 0xFFE7)}
else:
    chars |= {chr(c) for c in range(0xFF00, 0xFFF0)}
chars |= set("–—‘’“”…·•℃№‰※→←↑↓▲▼●○■□±×÷≤≥≈≠∑Δ‖")
chars |= set("堃喆昇珺")
for lead in range(0xA1, 0xF8):
    for trail in range(0xA1, 0xFF):
        try:
            chars.add(bytes([lead, trail]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
sources = [*pathlib.Path("data/reference").rglob("*"), *pathlib.Path("nsi").rglob("*.py"),
           *pathlib.Path("reports/templates").rglob("*"), *pathlib.Path("indicators/methodology").rglob("*.yaml")]
for path in sorted(sources):
    if path.is_file():
        chars |= {c for c in path.read_text(encoding="utf-8") if ord(c) > 0x7F}
covered = None
for path in (regular, bold):
    cmap = set(TTFont(path, fontNumber=2, lazy=True).getBestCmap())
    covered = cmap if covered is None else covered & cmap
missing = sorted(c for c in chars if ord(c) not in covered)
if missing:
    print("not in the source font, left out: " + " ".join(f"U+{ord(c):04X}" for c in missing), file=sys.stderr)
used = sorted(c for c in chars if ord(c) in covered)
pathlib.Path("reports/fonts/charset.txt").write_text("".join(used), encoding="utf-8")
print(f"charset: {len(used)} characters ({len(chars)} requested, {len(missing)} not in the source font)")
PY
}

subset() {
  for weight in Regular Bold; do
    if [ "$weight" = Regular ]; then ttc=$REGULAR; else ttc=$BOLD; fi
    .venv/bin/pyftsubset "$ttc" --font-number=2 --text-file="$OUT/charset.txt" --layout-features='*' \
      --name-IDs='*' --notdef-outline --output-file="$OUT/NSI-Sans-$weight.otf"
  done
}

too_big() {
  for weight in Regular Bold; do
    [ "$(stat -c %s "$OUT/NSI-Sans-$weight.otf")" -lt "$LIMIT" ] || return 0
  done
  return 1
}

write_charset 0
subset
if too_big; then
  echo "a font is over 4.5 MB: dropping the half-width katakana/hangul forms" >&2
  write_charset 1
  subset
  if too_big; then echo "still over 4.5 MB" >&2; exit 1; fi
fi

# Licence: the upstream copyright line (Reserved Font Name "Source", which our names do not use),
# then the full OFL 1.1 text as Debian ships it in the package's copyright file (un-indented).
{
  echo "NSI-Sans-Regular.otf and NSI-Sans-Bold.otf are subsets of Noto Sans CJK SC (Debian fonts-noto-cjk"
  echo "$(dpkg-query -W -f '${Version}' fonts-noto-cjk)), built by scripts/build_fonts.sh. They are Modified Versions"
  echo "of the Font Software and are distributed under the SIL Open Font License, Version 1.1, below."
  echo
  echo "Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'."
  echo
  echo "This Font Software is licensed under the SIL Open Font License, Version 1.1."
  echo "This license is copied below, and is also available with a FAQ at: https://openfontlicense.org"
  echo
  awk -v RS= '/^License: SIL-1.1\n/ {n = split($0, line, "\n")
       for (i = 2; i <= n; i++) {t = line[i]; sub(/^ /, "", t); if (t == ".") t = ""; print t}}' \
    /usr/share/doc/fonts-noto-cjk/copyright
} > "$OUT/OFL.txt"
grep -q "SIL OPEN FONT LICENSE Version 1.1" "$OUT/OFL.txt" || { echo "OFL text not found" >&2; exit 1; }

ls -l "$OUT"
for weight in Regular Bold; do
  echo "NSI-Sans-$weight.otf: $(stat -c %s "$OUT/NSI-Sans-$weight.otf") bytes"
done
