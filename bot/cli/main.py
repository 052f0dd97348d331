"""`run_bot.py`: the parser, settings into an `App` (bot/app.py), then the command; `ask` lives here too."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.answering.kb import KbError
from bot.app import App
from bot.config import ConfigError
from bot.models import DISTRICTS, Address, Incoming


def cmd_ask(app: App, args: argparse.Namespace) -> int:
    """One question through the dialog core, printed as the user would see it."""
    from bot.dialog.render import as_text

    incoming = Incoming(Address("cli", args.user), args.user, args.question, district=args.district)
    for out in app.assistant.handle(incoming):
        print(as_text(out))
    return 0


def parser() -> argparse.ArgumentParser:
    from bot.cli import faq, report, serve, tickets

    ap = argparse.ArgumentParser(prog="run_bot.py", description="fugong-bot: 复工复产政策咨询机器人")
    sub = ap.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="ask one question through the dialog core")
    ask.add_argument("question")
    ask.add_argument("--district", choices=[*DISTRICTS, "其他"])
    ask.add_argument("--user", default="cli", help="user id (default: cli)")
    ask.set_defaults(func=cmd_ask)
    faq_sub = faq.register(sub)
    report.register(sub, faq_sub)
    serve.register(sub)
    tickets.register(sub)
    ap.set_defaults(func=serve.cmd_run)
    return ap


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        app = App.from_env()
    except ConfigError as exc:
        sys.exit(f"配置错误: {exc}")
    logging.basicConfig(level=app.settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code = args.func(app, args)
        sys.stdout.flush()  # here, so a reader that has gone is noticed inside the try
    except KbError as exc:
        sys.exit(str(exc))
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = quiet_broken_pipe()
    sys.exit(code)


def quiet_broken_pipe() -> int:
    """The reader of our output has gone (`… | head -1`): stop quietly, as a Unix tool does, instead of a traceback.

    Standard output is pointed at /dev/null so the interpreter's own final flush cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE: what the shell reports for a tool the pipe stopped
