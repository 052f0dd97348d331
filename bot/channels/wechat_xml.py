"""WeChat's XML both ways: pushes read safely, passive text replies written.

Pushes are flat (`<xml><Field>value</Field>…</xml>`), so they are read with expat straight into a dict instead
of building an element tree (a third of the cost). A DOCTYPE is refused before expat reads its internal subset,
so no entity is ever declared, let alone expanded (billion laughs, external entities). Replies are one fixed
template; `]]>` inside the text is split across two CDATA sections so no reply text can end its section early.
"""

from __future__ import annotations

from typing import NoReturn
from xml.parsers import expat

TEXT_REPLY = (
    "<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{account}]]></FromUserName>"
    "<CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content></xml>"
)


class XmlError(ValueError):
    """The body is not a readable, harmless WeChat push."""


def _refuse(*_args: object) -> NoReturn:
    raise XmlError("DTD or entity declaration")


def parse_xml(data: bytes | str) -> dict[str, str]:
    """The <xml> element's children as a dict of stripped texts; DTDs, entities and broken XML raise XmlError."""
    fields: dict[str, str] = {}
    text: list[str] = []
    depth = 0

    def start(tag: str, _attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth == 2:
            text.clear()
        elif depth == 1 and tag != "xml":
            raise XmlError(f"unexpected root element <{tag}>")

    def end(tag: str) -> None:
        nonlocal depth
        if depth == 2:
            fields[tag] = "".join(text).strip()
        depth -= 1

    def chars(chunk: str) -> None:
        if depth == 2:
            text.append(chunk)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except XmlError:
        raise
    except Exception as exc:  # ExpatError, and ValueError/LookupError for declared encodings expat cannot read
        raise XmlError(f"unreadable XML: {type(exc).__name__}: {exc}") from None
    return fields


def text_reply(to: str, account: str, content: str, at: int) -> str:
    """The passive reply carrying `content` from the Official Account `account` to the follower `to`."""
    return TEXT_REPLY.format(to=_cdata(to), account=_cdata(account), at=at, content=_cdata(content))


def _cdata(text: str) -> str:
    return text.replace("]]>", "]]]]><![CDATA[>")
