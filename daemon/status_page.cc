#include "daemon/status_page.h"

#include <array>

#include <openssl/evp.h>

namespace chronik::daemon {
namespace {

// The blocks are hashed exactly as they stand between their tags, so nothing may be added around
// them when the document is put together (status_page_test checks the two agree).
constexpr std::string_view page_style = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f5f7; }
header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
header .muted { color: #aab; }
main { padding: 12px 20px; display: grid; gap: 16px; }
section { background: #fff; border-radius: 6px; padding: 10px 14px; box-shadow: 0 1px 2px #0002; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e3e5ea; font-variant-numeric: tabular-nums; }
th { font-weight: 600; color: #556; }
.state { font-weight: 600; }
.alive, .ok { color: #17803d; }
.suspect, .draining, .under { color: #b26b00; }
.dead, .left, .bad { color: #c0262d; }
.chip { display: inline-block; padding: 0 6px; margin-right: 4px; border-radius: 9px; background: #e6e9f0; }
.chip.leader { background: #1d2330; color: #fff; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { border: 1px solid #e3e5ea; border-radius: 4px; padding: 6px; }
.chart .title { font-weight: 600; }
.legend .produce { color: #2563eb; }
.legend .fetch { color: #d97706; }
.note { color: #667; font-size: 12px; }
#error { color: #c0262d; }
form { display: flex; gap: 8px; align-items: center; }
.hidden { display: none; }
)css";

constexpr std::string_view page_script = R"js(
"use strict";
const REFRESH_MS = 5000;
const TOKEN_KEY = "chronik-admin-token";
const $ = (id) => document.getElementById(id);

// The token: from the fragment (never sent to the server, then removed from the address bar), else
// this tab's sessionStorage.
function token() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + (token() || "") }, cache: "no-store" });
  if (r.status === 401) throw Object.assign(new Error("the admin token was refused"), { auth: true });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function fill(tbody, rows) { tbody.replaceChildren(...rows); }

function bytesPerSecond(v) {
  const units = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
}

// The broker column: its state in `__meta`, and the operator's marks on it (docs/operations.md
// "Maintenance: drain" and "Decommissioning a node").
function brokerText(b) {
  if (!b) return "not registered";
  const marks = [];
  if (b.drained) marks.push("drained");
  if (b.decommission && b.decommission !== "none") marks.push("decommission " + b.decommission);
  return marks.length ? b.state + " (" + marks.join(", ") + ")" : b.state;
}

function renderMembers(members, cluster) {
  const brokers = new Map(((cluster && cluster.brokers) || []).map((b) => [b.node_id, b]));
  members.sort((a, b) => a.node_id - b.node_id);
  fill($("members-body"), members.map((m) => el("tr", { "data-node-id": m.node_id, "data-state": m.state,
                                                        "data-drained": brokers.has(m.node_id) && brokers.get(m.node_id).drained ? 1 : 0,
                                                        "data-decommission": brokers.has(m.node_id) ? brokers.get(m.node_id).decommission || "none" : "none" },
    el("td", {}, m.node_id),
    el("td", { class: "state " + m.state }, m.state),
    el("td", {}, brokerText(brokers.get(m.node_id))),
    el("td", {}, m.address),
    el("td", {}, m.kafka_addr || ""),
    el("td", {}, m.admin_addr || ""),
    el("td", {}, m.incarnation),
    el("td", {}, m.last_change),
    el("td", {}, m.version || ""))));
  $("members-count").textContent = members.filter((m) => m.state === "alive").length + " alive of " + members.length;
}

function chips(ids, leader) {
  return el("span", {}, ...ids.map((id) => el("span", { class: id === leader ? "chip leader" : "chip" }, id)));
}

function renderQuorum(c) {
  const q = $("quorum");
  q.setAttribute("data-leader", c.meta_leader);
  q.setAttribute("data-voters", c.voters.join(","));
  q.setAttribute("data-learners", c.learners.join(","));
  $("cluster-id").textContent = c.cluster_id ? "cluster " + c.cluster_id : "not in a cluster";
  fill($("quorum-body"), [
    el("tr", {}, el("th", {}, "leader"), el("td", {}, c.meta_leader ? "node " + c.meta_leader : "none known")),
    el("tr", {}, el("th", {}, "voters"), el("td", {}, chips(c.voters, c.meta_leader))),
    el("tr", {}, el("th", {}, "learners"), el("td", {}, c.learners.length ? chips(c.learners, 0) : "none")),
    el("tr", {}, el("th", {}, "term / commit / applied"), el("td", {}, c.term + " / " + c.commit + " / " + c.applied)),
    el("tr", {}, el("th", {}, "read"), el("td", {}, c.read)),
    el("tr", {}, el("th", {}, "partitions"), el("td", {}, c.partitions + " (" + c.under_replicated_partitions +
      " under-replicated, " + c.leaderless_partitions + " leaderless)")),
  ]);
}

function renderPartitions(parts, stats) {
  // High watermarks by partition and reporting node: the page shows the current leader's.
  const hw = new Map(), lags = new Map();
  for (const n of stats) {
    if (!n.ok) continue;
    for (const l of n.stats.leads) hw.set(l.topic + "/" + l.partition + "@" + n.node_id, l.high_watermark);
    for (const l of n.stats.lags) {
      const k = l.topic + "/" + l.partition;
      if (!lags.has(k)) lags.set(k, []);
      lags.get(k).push(l.group + ": " + l.lag);
    }
  }
  const showInternal = $("show-internal").checked;
  const rows = parts.filter((p) => showInternal || !p.internal).map((p) => {
    const k = p.topic + "/" + p.partition;
    const h = hw.get(k + "@" + p.leader);
    const problem = !p.leader || p.offline.includes(p.leader) ? "bad" : p.isr.length < p.replicas.length ? "under" : "ok";
    return el("tr", { "data-topic": p.topic, "data-partition": p.partition, "data-leader": p.leader,
                      "data-isr": p.isr.join(","), class: problem },
      el("td", {}, p.topic), el("td", {}, p.partition),
      el("td", {}, p.leader ? p.leader : "none"),
      el("td", {}, p.replicas.join(", ")), el("td", {}, p.isr.join(", ")),
      el("td", {}, p.offline.join(", ")),
      el("td", { "data-high-watermark": h === undefined ? "" : h }, h === undefined ? "n/a" : h),
      el("td", {}, lags.has(k) ? lags.get(k).join(", ") : ""));
  });
  fill($("partitions-body"), rows);
  $("partitions-count").textContent = rows.length + " shown of " + parts.length;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// One small chart per node: produce and fetch bytes per second over the history it keeps.
function chart(n) {
  const box = el("div", { class: "chart", "data-chart-node": n.node_id });
  box.append(el("div", { class: "title" }, "node " + n.node_id));
  if (!n.ok) {
    box.setAttribute("data-points", 0);
    box.append(el("div", { class: "bad" }, n.error));
    return box;
  }
  const pts = n.stats.rates;
  box.setAttribute("data-points", pts.length);
  const W = 300, H = 90;
  const max = Math.max(1, ...pts.map((p) => Math.max(p.produce, p.fetch)));
  const t0 = pts.length ? pts[0].t : 0, t1 = pts.length ? pts[pts.length - 1].t : 1;
  const x = (t) => (t1 > t0 ? ((t - t0) / (t1 - t0)) * W : W);
  const y = (v) => H - (v / max) * (H - 4);
  const s = svg("svg", { width: W, height: H + 16, viewBox: "0 0 " + W + " " + (H + 16), role: "img" });
  s.append(svg("rect", { x: 0, y: 0, width: W, height: H, fill: "#fafbfc", stroke: "#e3e5ea" }));
  for (const [key, color] of [["produce", "#2563eb"], ["fetch", "#d97706"]]) {
    const line = svg("polyline", { fill: "none", stroke: color, "stroke-width": 1.5,
      points: pts.map((p) => x(p.t).toFixed(1) + "," + y(p[key]).toFixed(1)).join(" ") });
    line.setAttribute("data-series", key);
    s.append(line);
  }
  const label = (tx, txt, anchor) => { const t = svg("text", { x: tx, y: H + 12, "font-size": 10, fill: "#667",
    "text-anchor": anchor }); t.textContent = txt; return t; };
  const span = (t1 - t0) / 1000;
  const ago = span >= 120 ? "-" + Math.round(span / 60) + " min" : "-" + Math.round(span) + " s";
  s.append(label(0, pts.length ? ago : "no samples yet", "start"), label(W, "now", "end"));
  const top = svg("text", { x: 4, y: 11, "font-size": 10, fill: "#667" });
  top.textContent = "max " + bytesPerSecond(max);
  s.append(top);
  box.append(s);
  const last = pts.length ? pts[pts.length - 1] : { produce: 0, fetch: 0 };
  box.append(el("div", { class: "legend" }, el("span", { class: "produce" }, "produce " + bytesPerSecond(last.produce)),
    " · ", el("span", { class: "fetch" }, "fetch " + bytesPerSecond(last.fetch))));
  return box;
}

function renderCharts(stats) {
  $("charts").replaceChildren(...stats.slice().sort((a, b) => a.node_id - b.node_id).map(chart));
}

let partsCache = null, statsCache = [];
async function refresh() {
  if (!token()) { showLogin(""); return; }
  const [members, cluster, parts, stats] = await Promise.allSettled(
    [api("/v1/members"), api("/v1/cluster"), api("/v1/partitions"), api("/v1/node-stats")]);
  const all = [members, cluster, parts, stats];
  const auth = all.find((r) => r.status === "rejected" && r.reason.auth);
  if (auth) { showLogin(auth.reason.message); return; }
  $("login").classList.add("hidden");
  const errors = all.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  if (members.status === "fulfilled") renderMembers(members.value, cluster.value);
  if (cluster.status === "fulfilled") renderQuorum(cluster.value);
  if (stats.status === "fulfilled") {
    statsCache = stats.value.nodes;
    renderCharts(statsCache);
    $("self").textContent = "served by node " + stats.value.self;
  }
  if (parts.status === "fulfilled") partsCache = parts.value;
  if (partsCache) renderPartitions(partsCache, statsCache);
  $("error").textContent = errors.join("; ");
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  document.body.setAttribute("data-refreshes", Number(document.body.getAttribute("data-refreshes") || 0) + 1);
}

function showLogin(message) {
  $("login").classList.remove("hidden");
  $("error").textContent = message;
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  refresh();
});
$("show-internal").addEventListener("change", () => { if (partsCache) renderPartitions(partsCache, statsCache); });
refresh();
setInterval(refresh, REFRESH_MS);
)js";

constexpr std::string_view page_body = R"html(
<header><h1>chronik</h1><span id="cluster-id" class="muted"></span><span id="self" class="muted"></span>
<span id="updated" class="muted"></span><span id="error"></span></header>
<main>
<form id="login" class="hidden"><label for="token">Admin token</label>
<input id="token" type="password" autocomplete="off" size="48"><button type="submit">Show</button>
<span class="note">kept in this tab only (sessionStorage); or open /ui#token=...</span></form>
<section><h2>Members <span id="members-count" class="note"></span></h2>
<table id="members"><thead><tr><th>node</th><th>gossip</th><th>broker</th><th>address</th><th>kafka</th>
<th>admin</th><th>incarnation</th><th>since</th><th>version</th></tr></thead><tbody id="members-body"></tbody></table>
<p class="note">gossip: SWIM's view from this node; broker: the state <code>__meta</code> records, with a drain or decommission in progress.</p></section>
<section id="quorum"><h2>__meta quorum</h2><table><tbody id="quorum-body"></tbody></table></section>
<section><h2>Produce and fetch rates</h2><div id="charts" class="charts"></div>
<p class="note legend"><span class="produce">produce</span>: Produce request bytes received;
<span class="fetch">fetch</span>: Fetch response bytes sent; per node, one point per sample interval.</p></section>
<section><h2>Partitions <span id="partitions-count" class="note"></span></h2>
<label><input id="show-internal" type="checkbox"> internal topics</label>
<table id="partitions"><thead><tr><th>topic</th><th>partition</th><th>leader</th><th>replicas</th><th>ISR</th>
<th>offline</th><th>high watermark</th><th>consumer lag</th></tr></thead><tbody id="partitions-body"></tbody></table>
<p class="note">High watermark: the leader's. Consumer lag: per group, against the coordinator's replica, for
groups with committed offsets.</p></section>
</main>
)html";

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

}  // namespace

std::string csp_hash_source(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md.data(), &n, EVP_sha256(), nullptr);
  return "'sha256-" + base64(md.data(), n) + "'";
}

std::string status_page_html() {
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>chronik status</title>"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      // An empty icon: otherwise the browser asks for /favicon.ico without a token, a refusal.
      "<link rel=\"icon\" href=\"data:,\"><style>";
  html += page_style;
  html += "</style></head><body>";
  html += page_body;
  html += "<script>";
  html += page_script;
  html += "</script></body></html>\n";
  return html;
}

std::vector<std::pair<std::string, std::string>> status_page_headers() {
  const std::string csp = "default-src 'none'; script-src " + csp_hash_source(page_script) + "; style-src " +
                          csp_hash_source(page_style) +
                          "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                          "frame-ancestors 'none'";
  return {{"Content-Security-Policy", csp},
          {"Cache-Control", "no-store"},
          {"X-Content-Type-Options", "nosniff"},
          {"X-Frame-Options", "DENY"},
          {"Referrer-Policy", "no-referrer"}};
}

}  // namespace chronik::daemon
