"""Who a run's process is, beyond its pid: so a killed run is never taken for a live one.

A pid alone does not name a process for long: after a power loss and a reboot, or much
later on a busy host, the pid a killed run recorded can belong to an unrelated live
process, and a check by ``kill(pid, 0)`` would keep that run "running" for ever (its
``.building`` file never swept). So a run records, beside its pid, the kernel's boot id
(``/proc/sys/kernel/random/boot_id``, new at every boot) and its process's start time in
clock ticks since boot (field 22 of ``/proc/<pid>/stat``, fixed for the life of the
process). The run is alive only if the host has not rebooted since and the pid is held by
a process that started at that very tick. Where ``/proc`` is missing (not Linux), both
are None and the check falls back to the pid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class ProcessIdentity:
    """A process as a run records it."""

    pid: int
    boot_id: str | None
    start_ticks: int | None


def boot_id() -> str | None:
    """The kernel's id of the current boot (None where the kernel has none)."""
    try:
        return BOOT_ID_FILE.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (None: no such process, or
    no ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may itself hold spaces or ")"
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def current() -> ProcessIdentity:
    """This process."""
    pid = os.getpid()
    return ProcessIdentity(pid=pid, boot_id=boot_id(), start_ticks=start_ticks(pid))


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive under another user
        return True
    return True


def is_alive(recorded: ProcessIdentity) -> bool:
    """Whether the recorded process still runs on this host.

    Dead when the host rebooted since (another boot id), when no process has the pid, or
    when the process that has it started at another tick (the pid was reused). What was
    not recorded (older manifests) is not held against it.
    """
    now_boot = boot_id()
    if recorded.boot_id is not None and now_boot is not None and recorded.boot_id != now_boot:
        return False
    if not _pid_exists(recorded.pid):
        return False
    if recorded.start_ticks is not None:
        ticks = start_ticks(recorded.pid)
        if ticks is not None and ticks != recorded.start_ticks:
            return False
    return True
