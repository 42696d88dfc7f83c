"""A seeded demo shop: customers, orders and events with planted ground truth.

Every customer is drawn from an archetype (deal hunter, active interactor, creator, KOL,
barnacle, butterfly, stranger, true friend, churned, long-silent, potential, plain new buyer)
and the data are laid out so that the default tiering rules recover the archetype's labels
with a margin from every threshold. The ``truth`` table holds those labels; see
``docs/demo.md`` for the rules the planting follows.

Generation is vectorised with numpy: one million customers with twenty orders and fifty events
each (20 M orders, 50 M events) take about a minute of CPU time on one core.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierwise.errors import ConfigError
from tierwise.schema import CUSTOMERS, DEFAULT_EVENT_TYPES, EVENTS, ORDERS

__all__ = [
    "ARCHETYPES",
    "BEHAVIOUR_TYPES",
    "INTENTION_GRADES",
    "INTENTION_HALF_LIFE_DAYS",
    "INTENTION_WEIGHTS",
    "LIFECYCLE_STAGES",
    "PERSONAS",
    "QUADRANTS",
    "RFM_SHAPES",
    "TRUTH_SCHEMA",
    "DemoShop",
    "generate_shop",
]

# --------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------

ARCHETYPES: dict[str, float] = {
    "deal_hunter": 0.08,
    "active": 0.07,
    "creator": 0.04,
    "kol": 0.01,
    "barnacle": 0.10,
    "butterfly": 0.05,
    "stranger": 0.12,
    "true_friend": 0.03,
    "churned": 0.10,
    "long_silent": 0.12,
    "potential": 0.13,
    "new_buyer": 0.15,
}
"""Default share of each archetype among the customers."""

LIFECYCLE_STAGES = ("potential", "new", "repeat", "high_value", "churned", "long_silent")
BEHAVIOUR_TYPES = ("self_directed", "active", "creator", "kol")
QUADRANTS = ("", "stranger", "barnacle", "butterfly", "true_friend")
INTENTION_GRADES = ("high", "medium", "low", "long_silent")
RFM_SHAPES = (
    "champions",
    "loyal",
    "big_spenders",
    "potential_loyalist",
    "new",
    "at_risk",
    "dormant",
    "prospects",
)
PERSONAS = ("none", "mother", "student", "office_worker", "elder_gift")

INTENTION_WEIGHTS: dict[str, float] = {
    "comment": 3.0,
    "message": 3.0,
    "like": 1.0,
    "favorite": 2.0,
    "share": 2.5,
    "download": 2.0,
    "check_in": 1.5,
    "review": 2.0,
    "recommend": 2.5,
    "view": 0.2,
}
"""Event weights of the intention score the truth's grades are planted against."""

INTENTION_HALF_LIFE_DAYS = 30.0

# Types a scorer might plausibly weight too; planted upper bounds hold with them counted.
_EXTRA_WEIGHTS: dict[str, float] = {
    "livestream_visit": 1.0,
    "follow": 1.0,
    "review_photo": 2.0,
    "review_video": 2.0,
    "buyer_show": 2.0,
    "cart": 1.0,
    "referral": 2.5,
}

# Planted score bands (thresholds are high >= 10, medium >= 3).
_HIGH_MIN = 14.0
_MEDIUM_MIN, _MEDIUM_MAX = 4.2, 7.0
_LOW_MAX = 2.0

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("archetype", pa.string(), nullable=False),
        pa.field("lifecycle_stage", pa.string(), nullable=False),
        pa.field("behaviour_types", pa.string(), nullable=False),
        pa.field("quadrant", pa.string(), nullable=False),
        pa.field("intention_grade", pa.string(), nullable=False),
        pa.field("rfm_shape", pa.string(), nullable=False),
        pa.field("persona", pa.string(), nullable=False),
        pa.field("price_sensitive", pa.int8(), nullable=False),
        pa.field("intention_score", pa.float64(), nullable=False),
    ]
)
"""Columns of the truth table."""

# --------------------------------------------------------------------------------------
# Archetype variants ("kinds"): labels and order shape
# --------------------------------------------------------------------------------------

_SELF, _ACTIVE, _CREATOR, _KOL = 1, 2, 4, 8


@dataclass(frozen=True)
class _Kind:
    archetype: str
    variant: str
    share: float
    lifecycle: str
    quadrant: str
    behaviour: int
    intention: str
    rfm: str
    shape: str  # order shape: none, deal, small, large, few_large, single_recent, ...


_KINDS: tuple[_Kind, ...] = (
    _Kind("deal_hunter", "", 1.0, "repeat", "stranger", _SELF, "low", "potential_loyalist", "deal"),
    _Kind("active", "fan", 0.45, "potential", "", _ACTIVE, "high", "prospects", "none"),
    _Kind("active", "seed", 0.40, "repeat", "barnacle", _ACTIVE, "high", "loyal", "small"),
    _Kind("active", "forwarder", 0.15, "high_value", "", _ACTIVE, "high", "prospects", "none"),
    _Kind("creator", "small", 0.5, "repeat", "barnacle", _CREATOR, "high", "loyal", "small"),
    _Kind(
        "creator", "large", 0.5, "high_value", "true_friend", _CREATOR, "high", "champions", "large"
    ),
    _Kind(
        "kol",
        "large_creator",
        0.25,
        "high_value",
        "true_friend",
        _KOL | _CREATOR,
        "high",
        "champions",
        "large",
    ),
    _Kind("kol", "large", 0.15, "high_value", "true_friend", _KOL, "high", "champions", "large"),
    _Kind(
        "kol",
        "small_creator",
        0.20,
        "high_value",
        "barnacle",
        _KOL | _CREATOR,
        "high",
        "loyal",
        "small",
    ),
    _Kind("kol", "small", 0.15, "high_value", "barnacle", _KOL, "high", "loyal", "small"),
    _Kind("kol", "non_buyer", 0.25, "high_value", "", _KOL, "high", "prospects", "none"),
    _Kind("barnacle", "engaged", 0.6, "repeat", "barnacle", 0, "medium", "loyal", "small"),
    _Kind("barnacle", "quiet", 0.4, "repeat", "barnacle", 0, "low", "loyal", "small"),
    _Kind(
        "butterfly", "", 1.0, "high_value", "butterfly", 0, "medium", "big_spenders", "few_large"
    ),
    _Kind("stranger", "new", 0.35, "new", "stranger", 0, "low", "new", "single_recent"),
    _Kind("stranger", "lapsed", 0.65, "churned", "stranger", 0, "low", "dormant", "single_old"),
    _Kind("true_friend", "", 1.0, "high_value", "true_friend", 0, "high", "champions", "large"),
    _Kind("churned", "", 1.0, "churned", "stranger", 0, "low", "at_risk", "lapsed"),
    _Kind("long_silent", "never", 0.5, "long_silent", "", 0, "long_silent", "dormant", "none"),
    _Kind(
        "long_silent", "lapsed", 0.5, "long_silent", "stranger", 0, "long_silent", "dormant", "old"
    ),
    _Kind("potential", "engaged", 0.5, "potential", "", 0, "medium", "prospects", "none"),
    _Kind("potential", "quiet", 0.5, "potential", "", 0, "low", "prospects", "none"),
    _Kind("new_buyer", "engaged", 0.4, "new", "stranger", 0, "medium", "new", "single_recent"),
    _Kind("new_buyer", "quiet", 0.6, "new", "stranger", 0, "low", "new", "single_recent"),
)

# Price sensitivity rate per archetype.
_PRICE_SENSITIVE: dict[str, float] = {
    "deal_hunter": 0.85,
    "stranger": 0.7,
    "barnacle": 0.5,
    "churned": 0.4,
    "new_buyer": 0.4,
    "potential": 0.4,
    "active": 0.3,
    "long_silent": 0.3,
    "creator": 0.25,
    "kol": 0.2,
    "butterfly": 0.1,
    "true_friend": 0.1,
}
_PERSONA_P = np.array([0.33, 0.22, 0.15, 0.20, 0.10])

# --------------------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------------------

_ETYPES = tuple(DEFAULT_EVENT_TYPES)
_E = {name: i for i, name in enumerate(_ETYPES)}
_W_MIN = np.array([INTENTION_WEIGHTS.get(t, 0.0) for t in _ETYPES])
_W_MAX = _W_MIN + np.array([_EXTRA_WEIGHTS.get(t, 0.0) for t in _ETYPES])
_INTERACTIONS = ("livestream_visit", "like", "comment", "share")
_TEXT_REVIEW = ("comment", "review", "review_photo", "review_video", "buyer_show")
_TEXT_MESSAGE = ("message",)

