/* tierwise dashboard: plain JavaScript, charts by the bundled ECharts, data from /v1. */
"use strict";

const I18N = {
  en: {
    overview: "Overview", customer: "Customer", segments: "Segments", plan: "Plan",
    models: "Models", flows: "Flows", logout: "Log out", login: "Log in",
    login_title: "Log in with an API key",
    login_hint: "Make one with: tierwise keys create --scope profiles:read",
    bad_key: "This key is unknown or revoked.", no_scope: "This key cannot read profiles.",
    as_of: "As of", customers: "Customers", value: "Paid value", label: "Label",
    customer_share: "Customer share", value_share: "Value share", look_up: "Look up",
    intention_now: "Intention now", orders: "Orders", recency: "Days since last order",
    labels: "Labels and why", profile: "Profile", timeline: "Timeline", when: "When",
    kind: "Kind", what: "What", channel: "Channel", amount: "Amount", text: "Text",
    not_yet: "This page is not built yet.", count: "Count", members: "{n} customers", no_snapshot: "No snapshot yet: start a run.",
    not_found: "No such customer.", no_profile: "Not in the snapshot yet (came later).",
    grade_none: "below every grade", events_per_month: "Events per month",
    primary: "primary",
  },
  zh: {
    overview: "总览", customer: "客户", segments: "人群", plan: "运营计划",
    models: "模型", flows: "流程", logout: "退出", login: "登录",
    login_title: "用 API 密钥登录",
    login_hint: "生成密钥：tierwise keys create --scope profiles:read",
    bad_key: "密钥无效或已吊销。", no_scope: "此密钥无权读取客户画像。",
    as_of: "截至", customers: "客户数", value: "成交金额", label: "标签",
    customer_share: "客户占比", value_share: "金额占比", look_up: "查询",
    intention_now: "当前意向分", orders: "订单数", recency: "距上次下单天数",
    labels: "标签及依据", profile: "画像", timeline: "时间线", when: "时间",
    kind: "类型", what: "内容", channel: "渠道", amount: "金额", text: "文本",
    not_yet: "此页面尚未建成。", count: "统计", members: "{n} 位客户", no_snapshot: "还没有快照：请先运行。",
    not_found: "没有这个客户。", no_profile: "快照中还没有此客户（之后才出现）。",
    grade_none: "未达任何等级", events_per_month: "每月互动数",
    primary: "主标签",
  },
};
const GRADES = { en: { high: "high", medium: "medium" }, zh: { high: "高意向", medium: "中意向" } };
const PROFILE_FIELDS = [
  "gender", "city", "city_tier", "age_band", "member_level", "first_order_at", "last_order_at",
  "monetary_avg", "monetary_365", "clv", "p_alive", "main_channel", "events_30",
  "intention_score", "top_tags", "persona",
];

const state = {
  key: sessionStorage.getItem("tw-key") || "",
  lang: localStorage.getItem("tw-lang") || (navigator.language.startsWith("zh") ? "zh" : "en"),
  overview: null, customer: null, timeline: null, charts: { overview: [], customer: [] },
};

const $ = (sel) => document.querySelector(sel);
const t = (k) => (I18N[state.lang] || I18N.en)[k] || k;

function fmtInt(n) { return n == null ? "–" : Math.round(n).toLocaleString("en-US"); }
function fmtMoney(n) {
  return n == null ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}
function fmtPct(x) { return x == null ? "–" : (x * 100).toFixed(1) + "%"; }
function fmtNum(x) {
  if (x == null) return "–";
  if (typeof x !== "number") return String(x);
  return Number.isInteger(x) ? fmtInt(x) : x.toFixed(2);
}
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const kid of kids) e.append(kid instanceof Node ? kid : String(kid ?? ""));
  return e;
}

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: "Bearer " + state.key } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(body.detail || res.statusText);
    err.status = res.status;
    throw err;
  }
  return body;
}

/* -- language ------------------------------------------------------------------------- */
function applyLang() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  $("#lang").textContent = state.lang === "zh" ? "English" : "中文";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  if (state.overview) renderOverview();
  if (state.customer) renderCustomer();
}
$("#lang").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("tw-lang", state.lang);
  applyLang();
});

