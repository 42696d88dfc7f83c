/* tierwise dashboard: the Models page (the CLV fit, holdout checks and the backtest). */
"use strict";

Object.assign(I18N.en, {
  mo_snapshot: "Snapshot", mo_fit: "CLV model fit", mo_purchases: "Purchases",
  mo_spend: "Spend", mo_param: "Parameter", mo_estimate: "Estimate", mo_se: "Std. error",
  mo_model: "Model", mo_no_model: "No CLV model in this snapshot.",
  mo_checks: "Holdout checks and backtest", mo_cut: "Cut", mo_run: "Run backtest",
  mo_none: "No backtest yet: pick a cut (default: the snapshot before, else 90 days back) and run one (about half a minute on a large shop).",
  mo_running: "Backtest as of {cut} running…", mo_done: "Backtest: cut {cut}, holdout to {until} ({s} s).",
  mo_failed: "Backtest failed: ", mo_customers: "Customers at the cut", mo_buyers: "Bought in the holdout",
  mo_pred: "Predicted purchases", mo_actual: "Actual purchases",
  mo_pred_rate: "Predicted repurchase rate", mo_actual_rate: "Actual repurchase rate",
  mo_rho: "Rank correlation CLV ~ revenue", mo_capture: "Top-decile revenue capture",
  mo_deciles: "Predicted vs actual purchases per customer, by CLV decile", mo_decile: "Decile",
  mo_clv: "Mean CLV", mo_pred_margin: "Predicted margin", mo_actual_margin: "Actual margin",
  mo_labels: "Labels on the holdout", mo_scheme: "Scheme", mo_label: "Label",
  mo_repurchase: "Repurchase rate", mo_orders_pc: "Orders / customer",
  mo_revenue_pc: "Revenue / customer", mo_margin_pc: "Margin / customer", mo_flag: "Flag",
  mo_orderings: "Declared orderings", mo_metric: "Metric", mo_higher: "Higher",
  mo_lower: "Lower", mo_difference: "Difference", mo_margin95: "±95%", mo_status: "Status",
  holds: "holds", contradicted: "contradicted", "within noise": "within noise",
});
Object.assign(I18N.zh, {
  mo_snapshot: "快照", mo_fit: "CLV 模型拟合", mo_purchases: "购买次数模型",
  mo_spend: "客单价模型", mo_param: "参数", mo_estimate: "估计值", mo_se: "标准误",
  mo_model: "模型", mo_no_model: "此快照没有 CLV 模型。",
  mo_checks: "留出期检验与回测", mo_cut: "切分日", mo_run: "运行回测",
  mo_none: "还没有回测：选择切分日（默认上一个快照，否则 90 天前）并运行（大店铺约需半分钟）。",
  mo_running: "正在回测（切分日 {cut}）…", mo_done: "回测：切分日 {cut}，留出期至 {until}（{s} 秒）。",
  mo_failed: "回测失败：", mo_customers: "切分日客户数", mo_buyers: "留出期购买客户",
  mo_pred: "预测购买次数", mo_actual: "实际购买次数",
  mo_pred_rate: "预测复购率", mo_actual_rate: "实际复购率",
  mo_rho: "CLV 与收入的秩相关", mo_capture: "前 10% 客户收入占比",
  mo_deciles: "按 CLV 十分位：人均预测与实际购买次数", mo_decile: "十分位",
  mo_clv: "平均 CLV", mo_pred_margin: "预测毛利", mo_actual_margin: "实际毛利",
  mo_labels: "各标签在留出期的表现", mo_scheme: "体系", mo_label: "标签",
  mo_repurchase: "复购率", mo_orders_pc: "人均订单", mo_revenue_pc: "人均收入",
  mo_margin_pc: "人均毛利", mo_flag: "提示",
  mo_orderings: "声明的排序检验", mo_metric: "指标", mo_higher: "较高",
  mo_lower: "较低", mo_difference: "差值", mo_margin95: "±95%", mo_status: "结果",
  holds: "成立", contradicted: "被推翻", "within noise": "在噪声内",
});

const modelState = { clv: null, bt: null, btError: null, charts: [], poll: null };

function fmtSig(x, digits = 4) {
  if (x == null) return "–";
  if (Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-3)) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toLocaleString("en-US", { maximumSignificantDigits: digits });
}
function fmtDec(x, d = 2) { return x == null ? "–" : x.toFixed(d); }