_ORDER_CHANNELS = ("store", "deal", "livestream", "distributor", "offline")
_OC = {name: i for i, name in enumerate(_ORDER_CHANNELS)}
_STATUSES = ("paid", "refunded", "cancelled")
_EVENT_CHANNELS = (
    "wechat_moments",
    "wechat_official",
    "weibo",
    "douyin",
    "dianping",
    "taobao",
    "store",
)
_EVENT_CHANNEL_P: dict[str, dict[str, float]] = {
    "view": {"taobao": 0.4, "store": 0.2, "douyin": 0.2, "wechat_official": 0.1, "dianping": 0.1},
    "like": {
        "wechat_moments": 0.3,
        "douyin": 0.3,
        "weibo": 0.2,
        "wechat_official": 0.1,
        "dianping": 0.1,
    },
    "comment": {
        "wechat_moments": 0.3,
        "douyin": 0.3,
        "weibo": 0.15,
        "wechat_official": 0.15,
        "dianping": 0.1,
    },
    "share": {"wechat_moments": 0.5, "weibo": 0.2, "douyin": 0.2, "wechat_official": 0.1},
    "favorite": {"taobao": 0.5, "douyin": 0.2, "dianping": 0.15, "store": 0.15},
    "cart": {"taobao": 0.6, "store": 0.3, "douyin": 0.1},
    "message": {"wechat_official": 0.4, "taobao": 0.4, "douyin": 0.2},
    "follow": {"wechat_official": 0.35, "douyin": 0.3, "weibo": 0.15, "taobao": 0.2},
    "livestream_visit": {"douyin": 0.6, "taobao": 0.4},
    "review": {"taobao": 0.7, "store": 0.15, "dianping": 0.15},
    "review_photo": {"taobao": 0.7, "store": 0.15, "dianping": 0.15},
    "review_video": {"taobao": 0.5, "douyin": 0.5},
    "buyer_show": {"taobao": 0.7, "weibo": 0.3},
    "referral": {"wechat_moments": 0.6, "wechat_official": 0.2, "weibo": 0.2},
    "check_in": {"dianping": 1.0},
    "download": {"douyin": 1.0},
    "recommend": {"dianping": 1.0},
    "coupon_claim": {"taobao": 0.5, "store": 0.3, "wechat_official": 0.2},
    "campaign_send": {"wechat_official": 0.6, "store": 0.4},
    "campaign_open": {"wechat_official": 0.6, "store": 0.4},
    "campaign_click": {"wechat_official": 0.6, "store": 0.4},
}

_CITIES: tuple[tuple[str, str, float], ...] = (
    ("上海", "1", 6),
    ("北京", "1", 6),
    ("广州", "1", 4),
    ("深圳", "1", 4),
    ("成都", "new-1", 3),
    ("杭州", "new-1", 3),
    ("重庆", "new-1", 3),
    ("武汉", "new-1", 2.5),
    ("西安", "new-1", 2),
    ("苏州", "new-1", 2),
    ("南京", "new-1", 2),
    ("长沙", "new-1", 2),
    ("郑州", "new-1", 2),
    ("天津", "new-1", 2),
    ("东莞", "new-1", 1.5),
    ("青岛", "new-1", 1.5),
    ("合肥", "new-1", 1.5),
    ("佛山", "new-1", 1.5),
    ("宁波", "new-1", 1.5),
    ("昆明", "2", 1),
    ("沈阳", "2", 1),
    ("济南", "2", 1),
    ("无锡", "2", 1),
    ("厦门", "2", 1),
    ("福州", "2", 1),
    ("温州", "2", 1),
    ("哈尔滨", "2", 1),
    ("石家庄", "2", 1),
    ("大连", "2", 1),
    ("南宁", "2", 1),
    ("泉州", "2", 0.8),
    ("贵阳", "2", 0.8),
    ("常州", "2", 0.8),
    ("南昌", "2", 0.8),
    ("珠海", "2", 0.6),
    ("烟台", "2", 0.6),
    ("洛阳", "3", 0.6),
    ("兰州", "3", 0.6),
    ("芜湖", "3", 0.5),
    ("扬州", "3", 0.5),
    ("桂林", "3", 0.5),
    ("赣州", "3", 0.5),
    ("绵阳", "3", 0.5),
    ("湛江", "3", 0.5),
    ("曲靖", "4", 0.4),
    ("六安", "4", 0.4),
    ("商丘", "4", 0.4),
    ("周口", "4", 0.4),
    ("宿迁", "4", 0.4),
    ("安顺", "5", 0.3),
    ("定西", "5", 0.3),
    ("固原", "5", 0.2),
)
_AGE_BANDS = ("18-24", "25-29", "30-34", "35-39", "40-49", "50+")
_AGE_P_BY_PERSONA = np.array(
    [
        [0.15, 0.2, 0.2, 0.15, 0.18, 0.12],  # none
        [0.03, 0.32, 0.4, 0.2, 0.05, 0.0],  # mother
        [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],  # student
        [0.08, 0.35, 0.32, 0.17, 0.08, 0.0],  # office_worker
        [0.1, 0.3, 0.3, 0.2, 0.1, 0.0],  # elder_gift
    ]
)
_FEMALE_P_BY_PERSONA = np.array([0.55, 0.97, 0.6, 0.6, 0.6])
_MEMBER_LEVELS = ("普通会员", "银卡会员", "金卡会员", "钻石会员")

# --------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------

_PRICE_PHRASES = (
    "太贵了",
    "性价比高",
    "有点贵",
    "打折再买",
    "等活动再入",
    "价格实惠",
    "比别家便宜",
    "领了券才买的",
    "很划算",
    "希望多点优惠",
    "趁满减囤了一波",
    "降价了才下手",
)
_QUALITY_PHRASES = (
    "质量很好",
    "做工一般",
    "做工精致",
    "面料舒服",
    "味道不错",
    "包装很用心",
    "和描述一致",
    "有点色差",
    "尺码偏小",
    "用了几天还不错",
    "颜色很正",
    "手感很好",
    "没有异味",
)
_LOGISTICS_PHRASES = ("物流很快", "发货速度快", "快递有点慢", "第二天就到了", "包装完好")
_SERVICE_PHRASES = ("客服态度好", "客服很耐心", "售后很给力", "客服回复有点慢")
_CLOSING_PHRASES = (
    "会回购的",
    "推荐购买",
    "还会再来",
    "一般般吧",
    "整体满意",
    "五星好评",
    "求链接",
    "已经推荐给朋友了",
    "下次还来",
)
_PERSONA_PHRASES: dict[str, tuple[str, ...]] = {
    "mother": (
        "给孩子买的",
        "宝宝很喜欢",
        "宝妈推荐",
        "孩子穿着正好",
        "给娃囤的",
        "二胎妈妈表示很满意",
        "儿子天天抱着不放",
    ),
    "student": ("学生党", "宿舍用刚好", "学生党福音", "开学买的", "室友也想要", "考研党必备"),
    "office_worker": (
        "上班用",
        "通勤穿很合适",
        "办公室同事都问链接",
        "加班必备",
        "上班族首选",
        "开会穿很得体",
    ),
    "elder_gift": (
        "送给爸妈",
        "给我妈买的",
        "爸爸很喜欢",
        "孝敬长辈",
        "给老人买的",
        "爷爷奶奶用着方便",
    ),
}
_MSG_GENERAL = (
    "请问什么时候发货",
    "这个有现货吗",
    "能开发票吗",
    "怎么退换",
    "尺码怎么选",
    "可以发顺丰吗",
    "有其他颜色吗",
    "保质期多久",
)
_MSG_PRICE = (
    "有优惠券吗",
    "能便宜点吗",
    "什么时候打折",
    "活动什么时候开始",
    "包邮吗",
    "买两件能优惠吗",
)
_MSG_PERSONA: dict[str, tuple[str, ...]] = {
    "mother": ("三岁孩子穿多大", "宝宝能用吗", "孕妇可以用吗", "给娃用安全吗"),
    "student": ("学生党有优惠吗", "寄到学校可以吗", "宿舍能用吗"),
    "office_worker": ("能寄到公司吗", "开公司抬头的发票可以吗", "上班穿合适吗"),
    "elder_gift": ("老人用方便吗", "送长辈有礼盒吗", "适合六十岁的人吗"),
}
_EMOJI = ("👍", "😊", "❤️", "😂", "🙏", "💯", "🎉", "😍", "👌", "🌟")
_TRADITIONAL = str.maketrans(
    "质买给宝贵价这个东发欢态学妈实惠还会点说们么样时间双颜码满优活单后经过长门边让钱问请吗无亲爱儿图视频题"
    "货递够级试换处开车爷奶带喜务复维购种费钟赶别续应发伙伤热",
    "質買給寶貴價這個東發歡態學媽實惠還會點說們麼樣時間雙顏碼滿優活單後經過長門邊讓錢問請嗎無親愛兒圖視頻題"
    "貨遞夠級試換處開車爺奶帶喜務複維購種費鐘趕別續應發夥傷熱",
)
_POOL_SIZE = 240


