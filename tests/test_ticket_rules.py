"""Ticket rules without a database: working-time limits on the Chinese calendar, tiers, allowed transitions."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import TZ, ConfigError, Settings
from bot.desk.history import closed_tickets
from bot.desk.policy import TicketPolicy, WorkClock, parse_sla
from bot.desk.tickets import (
    SATISFACTION,
    TRANSITIONS,
    AlreadyClaimed,
    NotDelivered,
    TicketError,
    TransitionError,
    answer,
    check,
    claim,
    is_overdue,
    rate,
    reopen,
)
from bot.models import Ticket, TicketStatus

S = TicketStatus


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def ticket(status: TicketStatus = S.OPEN, **kw: object) -> Ticket:
    base = dict(
        id=1,
        number="FG20200321-0001",
        created_at=at(2020, 3, 20, 10),
        channel="telegram",
        user_id="u1",
        chat_id="c1",
        question="锅炉年检证书补办找哪个窗口",
        status=status,
    )
    base.update(kw)
    return Ticket(**base)  # type: ignore[arg-type]


# ---- working time ----------------------------------------------------------------------------------------


def test_one_working_day_from_friday_afternoon_ends_monday_afternoon() -> None:
    assert TicketPolicy().due(at(2020, 3, 20, 15), "常规") == at(2020, 3, 23, 15)


def test_a_weekend_question_starts_the_clock_on_monday_morning() -> None:
    assert TicketPolicy().due(at(2020, 3, 21, 10), "常规") == at(2020, 3, 23, 17)


def test_public_holidays_do_not_count_and_make_up_saturdays_do() -> None:
    # 2020 劳动节: 1–5 May off; Sunday 26 April and Saturday 9 May were make-up working days.
    assert TicketPolicy().due(at(2020, 4, 30, 16), "常规") == at(2020, 5, 6, 16)
    assert TicketPolicy().due(at(2020, 5, 8, 17), "常规") == at(2020, 5, 9, 17)
    assert TicketPolicy().due(at(2020, 4, 25, 12), "常规") == at(2020, 4, 26, 17)


def test_spring_festival_extension_of_2020_is_not_working_time() -> None:
    # The 2020 Spring Festival holiday ran from 24 January to 2 February (extended for the epidemic).
    assert TicketPolicy().due(at(2020, 1, 23, 16), "专业") == at(2020, 2, 7, 16)


def test_tiers_have_their_own_limits_and_settings_change_them() -> None:
    start = at(2020, 3, 23, 9)
    assert [TicketPolicy().due(start, t) for t in ("常规", "一般", "专业")] == [
        at(2020, 3, 23, 17),
        at(2020, 3, 25, 17),
        at(2020, 3, 27, 17),
    ]
    half = TicketPolicy(parse_sla("常规=0.5"))
    assert half.due(start, "常规") == at(2020, 3, 23, 13)
    assert half.due(start, "专业") == at(2020, 3, 27, 17)


def test_working_time_between_two_moments_skips_nights_and_weekends() -> None:
    clock = WorkClock()
    assert clock.between(at(2020, 3, 20, 16), at(2020, 3, 23, 10)) == dt.timedelta(hours=2)
    assert clock.between(at(2020, 3, 23, 10), at(2020, 3, 20, 16)) == dt.timedelta(0)


def test_bad_limit_settings_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="TICKET_SLA_DAYS"):
        Settings.from_env({"TICKET_SLA_DAYS": "紧急=1"})
    with pytest.raises(ConfigError, match="TICKET_WORK_HOURS"):
        Settings.from_env({"TICKET_WORK_HOURS": "17:00-09:00"})
    assert Settings.from_env({"TICKET_SLA_DAYS": "一般=2"}).ticket_sla_days["一般"] == 2


# ---- classification --------------------------------------------------------------------------------------


def test_routine_policy_question_goes_to_the_entrys_department(kb) -> None:  # type: ignore[no-untyped-def]
    entry = next(e for e in kb.entries.values() if e.category == "劳动关系")
    assert TicketPolicy().classify(entry, None) == ("常规", entry.department)


def test_tax_and_social_insurance_questions_are_specialist(kb) -> None:  # type: ignore[no-untyped-def]
    entry = next(e for e in kb.entries.values() if e.category == "税费")
    assert TicketPolicy().classify(entry, None)[0] == "专业"


def test_unknown_questions_go_to_the_district_task_force() -> None:
    assert TicketPolicy().classify(None, "二七区") == ("一般", "二七区复工复产服务专班")
    assert TicketPolicy().classify(None, None) == ("一般", "区复工复产服务专班")


# ---- transitions -----------------------------------------------------------------------------------------

ALLOWED = {
    "claim": {S.OPEN, S.TRANSFERRED, S.REOPENED},
    "answer": {S.IN_PROGRESS},
    "transfer": {S.OPEN, S.IN_PROGRESS, S.TRANSFERRED, S.REOPENED},
    "close": {S.ANSWERED},
    "dismiss": {S.OPEN, S.IN_PROGRESS, S.TRANSFERRED, S.REOPENED},
    "reopen": {S.ANSWERED, S.CLOSED, S.DISMISSED},
}


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("status", list(TicketStatus))
def test_each_action_is_allowed_only_from_its_statuses(action: str, status: TicketStatus) -> None:
    t = ticket(status)
    if status in ALLOWED[action]:
        assert check(t, action) is (TRANSITIONS[action][1] or status)
    else:
        with pytest.raises(TransitionError, match=f"当前状态为“{status.value}”"):
            check(t, action)


def test_claiming_a_claimed_ticket_names_who_holds_it() -> None:
    with pytest.raises(AlreadyClaimed, match="已由张三认领"):
        claim(ticket(S.IN_PROGRESS, assignee="张三"), "李四")


def test_only_the_assignee_answers_and_the_answer_is_addressed_to_the_enterprises_chat() -> None:
    t = ticket(S.IN_PROGRESS, assignee="张三")
    with pytest.raises(AlreadyClaimed, match="由张三处理"):
        answer(t, "李四", "请到窗口办理", at(2020, 3, 23, 10))
    with pytest.raises(TicketError, match="不能为空"):
        answer(t, "张三", "  ", at(2020, 3, 23, 10))
    change = answer(t, "张三", "请到窗口办理", at(2020, 3, 23, 10))
    (out,) = change.outgoing
    assert (out.address.channel, out.address.chat_id) == ("telegram", "c1")
    assert [o.action for o in out.options] == [f"satisfaction:{t.number}:{x}" for x in ("满意", "基本满意", "不满意")]
    assert change.values["paused_at"] == at(2020, 3, 23, 10)


def test_a_phone_ticket_answer_is_not_sent_to_any_chat() -> None:
    assert (
        answer(
            ticket(S.IN_PROGRESS, assignee="张三", channel="hotline"), "张三", "已电话答复", at(2020, 3, 23)
        ).outgoing
        == ()
    )


def test_waiting_for_the_enterprise_pauses_the_clock() -> None:
    policy = TicketPolicy()
    waiting = ticket(S.ANSWERED, due_at=at(2020, 3, 24, 12), paused_at=at(2020, 3, 23, 16), answer="x")
    assert not is_overdue(waiting, at(2020, 3, 30, 9)), "an answered ticket is never overdue"
    # Reopened on Tuesday 10:00: 1 h on Monday + 1 h on Tuesday of waiting move the due time by 2 working hours.
    change = reopen(waiting, policy, at(2020, 3, 24, 10))
    assert change.values["due_at"] == at(2020, 3, 24, 14)
    unhappy = rate(waiting, "不满意", policy, at(2020, 3, 24, 10), delivered=True)
    assert unhappy.values["status"] == S.REOPENED.value and unhappy.values["due_at"] == at(2020, 3, 24, 14)


def test_a_rating_is_given_once_and_must_be_one_of_three() -> None:
    policy, now = TicketPolicy(), at(2020, 3, 24)
    with pytest.raises(TicketError, match="满意、基本满意、不满意"):
        rate(ticket(S.ANSWERED), "还行", policy, now, delivered=True)
    with pytest.raises(TransitionError, match="已评价"):
        rate(ticket(S.CLOSED, satisfaction="满意"), "不满意", policy, now, delivered=True)
    assert rate(ticket(S.ANSWERED), "基本满意", policy, now, delivered=True).values["status"] == S.CLOSED.value


def test_an_answer_that_has_not_reached_the_enterprise_cannot_be_rated() -> None:
    policy, now = TicketPolicy(), at(2020, 3, 24)
    for level in SATISFACTION:
        with pytest.raises(NotDelivered, match="还没有送达"):
            rate(ticket(S.ANSWERED, answer="x"), level, policy, now, delivered=False)


def test_closing_is_decided_by_each_tickets_last_closing_or_reopening_event() -> None:
    events = [
        (1, "答复", "x"), (1, "评价满意", "满意"),
        (2, "答复", "y"), (2, "评价不满意", "不满意"),
        (3, "答复", "z"), (3, "办结", None), (3, "重办", "企业再次来电"),
        (4, "办结", None),
        (5, "评价", "基本满意"), (6, "评价", "不满意"),  # histories written before the events were told apart
        (7, "重新打开", None), (7, "备注", "办结"),
    ]  # fmt: skip
    assert closed_tickets(events) == {1, 4, 5}
