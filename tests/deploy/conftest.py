"""A real, isolated Debian 12 root to run ``deploy/install.sh`` in.

``debootstrap --variant=minbase bookworm`` builds it from Debian's packages once (about 40 s,
300 MB); the result is kept as a tarball under ``/var/cache/kiosk-test`` (or
``$KIOSK_TEST_CACHE``), renewed monthly, so later runs only unpack it (a few seconds). Each
test module gets its own copy with ``/proc`` mounted, the host's resolver and pip settings,
and the repository under ``/src``. Nothing here runs unless we are root.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("KIOSK_TEST_CACHE", "/var/cache/kiosk-test"))
MIRROR = os.environ.get("KIOSK_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What a fresh Raspberry Pi OS Lite already has; install.sh adds the rest with apt.
INCLUDE = ("python3", "python3-venv", "python3-pip")
# Other tests may keep their own roots in the same cache directory: only ours are renewed.
TARBALL_PREFIX = "install-sh-bookworm-minbase-"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# pip settings worth carrying into the root (a mirror, a proxy's CA); never find-links, which
# names host paths, and never credentials files.
PIP_PASSTHROUGH = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_DEFAULT_TIMEOUT",
)
CA_VARIABLES = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def repo_files() -> list[str]:
    """The repository's files as a checkout has them: tracked and new, not ignored."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout
    return sorted({name for name in out.decode().split("\0") if name and (REPO / name).is_file()})


def require_root_and_debootstrap() -> str:
    """The debootstrap binary, or skip with the reason; installs it with apt when missing."""
    if os.geteuid() != 0:
        pytest.skip("needs root (debootstrap, chroot and mounts); run the suite as root")
    search = f"{os.environ.get('PATH', '')}:{PATH}"
    found = shutil.which("debootstrap", path=search)
    if not found and shutil.which("apt-get", path=search):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "debootstrap"]
        if subprocess.run(install, env=env, capture_output=True, timeout=300).returncode:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
            subprocess.run(install, env=env, capture_output=True, timeout=300)
        found = shutil.which("debootstrap", path=search)
    if not found:
        pytest.skip("debootstrap is not installed and `apt-get install debootstrap` failed")
    return found


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder at a time: parallel CI jobs share the cache directory."""
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def base_tarball(debootstrap: str) -> Path:
    """The cached minbase root as a tarball, built on first use (and once a month)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{MIRROR} {','.join(INCLUDE)}".encode()).hexdigest()[:10]
    tarball = CACHE_DIR / f"{TARBALL_PREFIX}{date.today():%Y-%m}-{key}.tar"
    with _locked(CACHE_DIR / ".lock"):
        if tarball.exists():
            return tarball
        build = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE_DIR))
        try:
            root = build / "root"
            result = subprocess.run(
                [
                    debootstrap,
                    "--variant=minbase",
                    f"--include={','.join(INCLUDE)}",
                    "bookworm",
                    str(root),
                    MIRROR,
                ],
                capture_output=True,
                text=True,
                timeout=900,
            )
            if result.returncode != 0:
                tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
                pytest.fail("debootstrap failed:\n" + "\n".join(tail))
            partial = build / "root.tar"
            subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True)
            os.replace(partial, tarball)
        finally:
            shutil.rmtree(build, ignore_errors=True)
        for old in CACHE_DIR.glob(f"{TARBALL_PREFIX}*.tar"):
            if old != tarball:
                old.unlink(missing_ok=True)
    return tarball


@dataclass
class Chroot:
    """A Debian 12 root with the repository at ``/src``; commands run in it with ``chroot``."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def run(
        self, *args: str, user: str | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` inside with a clean environment, as ``sudo`` would give it."""
        cmd = [shutil.which("chroot", path=PATH) or "/usr/sbin/chroot"]
        if user:
            cmd.append(f"--userspec={user}")
        cmd += [str(self.root), *args]
        home = "/root" if user is None else "/"
        env = {"PATH": PATH, "HOME": home, "LANG": "C.UTF-8", **self.env}
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)

    def install(self, *options: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("/src/deploy/install.sh", *options, user=user)


def _mount(args: Sequence[str], target: Path, mounts: list[Path]) -> None:
    subprocess.run(["mount", *args, str(target)], check=True)
    mounts.append(target)


def _network_settings(root: Path) -> dict[str, str]:
    """Let apt and pip inside reach the registries the way the host does."""
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    env = {name: os.environ[name] for name in PIP_PASSTHROUGH if os.environ.get(name)}
    for name in CA_VARIABLES:
        bundle = os.environ.get(name)
        if bundle and Path(bundle).is_file():
            shutil.copyfile(bundle, root / "etc/kiosk-test-ca.pem")
            env["PIP_CERT"] = "/etc/kiosk-test-ca.pem"
            break
    return env


def _mem_available_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


@pytest.fixture(scope="module")
def chroot() -> Iterator[Chroot]:
    debootstrap = require_root_and_debootstrap()
    tarball = base_tarball(debootstrap)
    root = Path(tempfile.mkdtemp(prefix="kiosk-bookworm-", dir="/var/tmp"))
    mounts: list[Path] = []
    try:
        # The root grows to about 1 GB; in memory, unpacking and throwing it away are quick.
        if _mem_available_gb() > 4:
            _mount(["-t", "tmpfs", "-o", "size=3g,mode=755", "kiosk-test-root"], root, mounts)
        subprocess.run(["tar", "-C", str(root), "-xf", str(tarball)], check=True)
        env = _network_settings(root)
        _mount(["-t", "proc", "proc"], root / "proc", mounts)
        # Downloads are kept between runs on the host, as a technician's laptop would.
        pip_cache = CACHE_DIR / "install-sh-pip"
        pip_cache.mkdir(parents=True, exist_ok=True)
        (root / "var/cache/pip").mkdir(parents=True, exist_ok=True)
        _mount(["--bind", str(pip_cache)], root / "var/cache/pip", mounts)
        env["PIP_CACHE_DIR"] = "/var/cache/pip"
        src = root / "src"
        for name in repo_files():
            target = src / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target)
        yield Chroot(root=root, env=env)
    finally:
        for target in reversed(mounts):
            if subprocess.run(["umount", str(target)], check=False).returncode != 0:
                subprocess.run(["umount", "-l", str(target)], check=False)
        # Never delete through a mount point that is still there (the host's pip cache).
        if not any(os.path.ismount(target) for target in mounts):
            shutil.rmtree(root, ignore_errors=True)
