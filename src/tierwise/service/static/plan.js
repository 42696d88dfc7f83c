/* tierwise dashboard: the Plan page (a stored plan per rule and channel, and uplift). */
"use strict";

Object.assign(I18N.en, {
  pl_plan: "Plan", pl_none: "No stored plan yet: make one with tierwise plan.",
  pl_planned: "Planned", pl_suppressed: "Suppressed", pl_control: "Control",
  pl_customers: "Customers reached", pl_cost: "Cost", pl_rule: "Rule", pl_segment: "Segment",
  pl_action: "Action", pl_channel: "Channel", pl_reasons: "Why suppressed", pl_rows: "Rows",
  pl_actions: "Actions per rule", pl_uplift: "Uplift: treated vs control",
  pl_treated_n: "Treated", pl_control_n: "Control", pl_rate_t: "Conversion (treated)",
  pl_rate_c: "Conversion (control)", pl_diff: "Difference", pl_ci: "{p} interval",
  pl_verdict: "Verdict", pl_no_sends: "No sends recorded for this plan yet: import the send log (tierwise sends import) to measure uplift.",
  pl_window: "Plans of {pb} since {since}; conversion within {w} days of the send.",
  pl_send_at: "Goes out {t}", pts: "pts",
  exclusion: "exclusion", cap: "cap", outranked: "outranked", opt_out: "opted out",
  no_channel: "no channel", do_not_contact: "do not contact", budget: "budget spent",
  helps: "helps", harmful: "harmful", "no evidence of an effect": "no evidence of an effect",
  "no data": "no data",
});
Object.assign(I18N.zh, {
  pl_plan: "运营计划", pl_none: "还没有保存的运营计划：请用 tierwise plan 生成。",
  pl_planned: "计划触达", pl_suppressed: "被抑制", pl_control: "对照组",
  pl_customers: "触达客户", pl_cost: "成本", pl_rule: "规则", pl_segment: "人群",
  pl_action: "动作", pl_channel: "渠道", pl_reasons: "抑制原因", pl_rows: "行数",
  pl_actions: "各规则的动作", pl_uplift: "增量效果：触达组 vs 对照组",
  pl_treated_n: "触达组", pl_control_n: "对照组", pl_rate_t: "转化率（触达）",
  pl_rate_c: "转化率（对照）", pl_diff: "差值", pl_ci: "{p} 置信区间",
  pl_verdict: "结论", pl_no_sends: "此计划还没有发送记录：导入发送日志（tierwise sends import）后即可衡量增量。",
  pl_window: "{pb} 自 {since} 起的计划；发送后 {w} 天内的转化。",
  pl_send_at: "发送时间 {t}", pts: "个百分点",
  exclusion: "排除规则", cap: "频次上限", outranked: "被更高优先级取代", opt_out: "已退订",
  no_channel: "无可用渠道", do_not_contact: "勿扰名单", budget: "预算已用完",
  helps: "有效", harmful: "有害", "no evidence of an effect": "无证据显示有效果",
  "no data": "暂无数据",
});

const planState = { runs: null, summary: null, uplift: null, upliftError: null, charts: [] };

function fmtSigned(x, digits = 3) {
  if (x == null) return "–";
  const v = Number(x.toPrecision(digits));
  return (v > 0 ? "+" : "") + v.toLocaleString("en-US", { maximumSignificantDigits: digits });
}
function fmtPts(x) { return x == null ? "–" : (x > 0 ? "+" : "") + (x * 100).toFixed(1) + " " + t("pts"); }
function fmtCi(lo, hi, scale = 100) {
  return lo == null || hi == null ? "–"
    : "[" + (lo * scale).toFixed(1) + ", " + (hi * scale).toFixed(1) + "]";
}

function upliftWordsZh(r, level) {
  if (!r.n_treated || !r.n_control) return "还没有触达组或对照组客户";
  const pct = Math.round(level * 100) + "%";
  return [["conversion", "转化率", 100, " 个百分点"], ["revenue", "人均收入", 1, ""],
    ["margin", "人均毛利", 1, ""]].map(([k, name, s, unit]) => {
    const d = r[k + "_diff"], lo = r[k + "_low"], hi = r[k + "_high"];
    if (d == null || lo == null || hi == null) return name + "：客户太少";
    const span = `${fmtSigned(d * s)}${unit}（${pct} 区间 ${fmtSigned(lo * s)} 至 ${fmtSigned(hi * s)}）`;
    const why = lo <= 0 && hi >= 0 ? "无证据显示有效果" : hi < 0 ? "更低" : "更高";
    return `${name} ${span}：${why}`;
  }).join("；");
}

