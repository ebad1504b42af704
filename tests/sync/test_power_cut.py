"""A sync killed with SIGKILL at random moments never leaves a mixed or broken store.

The real ``kiosk sync`` runs in a child process against a real loopback server; the test
kills it part-way and then asks the real ``kiosk items`` what it would show. The feed
carries images, so kills land while media is downloaded, scaled and written, as well as
around the snapshot switch: kill delays are spread over the whole measured duration of an
undisturbed sync. After each kill the store must show all of the old feed or all of the
new, every image it refers to must be a complete file, and the next sync must succeed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from pytest_httpserver import HTTPServer

from sync.store import Store
from tests import feedkit
from tests.conftest import write_config

N_ITEMS = 600
N_IMAGES = 16
KILLS = 50
AT = "2026-11-22T10:00:00+08:00"
PREPARED = re.compile(r"[0-9a-f]{64}-\d+x\d+\.(?:jpg|png)")


def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, timeout=120
    )


def noise_png(seed: int) -> bytes:
    """A PNG of random pixels: slow enough to decode, scale and re-encode that kills land
    inside the media stage, and impossible to compress away."""
    img = Image.frombytes("RGB", (900, 700), random.Random(seed).randbytes(900 * 700 * 3))
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def big_feed(prefix: str, sequence: int, images: dict[str, bytes]) -> dict:
    names = sorted(images)
    items = []
    for n in range(N_ITEMS):
        extra = {}
        if n < len(names):
            data = images[names[n]]
            extra["d_media"] = [
                {
                    "url": f"media/{names[n]}",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "bytes": len(data),
                    "type": "image/png",
                }
            ]
        items.append(
            feedkit.item(f"{prefix}-{n:05d}", content_text=f"{prefix} 第{n}条。" * 20, **extra)
        )
    return feedkit.feed(items, sequence=sequence)


def listed_ids(config: Path) -> list[str]:
    listed = kiosk("items", "--json", "--config", str(config), "--at", AT)
    assert listed.returncode == 0, listed.stderr
    return [row["id"] for row in json.loads(listed.stdout)]


def prepared_files(data_dir: Path) -> set[str]:
    media = data_dir / "media"
    return (
        {p.name for p in media.iterdir() if PREPARED.fullmatch(p.name)} if media.is_dir() else set()
    )


@pytest.mark.slow
def test_sigkill_during_sync_leaves_old_or_new_snapshot(
    httpserver: HTTPServer, tmp_path: Path, county_key: tuple[str, str]
) -> None:
    seed = int(os.environ.get("POWER_CUT_SEED", "20261122"))
    rng = random.Random(seed)
    images_a = {f"a{n}.png": noise_png(n) for n in range(N_IMAGES)}
    images_b = {f"b{n}.png": noise_png(1000 + n) for n in range(N_IMAGES)}
    body_a, sig_a = feedkit.signed(big_feed("A", 1, images_a), county_key[0])
    body_b, sig_b = feedkit.signed(big_feed("B", 2, images_b), county_key[0])
    for name, data in {**images_a, **images_b}.items():
        httpserver.expect_request(f"/media/{name}").respond_with_data(
            data, content_type="image/png"
        )

    def serve(body: bytes, sig: bytes) -> None:
        for path in ("/feed.json", "/feed.json.sig"):
            httpserver.handlers[:] = [h for h in httpserver.handlers if h.matcher.uri != path]
        httpserver.expect_request("/feed.json").respond_with_data(body)
        httpserver.expect_request("/feed.json.sig").respond_with_data(sig)

    golden = tmp_path / "golden"
    config = write_config(
        tmp_path / "golden.toml",
        url=httpserver.url_for("/feed.json"),
        data_dir=golden,
        public_keys=[county_key[1]],
    )
    serve(body_a, sig_a)
    assert kiosk("sync", "--config", str(config)).returncode == 0
    old_media = prepared_files(golden)
    assert len(old_media) == N_IMAGES

    serve(body_b, sig_b)
    trial_dir = tmp_path / "trial"
    trial_config = write_config(
        tmp_path / "trial.toml",
        url=httpserver.url_for("/feed.json"),
        data_dir=trial_dir,
        public_keys=[county_key[1]],
    )
    shutil.copytree(golden, trial_dir)
    started = time.monotonic()
    assert kiosk("sync", "--config", str(trial_config)).returncode == 0
    full = time.monotonic() - started

    phases: Counter[str] = Counter()
    for kill in range(KILLS):
        where = f"seed {seed}, kill {kill + 1} of {KILLS}"
        shutil.rmtree(trial_dir)
        shutil.copytree(golden, trial_dir)
        child = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "sync", "--config", str(trial_config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Up to 1.6 times the undisturbed duration: the kill-and-check loop competes with
        # itself for the CPU, so a disturbed sync runs slower than the one measured.
        time.sleep(rng.uniform(0.0, full * 1.6))
        child.send_signal(signal.SIGKILL)
        child.wait()

        ids = listed_ids(trial_config)
        prefixes = {i.split("-")[0] for i in ids}
        assert len(prefixes) == 1, f"{where}: mixed snapshot {sorted(prefixes)}"
        assert len(ids) == N_ITEMS, f"{where}: {len(ids)} items"
        shown = prefixes.pop()
        new_files = prepared_files(trial_dir) - old_media
        if shown == "B":
            phases["after the switch"] += 1
        elif not new_files:
            phases["before any new image"] += 1
        elif len(new_files) < N_IMAGES:
            phases["while images were written"] += 1
        else:
            phases["images done, before the switch"] += 1

        # Every image the store refers to is a whole file, not a torn write.
        snapshot = Store(trial_dir / "store.sqlite3").snapshot()
        for item in snapshot.items:
            for m in item.media:
                path = trial_dir / "media" / str(m.local_path)
                assert path.is_file(), f"{where}: {item.id} refers to missing {m.local_path}"
                with Image.open(path) as im:
                    im.load()

        after = kiosk("sync", "--config", str(trial_config))
        assert after.returncode == 0, f"{where}: next sync failed: {after.stderr}"
        again = listed_ids(trial_config)
        assert len(again) == N_ITEMS and {i.split("-")[0] for i in again} == {"B"}, where
        assert not [p for p in (trial_dir / "media").iterdir() if p.name.startswith(".tmp-")]

    print(f"power cut, seed {seed}, undisturbed sync {full:.2f} s, kills by phase: {dict(phases)}")
    # The random points must have landed both before and after the switch at least once.
    assert phases["after the switch"] >= 1 and len(phases) >= 2, (seed, dict(phases))
