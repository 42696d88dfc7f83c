/* tierwise dashboard: the Path page (the path's funnel per stage, and the entrances). */
"use strict";

Object.assign(I18N.en, {
  path: "Path", pa_snapshot: "Snapshot", pa_by: "By", pa_by_none: "none",
  pa_by_channel: "main channel", pa_by_entrance: "entrance channel",
  pa_by_entrance_kind: "entrance kind", pa_by_entrance_segment: "entrance segment",
  pa_funnel: "Funnel: fan → customer → member → lifetime customer → KOC",
  pa_group: "Group", pa_stage: "Stage", pa_reached: "Customers reached", pa_at: "At the stage now",
  pa_conversion: "Conversion from the stage before", pa_share: "Share of the first stage",
  pa_days: "Median days from the stage before", pa_moved: "Seen moving",
  pa_days_note: "Days come from the snapshot history: a customer counts once seen at the stage before on one snapshot and at this stage (or later) on a later one.",
  pa_entrances: "Entrances: where customers came in", pa_entrance: "Entrance",
  pa_customers: "Customers", pa_buyers: "Buyers", pa_ent_conversion: "Conversion to a first order",
  pa_repeat: "Repeat rate", pa_clv: "Mean CLV", pa_ent_kind: "kind", pa_ent_channel: "channel",
  pa_ent_segment: "segment", pa_ent_latest: "latest channel",
  "(all)": "all customers", "(none)": "(none)", unknown: "unknown",
  utm: "UTM link", qr_code: "QR code", livestream: "livestream", offline_store: "offline store",
  referral: "referral", distributor: "distributor",
});
Object.assign(I18N.zh, {
  path: "路径", pa_snapshot: "快照", pa_by: "分组", pa_by_none: "不分组",
  pa_by_channel: "主渠道", pa_by_entrance: "入口渠道",
  pa_by_entrance_kind: "入口类型", pa_by_entrance_segment: "入口人群",
  pa_funnel: "漏斗：粉丝 → 顾客 → 会员 → 终身顾客 → KOC",
  pa_group: "分组", pa_stage: "阶段", pa_reached: "到达客户数", pa_at: "当前处于此阶段",
  pa_conversion: "较上一阶段转化率", pa_share: "占第一阶段比例",
  pa_days: "自上一阶段所需天数（中位数）", pa_moved: "观察到晋级人数",
  pa_days_note: "天数来自快照历史：客户在某个快照处于上一阶段、在之后的快照到达此阶段（或更后）才计入。",
  pa_entrances: "入口：客户从哪里进来", pa_entrance: "入口",
  pa_customers: "客户数", pa_buyers: "下单客户", pa_ent_conversion: "首单转化率",
  pa_repeat: "复购率", pa_clv: "平均 CLV", pa_ent_kind: "类型", pa_ent_channel: "渠道",
  pa_ent_segment: "人群", pa_ent_latest: "最近渠道",
  "(all)": "全部客户", "(none)": "（无）", unknown: "未知",
  utm: "UTM 链接", qr_code: "二维码", livestream: "直播", offline_store: "线下门店",
  referral: "推荐", distributor: "分销",
});

const PATH_BYS = ["", "channel", "entrance", "entrance_kind", "entrance_segment"];
const ENTRANCE_BYS = ["kind", "channel", "segment", "latest"];
const pathState = { asOf: null, funnels: {}, entrance: null, entranceError: null, charts: [] };

function pathLayout() {
  const sec = $("#path");
  if ($("#pa-as-of")) return;
  sec.replaceChildren();
  const pick = (id, key) => el("label", {}, el("span", { "data-i18n": key }, t(key)), " ", el("select", { id }));
  sec.append(
    el("div", { class: "toolbar" }, el("h1", { "data-i18n": "path" }, t("path")),
      pick("pa-as-of", "pa_snapshot"), pick("pa-by", "pa_by")),
    el("p", { class: "error", id: "pa-error", role: "alert" }),
    el("h2", { "data-i18n": "pa_funnel" }, t("pa_funnel")),
    el("div", { id: "pa-chart", class: "chart" }),
    el("div", { class: "scroll" }, el("table", { id: "pa-funnel", class: "grid" })),
    el("p", { class: "note", "data-i18n": "pa_days_note" }, t("pa_days_note")),
    el("div", { class: "toolbar" }, el("h2", { "data-i18n": "pa_entrances" }, t("pa_entrances")),
      pick("pa-ent-by", "pa_by")),
    el("p", { class: "note", id: "pa-ent-note" }),
    el("div", { class: "scroll" }, el("table", { id: "pa-entrance", class: "grid" })));
  PATH_BYS.forEach((b) => $("#pa-by").append(el("option", { value: b })));
  ENTRANCE_BYS.forEach((b) => $("#pa-ent-by").append(el("option", { value: b })));
  $("#pa-as-of").addEventListener("change", () => fetchPath());
  $("#pa-by").addEventListener("change", () => fetchFunnel().then(() => renderPath()));
  $("#pa-ent-by").addEventListener("change", () => fetchEntrance().then(() => renderEntrance()));
}

