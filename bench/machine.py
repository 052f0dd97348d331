"""What a bench needs to know about the machine: cores, CPU time of processes and of the whole machine (Linux).

Shared by the benches that pin a load client to its own core and report the CPU each process spends per
message, so a figure measured on a machine with too few cores still gives the capacity per core.
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cores() -> list[int]:
    """The cores this process may run on."""
    return sorted(os.sched_getaffinity(0))


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a live process has used so far; 0.0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15 of stat


def machine_busy() -> float:
    """CPU seconds every core of the machine spent busy (not idle, not waiting for I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def named_cpu(name: str) -> float:
    """CPU seconds used so far by every live process called `name` (e.g. all PostgreSQL backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != name:
                continue
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        total += process_cpu(int(entry.name))
    return total


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def listening(port: int) -> int:
    """How many sockets listen on TCP `port` (SO_REUSEPORT: one per worker process)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            if parts[1].endswith(f":{port:04X}") and parts[3] == "0A":
                count += 1
    return count
