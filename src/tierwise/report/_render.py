"""A report as one self-contained HTML page: tables, embedded data and inline ECharts."""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from tierwise.report._gather import SECTIONS, ReportData
from tierwise.report._words import WORDS, word

__all__ = ["render_html"]

_STATUS = {
    "holds": ("holds", "成立"),
    "within noise": ("within noise", "在噪声内"),
    "contradicted": ("contradicted", "被推翻"),
    "no customers": ("no customers", "无客户"),
}
_VERDICT_ZH = {
    "helps": "有效", "harmful": "有害", "no evidence of an effect": "无明显效果",
    "no data": "暂无数据",
}  # fmt: skip
_UPLIFT_ZH = (
    ("no treated or no control customers yet", "尚无处理组或对照组客户"),
    (": no evidence of an effect", "：无明显效果"), (": lower", "：更低"),
    (": higher", "：更高"), (": too few customers", "：客户太少"),
    ("revenue/customer", "人均收入"), ("margin/customer", "人均毛利"),
    ("conversion", "转化率"), (" pts", " 个百分点"), (" CI ", " 置信区间 "), (" to ", " 至 "),
)  # fmt: skip
_METRICS = ("repurchase_rate", "orders_per_customer", "revenue_per_customer", "margin_per_customer")
_FLAG_METRIC = {"repurchase": "repurchase_rate", "orders": "orders_per_customer",
                "revenue": "revenue_per_customer", "margin": "margin_per_customer"}  # fmt: skip
_COLORS = ["#2f6fdf", "#e8833a", "#3aa55d", "#c9413b", "#8a5cc2", "#7f7f7f", "#19a2b4"]

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",
 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9;line-height:1.45}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header .meta{opacity:.8;font-size:14px}main{max-width:1180px;margin:0 auto;padding:12px 24px 40px}
nav ol{columns:2;font-size:14px}section{background:#fff;border-radius:8px;padding:14px 20px;
 margin:16px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}h2{font-size:19px;margin:4px 0 6px}
