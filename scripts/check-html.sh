#!/usr/bin/env bash
# Renders a report to HTML and loads it in headless Chromium: takes a screenshot, dumps
# the DOM after scripts ran, and checks the charts and tables are there.
#
#   scripts/check-html.sh <int8attn-bench> <report.json> [out_dir]
#   scripts/check-html.sh --html <page.html> [out_dir]       (an already rendered page)
#
# Exit 0 ok, 1 a check failed, 2 usage, 77 Chromium is not installed (CTest: skipped).
set -euo pipefail

usage() { echo "usage: $0 <int8attn-bench> <report.json> [out_dir] | --html <page.html> [out_dir]" >&2; exit 2; }
[ $# -ge 2 ] || usage

chromium=""
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$candidate" >/dev/null 2>&1; then chromium=$(command -v "$candidate"); break; fi
done
if [ -z "$chromium" ]; then
  echo "SKIP: no chromium in PATH (apt-get install -y chromium)"
  exit 77
fi

out_dir=${3:-$(mktemp -d)}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
html="$out_dir/report.html"
if [ "$1" = "--html" ]; then
  cp "$2" "$html"
else
  "$1" report "$2" --format html >"$html"
fi

flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions
       --user-data-dir="$out_dir/chromium-profile")
# Chromium logs harmless dbus/GPU noise on stderr; keep it out of the way.
timeout 120 "$chromium" "${flags[@]}" --screenshot="$out_dir/report.png" --window-size=1400,2400 \
  "file://$html" 2>"$out_dir/chromium-screenshot.log" || true
timeout 120 "$chromium" "${flags[@]}" --dump-dom "file://$html" >"$out_dir/dom.html" \
  2>"$out_dir/chromium-dom.log" || true

failures=0
check() {  # check <description> <condition command...>
  local what=$1; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; failures=$((failures + 1)); fi
}
count() { grep -o "$1" "$2" | wc -l; }

svg_in_page=$(count '<svg ' "$html")
svg_in_dom=$(count '<svg ' "$out_dir/dom.html")
groups=$(count 'id="chart-rel-l2-' "$out_dir/dom.html")
check "the DOM dump is not empty" test -s "$out_dir/dom.html"
check "every <svg> of the page is in the DOM ($svg_in_dom of $svg_in_page)" test "$svg_in_dom" -eq "$svg_in_page"
check "at least one chart group ($groups)" test "$groups" -ge 1
# A report without latencies (the CPU backend) draws only the accuracy charts.
if grep -q 'id="chart-latency-' "$html"; then timed="latency tops speedup"; untimed=""; else timed=""; untimed="latency tops speedup"; fi
for kind in $timed rel-l2 max-abs; do
  n=$(count "id=\"chart-$kind-" "$out_dir/dom.html")
  check "one $kind chart per group ($n)" test "$n" -eq "$groups"
done
for kind in $untimed; do
  check "no $kind chart in a report without latencies" bash -c "! grep -q 'id=\"chart-$kind-' '$out_dir/dom.html'"
done
check "no chart says 'no data'" bash -c "! grep -q '>no data<' '$out_dir/dom.html'"
position() { grep -bo "$1" "$out_dir/dom.html" | head -1 | cut -d: -f1; }
check "the verdict, then the decision grid, then the charts" \
  test "$(position 'id="verdict"')" -lt "$(position 'id="fallback"')" -a "$(position 'id="fallback"')" -lt "$(position 'id="charts"')"
check "one verdict line per INT8 kernel" grep -q '<li>int8-fa: ' "$out_dir/dom.html"
check "a fallback decision grid" grep -q 'id="fallback-' "$out_dir/dom.html"
check "the results table" grep -q 'id="results-table"' "$out_dir/dom.html"
check "the environment table" grep -q 'id="environment"' "$out_dir/dom.html"
check "no external resources" bash -c "! grep -Eq '<link|src=\"https?:|@import' '$html'"
check "a screenshot" test -s "$out_dir/report.png"
if [ -s "$out_dir/report.png" ]; then
  check "the screenshot is 1400 px wide" bash -c \
    "python3 -c 'import struct,sys; d=open(sys.argv[1],\"rb\").read(24); sys.exit(struct.unpack(\">I\", d[16:20])[0] != 1400)' '$out_dir/report.png'"
fi
echo "page: $html"
echo "screenshot: $out_dir/report.png"
echo "dom: $out_dir/dom.html"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
