"""The report's wording in English and Chinese."""

from __future__ import annotations

__all__ = ["WORDS", "word"]

WORDS: dict[str, tuple[str, str]] = {
    "title": ("Customer tiering report", "客户分层报告"),
    "as_of": ("as of", "截至"),
    "customers": ("customers", "客户"),
    "generated": ("made by tierwise", "由 tierwise 生成"),
    "contents": ("Contents", "目录"),
    "absent": ("Not in this report", "本报告无此项"),
    "label": ("Label", "标签"),
    "scheme": ("Scheme", "分层体系"),
    "n_customers": ("Customers", "客户数"),
    "customer_share": ("Customer share", "客户占比"),
    "value": ("Value (paid)", "价值 (实付)"),
    "value_share": ("Value share", "价值占比"),
    # sections
    "tiers": ("Tiers and their value share", "分层与价值占比"),
    "tiers_lead": (
        "Customers per primary label of each scheme, with the paid value they brought and its"
        " share of the shop's value.",
        "各分层体系中每个主标签的客户数、其带来的实付金额及占全店价值的比例。",
    ),
    "moves": ("Movements since the previous snapshot", "较上一快照的迁移"),
    "moves_lead": (
        "Customers per (label before, label now) of each scheme; rows are the earlier snapshot,"
        " the share is of the row.",
        "各体系客户在上一快照与本快照之间的标签迁移；行为上一快照，占比按行计算。",
    ),
    "moved": ("moved", "发生迁移"),
    "from_to": ("from \\ to", "从 \\ 到"),
    "quadrant": ("Quadrant map", "四象限图"),
    "quadrant_lead": (
        "Expected loyalty against potential profit; the lines are the learned thresholds.",
        "预期忠诚度与潜在利润；虚线为学习到的分界线。",
    ),
    "loyalty": ("Expected loyalty", "预期忠诚度"),
    "profit": ("Potential profit", "潜在利润"),
    "loyalty_line": ("loyalty line", "忠诚度分界"),
    "profit_line": ("profit line", "利润分界"),
    "shown": ("points shown (a fixed sample)", "个点已绘制 (固定抽样)"),
    "clv": ("CLV checks", "CLV 校验"),
    "clv_lead": (
        "The fitted purchase and spend models, and their predictions checked on the orders after"
        " the backtest cut, by decile of the prediction.",
        "拟合的购买模型与客单价模型，以及在回测切点之后的订单上按预测十分位检验的结果。",
    ),
    "model": ("Model", "模型"),
    "param": ("Parameter", "参数"),
    "estimate": ("Estimate", "估计值"),
    "std_error": ("Std. error", "标准误"),
    "decile": ("Decile", "十分位"),
    "predicted_purchases": ("Predicted purchases", "预测购买次数"),
    "actual_purchases": ("Actual purchases", "实际购买次数"),
    "p_alive": ("P(alive)", "存活概率"),
    "repurchase_rate": ("Repurchase rate", "复购率"),
    "clv_deciles": ("Purchases per customer by CLV decile", "按 CLV 十分位的人均购买次数"),
    "p_alive_deciles": ("Repurchase by P(alive) decile", "按存活概率十分位的复购率"),
    "calibration": ("Calibration", "校准"),
    "no_holdout": (
        "No holdout check: the backtest is not part of this report.",
        "无留出期检验：本报告未包含回测。",
    ),
    "tags": ("Tag portraits per segment", "各客群的标签画像"),
    "tags_lead": (
        "The precise tags most common in each lifecycle segment (share of the segment).",
        "各生命周期客群中最常见的精准标签 (占客群比例)。",
    ),
    "segment": ("Segment", "客群"),
    "tag": ("Tag", "标签"),
    "share": ("Share", "占比"),
    "plan": ("Playbook plan and uplift", "运营手册计划与增量效果"),
    "plan_lead": (
        "The newest stored plan: actions per rule and channel, held-out controls and"
        " suppressions; then treated against control since the plan.",
        "最新保存的计划：各规则与渠道的动作数、对照组与被抑制数；以及计划之后处理组与对照组的对比。",
    ),
    "playbook": ("Playbook", "运营手册"),
    "send_at": ("sends at", "发送时间"),
    "rule": ("Rule", "规则"),
    "action": ("Action", "动作"),
    "channel": ("Channel", "渠道"),
    "planned": ("Planned", "计划发送"),
    "control": ("Control", "对照组"),
    "suppressed": ("Suppressed", "被抑制"),
    "cost": ("Cost", "成本"),
    "reason": ("Reason", "原因"),
    "rows": ("Rows", "行数"),
    "uplift": ("Uplift", "增量效果"),
    "treated": ("Treated", "处理组"),
    "conversion_diff": ("Conversion diff.", "转化率差"),
    "revenue_diff": ("Revenue diff.", "收入差"),
    "margin_diff": ("Margin diff.", "毛利差"),
    "verdict": ("Verdict", "结论"),
    "no_uplift": ("No uplift yet", "暂无增量效果"),
    "backtest": ("Backtest", "回测"),
    "backtest_lead": (
        "The labels made as of the cut, measured on the paid orders after it.",
        "以切点为基准生成的标签，在切点之后的实付订单上检验。",
    ),
    "cut": ("cut", "切点"),
    "until": ("holdout until", "留出期至"),
    "holdout_buyers": ("bought in the holdout", "在留出期购买"),
    "orders_per_customer": ("Orders / customer", "人均订单"),
    "revenue_per_customer": ("Revenue / customer", "人均收入"),
    "margin_per_customer": ("Margin / customer", "人均毛利"),
    "flag": ("Flag", "标记"),
    "checks": ("Declared orderings", "声明的排序"),
    "claim": ("Claim", "声明"),
    "metric": ("Metric", "指标"),
    "difference": ("Difference", "差值"),
    "margin95": ("±95 %", "±95 %"),
    "status": ("Status", "状态"),
    # reasons a section is empty
    "absent_moves": (
        "No earlier snapshot to compare with (make one with `tierwise run --as-of DAY`).",
        "没有更早的快照可比较 (可用 `tierwise run --as-of DAY` 生成)。",
    ),
    "absent_quadrant": ("No quadrant labels in this snapshot.", "本快照没有四象限标签。"),
    "absent_clv": ("No CLV model in this snapshot.", "本快照没有 CLV 模型。"),
    "absent_tags": ("No tags in this snapshot.", "本快照没有标签数据。"),
    "absent_plan": (
        "No plan yet (make one with `tierwise plan`).",
        "尚无计划 (可用 `tierwise plan` 生成)。",
    ),
    "absent_backtest": ("No backtest in this report.", "本报告未包含回测。"),
}
"""Key: (English, Chinese)."""


def word(key: str, lang: str) -> str:
    """The wording of ``key`` in ``lang`` (``zh`` or ``en``)."""
    en, zh = WORDS[key]
    return zh if lang == "zh" else en
