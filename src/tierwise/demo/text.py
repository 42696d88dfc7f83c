"""The demo shop: text."""

from __future__ import annotations

import json
import random

import numpy as np
import pyarrow as pa

from tierwise.demo.vocabulary import PERSONAS

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