function planLayout() {
  const sec = $("#plan");
  if ($("#pl-run")) return;
  const bar = el("div", { class: "toolbar" });
  sec.querySelector("h1").replaceWith(bar);
  bar.append(el("h1", { "data-i18n": "plan" }, t("plan")),
    el("label", {}, el("span", { "data-i18n": "pl_plan" }, t("pl_plan")), " ", el("select", { id: "pl-run" })));
  const card = (id, key) => el("div", { class: "card" }, el("div", { class: "k", "data-i18n": key }, t(key)),
    el("div", { class: "v", id }, "–"));
  sec.append(
    el("div", { id: "pl-view", hidden: "" },
      el("div", { class: "cards" }, card("pl-planned", "pl_planned"), card("pl-suppressed", "pl_suppressed"),
        card("pl-control", "pl_control"), card("pl-customers", "pl_customers"), card("pl-cost", "pl_cost")),
      el("h2", { "data-i18n": "pl_actions" }, t("pl_actions")),
      el("div", { id: "pl-chart", class: "chart" }),
      el("div", { class: "scroll" }, el("table", { id: "pl-rules", class: "grid" })),
      el("h2", { "data-i18n": "pl_uplift" }, t("pl_uplift")),
      el("p", { class: "note", id: "pl-uplift-note" }),
      el("div", { class: "scroll" }, el("table", { id: "pl-uplift", class: "grid" }))));
  $("#pl-run").addEventListener("change", () => fetchPlan($("#pl-run").value));
}

async function loadPlan() {
  planLayout();
  try {
    planState.runs = (await api("/v1/plan/runs")).plans;
  } catch (e) {
    $("#plan-note").textContent = e.message;
    return;
  }
  if (!planState.runs.length) {
    $("#plan-note").textContent = t("pl_none");
    $("#pl-view").hidden = true;
    return;
  }
  const sel = $("#pl-run");
  const keep = sel.value;
  sel.replaceChildren(...planState.runs.slice().reverse().map((r) =>
    el("option", { value: r.playbook + "@" + r.as_of }, r.as_of + " · " + r.playbook)));
  if (keep && [...sel.options].some((o) => o.value === keep)) sel.value = keep;
  else {
    const newest = planState.runs[planState.runs.length - 1].as_of;
    const pick = planState.runs.find((r) => r.as_of === newest && r.playbook === "default")
      || planState.runs.find((r) => r.as_of === newest);
    sel.value = pick.playbook + "@" + pick.as_of;
  }
  await fetchPlan(sel.value);
}

async function fetchPlan(value) {
  const [playbook, asOf] = value.split("@");
  const q = "playbook=" + encodeURIComponent(playbook);
  try {
    const [summary, uplift] = await Promise.all([
      api("/v1/plan/summary?" + q + "&as_of=" + asOf),
      api("/v1/uplift?" + q + "&since=" + asOf).catch((e) => e)]);
    planState.summary = summary;
    planState.uplift = uplift instanceof Error ? null : uplift;
    planState.upliftError = uplift instanceof Error ? uplift.message : null;
  } catch (e) {
    $("#plan-note").textContent = e.message;
    return;
  }
  renderPlan(true);
}


