"""Canonical tables: customers, orders, events, and their columns.

Every reader maps a merchant's file onto these columns; every feature reads only these.
Types and channels are open vocabularies: the defaults below are documented, not enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

__all__ = [
    "CUSTOMERS",
    "DEFAULT_CHANNELS",
    "DEFAULT_EVENT_TYPES",
    "ENTITIES",
    "EVENTS",
    "IDENTITIES",
    "OPTIONAL_ENTITIES",
    "ORDERS",
    "ORDER_STATUSES",
    "Column",
    "Entity",
    "entity",
]


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Parameters
    ----------
    name : str
        Canonical name.
    type : pyarrow.DataType
        Stored type.
    required : bool
        Whether a row without a value is rejected.
    doc : str
        One-line meaning, shown in the README and in error messages.
    """

    name: str
    type: pa.DataType
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Entity:
    """A canonical table: its key, its time column and its columns."""

    name: str
    key: str
    time_column: str | None
    columns: tuple[Column, ...]
    doc: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        """Canonical column names in order."""
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns if c.required]

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the canonical table."""
        return pa.schema([pa.field(c.name, c.type, nullable=not c.required) for c in self.columns])

    def column(self, name: str) -> Column:
        """Look up a column by name."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


TS = pa.timestamp("us")

CUSTOMERS = Entity(
    name="customers",
    key="customer_id",
    time_column="first_seen",
    doc="One row per customer (fan, member, buyer).",
    columns=(
        Column("customer_id", pa.string(), True, "Merchant's customer id (any string)."),
        Column(
            "first_seen", TS, False, "When the customer was first seen (follow, sign-up, order)."
        ),
        Column("gender", pa.string(), False, "Free text, e.g. F/M/女/男."),
        Column("city", pa.string(), False, "City name."),
        Column("city_tier", pa.string(), False, "City tier, e.g. 1, 2, new-1 (新一线)."),
        Column("age_band", pa.string(), False, "Age band, e.g. 18-24."),
        Column("member_level", pa.string(), False, "Membership level in the shop."),
        Column("referrer_id", pa.string(), False, "Customer id of whoever referred this customer."),
        Column(
            "attributes",
            pa.string(),
            False,
            "Other key/values (sign-up form answers), stored as a JSON object.",
        ),
    ),
)

ORDERS = Entity(
    name="orders",
    key="order_id",
    time_column="paid_at",
    doc="One row per order.",
    columns=(
        Column("order_id", pa.string(), True, "Order id."),
        Column("customer_id", pa.string(), True, "Who paid."),
        Column("paid_at", TS, True, "Payment time (shop-local, no time zone)."),
        Column("amount", pa.float64(), True, "Amount paid, >= 0."),
        Column("gross_margin", pa.float64(), False, "Gross margin of the order, if known."),
        Column("cost", pa.float64(), False, "Cost of goods, if known (margin = amount - cost)."),
        Column("channel", pa.string(), False, "Sales channel, e.g. store, deal, livestream."),
        Column("coupon_used", pa.bool_(), False, "Whether a coupon was used."),
        Column("item_count", pa.int64(), False, "Number of items."),
        Column("status", pa.string(), True, "paid, refunded or cancelled."),
        Column(
            "attributes",
            pa.string(),
            False,
            "Extra columns kept from the source file, as a JSON object.",
        ),
    ),
)

EVENTS = Entity(
    name="events",
    key="event_id",
    time_column="occurred_at",
    doc="One row per interaction.",
    columns=(
        Column("event_id", pa.string(), True, "Event id (a content hash when the file has none)."),
        Column("customer_id", pa.string(), True, "Who interacted."),
        Column("occurred_at", TS, True, "When."),
        Column("event_type", pa.string(), True, "What, e.g. like, comment, share (open list)."),
        Column("channel", pa.string(), False, "Where, e.g. wechat_moments, douyin (open list)."),
        Column("text", pa.string(), False, "Free text: comment, review or message body."),
        Column(
            "target_customer_id",
            pa.string(),
            False,
            "For referrals and shares: the customer they brought.",
        ),
        Column(
            "attributes",
            pa.string(),
            False,
            "Extra columns kept from the source file, as a JSON object.",
        ),
    ),
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (CUSTOMERS, ORDERS, EVENTS)}

IDENTITIES = Entity(
    name="identities",
    key="link_id",
    time_column="seen_at",
    doc="Optional. One row per link between an identifier and a customer account.",
    columns=(
        Column(
            "link_id",
            pa.string(),
            True,
            "Link id (a hash of id_type, identifier, customer_id and platform when the file has "
            "none).",
        ),
        Column("customer_id", pa.string(), True, "The account the identifier belongs to."),
        Column(
            "id_type",
            pa.string(),
            True,
            "Kind of identifier, e.g. taobao_nick, wechat_openid, wechat_unionid, youzan_id, "
            "phone, email (open list).",
        ),
        Column(
            "identifier",
            pa.string(),
            True,
            "The identifier; phones and emails are stored as a salted hash unless opted in.",
        ),
        Column("platform", pa.string(), False, "Where the account lives, e.g. taobao, wechat."),
        Column("seen_at", TS, False, "When the link was observed."),
        Column("hashed", pa.bool_(), False, "Whether identifier holds a salted hash."),
        Column(
            "attributes",
            pa.string(),
            False,
            "Extra columns kept from the source file, as a JSON object.",
        ),
    ),
)

OPTIONAL_ENTITIES: dict[str, Entity] = {IDENTITIES.name: IDENTITIES}
"""Canonical tables a project may leave empty; created in the store on first import."""

ORDER_STATUSES = ("paid", "refunded", "cancelled")

DEFAULT_EVENT_TYPES: dict[str, str] = {
    "view": "浏览 view",
    "like": "点赞 like",
    "comment": "评论 comment",
    "share": "转发/分享 share or forward",
    "favorite": "收藏 favorite/collect",
    "cart": "加购 add to cart",
    "message": "私信 private message",
    "follow": "关注 follow",
    "livestream_visit": "看直播 livestream visit",
    "review": "评价 review",
    "review_photo": "晒图评价 review with photo",
    "review_video": "视频评价 review with video",
    "buyer_show": "买家秀 buyer-show post",
    "referral": "推荐 referral",
    "check_in": "打卡 check-in",
    "download": "下载 download",
    "recommend": "推荐 recommend (Dianping)",
    "coupon_claim": "领券 coupon claim",
    "campaign_send": "营销触达 campaign send",
    "campaign_open": "打开 campaign open",
    "campaign_click": "点击 campaign click",
}

DEFAULT_CHANNELS: dict[str, str] = {
    "store": "店铺 own store",
    "deal": "聚划算/淘抢购 deal channel",
    "livestream": "直播 livestream",
    "distributor": "分销 distributor",
    "offline": "线下 offline",
    "wechat_moments": "朋友圈 WeChat Moments",
    "wechat_official": "公众号 WeChat official account",
    "weibo": "微博 Weibo",
    "douyin": "抖音 Douyin",
    "dianping": "大众点评 Dianping",
    "taobao": "淘宝 Taobao",
}


def entity(name: str) -> Entity:
    """Return the canonical entity called ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not customers, orders, events or identities.
    """
    try:
        return ENTITIES[name] if name in ENTITIES else OPTIONAL_ENTITIES[name]
    except KeyError:
        known = ", ".join([*ENTITIES, *OPTIONAL_ENTITIES])
        raise ValueError(f"unknown entity {name!r}; expected one of {known}") from None
