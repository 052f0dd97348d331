"""Console chat on standard input/output: interactive in a terminal, line by line when piped.

Staff answers need nothing here: the dialog core shows a waiting one with the reply to the user's next line.
The console user's district is remembered in the database, so a second start does not ask for it again.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.dialog.core import Assistant
from bot.dialog.render import as_text
from bot.models import Address, Incoming

PROMPT = "您> "


def run(assistant: Assistant, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, user_id: str = "console") -> None:
    """Chat until end of input; every line is one message."""
    address = Address("console", user_id)
    interactive = stdin.isatty()

    def show(incoming: Incoming) -> None:
        for out in assistant.handle(incoming):
            print(f"助手> {as_text(out)}\n", file=stdout, flush=True)

    show(Incoming(address, user_id, "/start"))
    while True:
        if interactive:
            print(PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        line = line.rstrip("\n")
        if line.strip() in ("/quit", "/exit", "退出"):
            break
        show(Incoming(address, user_id, line))
    if interactive:
        print("\n再见！", file=stdout)
