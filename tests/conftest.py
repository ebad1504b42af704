"""Fixtures shared across the suite: a county key pair and terminal configurations."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.config import Config, load
from sync import trust

# Kivy must never touch the real home directory or parse pytest's arguments.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")


@pytest.fixture(scope="session")
def county_key() -> tuple[str, str]:
    """``(private_b64, public_b64)``."""
    return trust.generate_keypair()


def write_config(
    path: Path,
    *,
    url: str,
    data_dir: Path,
    public_keys: list[str],
    allow_unsigned: bool = False,
    extra: str = "",
) -> Path:
    keys = ", ".join(f'"{k}"' for k in public_keys)
    path.write_text(
        f"""
[terminal]
id = "LT-TEST-01"
region_code = "360999101201"
mode = "signage"

[feed]
url = "{url}"
connect_timeout = 2
read_timeout = 2

[trust]
public_keys = [{keys}]
allow_unsigned = {"true" if allow_unsigned else "false"}

[paths]
data_dir = "{data_dir}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def write_demo_config(
    folder: Path, *, mode: str = "signage", extra: str = "", name: str = "k.toml"
) -> Path:
    """A terminal on the bundled demo feed over file://, its data under ``folder/data``."""
    from kiosk.config import ASSETS

    path = write_config(
        folder / name,
        url=(ASSETS / "demo" / "feed" / "feed.json").as_uri(),
        data_dir=folder / "data",
        public_keys=[(ASSETS / "demo" / "demo-key.pub").read_text().strip()],
        extra=extra,
    )
    path.write_text(path.read_text().replace('mode = "signage"', f'mode = "{mode}"'))
    return path


@pytest.fixture
def make_config(tmp_path: Path, county_key: tuple[str, str]) -> Callable[..., Config]:
    def make(url: str, *, keys: list[str] | None = None, **kw: object) -> Config:
        path = write_config(
            tmp_path / "kiosk.toml",
            url=url,
            data_dir=tmp_path / "data",
            public_keys=[county_key[1]] if keys is None else keys,
            **kw,  # type: ignore[arg-type]
        )
        return load(path)

    return make