function renderPlan(force = false) {
  const s = planState.summary;
  if (!s || (!force && $("#plan").hidden)) return;
  const zh = state.lang === "zh";
  $("#pl-view").hidden = false;
  $("#plan-note").textContent = (zh ? s.zh : s.en) + " · "
    + t("pl_send_at").replace("{t}", s.send_at.replace("T", " ").slice(0, 16));
  $("#pl-planned").textContent = fmtInt(s.counts.planned);
  $("#pl-suppressed").textContent = fmtInt(s.counts.suppressed);
  $("#pl-control").textContent = fmtInt(s.counts.control);
  $("#pl-customers").textContent = fmtInt(s.customers);
  $("#pl-cost").textContent = fmtMoney(s.cost);
  const reasons = (r) => Object.entries(r).map(([k, n]) => t(k) + " " + fmtInt(n)).join(", ");
  const th = (k, num) => el("th", { class: num ? "num" : "" }, t(k));
  $("#pl-rules").replaceChildren(
    el("thead", {}, el("tr", {}, th("pl_rule"), th("pl_segment"), th("pl_action"), th("pl_channel"),
      th("pl_planned", 1), th("pl_suppressed", 1), th("pl_reasons"), th("pl_control", 1), th("pl_cost", 1))),
    el("tbody", {}, ...s.rules.map((r) => el("tr", { "data-rule": r.rule, "data-channel": r.channel },
      el("td", {}, r.rule), el("td", { class: "segment" }, r.segment), el("td", {}, r.action),
      el("td", {}, r.channel), el("td", { class: "num planned" }, fmtInt(r.planned)),
      el("td", { class: "num suppressed" }, fmtInt(r.suppressed)),
      el("td", { class: "reasons" }, reasons(r.reasons)),
      el("td", { class: "num control" }, fmtInt(r.control)),
      el("td", { class: "num cost" }, fmtMoney(r.cost))))));
  planState.charts.forEach((c) => c.dispose());
  const names = s.rules.map((r) => r.rule + (s.rules.filter((x) => x.rule === r.rule).length > 1 ? " · " + r.channel : ""));
  const c = echarts.init($("#pl-chart"), null, { renderer: "canvas" });
  c.setOption({
    animation: false,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { data: [t("pl_planned"), t("pl_suppressed"), t("pl_control")], top: 0 },
    grid: { left: 8, right: 8, top: 30, bottom: 4, containLabel: true },
    xAxis: { type: "category", data: names, axisLabel: { interval: 0, rotate: innerWidth < 760 ? 60 : 35, fontSize: 11 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [["pl_planned", "planned", "#2f6fde"], ["pl_suppressed", "suppressed", "#b9c0cc"],
      ["pl_control", "control", "#e8a33d"]].map(([k, f, color]) => ({
      name: t(k), type: "bar", stack: "rows", itemStyle: { color }, data: s.rules.map((r) => r[f]) })),
  });
  planState.charts = [c];
  renderUplift();
}

function renderUplift() {
  const u = planState.uplift;
  const note = $("#pl-uplift-note");
  const table = $("#pl-uplift");
  table.replaceChildren();
  if (!u) { note.textContent = planState.upliftError || ""; return; }
  const zh = state.lang === "zh";
  const lvl = Math.round(u.level * 100) + "%";
  const head = t("pl_window").replace("{pb}", u.playbook).replace("{since}", u.since).replace("{w}", u.window_days);
  if (!u.sent) { note.textContent = head + " " + t("pl_no_sends"); return; }
  note.textContent = head + (u.notes.length ? " " + u.notes.join(" ") : "");
  const th = (k, num) => el("th", { class: num ? "num" : "" }, t(k).replace("{p}", lvl));
  table.append(
    el("thead", {}, el("tr", {}, th("pl_rule"), th("pl_action"), th("pl_treated_n", 1), th("pl_control_n", 1),
      th("pl_rate_t", 1), th("pl_rate_c", 1), th("pl_diff", 1), th("pl_ci", 1), th("pl_verdict"))),
    el("tbody", {}, ...u.rows.map((r) => el("tr", { "data-rule": r.rule, "data-verdict": r.verdict },
      el("td", {}, r.rule, el("div", { class: "note" }, r.segment)), el("td", {}, r.action),
      el("td", { class: "num n-treated" }, fmtInt(r.n_treated)),
      el("td", { class: "num n-control" }, fmtInt(r.n_control)),
      el("td", { class: "num rate-treated" }, fmtPct(r.conversion_treated)),
      el("td", { class: "num rate-control" }, fmtPct(r.conversion_control)),
      el("td", { class: "num diff" }, fmtPts(r.conversion_diff)),
      el("td", { class: "num ci" }, fmtCi(r.conversion_low, r.conversion_high)),
      el("td", { class: "judgement" },
        el("strong", { class: "verdict " + r.verdict.replace(/ /g, "-") }, t(r.verdict)),
        el("div", { class: "words" }, zh ? upliftWordsZh(r, u.level) : r.words))))));
}

PAGES.plan = loadPlan;
$("#lang").addEventListener("click", () => renderPlan());
window.addEventListener("resize", () => planState.charts.forEach((c) => c.resize()));
window.addEventListener("hashchange", () => planState.charts.forEach((c) => c.resize()));
