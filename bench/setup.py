"""Terminal configurations for the benchmark children (the same shape the tests write)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def write_config(
    path: Path, *, url: str, data_dir: Path, public_key: str, mode: str = "signage", extra: str = ""
) -> Path:
    path.write_text(
        f"""
[terminal]
id = "BENCH-01"
region_code = "360999101201"
mode = "{mode}"

[feed]
url = "{url}"
connect_timeout = 5
read_timeout = 30
sync_minutes = 1440
jitter_seconds = 0

[trust]
public_keys = ["{public_key}"]

[paths]
data_dir = "{data_dir}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def run_child(module: str, *args: str, timeout: float = 600, env: dict[str, str] | None = None
              ) -> dict[str, Any]:
    """Run ``python -m module args`` from the repo root; parse its last stdout line as JSON."""
    full_env = {**os.environ, "KIVY_NO_ARGS": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{module} failed ({proc.returncode}): " + " | ".join(tail))
    return json.loads(lines[-1])