def _text_pool(seed: int) -> tuple[pa.Array, int]:
    """Build the comment/review and message text pools.

    Returns the pool and the size of each group; group ``g = kind * 10 + persona * 2 + ps``
    where kind is 0 for reviews/comments and 1 for messages.
    """
    rnd = random.Random(seed * 7919 + 17)
    texts: list[str] = []
    for kind in (0, 1):
        for persona in PERSONAS:
            for ps in (0, 1):
                for _ in range(_POOL_SIZE):
                    parts: list[str] = []
                    if kind == 0:
                        if persona != "none" and rnd.random() < 0.6:
                            parts.append(rnd.choice(_PERSONA_PHRASES[persona]))
                        if ps and rnd.random() < 0.6:
                            parts.append(rnd.choice(_PRICE_PHRASES))
                        parts.append(rnd.choice(_QUALITY_PHRASES))
                        if rnd.random() < 0.4:
                            parts.append(rnd.choice(_LOGISTICS_PHRASES))
                        if rnd.random() < 0.25:
                            parts.append(rnd.choice(_SERVICE_PHRASES))
                        rnd.shuffle(parts)
                        if rnd.random() < 0.5:
                            parts.append(rnd.choice(_CLOSING_PHRASES))
                    else:
                        if persona != "none" and rnd.random() < 0.6:
                            parts.append(rnd.choice(_MSG_PERSONA[persona]))
                        if ps and rnd.random() < 0.6:
                            parts.append(rnd.choice(_MSG_PRICE))
                        if not parts or rnd.random() < 0.4:
                            parts.append(rnd.choice(_MSG_GENERAL))
                        rnd.shuffle(parts)
                    sep = rnd.choice(("，", "，", ",", " ", "！", "。"))
                    text = sep.join(parts)
                    if rnd.random() < 0.3:
                        text += rnd.choice(_EMOJI) * rnd.randint(1, 3)
                    elif kind == 1 and rnd.random() < 0.5:
                        text += "？"
                    if rnd.random() < 0.1:
                        text = text.translate(_TRADITIONAL)
                    texts.append(text)
    return pa.array(texts, pa.string()), _POOL_SIZE


def _attribute_pool() -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Sign-up form answers as JSON strings, grouped by ``persona * 2 + ps``.

    Returns the pool, each group's first index and each group's size.
    """
    groups: list[list[str]] = []
    for persona in PERSONAS:
        for ps in (0, 1):
            focus = ("性价比", "优惠活动") if ps else ("品质", "设计", "服务")
            rows: list[dict[str, str]] = []
            for f in focus:
                if persona == "mother":
                    rows += [{"孩子年龄": a, "关注": f} for a in ("0-3岁", "3-6岁", "6-12岁")]
                elif persona == "student":
                    rows += [
                        {"身份": "学生", "关注": f},
                        {"身份": "学生", "年级": "大二", "关注": f},
                    ]
                elif persona == "office_worker":
                    rows += [{"职业": "白领", "关注": f}, {"职业": "上班族", "关注": f}]
                elif persona == "elder_gift":
                    rows += [{"购买用途": "送父母", "关注": f}, {"购买用途": "送长辈", "关注": f}]
                else:
                    rows += [{"关注": f}, {"关注": f, "来源": "朋友推荐"}]
            groups.append([json.dumps(r, ensure_ascii=False) for r in rows])
    sizes = np.array([len(g) for g in groups])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return pa.array([s for g in groups for s in g], pa.string()), starts, sizes


_CATEGORIES = ("母婴", "数码", "服饰", "美妆", "食品", "保健", "家居", "文具")
_CATEGORY_BY_PERSONA = (None, 0, 1, 2, 5)
_CAMPAIGNS = ("双11预热", "618大促", "会员日", "新品上市", "年货节", "周年庆")

# --------------------------------------------------------------------------------------
# Vector helpers
# --------------------------------------------------------------------------------------


def _within(counts: np.ndarray) -> np.ndarray:
    """Position of each repeated row inside its group, for ``np.repeat(x, counts)``."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)


def _group_cumsum(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at each change of the sorted ``groups``."""
    cs = np.cumsum(values, dtype=float)
    if groups.size == 0:
        return cs
    first = np.r_[True, groups[1:] != groups[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(groups.size), 0))
    return cs - (cs - values)[start]


def _uniform(
    rng: np.random.Generator, lo: np.ndarray | float, hi: np.ndarray | float, size: int
) -> np.ndarray:
    return lo + rng.random(size) * (np.asarray(hi) - np.asarray(lo))


def _spread(
    rng: np.random.Generator,
    cust: np.ndarray,
    counts: np.ndarray,
    lo: np.ndarray | float,
    hi: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Give each customer ``counts`` ages drawn uniformly in ``[lo, hi)`` (days before as_of)."""
    lo = np.broadcast_to(np.asarray(lo, float), cust.shape)
    hi = np.broadcast_to(np.asarray(hi, float), cust.shape)
    counts = np.where(hi > lo, counts, 0)
    rep = np.repeat(np.arange(cust.size), counts)
    age = lo[rep] + rng.random(rep.size) * (hi - lo)[rep]
    return cust[rep], age


def _pick(rng: np.random.Generator, names: tuple[str, ...], p: tuple[float, ...], size: int):
    """Event type codes drawn from ``names`` with probabilities ``p``."""
    codes = np.array([_E[n] for n in names], np.int8)
    return codes[rng.choice(len(names), size=size, p=np.asarray(p) / sum(p))]


def _largest_remainder(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights``."""
    w = np.asarray(weights, float)
    w = w / w.sum()
    raw = w * total
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    order = np.argsort(-(raw - out), kind="stable")
    out[order[:rest]] += 1
    if minimum and total >= minimum * int((w > 0).sum()):
        for i in np.flatnonzero((w > 0) & (out < minimum)):
            j = int(np.argmax(out))
            out[j] -= minimum - out[i]
            out[i] = minimum
    return out


def _id_matrix(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Ids ``prefix + zero-padded number`` as a ``(len(numbers), len(prefix) + width)`` byte
    matrix."""
    pre = np.frombuffer(prefix.encode("ascii"), np.uint8)
    out = np.empty((numbers.size, pre.size + width), np.uint8)
    out[:, : pre.size] = pre
    small = numbers.size == 0 or int(numbers.max()) < 2**32
    x = numbers.astype(np.uint32 if small else np.uint64)
    for j in range(out.shape[1] - 1, pre.size - 1, -1):
        q = x // 10
        out[:, j] = x - q * 10
        out[:, j] += 48
        x = q
    return out


def _rows(matrix: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``matrix[idx]`` for a byte matrix, gathering whole rows at once."""
    k = matrix.shape[1]
    return matrix.view(f"V{k}").ravel()[idx].view(np.uint8).reshape(-1, k)


def _strings(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Arrow strings from the rows of a fixed-width byte matrix (null where not ``valid``)."""
    n, k = matrix.shape
    if valid is None:
        offsets = np.arange(0, (n + 1) * k, k, dtype=np.int32)
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix))
        )
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(valid.astype(np.int32) * k, out=offsets[1:])
    bitmap = np.packbits(valid, bitorder="little")
    data = np.ascontiguousarray(matrix[valid])
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), pa.py_buffer(bitmap), n - int(valid.sum())
    )