/* -- login ---------------------------------------------------------------------------- */
async function login(key) {
  state.key = key;
  try {
    const me = await api("/v1/keys/me");
    if (!me.scopes.includes("profiles:read") && !me.scopes.includes("admin")) {
      throw Object.assign(new Error(t("no_scope")), { status: 403 });
    }
    sessionStorage.setItem("tw-key", key);
    $("#login").hidden = true;
    $("#nav").hidden = false;
    $("#logout").hidden = false;
    show(location.hash.slice(1) || "overview");
  } catch (e) {
    state.key = "";
    sessionStorage.removeItem("tw-key");
    $("#login-error").textContent = e.status === 401 ? t("bad_key") : e.message;
  }
}
$("#segment-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const expr = $("#segment-expr").value.trim();
  const body = $("#segment-members tbody");
  body.textContent = "";
  if (!expr) return;
  try {
    const data = await api("/v1/segments/" + encodeURIComponent(expr) + "/members?limit=20");
    $("#segments-note").textContent = t("members").replace("{n}", data.total.toLocaleString());
    for (const m of data.members) {
      const tr = document.createElement("tr");
      for (const col of ["customer_id", "lifecycle", "quadrant", "intention"]) {
        const td = document.createElement("td");
        td.textContent = m[col] ?? "";
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  } catch (e) {
    $("#segments-note").textContent = e.message;
  }
});
$("#login-form").addEventListener("submit", (ev) => { ev.preventDefault(); login($("#key").value.trim()); });
$("#logout").addEventListener("click", () => {
  sessionStorage.removeItem("tw-key");
  location.hash = "";
  location.reload();
});

/* -- pages ---------------------------------------------------------------------------- */
const PAGES = {
  overview: loadOverview,
  customer: async () => {},
  segments: async () => {},
  plan: () => hook("/v1/plan", "#plan-note"),
  models: async () => {},
  flows: async () => {},
};

function show(page) {
  if (!PAGES[page]) page = "overview";
  document.querySelectorAll("section.page").forEach((s) => { s.hidden = s.id !== page; });
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
  PAGES[page]();
  allCharts().forEach((c) => c.resize());
}
window.addEventListener("hashchange", () => { if (state.key) show(location.hash.slice(1)); });
window.addEventListener("resize", () => allCharts().forEach((c) => c.resize()));
function allCharts() { return [...state.charts.overview, ...state.charts.customer]; }

async function hook(path, target) {
  try {
    const data = await api(path);
    $(target).textContent = JSON.stringify(data).slice(0, 2000);
  } catch (e) {
    $(target).textContent = e.status === 501 ? t("not_yet") + " (" + e.message + ")" : e.message;
  }
}

/* -- overview ------------------------------------------------------------------------- */
async function loadOverview() {
  const sel = $("#as-of");
  if (!sel.options.length) {
    const snaps = (await api("/v1/snapshots")).snapshots;
    if (!snaps.length) { $("#schemes").textContent = t("no_snapshot"); return; }
    snaps.slice().reverse().forEach((d) => sel.append(el("option", { value: d }, d)));
    sel.addEventListener("change", () => fetchOverview(sel.value));
  }
  await fetchOverview(sel.value);
}

async function fetchOverview(asOf) {
  state.overview = await api("/v1/overview?as_of=" + encodeURIComponent(asOf));
  renderOverview();
}

function chart(group, node, option) {
  const c = echarts.init(node, null, { renderer: "canvas" });
  c.setOption(option);
  state.charts[group].push(c);
  return c;
}
function clearCharts(group) {
  state.charts[group].forEach((c) => c.dispose());
  state.charts[group] = [];
}

function renderOverview() {
  const ov = state.overview;
  clearCharts("overview");
  $("#ov-customers").textContent = fmtInt(ov.customers);
  $("#ov-value").textContent = fmtMoney(ov.value);
  const box = $("#schemes");
  box.replaceChildren();
  for (const s of ov.schemes) {
    const name = state.lang === "zh" ? s.zh : s.en;
    const labelName = (l) => (state.lang === "zh" ? l.label_zh : l.label_en) || l.label;
    const chartNode = el("div", { class: "chart" });
    const table = el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, el("th", {}, t("label")), el("th", { class: "num" }, t("customers")),
        el("th", { class: "num" }, t("customer_share")), el("th", { class: "num" }, t("value_share")))));
    const body = el("tbody");
    for (const l of s.labels) {
      body.append(el("tr", { "data-label": l.label },
        el("td", {}, labelName(l)),
        el("td", { class: "num customers" }, fmtInt(l.customers)),
        el("td", { class: "num customer-share" }, fmtPct(l.customer_share)),
        el("td", { class: "num value-share" }, fmtPct(l.value_share))));
    }
    table.append(body);
    box.append(el("div", { class: "scheme", "data-scheme": s.scheme }, el("h2", {}, name), chartNode, table));
    chart("overview", chartNode, {
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: (v) => v + "%" },
      legend: { data: [t("customer_share"), t("value_share")], top: 0 },
      grid: { left: 8, right: 8, top: 30, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: s.labels.map(labelName), axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      series: [
        { name: t("customer_share"), type: "bar", data: s.labels.map((l) => +(l.customer_share * 100).toFixed(1)) },
        { name: t("value_share"), type: "bar", data: s.labels.map((l) => +((l.value_share || 0) * 100).toFixed(1)) },
      ],
    });
  }
}

