"""The live operations page: one self-contained HTML document, no external assets.

It fetches ``dashboard.json`` beside itself every few seconds and redraws. Every value
is written with ``textContent``, never parsed as HTML, and the server forbids any other
origin (Content-Security-Policy), so a hostile reason code or agreement id in the data
cannot run in an operator's browser. Figures carry stable ids and ``data-*`` attributes
so a test (or a person with the inspector) can find them.
"""

from __future__ import annotations

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Corridor operations</title>
<style>
  :root { --bg:#f6f7f9; --card:#fff; --ink:#1d2530; --muted:#667085; --line:#e4e7ec;
          --ok:#12b76a; --warn:#f79009; --bad:#d92d20; --bar:#2e90fa; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
         background:var(--bg); color:var(--ink); }
  header { display:flex; align-items:center; gap:12px; padding:14px 24px;
           background:#101828; color:#fff; }
  header h1 { font-size:18px; margin:0; font-weight:600; }
  header .meta { margin-left:auto; font-size:12px; color:#d0d5dd; }
  .dot { width:10px; height:10px; border-radius:50%; background:var(--muted); }
  .dot.ok { background:var(--ok); } .dot.stale { background:var(--warn); }
  .dot.error { background:var(--bad); }
  main { padding:16px 24px 32px; display:grid; gap:16px;
         grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); }
  .kpis { grid-column:1/-1; display:grid; gap:12px;
          grid-template-columns:repeat(auto-fit,minmax(140px,1fr)); }
  .kpi, section { background:var(--card); border:1px solid var(--line); border-radius:8px; }
  .kpi { padding:12px 14px; }
  .kpi .label { color:var(--muted); font-size:12px; }
  .kpi .value { font-size:26px; font-weight:600; font-variant-numeric:tabular-nums; }
  .kpi.alarm .value { color:var(--bad); }
  section { padding:12px 14px; overflow-x:auto; }
  section.wide { grid-column:1/-1; }
  h2 { font-size:14px; margin:0 0 8px; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th, td { padding:5px 8px; border-bottom:1px solid var(--line); text-align:left;
           white-space:nowrap; }
  th { color:var(--muted); font-weight:500; font-size:12px; }
  td.num, th.num { text-align:right; }
  td.bar { width:35%; } .bar span { display:block; height:8px; border-radius:4px;
           background:var(--bar); }
  .tag { padding:1px 6px; border-radius:10px; font-size:11px; background:#f2f4f7; }
  .tag.bad { background:#fee4e2; color:#b42318; } .tag.ok { background:#d1fadf; color:#027a48; }
  .empty { color:var(--muted); font-style:italic; }
  #error { grid-column:1/-1; color:var(--bad); display:none; }
</style>
</head>
<body data-refresh-ms="__REFRESH_MS__">
<header>
  <span id="state" class="dot"></span>
  <h1>Corridor operations</h1>
  <span class="meta">data as of <span id="generated-at">-</span>,
    refreshed every <span id="refresh-seconds">-</span>s</span>
</header>
<main>
  <div id="error"></div>
  <div class="kpis">
    <div class="kpi"><div class="label">delivered, last minute</div>
      <div class="value" id="kpi-delivered-minute">-</div></div>
    <div class="kpi"><div class="label">delivered, last hour</div>
      <div class="value" id="kpi-delivered-hour">-</div></div>
    <div class="kpi"><div class="label">denied, last hour</div>
      <div class="value" id="kpi-denied-hour">-</div></div>
    <div class="kpi" id="kpi-dead-card"><div class="label">dead letters, last hour</div>
      <div class="value" id="kpi-dead-hour">-</div></div>
    <div class="kpi"><div class="label">consumer lag (records)</div>
      <div class="value" id="kpi-lag">-</div></div>
    <div class="kpi" id="kpi-workers-card"><div class="label">processor workers alive</div>
      <div class="value" id="kpi-workers">-</div></div>
    <div class="kpi"><div class="label">brokers</div>
      <div class="value" id="kpi-brokers">-</div></div>
    <div class="kpi" id="kpi-overdue-card"><div class="label">overdue acknowledgements</div>
      <div class="value" id="kpi-overdue">-</div></div>
  </div>
  <section><h2>Throughput per corridor</h2><table id="corridors"></table></section>
  <section><h2>Delivered per recipient agency</h2><table id="agencies"></table></section>
  <section><h2>Decisions, last hour</h2><table id="decisions"></table></section>
  <section><h2>Dead letters by reason</h2><table id="dead-letters"></table></section>
  <section class="wide"><h2>Consumer lag</h2><table id="lag"></table></section>
  <section class="wide"><h2>Agreement follow-up</h2><table id="agreements"></table></section>
</main>
<script>
"use strict";
const REFRESH_MS = Number(document.body.dataset.refreshMs) || 5000;
document.getElementById("refresh-seconds").textContent = String(REFRESH_MS / 1000);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function setText(id, value) { document.getElementById(id).textContent = String(value); }
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  let s = Math.round(seconds);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return d + "d" + String(h).padStart(2, "0") + "h";
  if (h) return h + "h" + String(m).padStart(2, "0") + "m";
  if (m) return m + "m" + String(s).padStart(2, "0") + "s";
  return s + "s";
}
/* columns: [header, key or function, kind] with kind "num", "bar" or "text" */
function fill(id, columns, rows, rowKey) {
  const table = document.getElementById(id);
  table.replaceChildren();
  if (!rows.length) {
    const tr = el("tr"); const td = el("td", "nothing yet", "empty");
    td.colSpan = columns.length; tr.append(td); table.append(tr); return;
  }
  const head = el("tr");
  for (const [title, , kind] of columns) head.append(el("th", title, kind === "num" ? "num" : ""));
  table.append(head);
  for (const row of rows) {
    const tr = el("tr");
    tr.dataset.row = rowKey(row);
    for (const [title, get, kind, max] of columns) {
      const value = typeof get === "function" ? get(row) : row[get];
      if (kind === "bar") {
        const td = el("td", null, "bar"); const span = el("span");
        span.style.width = (max && value ? Math.max(1, Math.round(100 * value / max)) : 0) + "%";
        td.append(span); tr.append(td); continue;
      }
      const td = el("td", value === null || value === undefined ? "-" : value,
                    kind === "num" ? "num" : "");
      td.dataset.col = title;
      tr.append(td);
    }
    table.append(tr);
  }
}
function tag(text, cls) { const span = el("span", text, "tag " + (cls || "")); return span; }

function render(data) {
  const s = data.status;
  const t = s.totals;
  setText("generated-at", data.generated_at || "-");
  setText("kpi-delivered-minute", t.delivered_last_minute);
  setText("kpi-delivered-hour", t.delivered_last_hour);
  setText("kpi-denied-hour", t.denied_last_hour);
  setText("kpi-dead-hour", t.dead_letters_last_hour);
  setText("kpi-lag", t.lag);
  setText("kpi-workers", s.workers.members);
  setText("kpi-brokers", s.brokers);
  const agreements = data.agreements || [];
  const overdue = agreements.reduce((n, a) => n + a.overdue, 0);
  setText("kpi-overdue", overdue);
  document.getElementById("kpi-overdue-card").classList.toggle("alarm", overdue > 0);
  document.getElementById("kpi-dead-card").classList.toggle("alarm", t.dead_letters_last_hour > 0);
  document.getElementById("kpi-workers-card").classList.toggle("alarm", s.workers.members === 0);
  const maxHour = Math.max(1, ...s.corridors.map(c => c.delivered_last_hour));
  fill("corridors", [
    ["corridor", "corridor", "text"],
    ["1 min", "delivered_last_minute", "num"],
    ["1 hour", "delivered_last_hour", "num"],
    ["", "delivered_last_hour", "bar", maxHour],
    ["denied 1 hour", "denied_last_hour", "num"],
  ], s.corridors, r => r.corridor);
  fill("agencies", [
    ["agency", "agency", "text"],
    ["1 min", "delivered_last_minute", "num"],
    ["1 hour", "delivered_last_hour", "num"],
  ], s.agencies, r => r.agency);
  fill("decisions", [
    ["outcome", "outcome", "text"], ["reason", "reason", "text"], ["count", "last_hour", "num"],
  ], s.decisions, r => r.outcome + ":" + r.reason);
  fill("dead-letters", [
    ["reason", "reason", "text"], ["last hour", "last_hour", "num"], ["total", "total", "num"],
  ], s.dead_letters, r => r.reason);
  fill("lag", [
    ["topic", "topic", "text"], ["group", "group", "text"], ["lag", "lag", "num"],
  ], s.lag, r => r.topic);
  fill("agreements", [
    ["agreement", "agreement", "text"],
    ["status", "status", "text"],
    ["exchanges", "exchanges", "num"],
    ["ack rate", r => r.ack_rate === null ? "-" : Math.round(100 * r.ack_rate) + "%", "num"],
    ["median ack", r => duration(r.median_ack_seconds), "num"],
    ["overdue", "overdue", "num"],
    ["last exchange", r => r.last_exchange ? r.last_exchange.replace("T", " ").slice(0, 16) : "-",
     "text"],
    ["dormant", r => r.dormant ? "DORMANT" : "", "text"],
  ], agreements, r => r.agreement);
  document.querySelectorAll('#agreements td[data-col="dormant"]').forEach(td => {
    if (td.textContent) { const text = td.textContent; td.textContent = "";
                          td.append(tag(text, "bad")); }
  });
  const state = document.getElementById("state");
  state.className = "dot " + (data.stale ? "stale" : "ok");
  const error = document.getElementById("error");
  error.style.display = data.error ? "block" : "none";
  error.textContent = data.error ? "last refresh failed: " + data.error : "";
}

async function refresh() {
  try {
    const response = await fetch("dashboard.json", {cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json());
  } catch (err) {
    document.getElementById("state").className = "dot error";
    const error = document.getElementById("error");
    error.style.display = "block";
    error.textContent = "cannot reach the server: " + err.message;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
</script>
</body>
</html>
"""


def render_page(refresh_seconds: float = 5.0) -> str:
    """The page, set to refresh every ``refresh_seconds``."""
    return PAGE.replace("__REFRESH_MS__", str(max(500, round(refresh_seconds * 1000))))
