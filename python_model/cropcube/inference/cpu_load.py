"""How many CPUs are free right now: the default thread count of both executors.

libtorch's OpenMP runtime here (GNU libgomp) spins at every barrier, and a forward pass has hundreds
of barriers: with more threads than free CPUs, every one of them waits for a thread that another
process has pushed off its core (one busy process on one of two cores slowed inference 17x). The C++
kernel (``udf/src/cpu_load.cpp``) and the Python path size their threads with the same rule, before
every batch of tiles.
"""

from __future__ import annotations

import os
from pathlib import Path


def affinity_cpus() -> int:
    """CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _own_running() -> int:
    running = 0
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the thread ended meanwhile
            continue
        running += text[text.rfind(")") + 2 : text.rfind(")") + 3] == "R"
    return running


def free_cpus(max_threads: int) -> int:
    """CPUs of the affinity mask less other processes' runnable tasks, clamped to [1, max_threads].

    The system's runnable count comes from ``/proc/loadavg`` (this instant, not an average) less this
    process's own running threads. ``max_threads`` when ``/proc`` cannot be read.
    """
    max_threads = max(1, max_threads)
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return max_threads
    others = max(0, running - _own_running())
    return min(max(affinity_cpus() - others, 1), max_threads)