/* -- customer ------------------------------------------------------------------------- */
$("#customer-id").addEventListener("input", async (ev) => {
  const prefix = ev.target.value.trim();
  if (prefix.length < 2) return;
  try {
    const ids = (await api("/v1/customers?limit=20&prefix=" + encodeURIComponent(prefix))).customer_ids;
    $("#customer-ids").replaceChildren(...ids.map((id) => el("option", { value: id })));
  } catch (e) { /* suggestions are optional */ }
});
$("#search-form").addEventListener("submit", (ev) => { ev.preventDefault(); lookUp($("#customer-id").value.trim()); });

async function lookUp(id) {
  $("#customer-error").textContent = "";
  if (!id) return;
  try {
    const enc = encodeURIComponent(id);
    const [cu, tl] = await Promise.all([api("/v1/customers/" + enc), api("/v1/customers/" + enc + "/timeline?limit=200")]);
    state.customer = cu;
    state.timeline = tl;
    renderCustomer();
  } catch (e) {
    $("#customer-view").hidden = true;
    $("#customer-error").textContent = e.status === 404 ? t("not_found") + " " + e.message : e.message;
  }
}

function renderCustomer() {
  const cu = state.customer;
  const p = cu.profile || {};
  $("#customer-view").hidden = false;
  $("#cu-intention").textContent = cu.intention.score.toFixed(2);
  $("#cu-grade").textContent = cu.intention.grade ? (GRADES[state.lang][cu.intention.grade] || cu.intention.grade) : t("grade_none");
  $("#cu-orders").textContent = fmtInt(p.orders);
  $("#cu-value").textContent = fmtMoney(p.monetary_total);
  $("#cu-recency").textContent = fmtInt(p.recency_days);
  const labels = $("#cu-labels");
  labels.replaceChildren();
  if (!cu.profile) labels.append(el("li", {}, t("no_profile")));
  for (const l of cu.labels) {
    if (l.scheme === "rfm" && !l.is_primary) continue;
    labels.append(el("li", { "data-scheme": l.scheme, "data-label": l.label },
      el("span", { class: "tag" }, (state.lang === "zh" ? l.label_zh : l.label_en) || l.label),
      el("span", { class: "scheme-name" }, l.scheme + (l.is_primary ? " · " + t("primary") : "")),
      el("span", { class: "because" }, l.because[state.lang])));
  }
  const prof = $("#cu-profile");
  prof.replaceChildren(el("tbody", {}, ...PROFILE_FIELDS.filter((f) => f in p).map((f) =>
    el("tr", { "data-field": f }, el("td", {}, f), el("td", { class: "num" }, fmtNum(p[f]))))));
  const items = state.timeline.items;
  const tl = $("#cu-timeline");
  tl.replaceChildren(el("thead", {}, el("tr", {}, ...["when", "kind", "what", "channel", "amount", "text"].map((k) => el("th", {}, t(k))))),
    el("tbody", {}, ...items.slice(0, 50).map((it) => el("tr", {},
      el("td", {}, it.happened_at.replace("T", " ")), el("td", {}, it.kind), el("td", {}, it.what),
      el("td", {}, it.channel || ""), el("td", { class: "num" }, it.amount == null ? "" : fmtMoney(it.amount)),
      el("td", {}, it.text || "")))));
  const months = {};
  for (const it of items) if (it.kind === "event") { const m = it.happened_at.slice(0, 7); months[m] = (months[m] || 0) + 1; }
  const keys = Object.keys(months).sort();
  clearCharts("customer");
  chart("customer", $("#cu-timeline-chart"), {
    animation: false, title: { text: t("events_per_month"), textStyle: { fontSize: 13 } },
    grid: { left: 8, right: 8, top: 30, bottom: 4, containLabel: true },
    xAxis: { type: "category", data: keys }, yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", data: keys.map((k) => months[k]) }],
  });
}

/* -- start ---------------------------------------------------------------------------- */
applyLang();
if (state.key) login(state.key);
