"""One sync in a fresh process: ``python -m bench.sync_case CONFIG [--trace]``.

Run as a child so ``ru_maxrss`` belongs to this one case. Prints one JSON line: wall time
of ``Coordinator.sync()`` (imports and store opening excluded), its result, the process's
peak RSS and, with ``--trace``, the tracemalloc peak (tracing slows the run, so the timed
figure comes from an untraced run).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from kiosk.config import load
from kiosk.terminal import make_coordinator


def main(argv: list[str]) -> int:
    config = load(Path(argv[0]))
    trace = "--trace" in argv
    coordinator = make_coordinator(config)
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    outcome = coordinator.sync()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    result = {
        "seconds": seconds,
        "result": outcome.result,
        "items": outcome.items_stored,
        "dropped": len(outcome.dropped),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "tracemalloc_peak": peak,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