function modelsLayout() {
  const sec = $("#models");
  if ($("#mo-as-of")) return;
  sec.replaceChildren();
  const card = (id, key) => el("div", { class: "card" }, el("div", { class: "k", "data-i18n": key }, t(key)),
    el("div", { class: "v", id }, "–"));
  sec.append(
    el("div", { class: "toolbar" }, el("h1", { "data-i18n": "models" }, t("models")),
      el("label", {}, el("span", { "data-i18n": "mo_snapshot" }, t("mo_snapshot")), " ", el("select", { id: "mo-as-of" }))),
    el("h2", { "data-i18n": "mo_fit" }, t("mo_fit")),
    el("div", { class: "scroll" }, el("table", { id: "mo-params", class: "grid" })),
    el("p", { class: "note", id: "mo-note" }),
    el("div", { class: "toolbar" }, el("h2", { "data-i18n": "mo_checks" }, t("mo_checks")),
      el("form", { id: "mo-bt-form" },
        el("label", {}, el("span", { "data-i18n": "mo_cut" }, t("mo_cut")), " ", el("input", { id: "mo-cut", type: "date" })),
        " ", el("button", { type: "submit", id: "mo-run", "data-i18n": "mo_run" }, t("mo_run")))),
    el("p", { class: "note", id: "mo-bt-status", role: "status" }),
    el("div", { id: "mo-bt-view", hidden: "" },
      el("div", { class: "cards" }, card("mo-customers", "mo_customers"), card("mo-buyers", "mo_buyers"),
        card("mo-pred", "mo_pred"), card("mo-actual", "mo_actual"), card("mo-pred-rate", "mo_pred_rate"),
        card("mo-actual-rate", "mo_actual_rate"), card("mo-rho", "mo_rho"), card("mo-capture", "mo_capture")),
      el("h2", { "data-i18n": "mo_deciles" }, t("mo_deciles")),
      el("div", { id: "mo-deciles-chart", class: "chart" }),
      el("div", { class: "scroll" }, el("table", { id: "mo-deciles", class: "grid" })),
      el("h2", { "data-i18n": "mo_labels" }, t("mo_labels")),
      el("div", { class: "scroll" }, el("table", { id: "mo-backtest", class: "grid" })),
      el("h2", { "data-i18n": "mo_orderings" }, t("mo_orderings")),
      el("div", { class: "scroll" }, el("table", { id: "mo-checks", class: "grid" }))));
  $("#mo-as-of").addEventListener("change", () => fetchClv($("#mo-as-of").value));
  $("#mo-bt-form").addEventListener("submit", (ev) => { ev.preventDefault(); startBacktest(); });
}

async function loadModels() {
  modelsLayout();
  const sel = $("#mo-as-of");
  try {
    if (!sel.options.length) {
      const snaps = (await api("/v1/snapshots")).snapshots;
      if (!snaps.length) { $("#mo-note").textContent = t("no_snapshot"); return; }
      snaps.slice().reverse().forEach((d) => sel.append(el("option", { value: d }, d)));
    }
    await Promise.all([fetchClv(sel.value), fetchBacktest()]);
  } catch (e) {
    $("#mo-note").textContent = e.message;
  }
}

async function fetchClv(asOf) {
  try {
    modelState.clv = await api("/v1/models/clv?as_of=" + encodeURIComponent(asOf));
  } catch (e) {
    modelState.clv = null;
    $("#mo-note").textContent = e.message;
    return;
  }
  renderClv();
}

async function fetchBacktest() {
  try {
    modelState.bt = await api("/v1/models/backtest");
    modelState.btError = null;
  } catch (e) {
    modelState.bt = null;
    modelState.btError = e.status === 404 ? null : e.message;
  }
  clearTimeout(modelState.poll);
  if (modelState.bt && modelState.bt.status === "running") {
    modelState.poll = setTimeout(fetchBacktest, 1000);
  }
  renderBacktest(true);
}

