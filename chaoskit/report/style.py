"""The page's inline stylesheet and script: no CDN, no fonts to fetch, opens offline."""

from __future__ import annotations

VERDICT_COLORS = {
    "passed": "#1a7f37",
    "deviated": "#cf222e",
    "aborted": "#a40e26",
    "not_steady": "#bc4c00",
    "error": "#8250df",
    "interrupted": "#57606a",
}

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa;
  --ok: #1a7f37; --bad: #cf222e; --fault: #fb8500; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial,
  sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 0 28px 48px; }
header.verdict { color: #fff; background: var(--verdict); padding: 26px 0 22px; }
header.verdict .inner { max-width: 1180px; margin: 0 auto; padding: 0 28px; }
.badge { display: inline-block; font-size: 13px; font-weight: 700; letter-spacing: .12em;
  text-transform: uppercase; background: rgba(255,255,255,.2); border-radius: 999px;
  padding: 3px 12px; }
.verdict-word { font-size: 44px; font-weight: 800; letter-spacing: .02em; margin: 6px 0 0;
  line-height: 1.1; text-transform: uppercase; }
h1 { font-size: 22px; font-weight: 600; margin: 6px 0 4px; }
header .description { margin: 0; opacity: .9; }
header ul.reasons { margin: 12px 0 0; padding-left: 20px; }
header ul.reasons li { margin: 2px 0; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
  gap: 12px 24px; margin: 22px 0 8px; padding: 16px 20px; background: var(--soft);
  border: 1px solid var(--line); border-radius: 10px; }
dl.facts div { min-width: 0; }
dl.facts dt { font-size: 12px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .06em; }
dl.facts dd { margin: 2px 0 0; font-weight: 600; overflow-wrap: anywhere; }
dl.facts dd.big { font-size: 22px; }
dl.facts dd.warn { color: #9a4b00; }
section { margin-top: 38px; }
h2 { font-size: 18px; margin: 0 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
p.note, p.empty { color: var(--muted); margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px;
  border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em;
  background: var(--soft); }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.mark { display: inline-block; min-width: 54px; font-weight: 700; font-size: 12px;
  border-radius: 4px; padding: 1px 6px; margin-left: 6px; text-align: center; }
.mark.ok { color: var(--ok); background: #dafbe1; }
.mark.failed { color: var(--bad); background: #ffebe9; }
.mark.none { color: var(--muted); background: var(--soft); }
.reading { display: block; white-space: nowrap; }
.detail { display: block; color: var(--muted); font-size: 12px; white-space: normal; }
code.target { display: block; white-space: nowrap; }
dd code { font-weight: 500; font-size: 13px; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; overflow: auto; }
details summary { cursor: pointer; color: var(--muted); }
.chart-wrap { position: relative; border: 1px solid var(--line); border-radius: 10px;
  padding: 10px 8px 4px; }
svg.timeline { width: 100%; height: auto; display: block; font-size: 11px;
  font-family: inherit; }
svg .grid { stroke: #eaeef2; }
svg .frame { fill: none; stroke: var(--line); }
svg .tick, svg .axis text { fill: var(--muted); }
svg .axis line { stroke: var(--muted); }
svg .panel-title { font-size: 12.5px; font-weight: 600; fill: var(--fg); }
svg .series { fill: none; stroke-width: 1.8; stroke-linejoin: round; }
svg .area { opacity: .12; }
svg .tolerance { stroke: var(--bad); stroke-dasharray: 5 4; stroke-width: 1.2; }
svg .tolerance-label { fill: var(--bad); font-weight: 600; }
svg .fault-window { fill: var(--fault); opacity: .15; }
svg .fault text { fill: #9a4b00; font-weight: 700; }
svg .recovered line { stroke: var(--ok); stroke-width: 1.5; stroke-dasharray: 6 3; }
svg .recovered text { fill: var(--ok); font-weight: 700; }
svg .phase line { stroke: #8c959f; stroke-dasharray: 2 3; }
svg .phase text { fill: #424a53; font-weight: 600; }
svg circle.reading { stroke: #fff; stroke-width: 1.5; }
svg circle.reading.ok { fill: var(--ok); }
svg circle.reading.failed { fill: var(--bad); }
svg .series.control { stroke-dasharray: 6 4; stroke-width: 1.6; }
svg .series.all { opacity: .4; stroke-width: 1.2; }
svg .panel-legend text { fill: var(--muted); }
svg .panel-legend line { stroke-width: 2; }
svg circle.reading.control { fill: #fff; stroke-width: 2; }
svg circle.reading.control.ok { stroke: var(--ok); }
svg circle.reading.control.failed { stroke: var(--bad); }
svg .cursor line { stroke: var(--fg); stroke-width: 1; opacity: .5; }
.legend { display: flex; flex-wrap: wrap; gap: 18px; font-size: 13px; color: var(--muted);
  margin: 8px 4px 0; }
.legend i { display: inline-block; width: 14px; height: 10px; margin-right: 6px;
  vertical-align: baseline; border-radius: 2px; }
.legend i.line { height: 0; border-radius: 0; border-top: 2px solid #1f2328;
  vertical-align: middle; }
.legend i.line.control { border-top: 2px dashed #57606a; }
.legend i.line.all { opacity: .4; }
.versus { color: var(--muted); }
.reading.compared { white-space: normal; }
#tip { position: absolute; pointer-events: none; background: #1f2328; color: #fff;
  font-size: 12px; padding: 6px 9px; border-radius: 6px; white-space: nowrap; display: none; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media print { header.verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
"""

# Hover read-out for the server-drawn chart. Sets data-chart-ready on <body> once
# wired, which the headless-browser test checks (proof the script ran cleanly).
JS = """
(function () {
  var svg = document.querySelector("svg.timeline");
  var data = document.getElementById("series-data");
  if (!svg || !data) { document.body.dataset.chartReady = "no-data"; return; }
  var points = JSON.parse(data.textContent);
  var tip = document.getElementById("tip");
  var wrap = svg.parentNode;
  var cursor = svg.querySelector(".cursor");
  var line = cursor.querySelector("line");
  var left = +svg.dataset.left, right = +svg.dataset.right, width = +svg.dataset.width;
  var span = +svg.dataset.span;
  function pct(v) { return v === null ? "-" : (v * 100).toFixed(2) + "%"; }
  function ms(v) { return v === null ? "-" : Math.round(v) + " ms"; }
  svg.addEventListener("mousemove", function (ev) {
    var m = svg.getScreenCTM();
    if (!m || !points.length) { return; }
    var x = (ev.clientX - m.e) / m.a;
    var t = (x - left) / (width - left - right) * span;
    var best = points[0];
    for (var i = 1; i < points.length; i++) {
      if (Math.abs(points[i][0] - t) < Math.abs(best[0] - t)) { best = points[i]; }
    }
    var bx = left + best[0] / span * (width - left - right);
    line.setAttribute("x1", bx); line.setAttribute("x2", bx);
    cursor.setAttribute("visibility", "visible");
    // A grouped run's rows carry one (rps, ok, p99) triple per group named in
    // data-groups; an ungrouped run's, one triple and no names.
    var groups = data.dataset.groups ? data.dataset.groups.split(",") : [""];
    var text = "+" + best[0].toFixed(1) + " s";
    for (var g = 0; g < groups.length; g++) {
      var at = 1 + 3 * g;
      if (best[at] === null) { continue; }
      text += " \\u00b7 " + (groups[g] ? groups[g] + " " : "") + best[at] + " rps \\u00b7 " +
        pct(best[at + 1]) + " ok \\u00b7 p99 " + ms(best[at + 2]);
    }
    tip.textContent = text;
    var box = wrap.getBoundingClientRect();
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX - box.left + 14, box.width - tip.offsetWidth - 4) + "px";
    tip.style.top = (ev.clientY - box.top + 14) + "px";
  });
  svg.addEventListener("mouseleave", function () {
    cursor.setAttribute("visibility", "hidden"); tip.style.display = "none";
  });
  document.body.dataset.chartReady = "true";
  // The headless-browser test opens report.html#selftest: hover the middle of the
  // chart once and record what the read-out said.
  if (location.hash === "#selftest") {
    var r = svg.getBoundingClientRect();
    svg.dispatchEvent(new MouseEvent("mousemove", {
      clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 }));
    document.body.dataset.hover = tip.textContent;
  }
})();
"""