async function loadPath() {
  pathLayout();
  const sel = $("#pa-as-of");
  if (!sel.options.length) {
    try {
      const snaps = (await api("/v1/snapshots")).snapshots;
      if (!snaps.length) { $("#pa-error").textContent = t("no_snapshot"); return; }
      snaps.slice().reverse().forEach((d) => sel.append(el("option", { value: d }, d)));
    } catch (e) {
      $("#pa-error").textContent = e.message;
      return;
    }
  }
  await fetchPath();
}

function funnelUrl(asOf, by) {
  return "/v1/funnel?as_of=" + encodeURIComponent(asOf) + (by ? "&by=" + encodeURIComponent(by) : "");
}

async function fetchPath() {
  pathState.asOf = $("#pa-as-of").value;
  pathState.funnels = {};
  await Promise.all([fetchFunnel(), fetchEntrance()]);
  renderPath();
  probeBys();
}

async function fetchFunnel() {
  const by = $("#pa-by").value;
  if (pathState.funnels[by]) return;
  try {
    pathState.funnels[by] = await api(funnelUrl(pathState.asOf, by));
    $("#pa-error").textContent = "";
  } catch (e) {
    $("#pa-error").textContent = e.message;
  }
}

/* keep only the breakdowns the snapshot has a column for */
async function probeBys() {
  const asOf = pathState.asOf;
  for (const o of [...$("#pa-by").options]) {
    if (!o.value || pathState.funnels[o.value]) continue;
    try {
      const data = await api(funnelUrl(asOf, o.value));
      if (asOf === pathState.asOf) pathState.funnels[o.value] = data;
    } catch (e) {
      if (e.status === 422) o.hidden = true;
    }
  }
}

async function fetchEntrance() {
  const by = $("#pa-ent-by").value;
  try {
    pathState.entrance = await api("/v1/entrance?by=" + by + "&as_of=" + encodeURIComponent(pathState.asOf));
    pathState.entranceError = null;
  } catch (e) {
    pathState.entrance = null;
    pathState.entranceError = e.message;
  }
}

function stageName(r) { return (state.lang === "zh" ? r.zh : r.en) || r.stage; }
const PATH_WORDS = ["(all)", "(none)", "unknown", "utm", "qr_code", "livestream", "offline_store",
  "referral", "distributor"];
function groupName(g) { return PATH_WORDS.includes(g) ? t(g) : g; }

function renderPath() {
  if (!$("#pa-as-of")) return;
  [...$("#pa-by").options].forEach((o) => { o.textContent = t("pa_by_" + (o.value || "none")); });
  [...$("#pa-ent-by").options].forEach((o) => { o.textContent = t("pa_ent_" + o.value); });
  const data = pathState.funnels[$("#pa-by").value];
  pathState.charts.forEach((c) => c.dispose());
  pathState.charts = [];
  if (data) {
    renderFunnelTable(data);
    if (!$("#path").hidden) renderFunnelChart(data);
  }
  renderEntrance();
}

function renderFunnelTable(data) {
  const grouped = !!data.by;
  const th = (k, num) => el("th", { class: num ? "num" : "" }, t(k));
  $("#pa-funnel").replaceChildren(
    el("thead", {}, el("tr", {}, ...(grouped ? [th("pa_group")] : []), th("pa_stage"), th("pa_reached", 1),
      th("pa_conversion", 1), th("pa_share", 1), th("pa_days", 1), th("pa_moved", 1), th("pa_at", 1))),
    el("tbody", {}, ...data.stages.map((r) => el("tr", { "data-group": r.group, "data-stage": r.stage },
      ...(grouped ? [el("td", { class: "group" }, groupName(r.group))] : []),
      el("td", { class: "stage" }, stageName(r)),
      el("td", { class: "num reached" }, fmtInt(r.reached)),
      el("td", { class: "num conversion" }, fmtPct(r.conversion_rate)),
      el("td", { class: "num share" }, fmtPct(r.first_stage_share)),
      el("td", { class: "num days" }, r.median_days == null ? "–" : fmtNum(r.median_days)),
      el("td", { class: "num moved" }, r.moved == null ? "–" : fmtInt(r.moved)),
      el("td", { class: "num at-stage" }, fmtInt(r.at_stage))))));
}

