"""Sync figures: cold, unchanged (304) and one changed image, per feed size.

The machine is shared and its load comes and goes, so the cold sync runs several times,
each in a fresh process into a fresh data folder, and the median is reported, with its
CPU time (user + system of all threads), which other people's load moves much less.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import counting, feedgen
from bench.setup import run_child, write_config
from sync import trust

# Cold runs per size; BENCH_COLD_RUNS overrides (1 for a quick look).
COLD_RUNS = max(1, int(os.environ.get("BENCH_COLD_RUNS", "3")))


@dataclass(frozen=True)
class SyncFigures:
    items: int
    images: int
    feed_bytes: int
    generate_s: float
    cold_s: float  # median of cold_runs
    cold_rss_mb: float  # median
    cold_trace_peak_mb: float
    unchanged_s: float  # median of as many runs as the cold one
    unchanged_result: str
    unchanged_feed_body: int
    changed_s: float
    changed_feed_body: int
    changed_media_body: int
    changed_media_requests: int
    changed_image_bytes: int
    cold_cpu_s: float = 0.0  # median CPU time of the cold runs, all threads
    cold_runs: tuple[float, ...] = ()  # every cold wall time, in run order


def run_size(count: int, workdir: Path, private_key: str, public_key: str) -> SyncFigures:
    feed_dir = workdir / f"feed-{count}"
    t0 = time.perf_counter()
    items, feed_bytes = feedgen.generate(feed_dir, count, private_key)
    generate_s = time.perf_counter() - t0
    images = sum(1 for it in items if it["_disclosure"].get("media"))
    server, _thread = counting.start(feed_dir)
    try:
        url = server.url + "feed.json"
        cfg = write_config(workdir / f"sync-{count}.toml", url=url,
                           data_dir=workdir / f"data-{count}", public_key=public_key)
        traced = write_config(workdir / f"trace-{count}.toml", url=url,
                              data_dir=workdir / f"trace-data-{count}", public_key=public_key)
        colds = [run_child("bench.sync_case", str(cfg))]
        for k in range(1, COLD_RUNS):
            again = write_config(workdir / f"sync-{count}-{k}.toml", url=url,
                                 data_dir=workdir / f"data-{count}-{k}", public_key=public_key)
            colds.append(run_child("bench.sync_case", str(again)))
        trace = run_child("bench.sync_case", str(traced), "--trace")
        server.reset()
        sames = [run_child("bench.sync_case", str(cfg)) for _ in range(COLD_RUNS)]
        unchanged_feed = server.body_bytes["feed"]
        feedgen.change_one_image(feed_dir, items, private_key)
        server.reset()
        changed = run_child("bench.sync_case", str(cfg))
        new_image = max((feed_dir / "media").iterdir(), key=lambda p: p.stat().st_mtime)
        return SyncFigures(
            items=count,
            images=images,
            feed_bytes=feed_bytes,
            generate_s=generate_s,
            cold_s=statistics.median(c["seconds"] for c in colds),
            cold_rss_mb=statistics.median(c["maxrss_kb"] for c in colds) / 1024,
            cold_trace_peak_mb=trace["tracemalloc_peak"] / 2**20,
            unchanged_s=statistics.median(u["seconds"] for u in sames),
            unchanged_result="/".join(sorted({u["result"] for u in sames})),
            unchanged_feed_body=unchanged_feed,
            changed_s=changed["seconds"],
            changed_feed_body=server.body_bytes["feed"],
            changed_media_body=server.body_bytes["media"],
            changed_media_requests=server.requests["media"],
            changed_image_bytes=new_image.stat().st_size,
            cold_cpu_s=statistics.median(c["cpu_seconds"] for c in colds),
            cold_runs=tuple(c["seconds"] for c in colds),
        )
    finally:
        server.shutdown()
        server.server_close()


def run(sizes: list[int]) -> list[SyncFigures]:
    private_key, public_key = trust.generate_keypair()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        return [run_size(n, Path(tmp), private_key, public_key) for n in sizes]
