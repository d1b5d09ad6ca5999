"""The worker's multiprocess metrics directory, and the merge of what dead processes leave in it.

prometheus-client's multiprocess mode keeps each process's values in files named
`<type>_<pid>.db` in one directory, which the main process reads on every scrape. This module:

- makes a fresh directory private to one worker (two workers on one host never share one) and
  switches prometheus-client to it in the worker's main process before the pool forks, so pool
  processes write there too. CLI commands that import the package stay in ordinary mode.
- merges the counter and histogram files of pool processes that have exited
  (`worker_max_tasks_per_child`, SIGKILL, the hard time limit) into one file per type and deletes
  them, so counters stay monotonic and the directory holds a bounded number of files. The merge
  and the scrape take the same lock, so a scrape never counts a file twice or misses it.

A process that has just started may have created its file without sizing it yet
(prometheus-client opens it, then extends it): such a file holds no values and is skipped, since
reading it would fail.

A process counts as exited when `os.kill(pid, 0)` says no such process. A pid the kernel reuses
for a new process before the merge sees the old one gone keeps its file (the new process adds to
its values, which stays correct); one reused in the instant between the check and the delete
loses that new process's counts.
"""

import os
import shutil
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from prometheus_client import values
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Types whose values only add up: a dead process's share can be folded into one file.
ADDITIVE_TYPES = ("counter", "histogram")
MERGED = "merged"
# A value file opens with the length of its used part; a shorter file has not been sized yet.
HEADER_BYTES = 8


class ValueFile(Protocol):
    def write_value(self, key: str, value: float, timestamp: float) -> None: ...
    def close(self) -> None: ...


# prometheus-client's multiprocess internals carry no annotations; their types, once.
read_value_file: Callable[[str], Iterable[tuple[str, float, float, int]]] = (
    MmapedDict.read_all_values_from_file
)
open_value_file: Callable[[str], ValueFile] = MmapedDict
merge_value_files: Callable[[list[str]], Iterable[Metric]] = MultiProcessCollector.merge
forget_live_gauges: Callable[[int, str], None] = mark_process_dead
multiprocess_value_class: Callable[[], type] = values.MultiProcessValue


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def owner_pid(path: Path) -> int | None:
    """The pid in a value file's name (`counter_123.db`, `gauge_livesum_123.db`); None for the
    merged files."""
    suffix = path.stem.rsplit("_", 1)[-1]
    return int(suffix) if suffix.isdigit() else None


def is_sized(path: Path) -> bool:
    """Whether the process writing `path` has sized it, so that it can be read."""
    return path.stat().st_size >= HEADER_BYTES


def add_values(files: Iterable[Path]) -> dict[str, float]:
    """Each key's value summed over `files` (counters and histogram buckets are per process)."""
    totals: dict[str, float] = defaultdict(float)
    for path in filter(is_sized, files):
        for key, value, _timestamp, _position in read_value_file(str(path)):
            totals[key] += value
    return totals


def write_values(path: Path, totals: dict[str, float]) -> None:
    """Write `totals` as a value file at `path`, replacing it atomically."""
    staging = path.with_suffix(".merging")
    staging.unlink(missing_ok=True)
    merged = open_value_file(str(staging))
    try:
        for key, value in totals.items():
            merged.write_value(key, value, 0.0)
    finally:
        merged.close()
    staging.replace(path)


class MetricsDirectory:
    """One worker's private directory of per-process metric values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.main_pid = os.getpid()

    @classmethod
    def create(cls, prefix: str) -> "MetricsDirectory":
        """A new, empty directory under the system's temporary directory."""
        return cls(Path(tempfile.mkdtemp(prefix=prefix)))

    def activate(self) -> None:
        """Send every metric value created from now on, in this process and in processes it
        forks, to this directory."""
        os.environ[DIRECTORY_VARIABLE] = str(self.path)
        # prometheus-client picks its value class from that variable once, as it is imported
        # (`values.ValueClass`), and every metric created later reads that module global: set
        # after import, the variable alone would leave values in this process's memory.
        values.ValueClass = multiprocess_value_class()

    def remove(self) -> None:
        """Delete the directory, from the process that made it only (pool processes inherit
        its exit handlers)."""
        if os.getpid() == self.main_pid:
            shutil.rmtree(self.path, ignore_errors=True)

    def value_files(self) -> list[Path]:
        return sorted(self.path.glob("*.db"))

    def dead_pids(self) -> set[int]:
        pids = {owner_pid(path) for path in self.value_files()}
        return {
            pid for pid in pids if pid is not None and pid != self.main_pid and not is_alive(pid)
        }

    def merge_dead(self) -> int:
        """Fold the files of exited processes into the merged files; returns how many went."""
        with self.lock:
            return self._merge_dead()

    def _merge_dead(self) -> int:
        dead = self.dead_pids()
        if not dead:
            return 0
        removed = 0
        for kind in ADDITIVE_TYPES:
            leftovers = [self.path / f"{kind}_{pid}.db" for pid in dead]
            leftovers = [path for path in leftovers if path.exists()]
            if not leftovers:
                continue
            merged = self.path / f"{kind}_{MERGED}.db"
            existing = [merged] if merged.exists() else []
            write_values(merged, add_values([*existing, *leftovers]))
            for path in leftovers:
                path.unlink()
            removed += len(leftovers)
        for pid in dead:
            # Gauges in a `live*` mode stop reporting with their process.
            forget_live_gauges(pid, str(self.path))
        return removed

    def collect(self) -> Iterable[Metric]:
        """Every process's values, merged; exited processes are folded in first."""
        with self.lock:
            self._merge_dead()
            return self.collect_without_merging()

    def collect_without_merging(self) -> list[Metric]:
        """Every value file's values, summed as a scrape shows them."""
        readable = [str(path) for path in self.value_files() if is_sized(path)]
        return list(merge_value_files(readable))
