/* tierwise dashboard: the Flows page (flows, their outbox counts, the deliveries). */
"use strict";

Object.assign(I18N.en, {
  fl_status: "Status", fl_deliveries: "Deliveries", fl_all: "all", fl_flow: "Flow",
  fl_trigger: "Trigger", fl_action: "Action", fl_customer: "Customer", fl_reason: "Reason",
  fl_attempts: "Attempts", fl_created: "Created", fl_sent_at: "Sent", fl_error: "Last error",
  fl_running: "Deliverer running", fl_not_running: "Deliverer not running",
  fl_none: "No flows: add them to flows.yaml (docs/flows.md).",
  pending: "pending", sent: "sent", dead: "dead", capped: "capped", control: "control",
  recorded: "recorded",
  segment_entry: "segment entry", segment_exit: "segment exit", label_change: "label change",
  intention_up: "intention rise", churn_signal: "churn signal", date: "date",
});
Object.assign(I18N.zh, {
  fl_status: "状态", fl_deliveries: "投递记录", fl_all: "全部", fl_flow: "流程",
  fl_trigger: "触发", fl_action: "动作", fl_customer: "客户", fl_reason: "原因",
  fl_attempts: "尝试次数", fl_created: "创建时间", fl_sent_at: "发送时间", fl_error: "最近错误",
  fl_running: "投递程序运行中", fl_not_running: "投递程序未运行",
  fl_none: "没有流程：请在 flows.yaml 中添加（见 docs/flows.md）。",
  pending: "待发送", sent: "已发送", dead: "死信", capped: "超频上限", control: "对照组",
  recorded: "已记录",
  segment_entry: "进入人群", segment_exit: "离开人群", label_change: "标签变化",
  intention_up: "意向上升", churn_signal: "流失信号", date: "日期",
});

const FLOW_STATUSES = ["pending", "sent", "dead", "capped", "control", "recorded"];
const flowState = { flows: null, deliveries: null };

async function loadFlows() {
  const sel = $("#fl-status");
  if (!sel.options.length) {
    for (const s of ["", ...FLOW_STATUSES]) sel.append(el("option", { value: s }, s ? t(s) : t("fl_all")));
    sel.addEventListener("change", () => loadFlows());
  }
  try {
    const q = sel.value ? "&status=" + encodeURIComponent(sel.value) : "";
    const [flows, deliveries] = await Promise.all([
      api("/v1/flows"), api("/v1/flows/deliveries?limit=100" + q)]);
    flowState.flows = flows;
    flowState.deliveries = deliveries;
    renderFlows();
  } catch (e) {
    $("#fl-deliverer").textContent = e.message;
  }
}

function renderFlows() {
  const data = flowState.flows;
  if (!data) return;
  [...$("#fl-status").options].forEach((o) => { o.textContent = o.value ? t(o.value) : t("fl_all"); });
  const d = data.deliverer;
  $("#fl-deliverer").textContent = !data.flows.length ? t("fl_none")
    : d && d.running ? t("fl_running") + (d.last_error ? " — " + d.last_error : "")
      : t("fl_not_running") + (d && d.why_not ? ": " + d.why_not : "");
  const head = (...keys) => el("thead", {}, el("tr", {}, ...keys.map((k) =>
    el("th", { class: FLOW_STATUSES.includes(k) || k === "fl_attempts" ? "num" : "" }, t(k)))));
  $("#fl-flows").replaceChildren(head("fl_flow", "fl_trigger", "fl_action", ...FLOW_STATUSES),
    el("tbody", {}, ...data.flows.map((f) => el("tr", { "data-flow": f.flow },
      el("td", {}, (state.lang === "zh" ? f.zh : f.en) || f.flow),
      el("td", {}, t(f.trigger)),
      el("td", {}, [f.webhook ? "webhook" : "", f.rule ? f.playbook + "." + f.rule : ""].filter(Boolean).join(", ")),
      ...FLOW_STATUSES.map((s) => el("td", { class: "num " + s }, fmtInt(f.counts[s])))))));
  const items = flowState.deliveries.items;
  $("#fl-deliveries").replaceChildren(
    head("fl_flow", "fl_customer", "fl_status", "fl_reason", "fl_attempts", "fl_created", "fl_sent_at", "fl_error"),
    el("tbody", {}, ...items.map((r) => el("tr", { "data-delivery": r.delivery_id, "data-status": r.status },
      el("td", {}, r.flow), el("td", {}, r.customer_id), el("td", { class: "status" }, t(r.status)),
      el("td", {}, r.reason || ""), el("td", { class: "num" }, fmtInt(r.attempts)),
      el("td", {}, (r.created_at || "").slice(0, 19).replace("T", " ")),
      el("td", {}, (r.sent_at || "").slice(0, 19).replace("T", " ")),
      el("td", {}, r.last_error || "")))));
}

PAGES.flows = loadFlows;
$("#lang").addEventListener("click", () => renderFlows());
