"""`run_bot.py tickets …`: the staff desk on the command line (queue, workflow, hotline calls, digest, export).

`register()` adds the subcommands to the main parser; each command gets the staff service from the `App` and
prints Chinese text (tickets rendered by bot/desk/ticket_text.py). A refused action (wrong status, already
claimed, unknown number) prints the reason and exits with status 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from bot.app import App
from bot.cli import Subcommands
from bot.desk.neutralize import terminal
from bot.desk.policy import TIERS
from bot.desk.ticket_text import detail_text, ticket_line
from bot.desk.tickets import ACTIVE, TicketError, format_due
from bot.models import DISTRICTS, Ticket, TicketStatus

if TYPE_CHECKING:  # the staff service pulls in the database layer; `run_bot.py match` should not pay for it
    from bot.desk.staff import Staff, StaffService

Command = Callable[["StaffService", "Staff", argparse.Namespace], int]


# ---- output ---------------------------------------------------------------------------------------------


def say(text: str, file: TextIO | None = None) -> None:
    """Print for staff: control characters an enterprise typed (terminal escapes) are removed first."""
    print(terminal(text), file=file)


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期格式应为 YYYY-MM-DD：{raw}") from None


# ---- commands -------------------------------------------------------------------------------------------


def cmd_list(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    """The queue; by default every ticket still being worked on, earliest due first."""
    statuses: frozenset[TicketStatus] | None = ACTIVE
    if args.all:
        statuses = None
    elif args.status:
        from bot.desk.staff import parse_statuses

        statuses = parse_statuses(s for raw in args.status for s in raw.replace("，", ",").split(","))
    found = svc.list_queue(staff, statuses, args.district, args.department, args.overdue, args.limit)
    now = svc.clock()
    for t in found:
        say(ticket_line(t, now))
    say(f"共 {len(found)} 件")
    return 0


def cmd_show(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    say(detail_text(svc.show(staff, args.number), svc.clock()))
    return 0


def _done(verb: str) -> Callable[[Ticket], int]:
    def report(t: Ticket) -> int:
        say(f"工单 {t.number} {verb}，当前状态：{t.status.value}")
        return 0

    return report


def cmd_claim(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    return _done("认领成功")(svc.claim(staff, args.number))


# where an answer goes, by the ticket's channel; chat channels not named here push it (or show it at the next message)
SENT = {
    "hotline": "（来电工单，请电话答复来电人）",
    "cli": "，企业下次发消息时即可看到（该渠道不能主动推送）",
    "console": "，企业下次发消息时即可看到（该渠道不能主动推送）",
}


def cmd_answer(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    if bool(args.text) == bool(args.faq):
        raise TicketError("请给出答复内容，或用 --faq 条目编号 引用知识库答复（二选一）")
    if args.faq:
        ticket = svc.answer_faq(staff, args.number, args.faq)
        if args.candidate:
            ticket = svc.mark_faq(staff, args.number)
    else:
        ticket = svc.answer(staff, args.number, args.text, faq_candidate=args.candidate)
    sent = SENT.get(ticket.channel, "，答复已排队发送给企业")
    return _done("已答复" + sent)(ticket)


def cmd_transfer(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    return _done(f"已转办至{args.department}")(svc.transfer(staff, args.number, args.department, args.tier))


def cmd_close(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    """办结 an answered ticket, or void an unanswered one: --reason 无效, or --reason 重复 --dup-of the ticket kept."""
    ticket = svc.close(staff, args.number, args.reason, args.dup_of)
    if ticket.status is TicketStatus.DISMISSED:
        return _done("已作废（不计入答复和办结）")(ticket)
    return _done("已办结")(ticket)


def cmd_reopen(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    return _done("已重新打开")(svc.reopen(staff, args.number, args.reason))


def cmd_rate(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    """The caller's satisfaction, asked on the phone after the answer (来电工单 / 电话回访)."""
    ticket = svc.rate(staff, args.number, args.level)
    return _done(f"已登记评价“{ticket.satisfaction}”")(ticket)


