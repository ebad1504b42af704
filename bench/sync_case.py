"""One sync in a fresh process: ``python -m bench.sync_case CONFIG [--trace]``.

Run as a child so ``ru_maxrss`` belongs to this one case. Prints one JSON line: wall time
and CPU time of ``Coordinator.sync()`` (imports and store opening excluded), its result,
the process's peak RSS and, with ``--trace``, the tracemalloc peak (tracing slows the
run, so the timed figure comes from an untraced run).

``BENCH_PROFILE=1`` profiles the sync and writes the profile to stderr: pyinstrument's
call tree when it is installed (``pip install pyinstrument``; not a project dependency),
otherwise cProfile's top entries. Media preparation runs in worker threads, which both
show as the main thread waiting in ``_prepare_media``.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.config import load
from kiosk.terminal import make_coordinator


def _cpu_seconds() -> float:
    """User + system time of every thread of this process so far.

    Reported beside wall time because the machine is shared: wall time grows with other
    people's load, CPU time much less, so it is the steadier figure to compare changes by.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _profiled(run: Callable[[], Any]) -> Any:
    """Run ``run`` under a profiler and print the result to stderr."""
    try:
        import pyinstrument
    except ImportError:
        profile = cProfile.Profile()
        result = profile.runcall(run)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        return result
    profiler = pyinstrument.Profiler(interval=0.0005)
    profiler.start()
    try:
        result = run()
    finally:
        profiler.stop()
    print(profiler.output_text(unicode=True, color=False), file=sys.stderr)
    return result


def main(argv: list[str]) -> int:
    config = load(Path(argv[0]))
    trace = "--trace" in argv
    profile = bool(os.environ.get("BENCH_PROFILE"))
    coordinator = make_coordinator(config)
    if trace:
        tracemalloc.start()
    cpu0 = _cpu_seconds()
    start = time.perf_counter()
    outcome = _profiled(coordinator.sync) if profile else coordinator.sync()
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu0
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "result": outcome.result,
        "items": outcome.items_stored,
        "dropped": len(outcome.dropped),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "tracemalloc_peak": peak,
        "profiled": profile,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
