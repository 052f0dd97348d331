"""What the core recognises and says in fixed words: commands, votes, districts and the standing replies.

Kept apart from the dialog logic so the wording can be read and reviewed in one place.
"""

from __future__ import annotations

from bot.desk.tickets import format_due
from bot.models import DISTRICTS, Option, Ticket

MAX_QUESTION_CHARS = 500  # what the matcher reads of one message; the whole text is still recorded
MAX_PARTS = 3  # questions of one message answered one by one; any further ones go to a person
OTHER_DISTRICT = "其他"
HUMAN_WORDS = ("转人工", "人工客服", "人工服务", "找人工", "人工", "客服", "真人")
HELP_WORDS = (
    "/help",
    "帮助",
    "help",
    "菜单",
    "使用说明",
    "怎么用",
    "你能做什么",
    "你可以做什么",
    "你会什么",
    "你是谁",
    "功能",
)
STATUS_WORDS = ("/status", "查询工单", "我的工单", "工单查询", "工单进度", "查工单", "进度查询")
TOPIC_WORDS = ("/topics", "政策目录", "问题目录", "目录", "分类", "常见问题")
DISTRICT_WORDS = ("/district", "切换区县", "选择区县", "修改区县", "更换区县", "区县")
START_WORDS = ("/start", "开始", "subscribe")
HELPFUL_WORDS = ("有帮助", "👍", "👍有帮助", "有用", "有帮助👍")
UNHELPFUL_WORDS = ("没帮助", "没有帮助", "无帮助", "👎", "👎没帮助", "没用", "没帮助👎")
DISTRICT_ALIASES = {"二七": "二七区", "上街": "上街区", "中牟": "中牟县"}

NONTEXT_REPLY = "抱歉，我暂时只能读懂文字消息。请用文字描述您的问题，例如“社保费能缓缴吗”；需要人工帮助请回复“转人工”。"
EMPTY_REPLY = "您好，请用一句话描述您想咨询的复工复产政策问题，例如“稳岗返还怎么申请”。"
JUNK_REPLY = (
    "😊 我是复工复产政策咨询助手，只能解答惠企政策问题。请直接输入您想咨询的问题，"
    "例如“社保费能缓缴吗”“稳岗返还怎么申请”；回复“政策目录”可按类别浏览。"
)
NO_VOTE_REPLY = (
    "现在没有可以评价的答复。请直接输入您的问题，例如“社保费能缓缴吗”；"
    "对工作人员的答复，请回复“满意”“基本满意”或“不满意”。"
)
NO_MENU_REPLY = "现在没有可选的编号。请直接输入您的问题，例如“社保费能缓缴吗”；回复“政策目录”可按类别浏览。"
WELCOME = (
    "您好！我是复工复产政策咨询助手，可以解答社保减免缓缴、稳岗返还、用工补贴、劳动关系、税费、"
    "房租水电气、复工防疫等惠企政策问题。\n请先选择您企业所在的区县，以便按本区县口径答复："
)
HELP_TEXT = (
    "使用说明：\n"
    "· 直接输入问题，如“社保费能缓缴吗”“稳岗返还怎么申请”；\n"
    "· 回复“政策目录”按类别浏览常见问题；\n"
    "· 回复“切换区县”设置企业所在区县（二七区、上街区、中牟县）；\n"
    "· 回复“转人工”由工作人员答复，回复“查询工单”查看处理进度。"
)


def numbered(options: tuple[Option, ...]) -> list[Option]:
    """The options a text channel shows with numbers; the user may reply with the number."""
    return [o for o in options if o.kind in ("pick", "topic", "district")]


def district_options() -> tuple[Option, ...]:
    return tuple(Option(d, f"district:{d}", "district") for d in (*DISTRICTS, OTHER_DISTRICT))


def handed_over(ticket: Ticket, lead: str, route: str) -> str:
    """What the enterprise reads when a ticket is opened: its number, who handles it, by when, and how (`route`)."""
    return (
        f"{lead}，工单号：{ticket.number}。\n"
        f"承办：{ticket.department}（{ticket.tier}类）。"
        + (f"预计在{format_due(ticket.due_at)}前答复" if ticket.due_at else "工作人员会尽快答复")
        + f"（按工作日计算，节假日顺延）。{route}"
    )


def welcome_back(where: str) -> str:
    return f"您好，欢迎回来！将{where}答复（回复“切换区县”可更改）。请直接输入您想咨询的复工复产政策问题。"