def _id_array(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Fixed-width ids ``prefix + zero-padded number`` as an Arrow string array."""
    return _strings(_id_matrix(prefix, numbers, width))


def _time_order(stamps: np.ndarray) -> np.ndarray:
    """Stable ascending order of microsecond stamps that are whole seconds.

    Sorts ``(second << bits) | position`` keys, much faster than ``argsort``.
    """
    m = stamps.size
    if m == 0:
        return np.zeros(0, np.int64)
    sec = stamps // 1_000_000
    sec -= sec.min()
    bits = max(int(m - 1).bit_length(), 1)
    if int(sec.max()).bit_length() + bits > 62:
        return np.argsort(stamps, kind="stable")
    sec <<= bits
    sec |= np.arange(m, dtype=np.int64)
    sec.sort()
    sec &= (1 << bits) - 1
    return sec


def _take(pool: pa.Array, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``pool[idx]`` with nulls where ``valid`` is false."""
    if valid is None:
        return pool.take(pa.array(idx))
    return pool.take(pa.array(np.where(valid, idx, 0), mask=~valid))


# --------------------------------------------------------------------------------------
# Accumulators
# --------------------------------------------------------------------------------------


class _Orders:
    """Paid orders accumulated shape by shape."""

    def __init__(self) -> None:
        self.cust: list[np.ndarray] = []
        self.age: list[np.ndarray] = []
        self.amount: list[np.ndarray] = []
        self.channel: list[np.ndarray] = []

    def add(self, cust, age, amount, channel=None) -> None:
        self.cust.append(np.asarray(cust, np.int32))
        self.age.append(np.asarray(age, float))
        self.amount.append(np.asarray(amount, float))
        ch = np.full(len(cust), -1, np.int8) if channel is None else np.asarray(channel, np.int8)
        self.channel.append(ch)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(
            np.concatenate(x) if x else np.empty(0)
            for x in (self.cust, self.age, self.amount, self.channel)
        )


class _Events:
    """Events accumulated block by block; ``optional`` ones may be dropped by calibration."""

    def __init__(self) -> None:
        self.cust: list[np.ndarray] = []
        self.age: list[np.ndarray] = []
        self.etype: list[np.ndarray] = []
        self.target: list[np.ndarray] = []
        self.optional: list[np.ndarray] = []

    def add(self, cust, age, etype, target=None, optional: bool = True) -> None:
        n = len(cust)
        self.cust.append(np.asarray(cust, np.int32))
        self.age.append(np.asarray(age, float))
        et = np.asarray(etype, np.int8)
        self.etype.append(np.full(n, et, np.int8) if et.ndim == 0 else et)
        self.target.append(
            np.full(n, -1, np.int32) if target is None else np.asarray(target, np.int32)
        )
        self.optional.append(np.full(n, optional))

    @property
    def size(self) -> int:
        return sum(len(c) for c in self.cust)

    def arrays(self) -> dict[str, np.ndarray]:
        """Concatenate the blocks (and release them)."""
        out = {}
        for name in ("cust", "age", "etype", "target", "optional"):
            blocks = getattr(self, name)
            out[name] = np.concatenate(blocks)
            blocks.clear()
        return out


def _plain_timestamps(table: pa.Table) -> pa.Table:
    """Timestamps as ``YYYY-MM-DD HH:MM:SS`` text, as a shop's export would have them."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            text = pc.strftime(table.column(i), format="%Y-%m-%d %H:%M:%S")
            table = table.set_column(i, pa.field(f.name, pa.string(), f.nullable), text)
    return table


# --------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoShop:
    """A generated shop: the three canonical tables and the planted truth.

    Attributes
    ----------
    customers, orders, events : pyarrow.Table
        Canonical tables (columns and Arrow types of :mod:`tierwise.schema`).
    truth : pyarrow.Table
        One row per customer with the planted labels (:data:`TRUTH_SCHEMA`).
    as_of : datetime.date
        Last day of the data; nothing is stamped after it.
    seed : int
        Seed the shop was generated with.
    params : dict
        The generation arguments.
    extras : dict of str to pyarrow.Table
        Further files planted beside the three tables (e.g. identity links), by name.
    """

    customers: pa.Table
    orders: pa.Table
    events: pa.Table
    truth: pa.Table
    as_of: dt.date
    seed: int
    params: dict[str, object] = field(default_factory=dict)
    extras: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pa.Table]:
        """Every table by name: the three canonical ones, the truth and the extras."""
        return {
            "customers": self.customers,
            "orders": self.orders,
            "events": self.events,
            "truth": self.truth,
            **self.extras,
        }

    def write(
        self, directory: str | Path, format: Literal["parquet", "csv"] = "parquet"
    ) -> dict[str, Path]:
        """Write ``customers``, ``orders``, ``events`` and ``truth`` files.

        Parameters
        ----------
        directory : str or Path
            Created if missing; existing files of the same names are overwritten.
        format : {"parquet", "csv"}
            CSV files are UTF-8 with a header row.

        Returns
        -------
        dict of str to Path
            The written file of each table.
        """
        if format not in ("parquet", "csv"):
            raise ConfigError(f"format must be 'parquet' or 'csv', not {format!r}")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, table in self.tables.items():
            path = out / f"{name}.{format}"
            if format == "parquet":
                pq.write_table(table, path)
            else:
                pacsv.write_csv(_plain_timestamps(table), path)
            paths[name] = path
        return paths


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------


def _assign_kinds(rng: np.random.Generator, n: int, mix: Mapping[str, float]) -> np.ndarray:
    """Kind code of every customer, in shuffled order."""
    names = list(ARCHETYPES)
    weights = np.array([float(mix.get(a, 0.0)) for a in names])
    per_arch = _largest_remainder(n, weights, minimum=1)
    codes: list[np.ndarray] = []
    for a, count in zip(names, per_arch, strict=True):
        ks = [i for i, k in enumerate(_KINDS) if k.archetype == a]
        split = _largest_remainder(int(count), np.array([_KINDS[i].share for i in ks]))
        codes += [np.full(c, i, np.int16) for i, c in zip(ks, split, strict=True)]
    kinds = np.concatenate(codes)
    return kinds[rng.permutation(n)]


def _regular_plan(
    rng: np.random.Generator, m: int, horizon: float, large: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order count, interval and last-order age of regular buyers."""
    if large:
        p = _uniform(rng, 15.0, 45.0, m)
        last = _uniform(rng, 1.0, 45.0, m)
        n = 6 + rng.poisson(5.0, m)
    else:
        p = _uniform(rng, 14.0, 60.0, m)
        last = _uniform(rng, 1.0, 60.0, m)
        n = 6 + rng.poisson(6.0, m)
    n_max = np.floor((horizon - 5.0 - last) / (1.2 * p)).astype(np.int64) + 1
    return np.maximum(np.minimum(n, n_max), 6), p, last


class _Planner:
    """Per-customer plan of a shop: archetype variant, persona, first sight, orders, events.

    Ages are in days before the end of ``as_of``; every method draws from ``rng`` in a fixed
    order, so a seed fixes the shop.
    """

    def __init__(self, n: int, rng: np.random.Generator, years: int, mix: Mapping[str, float]):
        self.rng, self.n, self.horizon = rng, n, 365.0 * years
        kinds = _assign_kinds(rng, n, mix)
        self.kinds = kinds
        self.arch = np.array([list(ARCHETYPES).index(k.archetype) for k in _KINDS])[kinds]
        self.shape_of = np.array([k.shape for k in _KINDS])[kinds]
        self.intent = np.array([INTENTION_GRADES.index(k.intention) for k in _KINDS])[kinds]
        self.behaviour = np.array([k.behaviour for k in _KINDS])[kinds]
        self.long_silent = self.arch == list(ARCHETYPES).index("long_silent")
        self.persona = rng.choice(len(PERSONAS), size=n, p=_PERSONA_P).astype(np.int8)
        ps_rate = np.array([_PRICE_SENSITIVE[a] for a in ARCHETYPES])[self.arch]
        ps_rate = np.where(self.persona == 2, np.minimum(ps_rate + 0.2, 0.95), ps_rate)
        self.price_sensitive = (rng.random(n) < ps_rate).astype(np.int8)
        self.first_age = np.zeros(n)  # planned first sight, later the earliest activity
        self.referrer_of = np.full(n, -1, np.int64)
        self.ev = _Events()

    def members(self, *shapes: str) -> np.ndarray:
        """Customers whose order shape is one of ``shapes``."""
        return np.flatnonzero(np.isin(self.shape_of, shapes))

    def paid_orders(self, orders_per_customer: float | None) -> tuple[np.ndarray, ...]:
        """Paid orders by shape: customer, age, amount, channel (-1: to draw).

        Deal hunters' campaign sends are planted here too (they share the 14-day grid).
        """
        rng, n, horizon = self.rng, self.n, self.horizon
        arch, shape_of, first_age = self.arch, self.shape_of, self.first_age
        orders = _Orders()
        # ---- order shapes -----------------------------------------------------------------
        reg_small = self.members("small")
        reg_large = self.members("large")
        plan_small = _regular_plan(rng, reg_small.size, horizon, large=False)
        plan_large = _regular_plan(rng, reg_large.size, horizon, large=True)

        deal = self.members("deal")
        deal_n = rng.integers(3, 6, deal.size)
        few = self.members("few_large")
        few_n = rng.integers(2, 4, few.size)
        lapsed = self.members("lapsed")
        lapsed_n = rng.integers(2, 6, lapsed.size)
        old = self.members("old")
        old_n = rng.integers(1, 4, old.size)
        single = self.members("single_recent", "single_old")

        fixed = deal_n.sum() + few_n.sum() + lapsed_n.sum() + old_n.sum() + single.size
        scalable = plan_small[0].sum() + plan_large[0].sum()
        scale = 1.0
        if orders_per_customer is not None and scalable > 0:
            wanted = orders_per_customer * n / 1.065  # refunds and cancellations come on top
            scale = max(0.1, (wanted - fixed) / scalable)

        def place_regular(idx: np.ndarray, plan, large: bool) -> None:
            cnt, p, last = plan
            tenure = p * (cnt - 1)
            cnt = np.maximum(np.rint(cnt * scale).astype(np.int64), 6)
            p = tenure / (cnt - 1)
            rep = np.repeat(np.arange(idx.size), cnt)
            k = _within(cnt)
            age = last[rep] + p[rep] * k + _uniform(rng, -0.2, 0.2, rep.size) * p[rep]
            age = np.minimum(np.abs(age - 0.3) + 0.3, horizon - 1.0)  # reflect at 0.3 days
            cust = idx[rep]
            if large:
                amount = _uniform(rng, 850.0, 2200.0, rep.size)
                in_year = age < 360.0
                s365 = np.bincount(rep, amount * in_year, minlength=idx.size)
                boost = np.where(s365 < 4000.0, 4000.0 / np.maximum(s365, 1.0), 1.0)
                amount = np.where(in_year, amount * boost[rep], amount)
            else:
                n365 = np.bincount(rep, age < 370.0, minlength=idx.size)
                cap = np.minimum(80.0, 2000.0 / np.maximum(n365, 1))[rep]
                lo = np.minimum(12.0, 0.6 * cap)
                amount = _uniform(rng, lo, cap, rep.size)
            orders.add(cust, age, amount)
            oldest = np.zeros(idx.size)
            np.maximum.at(oldest, rep, age)
            first_age[idx] = np.minimum(oldest + _uniform(rng, 1.0, 60.0, idx.size), horizon)

        place_regular(reg_small, plan_small, large=False)
        place_regular(reg_large, plan_large, large=True)

        # Deal hunters: orders and campaign sends on a 14-day grid so that no order, open or
        # click falls within 7 days after any send (see docs/demo.md).
        n_blocks = int((horizon - 15.0) // 14.0)
        rep = np.repeat(np.arange(deal.size), deal_n)
        k = _within(deal_n)
        block = np.where(k == 0, rng.integers(0, 10, rep.size), rng.integers(0, n_blocks, rep.size))
        age = 14.0 * block + _uniform(rng, 10.0, 13.0, rep.size)
        channel = np.full(rep.size, _OC["deal"], np.int8)
        channel[(k == 1) & (deal_n[rep] >= 5)] = _OC["store"]
        orders.add(deal[rep], age, _uniform(rng, 20.0, 150.0, rep.size), channel)
        oldest = np.zeros(deal.size)
        np.maximum.at(oldest, rep, age)
        sends_n = rng.integers(4, 11, deal.size)
        srep = np.repeat(np.arange(deal.size), sends_n)
        s_block = rng.integers(0, 23, srep.size)
        s_age = 14.0 * s_block + _uniform(rng, 8.0, 9.0, srep.size)
        self.ev.add(deal[srep], s_age, _E["campaign_send"], optional=False)
        np.maximum.at(oldest, srep, s_age)
        first_age[deal] = np.minimum(oldest + _uniform(rng, 1.0, 60.0, deal.size), horizon)

        # Butterflies: two or three large, irregular, recent orders.
        rep = np.repeat(np.arange(few.size), few_n)
        k = _within(few_n)
        age = np.where(
            k == 0, _uniform(rng, 3.0, 120.0, rep.size), _uniform(rng, 3.0, 300.0, rep.size)
        )
        amount = _uniform(rng, 1300.0, 3500.0, rep.size)
        total = np.bincount(rep, amount, minlength=few.size)
        amount *= np.where(total < 4000.0, 4000.0 / total, 1.0)[rep]
        orders.add(few[rep], age, amount)
        oldest = np.zeros(few.size)
        np.maximum.at(oldest, rep, age)
        first_age[few] = np.minimum(oldest + _uniform(rng, 1.0, 200.0, few.size), horizon)

        # Churned: two to five modest orders, the last 215-320 days ago.
        last = _uniform(rng, 215.0, 320.0, lapsed.size)
        first_age[lapsed] = _uniform(rng, np.maximum(last + 30.0, 420.0), horizon, lapsed.size)
        rep = np.repeat(np.arange(lapsed.size), lapsed_n)
        k = _within(lapsed_n)
        age = np.where(
            k == 0, last[rep], _uniform(rng, last[rep], first_age[lapsed][rep] - 1.0, rep.size)
        )
        orders.add(lapsed[rep], age, _uniform(rng, 30.0, 300.0, rep.size))

        # Long-silent past buyers: one to three orders more than 420 days ago.
        first_age[old] = _uniform(rng, 450.0, horizon, old.size)
        rep = np.repeat(np.arange(old.size), old_n)
        age = _uniform(rng, 420.0, first_age[old][rep] - 1.0, rep.size)
        orders.add(old[rep], age, _uniform(rng, 30.0, 400.0, rep.size))

        # One order: recent (plain new buyers, new strangers) or long ago (lapsed strangers).
        is_stranger = arch[single] == list(ARCHETYPES).index("stranger")
        recent = shape_of[single] == "single_recent"
        f_old = _uniform(rng, 430.0, horizon, single.size)
        o_age = np.where(
            recent,
            _uniform(rng, np.where(is_stranger, 10.0, 3.0), 150.0, single.size),
            _uniform(rng, 400.0, f_old - 1.0, single.size),
        )
        first_age[single] = np.where(recent, o_age + _uniform(rng, 0.5, 12.0, single.size), f_old)
        amount = _uniform(
            rng, np.where(is_stranger, 10.0, 20.0), np.where(is_stranger, 120.0, 200.0), single.size
        )
        orders.add(single, o_age, amount)

        # Customers without orders.
        nob = self.members("none")
        nob_arch = np.array(list(ARCHETYPES))[arch[nob]]
        f = _uniform(rng, 20.0, horizon, nob.size)
        f = np.where(nob_arch == "kol", _uniform(rng, 200.0, horizon, nob.size), f)
        f = np.where(nob_arch == "potential", _uniform(rng, 5.0, horizon, nob.size), f)
        f = np.where(nob_arch == "long_silent", _uniform(rng, 420.0, horizon, nob.size), f)
        first_age[nob] = f

        return orders.arrays()

    def all_orders(self, paid_orders: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
        """Channels, deal-share cap, refunded/cancelled noise and coupons."""
        rng, n, arch = self.rng, self.n, self.arch
        o_cust, o_age, o_amount, o_channel = paid_orders
        deal_arch = list(ARCHETYPES).index("deal_hunter")
        stranger_arch = list(ARCHETYPES).index("stranger")
        todo = o_channel < 0
        normal_p = np.array([0.5, 0.08, 0.2, 0.1, 0.12])
        bargain_p = np.array([0.3, 0.5, 0.15, 0.05, 0.0])
        draw_n = rng.choice(5, size=o_cust.size, p=normal_p)
        draw_b = rng.choice(5, size=o_cust.size, p=bargain_p)
        o_channel = np.where(
            todo, np.where(arch[o_cust] == stranger_arch, draw_b, draw_n), o_channel
        ).astype(np.int8)
        # At most 30 % deal-channel orders for anyone but deal hunters with two or more orders
        # (each customer's orders are contiguous: every shape adds one block).
        n_paid = np.bincount(o_cust, minlength=n)
        is_deal = (o_channel == _OC["deal"]).astype(float)
        deal_rank = _group_cumsum(o_cust, is_deal)
        too_many = (
            (arch[o_cust] != deal_arch)
            & (n_paid[o_cust] >= 2)
            & (is_deal > 0)
            & (deal_rank > np.floor(0.3 * n_paid[o_cust]))
        )
        o_channel[too_many] = _OC["store"]

        # Refunded and cancelled orders shortly before a paid one (never counted as paid).
        u = rng.random(o_cust.size)
        noisy = np.flatnonzero(u < 0.065)
        status_noise = np.where(u[noisy] < 0.04, 1, 2).astype(np.int8)
        all_cust = np.concatenate([o_cust, o_cust[noisy]])
        all_age = np.concatenate([o_age, o_age[noisy] + _uniform(rng, 0.01, 0.5, noisy.size)])
        all_amount = np.concatenate(
            [o_amount, o_amount[noisy] * _uniform(rng, 0.6, 1.4, noisy.size)]
        )
        all_channel = np.concatenate([o_channel, o_channel[noisy]])
        all_status = np.concatenate([np.zeros(o_cust.size, np.int8), status_noise])
        coupon_p = np.where(
            arch[all_cust] == stranger_arch, 0.7, np.where(arch[all_cust] == deal_arch, 0.6, 0.25)
        )
        all_coupon = rng.random(all_cust.size) < coupon_p
        return {
            "cust": all_cust,
            "age": all_age,
            "amount": all_amount,
            "channel": all_channel,
            "status": all_status,
            "coupon": all_coupon,
        }

    def events(
        self,
        paid_orders: tuple[np.ndarray, ...],
        orders: dict[str, np.ndarray],
        events_per_customer: float | None,
    ) -> dict[str, np.ndarray]:
        """Plant every event block; sets :attr:`referrer_of`."""
        rng, n, kinds, arch, shape_of = self.rng, self.n, self.kinds, self.arch, self.shape_of
        intent, behaviour, first_age = self.intent, self.behaviour, self.first_age
        o_cust, o_age = paid_orders[0], paid_orders[1]
        all_cust, all_age, all_coupon = orders["cust"], orders["age"], orders["coupon"]
        paid = orders["status"] == 0
        ev = self.ev

        long_silent = self.long_silent
        quiet = np.flatnonzero(long_silent)
        active = (behaviour & _ACTIVE) > 0

        # Order-linked events: carts, coupon claims before; reviews after.
        sel = np.flatnonzero(paid & (rng.random(all_cust.size) < 0.4))
        ev.add(all_cust[sel], all_age[sel] + _uniform(rng, 0.01, 1.0, sel.size), _E["cart"])
        sel = np.flatnonzero(all_coupon)
        ev.add(
            all_cust[sel],
            all_age[sel] + _uniform(rng, 0.1, 3.0, sel.size),
            _E["coupon_claim"],
            optional=False,
        )
        sel = np.flatnonzero(paid & (rng.random(all_cust.size) < 0.25))
        ev.add(
            all_cust[sel],
            np.maximum(
                all_age[sel] - _uniform(rng, 0.5, 10.0, sel.size),
                all_age[sel] * _uniform(rng, 0.05, 0.9, sel.size),
            ),
            _E["review"],
        )

        # Follows at first sight.
        sel = np.flatnonzero(rng.random(n) < 0.6)
        ev.add(sel, first_age[sel] * _uniform(rng, 0.995, 1.0, sel.size), _E["follow"])

        # Light interactions of non-active customers: at most three in the last 90 days.
        light = np.flatnonzero(~long_silent & ~active)
        low = intent[light] == INTENTION_GRADES.index("low")
        k90 = np.where(low, rng.integers(0, 2, light.size), rng.integers(0, 4, light.size))
        c, a = _spread(rng, light, k90, 0.05, np.minimum(first_age[light], 85.0))
        ev.add(c, a, _pick(rng, ("like", "comment", "livestream_visit"), (0.5, 0.2, 0.3), c.size))
        c, a = _spread(rng, light, rng.poisson(2.0, light.size), 95.0, first_age[light])
        ev.add(c, a, _pick(rng, _INTERACTIONS, (0.3, 0.4, 0.2, 0.1), c.size))

        # Long-silent customers: a little activity, all of it more than 400 days ago.
        c, a = _spread(rng, quiet, rng.integers(1, 5, quiet.size), 400.0, first_age[quiet])
        ev.add(
            c,
            a,
            _pick(rng, ("view", "like", "favorite", "comment"), (0.6, 0.2, 0.15, 0.05), c.size),
        )

        # Campaign sends to everyone but deal hunters and long-silent customers; at least 30 %
        # of them opened within two days.
        recv = np.flatnonzero(~long_silent & (arch != list(ARCHETYPES).index("deal_hunter")))
        s = rng.integers(0, 7, recv.size)
        c, a = _spread(rng, recv, s, 3.0, np.minimum(first_age[recv], 330.0))
        ev.add(c, a, _E["campaign_send"], optional=False)
        got = np.bincount(c, minlength=n)[recv]
        r = np.where(got > 0, np.maximum(1, np.ceil(_uniform(rng, 0.3, 0.8, recv.size) * got)), 0)
        first = np.r_[True, c[1:] != c[:-1]] if c.size else np.zeros(0, bool)
        pos = np.arange(c.size) - np.maximum.accumulate(np.where(first, np.arange(c.size), 0))
        r_of = np.zeros(n, np.int64)
        r_of[recv] = r.astype(np.int64)
        opened = pos < r_of[c]
        oc, oa = c[opened], a[opened] - _uniform(rng, 0.05, 2.0, int(opened.sum()))
        ev.add(oc, oa, _E["campaign_open"], optional=False)
        clicked = rng.random(oc.size) < 0.3
        ev.add(
            oc[clicked],
            np.maximum(oa[clicked] - _uniform(rng, 0.0, 0.1, int(clicked.sum())), 0.01),
            _E["campaign_click"],
            optional=False,
        )

        # Active interactors: 20-60 interactions in the last 85 days (+ older ones).
        act = np.flatnonzero(active)
        forwarder = np.isin(
            kinds[act], [i for i, k in enumerate(_KINDS) if k.variant == "forwarder"]
        )
        c, a = _spread(
            rng, act, rng.integers(20, 61, act.size), 0.05, np.minimum(first_age[act], 85.0)
        )
        ev.add(
            c,
            a,
            _pick(rng, ("livestream_visit", "like", "comment"), (0.35, 0.4, 0.25), c.size),
            optional=False,
        )
        shares = np.where(forwarder, rng.integers(7, 16, act.size), rng.integers(0, 3, act.size))
        c, a = _spread(rng, act, shares, 0.05, np.minimum(first_age[act], 85.0))
        ev.add(c, a, _E["share"], optional=False)
        c, a = _spread(rng, act, rng.integers(0, 41, act.size), 95.0, first_age[act])
        ev.add(c, a, _pick(rng, _INTERACTIONS, (0.35, 0.35, 0.2, 0.1), c.size))

        # Creators: 3-8 photo/video reviews and buyer shows in the last 320 days.
        cre = np.flatnonzero((behaviour & _CREATOR) > 0)
        first_paid = np.zeros(n)
        np.maximum.at(first_paid, o_cust, o_age)
        c, a = _spread(
            rng, cre, rng.integers(3, 9, cre.size), 10.0, np.minimum(first_paid[cre] - 1.0, 320.0)
        )
        ev.add(
            c,
            a,
            _pick(rng, ("review_photo", "review_video", "buyer_show"), (0.55, 0.2, 0.25), c.size),
            optional=False,
        )

        # True friends, creators and KOLs: private messages and favorites.
        close = np.flatnonzero(
            np.isin(arch, [list(ARCHETYPES).index(a) for a in ("true_friend", "kol", "creator")])
        )
        c, a = _spread(rng, close, rng.integers(1, 5, close.size), 0.05, 90.0)
        ev.add(c, a, _E["message"])
        c, a = _spread(rng, close, rng.integers(1, 5, close.size), 0.05, first_age[close])
        ev.add(c, a, _E["favorite"])

        # Butterflies and engaged buyers: a few favorites.
        fav = np.flatnonzero(intent == INTENTION_GRADES.index("medium"))
        c, a = _spread(rng, fav, rng.integers(1, 4, fav.size), 0.05, first_age[fav])
        ev.add(c, a, _E["favorite"])

        # Potential customers, churned and lapsed strangers: one sure sign of life in 320 days.
        alive = np.flatnonzero(
            np.isin(shape_of, ("none", "lapsed", "single_old"))
            & ~long_silent
            & ~active
            & (arch != list(ARCHETYPES).index("kol"))
        )
        lo = np.where(shape_of[alive] == "none", 0.5, 20.0)
        hi = np.minimum(first_age[alive], 320.0)
        c, a = _spread(rng, alive, rng.integers(1, 3, alive.size), lo, hi)
        engaged = intent[c] == INTENTION_GRADES.index("medium")
        ev.add(
            c,
            a,
            np.where(
                engaged,
                _E["favorite"],
                np.where(rng.random(c.size) < 0.5, _E["view"], _E["coupon_claim"]),
            ),
            optional=False,
        )

        # KOLs: 3-8 referrals or shares that each bring a new customer within 14 days.
        kol = np.flatnonzero((behaviour & _KOL) > 0)
        pool = np.flatnonzero(shape_of == "single_recent")
        pool = pool[rng.permutation(pool.size)]
        want = rng.integers(3, 9, kol.size)
        if want.sum() > pool.size:
            want = np.minimum(want, max(3, pool.size // max(kol.size, 1)))
            if want.sum() > pool.size:
                raise ConfigError("the mix has too few new buyers for the KOLs to bring")
        referee = pool[: want.sum()]
        referrer = np.repeat(kol, want)
        referrer_of = np.full(n, -1, np.int64)
        referrer_of[referee] = referrer
        # The referee's first sight follows the referral; the first paid order follows 0.5-13 days
        # later.
        ref_age = first_age[referee] + _uniform(rng, 0.05, 1.0, referee.size)
        ev.add(
            referrer,
            ref_age,
            np.where(
                (ref_age < 95.0) | (rng.random(ref_age.size) < 0.75), _E["referral"], _E["share"]
            ),
            target=referee,
            optional=False,
        )
        # ... and a few that brought nobody (the target never bought).
        nobuy = np.flatnonzero(arch == list(ARCHETYPES).index("potential"))
        if nobuy.size:
            miss = rng.integers(0, 3, kol.size)
            c, a = _spread(rng, kol, miss, 95.0, 330.0)
            ev.add(
                c,
                a,
                _E["referral"],
                target=nobuy[rng.integers(0, nobuy.size, c.size)],
                optional=False,
            )

        # Page views: the bulk of the events; recent ones only for engaged customers.
        base_views = 4.0
        if events_per_customer is not None:
            base_views = max(0.0, (events_per_customer * n - ev.size) / n)
        w_views = np.where(long_silent, 0.3, np.where(active, 1.5, 1.0))
        w_views = w_views / w_views.mean()
        nv = rng.poisson(base_views * w_views)
        recent_views = (intent == INTENTION_GRADES.index("high")) | (
            intent == INTENTION_GRADES.index("medium")
        )
        nv_recent = np.where(recent_views, rng.binomial(nv, 0.15), 0)
        c, a = _spread(rng, np.arange(n), nv_recent, 0.05, np.minimum(first_age, 45.0))
        ev.add(c, a, _E["view"])
        lo = np.where(long_silent, 400.0, np.where(first_age > 60.0, 45.0, 0.05))
        c, a = _spread(rng, np.arange(n), nv - nv_recent, lo, np.maximum(first_age, lo + 1e-3))
        ev.add(c, a, _E["view"])
        self.referrer_of = referrer_of
        return ev.arrays()

    def calibrated_events(
        self, e: dict[str, np.ndarray], events_per_customer: float | None
    ) -> dict[str, np.ndarray]:
        """Fit intention scores into their bands, then reach the wanted event volume."""
        rng, n, intent, first_age = self.rng, self.n, self.intent, self.first_age
        e = _calibrate(rng, e, intent, n)
        if events_per_customer is not None:
            # Calibration dropped some recent views; top up with old ones (negligible weight).
            short = round(events_per_customer * n) - e["cust"].size
            lo = np.where(self.long_silent, 400.0, 200.0)
            room = np.flatnonzero(first_age > lo + 1.0)
            if short > 0 and room.size:
                c = room[rng.integers(0, room.size, short)]
                add = {
                    "cust": c.astype(np.int32),
                    "age": _uniform(rng, lo[c], first_age[c], short),
                    "etype": np.full(short, _E["view"], np.int8),
                    "target": np.full(short, -1, np.int32),
                    "optional": np.ones(short, bool),
                }
                e = {k: np.concatenate([e[k], add[k]]) for k in e}
        return e


def generate_shop(
    n_customers: int = 20_000,
    *,
    seed: int = 7,
    as_of: dt.date = dt.date(2025, 12, 31),
    years: int = 3,
    mix: Mapping[str, float] | None = None,
    orders_per_customer: float | None = None,
    events_per_customer: float | None = None,
) -> DemoShop:
    """Generate a demo shop with planted ground truth.

    Parameters
    ----------
    n_customers : int
        Number of customers (at least 100).
    seed : int
        Random seed; the same arguments always give the same shop.
    as_of : datetime.date
        Last day of the data; every timestamp falls on or before it.
    years : int
        Length of the history (at least 2).
    mix : mapping of str to float, optional
        Relative weight of each archetype (names of :data:`ARCHETYPES`); missing names get
        weight 0. Defaults to :data:`ARCHETYPES`.
    orders_per_customer : float, optional
        Target average number of orders (all statuses) per customer; regular buyers
        get more orders to reach it. Default: the natural mix, about 4.
    events_per_customer : float, optional
        Target average number of events per customer, reached with extra page views.
        Default: the natural mix.

    Returns
    -------
    DemoShop
        The tables and the truth.

    Raises
    ------
    ConfigError
        On arguments out of range or an unknown archetype.
    """
    if n_customers < 100:
        raise ConfigError(f"n_customers must be at least 100, got {n_customers}")
    if years < 2:
        raise ConfigError(f"years must be at least 2, got {years}")
    mix = dict(ARCHETYPES if mix is None else mix)
    unknown = set(mix) - set(ARCHETYPES)
    if unknown:
        raise ConfigError(f"unknown archetypes in mix: {', '.join(sorted(unknown))}")
    if sum(max(0.0, float(v)) for v in mix.values()) <= 0:
        raise ConfigError("mix must give a positive weight to at least one archetype")

    rng = np.random.default_rng(seed)
    n = int(n_customers)
    plan = _Planner(n, rng, years, mix)
    paid_orders = plan.paid_orders(orders_per_customer)
    o = plan.all_orders(paid_orders)
    e = plan.events(paid_orders, o, events_per_customer)
    del paid_orders
    e = plan.calibrated_events(e, events_per_customer)
    score = np.bincount(
        e["cust"],
        _W_MIN[e["etype"]] * np.exp2(-e["age"] / INTENTION_HALF_LIFE_DAYS),
        minlength=n,
    )

    # ---- tables ---------------------------------------------------------------------------
    first_age = plan.first_age
    np.maximum.at(first_age, e["cust"], e["age"])
    np.maximum.at(first_age, o["cust"], o["age"])

    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    end_s = int((end - dt.datetime(1970, 1, 1)).total_seconds())

    def stamp(age: np.ndarray) -> np.ndarray:
        return (end_s - np.ceil(age * 86400.0).astype(np.int64)) * 1_000_000

    cids = _id_matrix("C", np.arange(1, n + 1), max(6, len(str(n))))
    persona, price_sensitive = plan.persona, plan.price_sensitive
    truth = _truth_table(plan.kinds, _strings(cids), persona, price_sensitive, score)
    customers = _customers_table(
        rng,
        cids,
        stamp(first_age),
        persona,
        price_sensitive,
        plan.referrer_of,
        np.bincount(o["cust"][o["status"] == 0], minlength=n),
    )
    o["paid_at"] = stamp(o.pop("age"))
    orders_t = _orders_table(rng, cids, o, plan.arch, persona)
    del o
    e_time = stamp(e.pop("age"))
    events_t = _events_table(rng, cids, e, e_time, persona, price_sensitive, seed)
    return DemoShop(
        customers=customers,
        orders=orders_t,
        events=events_t,
        truth=truth,
        as_of=as_of,
        seed=seed,
        params={
            "n_customers": n,
            "years": years,
            "mix": mix,
            "orders_per_customer": orders_per_customer,
            "events_per_customer": events_per_customer,
        },
    )


def _calibrate(
    rng: np.random.Generator, e: dict[str, np.ndarray], intent: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    """Drop or add events so each customer's intention score sits inside its planted band.

    The lower bounds are checked with :data:`INTENTION_WEIGHTS` only, the upper bounds with
    the extra weights of :data:`_EXTRA_WEIGHTS` as well, so the bands hold either way.
    Optional events are dropped, largest extra-weight contribution first; missing score is
    made up with recent messages, favorites, check-ins, downloads and recommendations.
    """
    high, medium, low = (INTENTION_GRADES.index(g) for g in ("high", "medium", "low"))
    upper = np.where(intent == medium, _MEDIUM_MAX, np.where(intent == low, _LOW_MAX, np.inf))
    lower = np.where(intent == high, _HIGH_MIN, np.where(intent == medium, _MEDIUM_MIN, 0.0))
    cust = e["cust"]
    f = np.exp2(-e["age"] / INTENTION_HALF_LIFE_DAYS)
    c_min = _W_MIN[e["etype"]] * f
    c_max = _W_MAX[e["etype"]] * f
    del f
    s_min = np.bincount(cust, c_min, minlength=n)
    s_max = np.bincount(cust, c_max, minlength=n)
    keep = np.ones(cust.size, bool)
    added: list[dict[str, np.ndarray]] = []
    for _ in range(8):
        over = s_max > upper
        if over.any():
            cand = np.flatnonzero(over[cust] & e["optional"] & keep & (c_max > 1e-3))
            extra = c_max[cand] - c_min[cand]
            cand = cand[np.lexsort((-c_max[cand], -extra, cust[cand]))]
            removed_before = _group_cumsum(cust[cand], c_max[cand]) - c_max[cand]
            drop = cand[removed_before < (s_max - 0.85 * upper)[cust[cand]]]
            keep[drop] = False
            s_min -= np.bincount(cust[drop], c_min[drop], minlength=n)
            s_max -= np.bincount(cust[drop], c_max[drop], minlength=n)
        short = np.flatnonzero(s_min < lower)
        if short.size == 0 and not (s_max > upper).any():
            break
        if short.size:
            is_high = intent[short] == high
            # high: enough events to cover the gap; medium: one at a time (never overshoots)
            cnt = np.where(is_high, np.ceil((lower[short] + 0.5 - s_min[short]) / 1.5), 1)
            c, a = _spread(rng, short, cnt.astype(np.int64), 0.05, 7.0)
            hi_c = is_high[np.searchsorted(short, c)]
            t_high = _pick(
                rng,
                ("message", "favorite", "recommend", "download", "check_in"),
                (0.4, 0.25, 0.1, 0.1, 0.15),
                c.size,
            )
            t_med = _pick(rng, ("favorite", "download", "check_in"), (0.6, 0.15, 0.25), c.size)
            t = np.where(hi_c, t_high, t_med).astype(np.int8)
            f = np.exp2(-a / INTENTION_HALF_LIFE_DAYS)
            s_min += np.bincount(c, _W_MIN[t] * f, minlength=n)
            s_max += np.bincount(c, _W_MAX[t] * f, minlength=n)
            added.append(
                {
                    "cust": c.astype(np.int32),
                    "age": a,
                    "etype": t,
                    "target": np.full(c.size, -1, np.int32),
                    "optional": np.zeros(c.size, bool),
                }
            )
    if keep.all() and not added:
        return e
    return {k: np.concatenate([e[k][keep], *(b[k] for b in added)]) for k in e}


def _truth_table(
    kinds: np.ndarray,
    customer_ids: pa.Array,
    persona: np.ndarray,
    price_sensitive: np.ndarray,
    score: np.ndarray,
) -> pa.Table:
    """The planted labels of every customer."""
    behaviour_names = pa.array(
        [";".join(b for i, b in enumerate(BEHAVIOUR_TYPES) if bits >> i & 1) for bits in range(16)]
    )

    def col(attr: str) -> pa.Array:
        return pa.array([getattr(k, attr) for k in _KINDS], pa.string()).take(pa.array(kinds))

    return pa.Table.from_arrays(
        [
            customer_ids,
            col("archetype"),
            col("lifecycle"),
            behaviour_names.take(pa.array(np.array([k.behaviour for k in _KINDS])[kinds])),
            col("quadrant"),
            col("intention"),
            col("rfm"),
            pa.array(PERSONAS).take(pa.array(persona)),
            pa.array(price_sensitive, pa.int8()),
            pa.array(np.round(score, 4)),
        ],
        schema=TRUTH_SCHEMA,
    )


def _customers_table(
    rng: np.random.Generator,
    cids: np.ndarray,
    first_seen: np.ndarray,
    persona: np.ndarray,
    price_sensitive: np.ndarray,
    referrer_of: np.ndarray,
    n_paid: np.ndarray,
) -> pa.Table:
    """The customers table."""
    n = cids.shape[0]
    female = rng.random(n) < _FEMALE_P_BY_PERSONA[persona]
    gender = _take(pa.array(["男", "女"]), female.astype(np.int64), rng.random(n) > 0.08)
    city_w = np.array([c[2] for c in _CITIES])
    city = rng.choice(len(_CITIES), size=n, p=city_w / city_w.sum())
    city_known = rng.random(n) > 0.05
    cities = _take(pa.array([c[0] for c in _CITIES]), city, city_known)
    tiers = _take(pa.array([c[1] for c in _CITIES]), city, city_known)
    cum = np.cumsum(_AGE_P_BY_PERSONA, axis=1)[persona]
    band = (rng.random(n)[:, None] > cum).sum(axis=1).clip(max=len(_AGE_BANDS) - 1)
    age_band = _take(pa.array(_AGE_BANDS), band, rng.random(n) > 0.1)
    level = np.searchsorted([3, 6, 15], n_paid, side="right")
    member = (n_paid > 0) & (rng.random(n) > 0.2)
    member_level = _take(pa.array(_MEMBER_LEVELS), level, member)
    has_referrer = referrer_of >= 0
    referrer = _strings(_rows(cids, np.where(has_referrer, referrer_of, 0)), has_referrer)
    attr_pool, starts, sizes = _attribute_pool()
    g = persona.astype(np.int64) * 2 + price_sensitive
    idx = starts[g] + (rng.random(n) * sizes[g]).astype(np.int64)
    attributes = _take(attr_pool, idx, rng.random(n) < 0.3)
    return pa.Table.from_arrays(
        [
            _strings(cids),
            pa.array(first_seen, pa.timestamp("us")),
            gender,
            cities,
            tiers,
            age_band,
            member_level,
            referrer,
            attributes,
        ],
        schema=CUSTOMERS.arrow_schema(),
    )


_CHUNK = 2_000_000


def _orders_table(
    rng: np.random.Generator,
    cids: np.ndarray,
    o: dict[str, np.ndarray],
    arch: np.ndarray,
    persona: np.ndarray,
) -> pa.Table:
    """The orders table, in payment order."""
    cust, paid_at, amount = o["cust"], o["paid_at"], o["amount"]
    channel, status, coupon = o["channel"], o["status"], o["coupon"]
    order = _time_order(paid_at)
    m = cust.size
    width = max(8, len(str(m)))
    channel_names = pa.array(_ORDER_CHANNELS)
    status_names = pa.array(_STATUSES)
    cat_pool = pa.array([json.dumps({"品类": c}, ensure_ascii=False) for c in _CATEGORIES])
    cat_of_persona = np.array([-1 if c is None else c for c in _CATEGORY_BY_PERSONA])
    tf, barnacle = list(ARCHETYPES).index("true_friend"), list(ARCHETYPES).index("barnacle")
    schema = ORDERS.arrow_schema()
    batches = []
    for lo in range(0, max(m, 1), _CHUNK):
        idx = order[lo : lo + _CHUNK]
        k = idx.size
        c = cust[idx]
        amt = np.round(amount[idx], 2)
        margin_known = rng.random(k) < 0.88
        margin = np.round(amt * _uniform(rng, 0.2, 0.5, k), 2)
        lam = np.where(arch[c] == tf, 1.5, np.where(arch[c] == barnacle, 0.3, 0.6))
        cat_p = cat_of_persona[persona[c]]
        cat = np.where(
            (cat_p >= 0) & (rng.random(k) < 0.6), cat_p, rng.integers(0, len(_CATEGORIES), k)
        )
        batches.append(
            pa.RecordBatch.from_arrays(
                [
                    _id_array("O", np.arange(lo + 1, lo + k + 1), width),
                    _strings(_rows(cids, c)),
                    pa.array(paid_at[idx], pa.timestamp("us")),
                    pa.array(amt),
                    pa.array(margin, mask=~margin_known),
                    pa.array(np.round(amt - margin, 2), mask=~margin_known),
                    channel_names.take(pa.array(channel[idx])),
                    pa.array(coupon[idx], pa.bool_()),
                    pa.array(1 + rng.poisson(lam), pa.int64()),
                    status_names.take(pa.array(status[idx])),
                    _take(cat_pool, cat, rng.random(k) < 0.3),
                ],
                schema=schema,
            )
        )
    return pa.Table.from_batches(batches, schema=schema)


def _channel_picker() -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints and channel codes to draw an event's channel from ``etype + u``."""
    edges: list[float] = []
    codes: list[int] = []
    for t, name in enumerate(_ETYPES):
        probs = _EVENT_CHANNEL_P[name]
        p = np.array(list(probs.values()))
        cum = np.cumsum(p / p.sum())
        cum[-1] = 1.0
        edges += list(t + cum)
        codes += [_EVENT_CHANNELS.index(c) for c in probs]
    return np.array(edges), np.array(codes, np.int8)


def _events_table(
    rng: np.random.Generator,
    cids: np.ndarray,
    e: dict[str, np.ndarray],
    occurred_at: np.ndarray,
    persona: np.ndarray,
    price_sensitive: np.ndarray,
    seed: int,
) -> pa.Table:
    """The events table, in time order, with channels and texts."""
    order = _time_order(occurred_at)
    m = order.size
    edges, channel_codes = _channel_picker()
    text_pool, size = _text_pool(seed)
    review_types = np.array([_E[t] for t in _TEXT_REVIEW])
    message_types = np.array([_E[t] for t in _TEXT_MESSAGE])
    campaign_types = np.array([_E[t] for t in ("campaign_send", "campaign_open", "campaign_click")])
    camp_pool = pa.array([json.dumps({"campaign": c}, ensure_ascii=False) for c in _CAMPAIGNS])
    type_names = pa.array(_ETYPES)
    channel_names = pa.array(_EVENT_CHANNELS)
    width = max(9, len(str(m)))
    schema = EVENTS.arrow_schema()
    batches = []
    for lo in range(0, max(m, 1), _CHUNK):
        idx = order[lo : lo + _CHUNK]
        k = idx.size
        c, et, tg = e["cust"][idx], e["etype"][idx], e["target"][idx]
        channel = channel_codes[np.searchsorted(edges, et + rng.random(k), side="right")]
        is_message = np.isin(et, message_types)
        has_text = (np.isin(et, review_types) | is_message) & (rng.random(k) < 0.9)
        group = is_message * 10 + persona[c].astype(np.int64) * 2 + price_sensitive[c]
        text_idx = group * size + (rng.random(k) * size).astype(np.int64)
        has_target = tg >= 0
        batches.append(
            pa.RecordBatch.from_arrays(
                [
                    _id_array("E", np.arange(lo + 1, lo + k + 1), width),
                    _strings(_rows(cids, c)),
                    pa.array(occurred_at[idx], pa.timestamp("us")),
                    type_names.take(pa.array(et)),
                    channel_names.take(pa.array(channel)),
                    _take(text_pool, text_idx, has_text),
                    _strings(_rows(cids, np.where(has_target, tg, 0)), has_target),
                    _take(
                        camp_pool, rng.integers(0, len(_CAMPAIGNS), k), np.isin(et, campaign_types)
                    ),
                ],
                schema=schema,
            )
        )
    return pa.Table.from_batches(batches, schema=schema)