function renderFunnelChart(data) {
  const node = $("#pa-chart");
  const c = echarts.init(node, null, { renderer: "canvas" });
  const stages = [];
  for (const r of data.stages) if (!stages.some((s) => s.stage === r.stage)) stages.push(r);
  const names = stages.map(stageName);
  if (!data.by) {
    /* centred horizontal bars: an invisible offset, then the customers reached */
    const rows = data.stages;
    const top = Math.max(1, ...rows.map((r) => r.reached));
    c.setOption({
      animation: false,
      tooltip: { trigger: "item", formatter: (p) => {
        const r = rows[p.dataIndex];
        return `${stageName(r)}<br>${t("pa_reached")}: ${fmtInt(r.reached)}<br>`
          + `${t("pa_conversion")}: ${fmtPct(r.conversion_rate)}<br>${t("pa_share")}: ${fmtPct(r.first_stage_share)}`;
      } },
      grid: { left: 8, right: 8, top: 8, bottom: 4, containLabel: true },
      xAxis: { type: "value", max: top, show: false },
      yAxis: { type: "category", data: names, inverse: true, axisTick: { show: false } },
      series: [
        { type: "bar", stack: "f", silent: true, itemStyle: { color: "transparent" },
          data: rows.map((r) => (top - r.reached) / 2) },
        { type: "bar", stack: "f", barCategoryGap: "12%", itemStyle: { color: "#2f6fde" },
          label: { show: true, position: "inside", color: "#fff",
            formatter: (p) => fmtInt(rows[p.dataIndex].reached) + " · " + fmtPct(rows[p.dataIndex].first_stage_share) },
          data: rows.map((r) => (r.reached >= top * 0.35 ? r.reached
            : { value: r.reached, label: { position: "right", color: "#1d2330" } })) },
      ],
    });
  } else {
    const groups = [...new Set(data.stages.map((r) => r.group))].slice(0, 8);
    c.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: (v) => v + "%" },
      legend: { data: groups.map(groupName), top: 0, type: "scroll" },
      grid: { left: 8, right: 8, top: 30, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: names, axisLabel: { interval: 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: groups.map((g) => ({
        name: groupName(g), type: "line", symbolSize: 6,
        data: stages.map((s) => {
          const r = data.stages.find((x) => x.group === g && x.stage === s.stage);
          return r && r.first_stage_share != null ? +(r.first_stage_share * 100).toFixed(1) : null;
        }),
      })),
    });
  }
  pathState.charts.push(c);
}

function renderEntrance() {
  const note = $("#pa-ent-note");
  const table = $("#pa-entrance");
  const data = pathState.entrance;
  if (!data) { note.textContent = pathState.entranceError || ""; table.replaceChildren(); return; }
  note.textContent = "";
  const by = data.by;
  const th = (k, num) => el("th", { class: num ? "num" : "" }, t(k));
  table.replaceChildren(
    el("thead", {}, el("tr", {}, th("pa_entrance"), th("pa_customers", 1), th("pa_buyers", 1),
      th("pa_ent_conversion", 1), th("pa_repeat", 1), th("pa_clv", 1))),
    el("tbody", {}, ...data.rows.map((r) => el("tr", { "data-entrance": r[by] },
      el("td", {}, groupName(r[by])),
      el("td", { class: "num customers" }, fmtInt(r.customers)),
      el("td", { class: "num buyers" }, fmtInt(r.buyers)),
      el("td", { class: "num conversion" }, fmtPct(r.conversion_rate)),
      el("td", { class: "num repeat" }, fmtPct(r.repeat_rate)),
      el("td", { class: "num clv" }, r.mean_clv == null ? "–" : fmtMoney(r.mean_clv))))));
}

PAGES.path = loadPath;
$("#lang").addEventListener("click", () => renderPath());
window.addEventListener("resize", () => pathState.charts.forEach((c) => c.resize()));
document.querySelectorAll('[data-i18n="path"]').forEach((n) => { n.textContent = t("path"); });
