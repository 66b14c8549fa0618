"""Where a benchmark's CPU time goes, by process, read from /proc (Linux): the server and the processes it started,
the database server, and the benchmark's own process (its load-generating client).

On a machine whose cores are all busy, throughput is the cores over the CPU time each unit of work
costs in all of them, so this tells which process to make cheaper.
"""

import os
import subprocess
from dataclasses import dataclass

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    server: float  # seconds: the server process alone
    server_children: float  # its descendants (the ingest pool, workers a supervisor started), living or reaped
    database: float
    client: float  # this process

    def since(self, earlier: "CpuSnapshot") -> "CpuSnapshot":
        return CpuSnapshot(
            server=self.server - earlier.server,
            server_children=self.server_children - earlier.server_children,
            database=self.database - earlier.database,
            client=self.client - earlier.client,
        )

    @property
    def total(self) -> float:
        return self.server + self.server_children + self.database + self.client


def snapshot(*, server_pid: int) -> CpuSnapshot:
    parents = _parents()
    descendants = [pid for pid in parents if _descends_from(pid, server_pid, parents=parents)]
    own, reaped = _own_and_reaped_seconds(server_pid)
    database = mariadb_pid()
    return CpuSnapshot(
        server=own,
        server_children=reaped + sum(sum(_own_and_reaped_seconds(pid)) for pid in descendants),
        database=cpu_seconds(database) if database else 0.0,
        client=sum(os.times()[:2]),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far; 0 once it has gone."""
    return _own_and_reaped_seconds(pid)[0]


def mariadb_pid() -> int | None:
    found = subprocess.run(["pidof", "mariadbd", "mysqld"], capture_output=True, text=True, check=False).stdout.split()
    return int(found[0]) if found else None


def describe(used: CpuSnapshot, *, units: int, floor_ms: float, children: str) -> str:
    """Each process's CPU per unit, in floors."""
    per_unit = {
        "server": used.server,
        children: used.server_children,
        "MariaDB": used.database,
        "client": used.client,
        "total": used.total,
    }
    return ", ".join(f"{name} {seconds * 1000 / units / floor_ms:.2f}" for name, seconds in per_unit.items())


def _own_and_reaped_seconds(pid: int) -> tuple[float, float]:
    """The process's own user + system time, and that of its children it has waited for."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0, 0.0
    # Fields 14-17 of proc(5), counted from the state (field 3) here.
    user, system, children_user, children_system = (int(value) for value in fields[11:15])
    return (user + system) / _TICKS_PER_SECOND, (children_user + children_system) / _TICKS_PER_SECOND


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return parents


def _descends_from(pid: int, ancestor: int, *, parents: dict[int, int]) -> bool:
    while pid in parents and pid > 1:
        pid = parents[pid]
        if pid == ancestor:
            return True
    return False