def cmd_note(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    return _done("已添加备注")(svc.note(staff, args.number, args.text))


def cmd_faq(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    return _done("已标记为FAQ候选")(svc.mark_faq(staff, args.number, args.question))


def cmd_new(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    """Record a hotline call."""
    ticket = svc.hotline(
        staff, args.question, args.caller, args.contact, args.district, args.enterprise, args.tier, args.department
    )
    say(
        f"已登记来电工单 {ticket.number}（{ticket.tier}，{ticket.department}，时限 {format_due(ticket.due_at)}）"
        if ticket.due_at
        else f"已登记来电工单 {ticket.number}"
    )
    if args.claim:
        svc.claim(staff, ticket.number)
        say(f"工单 {ticket.number} 已由{staff.id}认领")
    return 0


def _listing(title: str, found: list[Ticket], now: dt.datetime) -> int:
    say(f"{title}：{len(found)} 件")
    for t in found:
        say(ticket_line(t, now))
    return 0


def cmd_remind(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    return _listing("催办（即将到期）", svc.remind(staff), svc.clock())


def cmd_supervise(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    return _listing("督办（已超期）", svc.supervise(staff), svc.clock())


def cmd_digest(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    from bot.desk.digest import format_digest

    say(format_digest(svc.digest(staff, args.date)))
    return 0


def cmd_export(svc: StaffService, staff: Staff, args: argparse.Namespace) -> int:
    """CSV in UTF-8 with BOM, so Excel shows the Chinese correctly."""
    from bot.desk.digest import export_csv

    found = svc.export(staff, args.start, args.end)
    if args.out == "-":
        sys.stdout.flush()
        with open(sys.stdout.fileno(), "w", encoding="utf-8-sig", newline="", closefd=False) as out:
            export_csv(found, out, svc.clock())
    else:
        with open(args.out, "w", encoding="utf-8-sig", newline="") as out:
            export_csv(found, out, svc.clock())
        say(f"已导出 {len(found)} 件工单到 {args.out}", file=sys.stderr)
    return 0


# ---- wiring ---------------------------------------------------------------------------------------------

READ_ONLY: frozenset[Command] = frozenset({cmd_list, cmd_show, cmd_digest})  # reading needs no name (masked)


def run(app: App, args: argparse.Namespace) -> int:
    """Who acts, then the command; a refused action prints its reason and exits 1."""
    from bot.desk.staff import Staff

    name = (getattr(args, "staff", None) or os.environ.get("STAFF_NAME") or "").strip()
    if not name and args.ticket_func not in READ_ONLY:
        say("请用 --staff 姓名 或环境变量 STAFF_NAME 指明办理人", file=sys.stderr)
        return 2
    if warning := app.calendar_warning():
        say(f"注意：{warning}", file=sys.stderr)
    svc = app.staff_service
    try:
        result: int = args.ticket_func(svc, Staff("cli", name), args)
        return result
    except TicketError as exc:
        say(f"操作未完成：{exc}", file=sys.stderr)
        return 1
    finally:
        app.store.engine.dispose()  # a one-shot command: no pooled connection outlives it


def register(sub: Subcommands) -> None:
    """Add `tickets` and its subcommands to the main parser's subparsers."""
    who = argparse.ArgumentParser(add_help=False)  # --staff, before or after the subcommand
    who.add_argument("--staff", default=argparse.SUPPRESS, help="who acts (default: env STAFF_NAME)")
    help = "staff desk: ticket queue, answers, hotline calls, digest, export"
    tickets = sub.add_parser("tickets", help=help, parents=[who])
    tsub = tickets.add_subparsers(dest="tickets_command", required=True)

    def add(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = tsub.add_parser(name, help=help, parents=[who])
        p.set_defaults(func=run, ticket_func=func)
        return p

    p = add("list", cmd_list, "the queue (default: tickets still being worked on)")
    p.add_argument("--status", action="append", help="待认领/处理中/已答复/已办结/已转办/重新打开/已作废 (repeatable)")
    p.add_argument("--district", choices=list(DISTRICTS))
    p.add_argument("--department", help="part of the department's name, e.g. 人社")
    p.add_argument("--overdue", action="store_true", help="only overdue tickets")
    p.add_argument("--all", action="store_true", help="every status")
    p.add_argument("--limit", type=int, default=200)
    add("show", cmd_show, "one ticket with its conversation and history").add_argument("number")
    add("claim", cmd_claim, "take a ticket (exactly one of several staff wins)").add_argument("number")
    p = add("answer", cmd_answer, "answer (claims the ticket when nobody holds it); sent to the enterprise's chat")
    p.add_argument("number")
    p.add_argument("text", nargs="?")
    p.add_argument("--faq", help="answer with this knowledge-base entry id instead of text")
    p.add_argument("--candidate", action="store_true", help="also propose it as a new FAQ entry")
    p = add("transfer", cmd_transfer, "hand over to a department (已转办)")
    p.add_argument("number")
    p.add_argument("department")
    p.add_argument("--tier", choices=list(TIERS))
    p = add("close", cmd_close, "close an answered ticket (已办结), or void one as 无效/重复 (已作废)")
    p.add_argument("number")
    p.add_argument("--reason", help="说明; 无效 or 重复 voids a ticket nobody answered")
    p.add_argument("--dup-of", help="with --reason 重复: the ticket kept (the duplicate points to it)")
    p = add("reopen", cmd_reopen, "reopen (重新打开)")
    p.add_argument("number")
    p.add_argument("--reason")
    p = add("rate", cmd_rate, "record a caller's satisfaction given on the phone (满意/基本满意/不满意)")
    p.add_argument("number")
    p.add_argument("level", help="满意、基本满意 or 不满意 (不满意 reopens the ticket)")
    p = add("note", cmd_note, "internal note (not sent to the enterprise)")
    p.add_argument("number")
    p.add_argument("text")
    p = add("faq", cmd_faq, "propose the ticket's question and answer as a new FAQ entry")
    p.add_argument("number")
    p.add_argument("--question", help="a cleaner wording of the question")
    p = add("new", cmd_new, "record a hotline call as a new ticket")
    p.add_argument("--question", required=True, help="what the caller asked")
    p.add_argument("--caller", help="caller's name")
    p.add_argument("--contact", help="caller's phone number")
    p.add_argument("--district", choices=list(DISTRICTS))
    p.add_argument("--enterprise")
    p.add_argument("--tier", choices=list(TIERS))
    p.add_argument("--department")
    p.add_argument("--claim", action="store_true", help="claim it right away")
    add("remind", cmd_remind, "催办: tickets due soon")
    add("supervise", cmd_supervise, "督办: overdue tickets")
    p = add("digest", cmd_digest, "daily digest as text")
    p.add_argument("--date", type=_date, help="YYYY-MM-DD (default: today)")
    p = add("export", cmd_export, "CSV (UTF-8 with BOM, opens in Excel)")
    p.add_argument("--out", default="-", help="file (default: standard output)")
    p.add_argument("--from", dest="start", type=_date, help="first creation day YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=_date, help="last creation day YYYY-MM-DD")
