"""What a message holds before the matcher sees it: junk to wave off, or one or more questions to answer.

Pure text rules, no FAQ and no state, so they are cheap and testable on their own. Both lean towards
today's behaviour: a message is junk only when it carries nothing the FAQ could answer (emoji, mash, a bare
number, chit-chat without a policy word), and it is split only where each part asks something of its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.answering.text import fold

# Greetings and politeness; the dialog core answers these itself ("您好" / "不客气").
SMALLTALK_RE = re.compile(
    r"(好的|好滴|好|嗯|哦|噢|ok|okay|收到|明白了|明白|知道了|了解了|懂了|行|可以|谢谢|谢|你|您|了|啊|呀|哈|的|再见|拜拜|bye|没事了|没有了|没了|\s)+"
)
GREETING_RE = re.compile(r"(你好|您好|在吗|在不在|hello|hi|早上好|下午好|晚上好|有人吗)")

# Chit-chat a policy desk does not answer; only counted when the message names no policy matter (below).
_CHITCHAT_RE = re.compile(
    r"天气|下雨|下雪|刮风|雾霾|气温|多少度|冷不冷|热不热|吃饭|吃了吗|吃了没|吃啥|吃什么|"
    r"哈哈|呵呵|嘿嘿|嘻嘻|嘎嘎|233|666|无聊|在干嘛|干嘛呢|在干什么|睡了吗|晚安|早安|午安|"
    r"讲个?笑话|说个?笑话|唱(首|个)?歌|你(今年)?(几|多大|多少)岁|你叫什么|你的名字|"
    r"你是(男|女|机器人|人工智能|ai|人吗)|你(好|真|太)?(笨|傻|蠢|聪明|厉害|可爱|棒)|我爱你|喜欢你|想你了|^测试$|^test$"
)
_DOMAIN_RE = re.compile(
    r"社保|医保|养老|失业|工伤|生育|公积金|工资|薪|补贴|补助|奖补|返还|减免|减半|免征|缓缴|缓交|延期|税|发票|"
    r"租|水费|电费|气费|燃气|水电|用电|用水|贷|融资|复工|复产|开工|停工|停产|返岗|员工|职工|工人|用工|招聘|"
    r"培训|劳动|合同|辞退|裁员|加班|休假|假期|防疫|疫情|口罩|消毒|隔离|体温|测温|健康码|核酸|政策|申请|办理|"
    r"申报|企业|公司|单位|个体|商户|高温|津贴|证照|执照"
)
_CHITCHAT_MAX_CHARS = 20  # a longer message is a question that happens to mention the weather
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def bare(text: str) -> str:
    """The text without emoji, symbols, punctuation and spaces, folded (full-width, traditional, case)."""
    return "".join(c for c in fold(text) if unicodedata.category(c)[0] not in "SPZCM")


def _keyboard_run(word: str, length: int = 4) -> bool:
    """`length` neighbouring keys of one keyboard row, either way (asdf, lkjh): typed by sliding a hand."""
    for row in _KEY_ROWS:
        for i in range(len(row) - length + 1):
            run = row[i : i + length]
            if run in word or run[::-1] in word:
                return True
    return False


def _mash(word: str) -> bool:
    """Keyboard mash: one character repeated, a row of keys, Latin with no vowel, or a short chunk repeated."""
    if len(word) >= 2 and len(set(word)) == 1:
        return True
    if not re.fullmatch(r"[a-z]+", word):
        return False
    if len(word) >= 3 and not re.search(r"[aeiouv]", word):  # every pinyin syllable has a vowel (bar hm/ng)
        return True
    if len(word) >= 4 and any(word == word[:k] * (len(word) // k) for k in (1, 2, 3) if len(word) % k == 0):
        return True  # asdasd, hahaha
    return _keyboard_run(word)


def is_junk(text: str) -> bool:
    """True when the message asks nothing the FAQ could answer: emoji or punctuation only, a bare number,
    keyboard mash, politeness, or chit-chat (weather, meals, laughter) without a policy word.

    Such a message gets a friendly reply and never a ticket: a person cannot answer "👌" or "asdfgh", and
    the weekly gap report must not count it. A short real question ("电费", "社保缓缴？") is not junk.
    """
    word = bare(text)
    if not word or word.isdigit() or _mash(word):
        return True
    if _DOMAIN_RE.search(word):
        return False
    if not SMALLTALK_RE.sub("", GREETING_RE.sub("", word)):
        return True
    return len(word) <= _CHITCHAT_MAX_CHARS and bool(_CHITCHAT_RE.search(word))


# ---- several questions in one message ----------------------------------------------------------------------

# Where a message may break: after a sentence end, before a connective, before a list number ("1、", "2.").
_BREAK_RE = re.compile(
    r"(?P<end>[。！!？?；;\n]+)"
    r"|(?P<conn>另外|此外|以及|同时|其次|再就是|(?:我)?(?:再|还)想(?:问|了解|咨询)(?:一下|下)?|再问(?:一下|下)?|"
    r"顺便问(?:一下|下)?|(?<![我们司业位])还有(?!没有|吗|效|点|些|人))"
    r"|(?P<num>(?:^|(?<=[\s，,：:]))[1-9一二三四五六][、.．)）](?!\d))"
)
# Does a clause ask something? A question mark, a question particle or word, or a request for information.
_ASK_RE = re.compile(
    r"[?？]|吗|么|呢|怎|如何|什么|啥|哪|多少|多久|多长|几[个天月年号时次项]|是否|能否|可否|能不能|可不可以|"
    r"可以不|行不行|有没有|是不是|会不会|要不要|需不需要|该不该|算不算|请问|想问|问一下|咨询|了解一下|想了解|"
    r"请告知|告诉我|请说明|介绍一下|求助|谁|为何|为什么|何时|咋"
)
# Words that ask or frame but name no matter: what is left once they go is the clause's own topic.
_FRAME_RE = re.compile(
    r"请问|想问|问一下|问下|咨询|一下|了解|告诉我|请告知|介绍|怎么样|怎么办|怎么|怎样|如何|什么时候|什么|啥|"
    r"哪些|哪个|哪里|哪儿|哪|多少|多久|多长时间|多长|几|是否|能否|可否|能不能|可不可以|可以|有没有|是不是|"
    r"会不会|要不要|需不需要|需要|该不该|算不算|为什么|为何|何时|咋|吗|呢|么|吧|啊|呀|嘛|的|了|是|有|能|会|"
    r"要|得|还|也|都|又|再|就|最长|最多|最少|最晚|最早|时间|时候|期限|截止|材料|资料|条件|流程|手续|步骤|"
    r"标准|要求|具体|这个|那个|这些|那些|这|那|它|其|到账|申请|办理|提交|领取|一般|大概|一共|总共|多|"
    r"我们|我|你们|你|您"
)


def is_frame_word(word: str) -> bool:
    """A word that asks or frames (怎么, 办理, 材料, 条件 …) but names no matter: no evidence of a shared topic."""
    return bool(_FRAME_RE.fullmatch(word))


# A clause about the asker ("我们是小微企业", "公司有50人"): context for a question, not one itself.
_STATEMENT_RE = re.compile(r"^(我|咱|本|贵)|是|属于|位于|\d+\s*(个|名|人|家|万|元)")
_EDGES = " \t\r\n，,、；;：:"


@dataclass(frozen=True, slots=True)
class _Clause:
    start: int  # where the clause begins in the message, connective included
    body: int  # where its own words begin (after a connective or list number)
    end: int
    kind: str  # "question" | "follow-up" (asks, names nothing) | "context" (asks nothing)


def _kind(text: str, after_connective: bool) -> str:
    """question, follow-up ("最长缓多久" leans on the clause before) or context ("我们是小微企业")."""
    word = bare(text)
    if is_junk(text):
        return "context"
    topical = len(_FRAME_RE.sub("", word)) >= 2
    if _ASK_RE.search(fold(text)):
        return "question" if topical else "follow-up"
    if after_connective and topical and not _STATEMENT_RE.search(word):
        return "question"  # "……，还有房租" asks about rent without a question word
    return "context"


def _clauses(text: str) -> list[_Clause]:
    clauses: list[_Clause] = []
    start = body = 0

    def close(end: int) -> None:
        if text[body:end].strip(_EDGES + "。！!？?"):
            clauses.append(_Clause(start, body, end, _kind(text[body:end], body > start)))

    for m in _BREAK_RE.finditer(text):
        if m.group("end"):
            close(m.end())
            start = body = m.end()
        else:
            close(m.start())
            start, body = m.start(), m.end()
    close(len(text))
    return clauses


def split_questions(text: str) -> list[str]:
    """The questions in one message, in order; a single question comes back whole and unchanged.

    Breaks at sentence ends, ？, ；, list numbers and connectives (另外, 还有, 此外, 以及, 同时, 再问一下 …),
    then glues back what cannot stand alone: a clause that asks nothing ("我们是小微企业。") joins the
    question after it (or before, at the end), one that asks but names nothing ("最长缓多久") joins the one
    before. So "我们是小微企业，社保能缓缴吗" and "社保费能缓缴吗？最长缓多久" each stay one question.
    """
    groups: list[list[_Clause]] = []
    pending: list[_Clause] = []
    for clause in _clauses(text):
        if clause.kind == "question":
            groups.append([*pending, clause])
            pending = []
        elif clause.kind == "follow-up" and groups:
            groups[-1] += [*pending, clause]
            pending = []
        else:
            pending.append(clause)
    if pending and groups:
        groups[-1] += pending
    if len(groups) <= 1:
        return [text.strip()]
    return [text[g[0].body : g[-1].end].strip(_EDGES) for g in groups]


def join_questions(parts: list[str]) -> str:
    """Several parts as one ticket question: "社保能缓缴吗？房租能减免吗？" (each part ends its sentence)."""
    ends = "。！!？?"
    return "".join(p if p.endswith(tuple(ends)) else f"{p}；" for p in parts).rstrip("；")
