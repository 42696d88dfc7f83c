"""The demo shop: codes."""

from __future__ import annotations

import numpy as np

from tierwise.demo.vocabulary import _EXTRA_WEIGHTS, INTENTION_WEIGHTS
from tierwise.schema import DEFAULT_EVENT_TYPES

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