h3{font-size:15px;margin:16px 0 6px}.lead{color:#555;font-size:14px;margin:0 0 10px}
.absent{color:#8a5a00;background:#fff7e0;border-left:4px solid #e0a800;padding:8px 12px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 10px}
th,td{padding:3px 8px;border-bottom:1px solid #e6e8ec;text-align:right;white-space:nowrap}
th{background:#f0f2f5;font-weight:600}td.t,th.t{text-align:left}
.chart{width:100%;height:320px}.chart.tall{height:460px}.grid{display:flex;flex-wrap:wrap;gap:12px}
.grid>div{flex:1 1 520px;min-width:0}.bar{display:inline-block;height:9px;background:#2f6fdf;
 vertical-align:middle;margin-right:6px}.note{font-size:12px;color:#666}
.cell{color:#000}.st-contradicted{color:#c9413b;font-weight:600}.st-holds{color:#2c7a3f}
@media print{body{background:#fff}section{box-shadow:none;break-inside:avoid}}
"""

_JS = """
(function(){
  var data = JSON.parse(document.getElementById('tierwise-charts').textContent);
  window.tierwiseCharts = [];
  Object.keys(data).forEach(function(id){
    var el = document.getElementById(id);
    if (!el) return;
    var chart = echarts.init(el, null, {renderer: 'svg'});
    chart.setOption(data[id]);
    window.tierwiseCharts.push(chart);
  });
  window.addEventListener('resize', function(){
    window.tierwiseCharts.forEach(function(c){ c.resize(); });
  });
  document.documentElement.setAttribute('data-charts', String(window.tierwiseCharts.length));
})();
"""


def _echarts() -> str:
    return (
        resources.files("tierwise.service")
        .joinpath("static/vendor/echarts.common.min.js")
        .read_text(encoding="utf-8")
    )


def _script_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def fmt_int(value: Any) -> str:
    """An integer with thousands separators (``-`` when missing)."""
    return "-" if value is None else f"{int(value):,}"


def fmt_money(value: Any) -> str:
    """An amount with two decimals and thousands separators."""
    return "-" if value is None else f"{float(value):,.2f}"


def fmt_share(value: Any) -> str:
    """A share as a percentage with one decimal."""
    return "-" if value is None else f"{100 * float(value):.1f}%"


def fmt_num(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` significant digits."""
    return "-" if value is None else f"{float(value):.{digits}g}"


def uplift_words(text: str, lang: str) -> str:
    """An uplift verdict's words in ``lang`` (they are English in the library)."""
    if lang != "zh":
        return text
    for en, zh in _UPLIFT_ZH:
        text = text.replace(en, zh)
    return text


def flag_words(text: str, lang: str) -> str:
    """A backtest flag (``metric < label ...``) in ``lang``."""
    if lang != "zh" or not text:
        return text
    parts = []
    for part in text.split("; "):
        metric, sep, rest = part.partition(" < ")
        if sep and metric in _FLAG_METRIC:
            part = word(_FLAG_METRIC[metric], lang) + sep + rest
        parts.append(part.replace("(within noise)", "(在噪声内)"))
    return "; ".join(parts)


def _value(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return _e(value)
    if isinstance(value, list):
        return _e("; ".join(map(str, value)) or "-")
    if isinstance(value, int):
        return fmt_int(value)
    return fmt_num(value, 4)


class _Page:
    def __init__(self, data: ReportData, lang: str) -> None:
        self.d = data.to_dict()
        self.lang = lang
        self.charts: dict[str, Any] = {}

    def w(self, key: str) -> str:
        return _e(word(key, self.lang))

    def name(self, item: dict[str, Any]) -> str:
        return _e(item.get(self.lang) or item.get("en") or item.get("label"))

    def table(self, head: list[tuple[str, bool]], rows: list[list[str]], cls: str = "") -> str:
        """``head``: (escaped text, is text column); ``rows``: escaped cells."""
        th = "".join(f'<th class="t">{h}</th>' if t else f"<th>{h}</th>" for h, t in head)
        body = "".join(
            "<tr>" + "".join(
                f'<td class="t">{c}</td>' if head[i][1] else f"<td>{c}</td>"
                for i, c in enumerate(r)
            ) + "</tr>"
            for r in rows
        )  # fmt: skip
        return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'

    def chart(self, cid: str, option: dict[str, Any], tall: bool = False) -> str:
        self.charts[cid] = {"animation": False, "color": _COLORS, **option}
        return f'<div class="chart{" tall" if tall else ""}" id="{cid}"></div>'

    # -- sections ------------------------------------------------------------------------
    def tiers(self, s: dict[str, Any]) -> str:
        parts = []
        for name, scheme in s["schemes"].items():
            labels = scheme["labels"]
            rows = [[
                self.name(lab), fmt_int(lab["customers"]), fmt_share(lab["customer_share"]),
                fmt_money(lab["value"]), fmt_share(lab["value_share"]),
            ] for lab in labels]  # fmt: skip
            head = [(self.w("label"), True), (self.w("n_customers"), False),
                    (self.w("customer_share"), False), (self.w("value"), False),
                    (self.w("value_share"), False)]  # fmt: skip
            option = {
                "tooltip": {"trigger": "axis"},
                "legend": {"top": 0},
                "grid": {"left": 8, "right": 16, "top": 30, "bottom": 8, "containLabel": True},
                "xAxis": {"type": "category",
                          "data": [lab.get(self.lang) or lab["label"] for lab in labels],
                          "axisLabel": {"interval": 0, "rotate": 20 if len(labels) > 5 else 0}},
                "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
                "series": [
                    {"name": word("customer_share", self.lang), "type": "bar",
                     "data": [round(100 * (lab["customer_share"] or 0), 2) for lab in labels]},
                    {"name": word("value_share", self.lang), "type": "bar",
                     "data": [round(100 * (lab["value_share"] or 0), 2) for lab in labels]},
                ],
            }  # fmt: skip
            parts.append(
                f'<h3 data-scheme="{_e(name)}">{self.name(scheme)} <span class="note">'
                f'{_e(name)}</span></h3><div class="grid"><div>{self.table(head, rows)}</div>'
                f"<div>{self.chart(f'chart-tiers-{name}', option)}</div></div>"
            )
        return "".join(parts)

    def moves(self, s: dict[str, Any]) -> str:
        parts = [f'<p class="note">{_e(s["from"])} → {_e(s["to"])}</p>']
        for name, scheme in s["schemes"].items():
            parts.append(
                f'<h3 data-scheme="{_e(name)}">{self.name(scheme)} <span class="note">'
                f"{fmt_int(scheme['moved'])} / {fmt_int(scheme['customers'])} "
                f"{self.w('moved')}</span></h3>{self.matrix(scheme['cells'])}"
            )
        return "".join(parts)

    def matrix(self, cells: list[dict[str, Any]]) -> str:
        """A transition matrix (rows: before, columns: now) of `Project.moves` cells."""
        key_from, key_to = f"from_{self.lang}", f"to_{self.lang}"
        rows_order: list[str] = []
        cols_order: list[str] = []
        names: dict[str, str] = {}
        for c in cells:
            if c["from_label"] not in rows_order:
                rows_order.append(c["from_label"])
            if c["to_label"] not in cols_order:
                cols_order.append(c["to_label"])
            names[c["from_label"]] = c[key_from]
            names[c["to_label"]] = c[key_to]
        known = rows_order + [x for x in cols_order if x not in rows_order]
        cols_order = [x for x in known if x in cols_order]
        grid = {(c["from_label"], c["to_label"]): c for c in cells}
        head = [(self.w("from_to"), True)] + [(_e(names[x]), False) for x in cols_order]
        rows = []
        for r in rows_order:
            line = [_e(names[r])]
            for col in cols_order:
                c = grid.get((r, col))
                if c is None:
                    line.append("")
                    continue
                alpha = round(0.08 + 0.6 * c["share"], 3)
                hue = "47,111,223" if r == col else "232,131,58"
                line.append(
                    f'<span class="cell" title="{fmt_share(c["share"])}" '
                    f'style="background:rgba({hue},{alpha});padding:1px 4px">'
                    f"{fmt_int(c['customers'])}</span>"
                )
            rows.append(line)
        return self.table(head, rows, "matrix")

    def quadrant(self, s: dict[str, Any]) -> str:
        lines = []
        if s["loyalty_threshold"] is not None:
            lines.append({"xAxis": s["loyalty_threshold"],
                          "name": word("loyalty_line", self.lang)})  # fmt: skip
        if s["profit_threshold"] is not None:
            lines.append({"yAxis": s["profit_threshold"],
                          "name": word("profit_line", self.lang)})  # fmt: skip
        series = []
        for i, lab in enumerate(s["labels"]):
            serie: dict[str, Any] = {
                "name": lab.get(self.lang) or lab["label"], "type": "scatter",
                "symbolSize": 4, "large": True, "data": lab["points"],
            }  # fmt: skip
            if i == 0 and lines:
                serie["markLine"] = {
                    "silent": True, "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": "#333"},
                    "label": {"formatter": "{b}"}, "data": lines,
                }  # fmt: skip
            series.append(serie)
        option = {
            "tooltip": {"trigger": "item"},
            "legend": {"top": 0},
            "grid": {"left": 8, "right": 72, "top": 34, "bottom": 28, "containLabel": True},
            "xAxis": {"type": "value", "name": word("loyalty", self.lang), "min": 0, "max": 1,
                      "nameLocation": "middle", "nameGap": 24},
            "yAxis": {"type": "log", "name": word("profit", self.lang)},
            "series": series,
        }  # fmt: skip
        rows = [[self.name(lab), fmt_int(lab["customers"]), _e(lab["note"])]
                for lab in s["labels"]]  # fmt: skip
        head = [(self.w("label"), True), (self.w("n_customers"), False), ("", True)]
        lines_text = (
            f"{self.w('loyalty_line')} {fmt_num(s['loyalty_threshold'])} · "
            f"{self.w('profit_line')} {fmt_num(s['profit_threshold'])} · "
            f"{fmt_int(s['shown'])} / {fmt_int(s['customers'])} {self.w('shown')}"
        )
        return (
            f'<div class="grid"><div>{self.chart("chart-quadrant", option, tall=True)}</div>'
            f'<div>{self.table(head, rows)}<p class="note">{lines_text}</p></div></div>'
        )

    def clv(self, s: dict[str, Any]) -> str:
        parts = []
        for key in ("model", "spend_model"):
            model = s.get(key)
            if not model:
                continue
            rows = [[_e(k), fmt_num(v, 4), fmt_num(model["standard_errors"].get(k), 3)]
                    for k, v in model["params"].items()]  # fmt: skip
            head = [(self.w("param"), True), (self.w("estimate"), False),
                    (self.w("std_error"), False)]  # fmt: skip
            parts.append(f"<div><h3>{self.w('model')}: {_e(model['name'])}</h3>"
                         f"{self.table(head, rows)}</div>")  # fmt: skip
        out = f'<div class="grid">{"".join(parts)}</div>'
        if s.get("note"):
            out += f'<p class="note">{_e(s["note"])}</p>'
        if not s.get("clv_deciles"):
            return out + f'<p class="absent">{self.w("no_holdout")}</p>'
        out += (f'<p class="note">{self.w("cut")} {_e(s["cut"])} · {self.w("until")} '
                f'{_e(s["until"])}</p>')  # fmt: skip
        cal = s.get("calibration") or {}
        if cal:
            rows = [[_e(k), _value(v)] for k, v in cal.items()]
            out += f"<h3>{self.w('calibration')}</h3>" + self.table(
                [(self.w("metric"), True), (self.w("estimate"), False)], rows
            )
        charts = []
        dec = s["clv_deciles"]
        charts.append(("chart-clv-deciles", "clv_deciles", [d["decile"] for d in dec], [
            ("predicted_purchases", [d.get("predicted_purchases") for d in dec]),
            ("actual_purchases", [d.get("actual_purchases") for d in dec]),
        ]))  # fmt: skip
        pa_dec = s.get("p_alive_deciles") or []
        if pa_dec:
            charts.append(("chart-p-alive-deciles", "p_alive_deciles",
                           [d["decile"] for d in pa_dec], [
                ("p_purchase", [d.get("p_purchase") for d in pa_dec]),
                ("repurchase_rate", [d.get("repurchase_rate") for d in pa_dec]),
            ]))  # fmt: skip
        blocks = []
        for cid, title, xs, series in charts:
            option = {
                "title": {"text": word(title, self.lang), "textStyle": {"fontSize": 13}},
                "tooltip": {"trigger": "axis"}, "legend": {"top": 30},
                "grid": {"left": 8, "right": 16, "top": 64, "bottom": 8, "containLabel": True},
                "xAxis": {"type": "category", "data": xs, "name": word("decile", self.lang)},
                "yAxis": {"type": "value"},
                "series": [{
                    "name": word(k, self.lang) if k != "p_purchase" else "P(purchase)",
                    "type": "bar" if j == 0 else "line",
                    "data": [None if v is None else round(v, 5) for v in vals],
                } for j, (k, vals) in enumerate(series)],
            }  # fmt: skip
            blocks.append(f"<div>{self.chart(cid, option)}</div>")
        rows = [[str(d["decile"]), fmt_int(d["customers"]), fmt_money(d.get("clv")),
                 fmt_num(d.get("predicted_purchases")), fmt_num(d.get("actual_purchases")),
                 fmt_share(d.get("repurchase_rate"))] for d in dec]  # fmt: skip
        head = [(self.w("decile"), False), (self.w("n_customers"), False), ("CLV", False),
                (self.w("predicted_purchases"), False), (self.w("actual_purchases"), False),
                (self.w("repurchase_rate"), False)]  # fmt: skip
        return out + f'<div class="grid">{"".join(blocks)}</div>' + self.table(head, rows)

    def tags(self, s: dict[str, Any]) -> str:
        parts = []
        for seg in s["segments"]:
            rows = [[
                self.name(t) + f' <span class="note">{_e(t["tag"])}</span>',
                fmt_int(t["customers"]),
                f'<span class="bar" style="width:{round(120 * t["share"])}px"></span>'
                + fmt_share(t["share"]),
            ] for t in seg["tags"]]  # fmt: skip
            head = [(self.w("tag"), True), (self.w("n_customers"), False),
                    (self.w("share"), True)]  # fmt: skip
            parts.append(
                f'<div><h3 data-segment="{_e(seg["segment"])}">{self.name(seg)} '
                f'<span class="note">{fmt_int(seg["size"])} {self.w("customers")}</span></h3>'
                f"{self.table(head, rows)}</div>"
            )
        return f'<div class="grid">{"".join(parts)}</div>'

    def plan(self, s: dict[str, Any]) -> str:
        return "".join(self.one_plan(p, i) for i, p in enumerate(s["plans"]))

    def one_plan(self, s: dict[str, Any], i: int) -> str:
        head_line = (
            f'<h3 data-playbook="{_e(s["playbook"])}">{self.w("playbook")}: '
            f"<b>{self.name(s)}</b> ({_e(s['playbook'])}) · "
            f"{self.w('as_of')} {_e(s['as_of'])} · "
            f"{self.w('send_at')} {_e(str(s['send_at']).replace('T', ' '))} · "
            f"{self.w('planned')} {fmt_int(s['planned'])} · {fmt_int(s['customers'])} "
            f"{self.w('customers')}</h3>"
        )
        rules = s["rules"]
        rows = [[_e(r["rule"]), _e(r["segment"]), _e(r["action"]), _e(r["channel"]),
                 fmt_int(r["planned"]), fmt_int(r["control"]), fmt_int(r["suppressed"]),
                 fmt_money(r["cost"])] for r in rules]  # fmt: skip
        head = [(self.w("rule"), True), (self.w("segment"), True), (self.w("action"), True),
                (self.w("channel"), True), (self.w("planned"), False),
                (self.w("control"), False), (self.w("suppressed"), False),
                (self.w("cost"), False)]  # fmt: skip
        names = sorted({r["rule"] for r in rules})
        per = {n: [0, 0, 0] for n in names}
        for r in rules:
            per[r["rule"]][0] += r["planned"]
            per[r["rule"]][1] += r["control"]
            per[r["rule"]][2] += r["suppressed"]
        option = {
            "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
            "grid": {"left": 8, "right": 16, "top": 30, "bottom": 8, "containLabel": True},
            "xAxis": {"type": "value"},
            "yAxis": {"type": "category", "data": names},
            "series": [{"name": word(k, self.lang), "type": "bar", "stack": "all",
                        "data": [per[n][i] for n in names]}
                       for i, k in enumerate(("planned", "control", "suppressed"))],
        }  # fmt: skip
        out = head_line + self.chart(f"chart-plan-{i}", option, tall=True) + self.table(head, rows)
        if s["reasons"]:
            out += self.table([(self.w("reason"), True), (self.w("rows"), False)],
                              [[_e(r["reason"]), fmt_int(r["rows"])]
                               for r in s["reasons"]])  # fmt: skip
        out += f"<h4>{self.w('uplift')}</h4>"
        up = s.get("uplift")
        if not up or not up["rows"]:
            reason = s.get("uplift_absent") or ""
            return out + f'<p class="absent">{self.w("no_uplift")}. {_e(reason)}</p>'
        rows = [[_e(r["rule"]), _e(r["action"]), fmt_int(r["n_treated"]),
                 fmt_int(r["n_control"]), fmt_share(r["conversion_diff"]),
                 fmt_money(r["revenue_diff"]), fmt_money(r["margin_diff"]),
                 _e(_VERDICT_ZH.get(r["verdict"], r["verdict"]) if self.lang == "zh"
                    else r["verdict"]),
                 _e(uplift_words(r["words"], self.lang))] for r in up["rows"]]  # fmt: skip
        head = [(self.w("rule"), True), (self.w("action"), True), (self.w("treated"), False),
                (self.w("control"), False), (self.w("conversion_diff"), False),
                (self.w("revenue_diff"), False), (self.w("margin_diff"), False),
                (self.w("verdict"), True), ("", True)]  # fmt: skip
        notes = "".join(f'<p class="note">{_e(n)}</p>' for n in up["notes"])
        return out + self.table(head, rows) + notes

    def backtest(self, s: dict[str, Any]) -> str:
        out = (
            f"<p>{self.w('cut')} {_e(s['cut'])} · {self.w('until')} {_e(s['until'])} · "
            f"{fmt_int(s['customers'])} {self.w('customers')} · "
            f"{fmt_int(s['holdout_buyers'])} {self.w('holdout_buyers')}</p>"
        )
        head = [(self.w("scheme"), True), (self.w("label"), True),
                (self.w("n_customers"), False), (self.w("repurchase_rate"), False),
                (self.w("orders_per_customer"), False), (self.w("revenue_per_customer"), False),
                (self.w("margin_per_customer"), False), (self.w("flag"), True)]  # fmt: skip
        rows = [[_e(r["scheme"]), self.name(r), fmt_int(r["customers"]),
                 fmt_share(r["repurchase_rate"]), fmt_num(r["orders_per_customer"]),
                 fmt_money(r["revenue_per_customer"]), fmt_money(r["margin_per_customer"]),
                 _e(flag_words(r["flag"], self.lang))] for r in s["labels"]]  # fmt: skip
        out += self.table(head, rows, "backtest")
        checks = [c for c in s["checks"] if c["status"] != "no customers"]
        if checks:
            head = [(self.w("scheme"), True), (self.w("metric"), True), (self.w("claim"), True),
                    (self.w("difference"), False), (self.w("margin95"), False),
                    (self.w("status"), True)]  # fmt: skip
            i = 1 if self.lang == "zh" else 0
            names = {(r["scheme"], r["label"]): r.get(self.lang) or r["label"]
                     for r in s["labels"]}  # fmt: skip

            def claim(side: str, scheme: str) -> str:
                return "+".join(names.get((scheme, x), x) for x in side.split("+"))

            rows = [[_e(c["scheme"]), self.w(c["metric"]) if c["metric"] in _METRICS
                     else _e(c["metric"]),
                     _e(f"{claim(c['higher'], c['scheme'])} > {claim(c['lower'], c['scheme'])}"),
                     fmt_num(c["difference"]), fmt_num(c["margin95"]),
                     f'<span class="st-{_e(c["status"]).replace(" ", "-")}">'
                     f'{_e(_STATUS.get(c["status"], (c["status"],) * 2)[i])}</span>']
                    for c in checks]  # fmt: skip
            out += f"<h3>{self.w('checks')}</h3>" + self.table(head, rows)
        if s.get("note"):
            out += f'<p class="note">{_e(s["note"])}</p>'
        return out

    # -- entrances, the path, members, satisfaction, identity ----------------------------
    def kind_name(self, kind: str) -> str:
        key = "kind_" + kind
        return self.w(key) if key in WORDS else _e(kind)

    def mix_cells(self, mix: dict[str, Any], quads: list[dict[str, Any]]) -> list[str]:
        return [fmt_share(mix.get(q["label"], 0.0)) for q in quads]

    def entrance_table(self, rows: list[dict[str, Any]], key: str, quads: list[dict[str, Any]],
                       names: list[str]) -> str:  # fmt: skip
        head = [(self.w("entrance_" + key), True), (self.w("n_customers"), False),
                (self.w("buyers"), False), (self.w("conversion_rate"), False),
                (self.w("repeat_rate"), False), (self.w("mean_clv"), False),
                (self.w("revenue"), False)]  # fmt: skip
        head += [(self.name(q), False) for q in quads]
        body = [[n, fmt_int(r["customers"]), fmt_int(r["buyers"]),
                 fmt_share(r["conversion_rate"]), fmt_share(r["repeat_rate"]),
                 fmt_money(r["mean_clv"]), fmt_money(r["revenue"]),
                 *self.mix_cells(r["quadrant_mix"], quads)]
                for r, n in zip(rows, names, strict=True)]  # fmt: skip
        return self.table(head, body, f"entrance-{key}")

    def entrance(self, s: dict[str, Any]) -> str:
        quads = s["quadrants"]
        kinds = s["kinds"]
        names = [self.kind_name(r["kind"]) for r in kinds]
        out = f"<h3>{self.w('by_kind')}</h3>"
        out += self.entrance_table(kinds, "kind", quads, names)
        option = {
            "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
            "grid": {"left": 8, "right": 16, "top": 30, "bottom": 8, "containLabel": True},
            "xAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
            "yAxis": {"type": "category", "inverse": True,
                      "data": [html.unescape(n) for n in names]},
            "series": [{"name": q.get(self.lang) or q["label"], "type": "bar", "stack": "mix",
                        "data": [round(100 * r["quadrant_mix"].get(q["label"], 0.0), 2)
                                 for r in kinds]} for q in quads],
        }  # fmt: skip
        mix_title = f"<h3>{self.w('quadrant_mix')}</h3>"
        out += mix_title + self.chart("chart-entrance-mix", option)
        if s.get("segments"):
            segs = s["segments"]
            out += f"<h3>{self.w('by_segment')}</h3>"
            out += self.entrance_table(segs, "segment", quads,
                                       [self.name(r) for r in segs])  # fmt: skip
        out += f"<h3>{self.w('distributors')}</h3>"
        dist = s.get("distributors")
        if not dist:
            return out + (
                f'<p class="absent" data-absent="distributors">'
                f"{self.w('no_distributors')}. {_e(s.get('distributors_absent'))}</p>"
            )
        out += (f'<p class="note">{fmt_int(dist["count"])} {self.w("distributors_n")} · '
                f'{fmt_int(dist["customers"])} {self.w("brought")} · {fmt_int(dist["orders"])} '
                f'{self.w("orders")} · {self.w("revenue")} {fmt_money(dist["revenue"])} · '
                f'{self.w("commission")} {fmt_money(dist["commission"])}</p>')  # fmt: skip
        head = [(self.w("distributor"), True), (self.w("brought_customers"), False),
                (self.w("orders"), False), (self.w("revenue"), False),
                (self.w("first_orders"), False), (self.w("repurchase_rate"), False),
                (self.w("commission"), False), (self.w("influence"), False)]  # fmt: skip
        rows = [[_e(r["distributor_id"]), fmt_int(r["customers"]), fmt_int(r["orders"]),
                 fmt_money(r["revenue"]), fmt_int(r["first_orders"]),
                 fmt_share(r["repurchase_rate"]), fmt_money(r["commission"]),
                 fmt_num(r["influence_score"])] for r in dist["top"]]  # fmt: skip
        if len(dist["top"]) < dist["count"]:
            out += f'<p class="note">{self.w("top_revenue")} {len(dist["top"])}</p>'
        return out + self.table(head, rows, "distributors")

    def path(self, s: dict[str, Any]) -> str:
        stages = s["stages"]
        names = [st.get(self.lang) or st["stage"] for st in stages]
        top = max(st["reached"] for st in stages) or 1
        option = {
            "tooltip": {"trigger": "item"},
            "grid": {"left": 8, "right": 8, "top": 8, "bottom": 8, "containLabel": True},
            "xAxis": {"type": "value", "show": False, "max": top},
            "yAxis": {"type": "category", "inverse": True, "data": names,
                      "axisLine": {"show": False}, "axisTick": {"show": False}},
            "series": [
                {"type": "bar", "stack": "funnel", "silent": True,
                 "itemStyle": {"color": "transparent"}, "tooltip": {"show": False},
                 "data": [round((top - st["reached"]) / 2, 2) for st in stages]},
                {"name": word("reached", self.lang), "type": "bar", "stack": "funnel",
                 "barCategoryGap": "8%",
                 "label": {"show": True, "position": "inside", "color": "#fff",
                           "formatter": "{c}"},
                 "data": [{"value": st["reached"],
                           "itemStyle": {"color": _COLORS[i % len(_COLORS)]}}
                          for i, st in enumerate(stages)]},
            ],
        }  # fmt: skip
        head = [(self.w("stage"), True), (self.w("at_stage"), False),
                (self.w("reached"), False), (self.w("conversion"), False),
                (self.w("first_stage_share"), False), (self.w("seen_moving"), False),
                (self.w("median_days"), False)]  # fmt: skip
        rows = [[_e(n), fmt_int(st["at_stage"]), fmt_int(st["reached"]),
                 fmt_share(st["conversion_rate"]), fmt_share(st["first_stage_share"]),
                 fmt_int(st["moved"]), fmt_num(st["median_days"])]
                for n, st in zip(names, stages, strict=True)]  # fmt: skip
        return (f'<div class="grid"><div>{self.chart("chart-path-funnel", option)}</div>'
                f"<div>{self.table(head, rows, 'funnel')}"
                f'<p class="note">{self.w("path_note")}</p></div></div>')  # fmt: skip

    def members(self, s: dict[str, Any]) -> str:
        levels = s["levels"]
        total = s["members"] + s["non_members"]
        head = [(self.w("level"), True), (self.w("threshold"), False), (self.w("keep"), False),
                (self.w("n_customers"), False), (self.w("customer_share"), False),
                (self.w("benefits"), True)]  # fmt: skip
        rows = [[self.name(lv) + f' <span class="note">{_e(lv["level"])}</span>',
                 fmt_money(lv["threshold"]), fmt_money(lv["keep"]), fmt_int(lv["customers"]),
                 fmt_share(lv["customers"] / total if total else None), _e(lv["benefits"])]
                for lv in levels]  # fmt: skip
        rows.append(
            [
                self.w("non_members"),
                "",
                "",
                fmt_int(s["non_members"]),
                fmt_share(s["non_members"] / total if total else None),
                "",
            ]
        )
        option = {
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 8, "right": 16, "top": 16, "bottom": 8, "containLabel": True},
            "xAxis": {"type": "category", "data": [lv.get(self.lang) or lv["level"]
                                                   for lv in levels]},
            "yAxis": {"type": "value"},
            "series": [{"name": word("n_customers", self.lang), "type": "bar",
                        "data": [lv["customers"] for lv in levels]}],
        }  # fmt: skip
        out = self.table(head, rows, "levels") + self.chart("chart-member-levels", option)
        out += f"<h3>{self.w('level_changes')}</h3>"
        ch = s.get("changes")
        if ch is None:
            why = "absent_moves" if s["previous"] is None else "no_previous_levels"
            out += f'<p class="absent">{self.w(why)}</p>'
        else:
            out += f'<p class="note">{_e(s["previous"])} → {_e(self.d["as_of"])}</p>'
            keys = ("upgrade", "downgrade", "joined", "left", "stayed")
            out += self.table([(self.w("move_" + k), False) for k in keys],
                              [[fmt_int(ch[k]) for k in keys]], "level-changes")  # fmt: skip
            out += self.matrix(s["cells"])
        if s["recorded"]:
            keys = ("new", "upgrade", "downgrade")
            out += f"<h3>{self.w('recorded_moves')}</h3>" + self.table(
                [(self.w("snapshot"), True), *[(self.w("move_" + k), False) for k in keys]],
                [[_e(r["as_of"]), *[fmt_int(r[k]) for k in keys]] for r in s["recorded"]],
                "recorded-moves",
            )
        return out

    def satisfaction(self, s: dict[str, Any]) -> str:
        grades = s["grades"]
        total = s["graded"] + s["ungraded"]
        head = [(self.w("grade"), True), (self.w("min_score"), False),
                (self.w("n_customers"), False), (self.w("customer_share"), False),
                (self.w("mean_score"), False)]  # fmt: skip
        rows = [[self.name(g), fmt_num(g["min_score"]), fmt_int(g["customers"]),
                 fmt_share(g["share"]), fmt_num(g["mean_score"])] for g in grades]  # fmt: skip
        rows.append(
            [
                self.w("ungraded"),
                "",
                fmt_int(s["ungraded"]),
                fmt_share(s["ungraded"] / total if total else None),
                "",
            ]
        )
        option = {
            "tooltip": {"trigger": "item"}, "legend": {"top": 0},
            "series": [{"type": "pie", "radius": ["35%", "65%"], "top": 24,
                        "data": [{"name": g.get(self.lang) or g["grade"],
                                  "value": g["customers"]} for g in grades]
                        + [{"name": word("ungraded", self.lang), "value": s["ungraded"],
                            "itemStyle": {"color": "#c8ccd4"}}]}],
        }  # fmt: skip
        out = (f'<div class="grid"><div>{self.table(head, rows, "grades")}'
               f'<p class="note">{self.w("mean_score")} {fmt_num(s["mean_score"])}</p></div>'
               f'<div>{self.chart("chart-satisfaction", option)}</div></div>')  # fmt: skip
        out += f'<h3 data-segment="{_e(s["segment"])}">{self.w("dissatisfied_valuable")}</h3>'
        if s.get("segment_customers") is None:
            return out + f'<p class="absent">{_e(s.get("segment_absent"))}</p>'
        return out + (
            f'<p><b class="segment-count">{fmt_int(s["segment_customers"])}</b> '
            f'{self.w("customers")} <span class="note">{_e(s["segment"])}: '
            f"{_e(s.get('segment_expr'))}</span></p>"
        )

    def identity(self, s: dict[str, Any]) -> str:
        keys = ("links", "accounts", "identifiers", "persons", "merged_persons",
                "accounts_in_merged_persons", "largest_person", "guarded_identifiers",
                "accounts_left_apart")  # fmt: skip
        rows = [[self.w("id_" + k), fmt_int(s.get(k))] for k in keys]
        out = self.table([(self.w("metric"), True), (self.w("count"), False)], rows, "identity")
        types = s.get("identifier_types") or {}
        if types:
            out += f"<h3>{self.w('identifier_types')}</h3>" + self.table(
                [(self.w("id_type"), True), (self.w("identifiers"), False)],
                [[_e(k), fmt_int(v)] for k, v in types.items()],
            )
        merge = ", ".join(s.get("merge_types") or [])
        return f'<div class="grid"><div>{out}</div></div><p class="note">' + (
            f"{self.w('merge_types')}: {_e(merge)}</p>"
        )

    # -- page ----------------------------------------------------------------------------
    def render(self) -> str:
        d = self.d
        body = []
        toc = []
        for name in SECTIONS:
            toc.append(f'<li><a href="#{name}">{self.w(name)}</a></li>')
            data = d["sections"].get(name)
            if data is None:
                inner = (f'<p class="absent" data-absent="{name}">{self.w("absent")}: '
                         f'{self.w("absent_" + name)}</p>')  # fmt: skip
            else:
                inner = getattr(self, name)(data)
            lead = f'<p class="lead">{self.w(name + "_lead")}</p>'
            body.append(f'<section id="{name}"><h2>{self.w(name)}</h2>{lead}{inner}</section>')
        title = word("title", self.lang)
        meta = (f'{self.w("as_of")} {_e(d["as_of"])} · {fmt_int(d["customers"])} '
                f'{self.w("customers")} · {self.w("generated")}')  # fmt: skip
        csp = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
               "img-src data:; font-src data:")  # fmt: skip
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{"zh-CN" if self.lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)} · {_e(d['as_of'])}</title><style>{_CSS}</style></head><body>"
            f'<header><h1>{_e(title)}</h1><div class="meta">{meta}</div></header><main>'
            f"<nav><b>{self.w('contents')}</b><ol>{''.join(toc)}</ol></nav>{''.join(body)}"
            "</main>"
            f'<script type="application/json" id="tierwise-report-data">{_script_json(d)}'
            "</script>"
            f'<script type="application/json" id="tierwise-charts">{_script_json(self.charts)}'
            f"</script><script>{_echarts()}</script><script>{_JS}</script></body></html>\n"
        )


def render_html(data: ReportData, lang: str = "zh") -> str:
    """The report page for ``data`` in ``lang`` (``zh`` or ``en``)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be zh or en, not {lang!r}")
    return _Page(data, lang).render()
