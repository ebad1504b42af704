"""``python -m bench.run [--quick] [--only sync|app|soak]``: print the figures beside the targets.

Figures, not assertions: every case runs in its own child process (so peak RSS is per
case) against the real feed server on loopback and the real coordinator and App.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

TARGET_COLD_10K_S = 2.0
TARGET_UNCHANGED_S = 0.050
TARGET_APP_RSS_ABOVE_FLOOR_MB = 60.0
TARGET_CPU_PERCENT = 5.0
TARGET_SOAK_GROWTH_MB = 5.0
SOAK_SLIDES, SOAK_SLIDES_QUICK = 10_000, 1_000
TOUCH_SOAK_SLIDES, TOUCH_SOAK_SLIDES_QUICK = 1_000, 300
# "Bounded": a slide holds about a dozen textures (labels, image, QR); the count may
# exceed the first sample by one slide's worth (a fade in flight), never grow with time.
TEXTURE_SLACK = 16
TOUCH_EVERY = 10  # slides between two residents' round trips in the touch soak


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), "unknown CPU")
    import os

    return f"{os.cpu_count()} × {cpu}, Python {platform.python_version()}, {platform.machine()}"


def _mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_sync(sizes: list[int]) -> None:
    from bench import sync_bench

    print("\n## Sync (real coordinator, loopback feed server, one child process per step)\n")
    print("| items | images | feed MB | cold s (median) | cold CPU s | cold peak RSS MB |"
          " cold tracemalloc peak MB |"
          " unchanged s | unchanged feed body B | changed s | changed feed B | changed media B"
          " (requests; new image B) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    figures = []
    for n in sizes:
        f = sync_bench.run([n])[0]
        figures.append(f)
        print(f"| {f.items:,} | {f.images} | {f.feed_bytes / 2**20:.2f} | {f.cold_s:.2f} |"
              f" {f.cold_cpu_s:.2f} | {f.cold_rss_mb:.0f} | {f.cold_trace_peak_mb:.1f} |"
              f" {f.unchanged_s * 1000:.1f} ms"
              f" ({f.unchanged_result}) | {f.unchanged_feed_body} | {f.changed_s:.2f} |"
              f" {f.changed_feed_body:,} | {f.changed_media_body:,}"
              f" ({f.changed_media_requests}; {f.changed_image_bytes:,}) |", flush=True)
    print("\nTargets:")
    for f in figures:
        if f.items == 10_000:
            print(f"- 10,000 items cold ≤ {TARGET_COLD_10K_S:.0f} s: {f.cold_s:.2f} s"
                  f" — {_mark(f.cold_s <= TARGET_COLD_10K_S)}")
        print(f"- {f.items:,} items unchanged ≤ {TARGET_UNCHANGED_S * 1000:.0f} ms:"
              f" {f.unchanged_s * 1000:.1f} ms, {f.unchanged_feed_body} body bytes"
              f" — {_mark(f.unchanged_s <= TARGET_UNCHANGED_S and f.unchanged_feed_body == 0)}")
        only_one = f.changed_media_body == f.changed_image_bytes
        print(f"- {f.items:,} items one changed image: media bytes = that image only"
              f" — {_mark(only_one)}")


def print_app(cpu_seconds: float) -> None:
    from bench import app_bench

    f = app_bench.run(cpu_seconds)
    above = f.app_hwm_mb - f.bare_hwm_mb
    print(f"\n## App ({f.items:,} items, {f.images} images, offline, 1920×1080, headless)\n")
    print("| figure | value | target |")
    print("|---|---:|---|")
    print(f"| process start → first slide drawn | {f.first_slide_s:.2f} s | |")
    print(f"| bare Kivy window: start → first frame | {f.bare_first_frame_s:.2f} s | |")
    print(f"| peak RSS, app | {f.app_hwm_mb:.0f} MB | |")
    print(f"| peak RSS, bare Kivy window (floor) | {f.bare_hwm_mb:.0f} MB | |")
    print(f"| app above floor | {above:.0f} MB | ≤ {TARGET_APP_RSS_ABOVE_FLOOR_MB:.0f} MB"
          f" {_mark(above <= TARGET_APP_RSS_ABOVE_FLOOR_MB)} |")
    print(f"| CPU rolling {f.cpu_seconds:.0f} s, ticker off ({f.slides_off} slides) |"
          f" {f.cpu_ticker_off:.1f} % of a core | ≤ {TARGET_CPU_PERCENT:.0f} %"
          f" {_mark(f.cpu_ticker_off <= TARGET_CPU_PERCENT)} |")
    print(f"| CPU rolling {f.cpu_seconds:.0f} s, ticker on ({f.slides_on} slides) |"
          f" {f.cpu_ticker_on:.1f} % of a core | |")
    print(f"| peak RSS while rolling, ticker off / on | {f.rolling_hwm_off_mb:.0f} /"
          f" {f.rolling_hwm_on_mb:.0f} MB | |", flush=True)


def print_soak(quick: bool) -> None:
    from bench import soak_case

    specs = [
        soak_case.Spec("signage", SOAK_SLIDES_QUICK if quick else SOAK_SLIDES,
                       sample_every=100 if quick else 500, warm_up=500),
        soak_case.Spec("touch", TOUCH_SOAK_SLIDES_QUICK if quick else TOUCH_SOAK_SLIDES,
                       TOUCH_EVERY, sample_every=50 if quick else 100,
                       warm_up=100 if quick else 200),
    ]
    runs = soak_case.run(specs)
    print(f"\n## Soak (accelerated clock, real App, 1920×1080, headless, offline"
          f"{'; quick: fewer slides' if quick else ''})\n")
    print("| mode | slides drawn | frames | elapsed s | fake time | nights | reloads |"
          " round trips | fade s | RSS after warm-up MB | RSS end MB | growth MB | textures"
          " warm / max / end | widgets warm / end | stalls |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for f in runs:
        print(f"| {f.mode} | {f.slides:,} | {f.frames:,} | {f.elapsed_s:.0f} |"
              f" {f.fake_hours:.0f} h | {f.nights} | {f.reloads} | {f.round_trips} | {f.fade_s:g} |"
              f" {f.rss_first_mb:.1f} (slide {f.first_sample_at:,}) | {f.rss_end_mb:.1f} |"
              f" {f.growth_mb:+.1f} | {f.textures_first} / {f.textures_max} / {f.textures_end} |"
              f" {f.widgets_first} / {f.widgets_end} | {f.stalls} |", flush=True)
    print("\nSamples (slide: RSS MB / textures / widgets):")
    for f in runs:
        row = ", ".join(f"{s['slide']:,}: {s['rss_mb']:.0f}/{s['textures']}/{s['widgets']}"
                        for s in f.samples)
        print(f"- {f.mode}: {row}")
    print("\nTargets:")
    for f in runs:
        bounded = f.textures_max <= f.textures_first + TEXTURE_SLACK
        print(f"- {f.mode} soak, RSS growth from slide {f.first_sample_at:,} to {f.slides:,}"
              f" ≤ {TARGET_SOAK_GROWTH_MB:.0f} MB: {f.growth_mb:+.1f} MB"
              f" — {_mark(f.growth_mb <= TARGET_SOAK_GROWTH_MB)}")
        print(f"- {f.mode} soak, live textures bounded (never more than {TEXTURE_SLACK} above"
              f" the count after warm-up): {f.textures_first}, max {f.textures_max},"
              f" end {f.textures_end} — {_mark(bounded)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="CPU runs of 10 s instead of 60 s; soaks of"
                        f" {SOAK_SLIDES_QUICK:,} and {TOUCH_SOAK_SLIDES_QUICK:,} slides instead"
                        f" of {SOAK_SLIDES:,} and {TOUCH_SOAK_SLIDES:,}")
    parser.add_argument("--only", choices=("sync", "app", "soak"))
    args = parser.parse_args(argv)
    print(f"# kiosk benchmark{' (quick)' if args.quick else ''}\n\nMachine: {machine()}")
    if args.only in (None, "sync"):
        print_sync([100, 1_000, 10_000])
    if args.only in (None, "app"):
        print_app(10.0 if args.quick else 60.0)
    if args.only in (None, "soak"):
        print_soak(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