async function startBacktest() {
  const cut = $("#mo-cut").value;
  $("#mo-run").disabled = true;
  try {
    const res = await fetch("/v1/models/backtest", {
      method: "POST",
      headers: { Authorization: "Bearer " + state.key, "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ until: $("#mo-as-of").value }, cut ? { cut } : {})),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok && res.status !== 409) throw new Error(body.detail || res.statusText);
  } catch (e) {
    $("#mo-run").disabled = false;
    $("#mo-bt-status").textContent = t("mo_failed") + e.message;
    return;
  }
  await fetchBacktest();
}

function renderClv() {
  const m = modelState.clv;
  if (!m) return;
  const rows = [];
  for (const [key, name] of [["model", "mo_purchases"], ["spend_model", "mo_spend"]]) {
    const fit = m[key];
    if (!fit) continue;
    for (const [p, v] of Object.entries(fit.params)) {
      rows.push(el("tr", { "data-model": key, "data-param": p },
        el("td", {}, t(name)), el("td", {}, fit.name), el("td", {}, p),
        el("td", { class: "num estimate" }, fmtSig(v)),
        el("td", { class: "num se" }, fmtSig(fit.standard_errors[p]))));
    }
  }
  const th = (k, num) => el("th", { class: num ? "num" : "" }, t(k));
  $("#mo-params").replaceChildren(
    el("thead", {}, el("tr", {}, el("th", {}), th("mo_model"), th("mo_param"), th("mo_estimate", 1), th("mo_se", 1))),
    el("tbody", {}, ...rows));
  $("#mo-note").textContent = m.fitted ? m.note || "" : t("mo_no_model");
}

function renderBacktest(force = false) {
  if (!force && $("#models").hidden) return;
  const job = modelState.bt;
  const status = $("#mo-bt-status");
  const view = $("#mo-bt-view");
  $("#mo-run").disabled = !!job && job.status === "running";
  if (!job) { status.textContent = modelState.btError || t("mo_none"); view.hidden = true; return; }
  if (job.status === "running") {
    status.textContent = t("mo_running").replace("{cut}", job.cut) + (job.step ? " " + job.step : "");
  } else if (job.status === "failed") {
    status.textContent = t("mo_failed") + job.error;
  } else {
    status.textContent = t("mo_done").replace("{cut}", job.cut).replace("{until}", job.until).replace("{s}", job.seconds);
  }
  const r = job.result;
  if (!r) { view.hidden = true; return; }
  view.hidden = false;
  const cal = r.calibration || {};
  $("#mo-customers").textContent = fmtInt(r.customers);
  $("#mo-buyers").textContent = fmtInt(r.holdout_buyers);
  $("#mo-pred").textContent = fmtDec(cal.predicted_purchases, 1);
  $("#mo-actual").textContent = fmtDec(cal.actual_purchases, 1);
  $("#mo-pred-rate").textContent = fmtPct(cal.predicted_repurchase_rate);
  $("#mo-actual-rate").textContent = fmtPct(cal.actual_repurchase_rate);
  $("#mo-rho").textContent = fmtDec(cal.spearman_clv_revenue);
  $("#mo-capture").textContent = fmtPct(cal.top_decile_capture);
  const th = (k, num) => el("th", { class: num ? "num" : "" }, t(k));
  const num = (cls, text) => el("td", { class: "num " + cls }, text);
  const dec = r.clv_deciles || [];
  $("#mo-deciles").replaceChildren(
    el("thead", {}, el("tr", {}, th("mo_decile", 1), th("customers", 1), th("mo_clv", 1), th("mo_pred", 1),
      th("mo_actual", 1), th("mo_pred_margin", 1), th("mo_actual_margin", 1))),
    el("tbody", {}, ...dec.map((d) => el("tr", { "data-decile": d.decile },
      num("decile", d.decile), num("customers", fmtInt(d.customers)), num("clv", fmtMoney(d.clv)),
      num("predicted", fmtDec(d.predicted_purchases)), num("actual", fmtDec(d.actual_purchases)),
      num("predicted-margin", fmtMoney(d.predicted_margin)), num("actual-margin", fmtMoney(d.actual_margin))))));
  modelState.charts.forEach((c) => c.dispose());
  const c = echarts.init($("#mo-deciles-chart"), null, { renderer: "canvas" });
  c.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: [t("mo_pred"), t("mo_actual")], top: 0 },
    grid: { left: 8, right: 8, top: 30, bottom: 4, containLabel: true },
    xAxis: { type: "category", data: dec.map((d) => String(d.decile)), name: t("mo_decile") },
    yAxis: { type: "value" },
    series: [
      { name: t("mo_pred"), type: "bar", itemStyle: { color: "#8fb2ef" }, data: dec.map((d) => +fmtDec(d.predicted_purchases, 3)) },
      { name: t("mo_actual"), type: "line", itemStyle: { color: "#d4572e" }, data: dec.map((d) => +fmtDec(d.actual_purchases, 3)) },
    ],
  });
  modelState.charts = [c];
  const zh = state.lang === "zh";
  $("#mo-backtest").replaceChildren(
    el("thead", {}, el("tr", {}, th("mo_scheme"), th("mo_label"), th("customers", 1), th("mo_repurchase", 1),
      th("mo_orders_pc", 1), th("mo_revenue_pc", 1), th("mo_margin_pc", 1), th("mo_flag"))),
    el("tbody", {}, ...r.labels.map((l) => el("tr", { "data-scheme": l.scheme, "data-label": l.label },
      el("td", {}, l.scheme), el("td", { class: "label" }, (zh ? l.zh : l.en) || l.label),
      num("customers", fmtInt(l.customers)), num("repurchase", fmtPct(l.repurchase_rate)),
      num("orders", fmtDec(l.orders_per_customer)), num("revenue", fmtMoney(l.revenue_per_customer)),
      num("margin", fmtMoney(l.margin_per_customer)), el("td", {}, l.flag || "")))));
  $("#mo-checks").replaceChildren(
    el("thead", {}, el("tr", {}, th("mo_scheme"), th("mo_metric"), th("mo_higher"), th("mo_lower"),
      th("mo_difference", 1), th("mo_margin95", 1), th("mo_status"))),
    el("tbody", {}, ...r.checks.map((k) => el("tr", { "data-status": k.status },
      el("td", {}, k.scheme), el("td", {}, k.metric), el("td", {}, k.higher), el("td", {}, k.lower),
      num("difference", fmtSig(k.difference, 3)), num("margin95", fmtSig(k.margin95, 3)),
      el("td", { class: "status " + k.status.replace(/ /g, "-") }, t(k.status))))));
}

PAGES.models = loadModels;
$("#lang").addEventListener("click", () => { if (!$("#models").hidden) { renderClv(); renderBacktest(); } });
window.addEventListener("resize", () => modelState.charts.forEach((c) => c.resize()));
