"""The fleet rollout in deploy/ansible: lint, inventory, validation, and a real run.

The real run applies the role to a Debian 12 root made with debootstrap, through Ansible's
chroot connection: the same modules, apt, pip and systemctl that run on a terminal, on a
root that nothing else touches. Ansible itself comes from PyPI into a cached virtualenv
(the ``ansible`` package, which ships community.general's chroot connection), so the
tests need no Galaxy.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import load as load_config
from tests.deploy.conftest import CACHE_DIR, base_tarball, require_root_and_debootstrap

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "deploy" / "ansible"
EXAMPLE_INVENTORY = ANSIBLE_DIR / "inventory" / "example" / "hosts.yml"
ROLE_DIR = ANSIBLE_DIR / "roles" / "kiosk_terminal"
DEMO_PUBLIC_KEY = (REPO / "assets" / "demo" / "demo-key.pub").read_text("ascii").strip()

# The Debian root is the install.sh test's (tests/deploy/conftest.py): one debootstrap,
# cached as a tarball, serves both.
CACHE = CACHE_DIR
PIP_CACHE = "/var/cache/pip"

# Pinned so that a new ansible-lint rule cannot turn CI red without a change here.
ANSIBLE_REQUIREMENTS = ("ansible==12.3.0", "ansible-lint==26.10.1")

# A small package list for the chroot: enough to exercise apt for real without downloading
# the CJK fonts and Mesa (~150 MB) on every fresh CI machine. systemd provides systemctl for
# enabling the unit (a Raspberry Pi OS image has it already).
CHROOT_PACKAGES = ["python3", "python3-venv", "libmtdev1", "systemd"]

RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


# --- the Ansible virtualenv --------------------------------------------------------------


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _venv_base(request: pytest.FixtureRequest) -> Path:
    """The shared cache when it is writable (root, CI), else pytest's own cache."""
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        if os.access(CACHE, os.W_OK):
            return CACHE
    except OSError:
        pass
    return Path(request.config.cache.mkdir("kiosk-ansible"))


@pytest.fixture(scope="session")
def ansible_bin(request: pytest.FixtureRequest) -> Path:
    """``bin/`` of a virtualenv with ansible and ansible-lint, made once and reused."""
    key = hashlib.sha256("\n".join((*ANSIBLE_REQUIREMENTS, sys.version)).encode()).hexdigest()[:12]
    venv = _venv_base(request) / f"ansible-venv-{key}"
    ready = venv / ".ready"
    with _locked(venv.with_name(venv.name + ".lock")):
        if not ready.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                 "--disable-pip-version-check", *ANSIBLE_REQUIREMENTS],
                capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            if pip.returncode != 0:
                pytest.fail(f"pip install {' '.join(ANSIBLE_REQUIREMENTS)}: {pip.stderr[-2000:]}")
            ready.touch()
    return venv / "bin"


def _env(ansible_bin: Path, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{ansible_bin}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        PY_COLORS="0",
        NO_COLOR="1",
    )
    return env


@dataclass
class Run:
    returncode: int
    output: str

    def recap(self, host: str) -> dict[str, int]:
        for match in RECAP.finditer(self.output):
            if match["host"] == host:
                return {k: int(v) for k, v in match.groupdict().items() if k != "host"}
        raise AssertionError(f"no PLAY RECAP line for {host}:\n{self.output[-3000:]}")


def ansible(
    ansible_bin: Path,
    tmp: Path,
    tool: str,
    *args: str,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> Run:
    """Run one Ansible command from deploy/ansible (so its ansible.cfg applies)."""
    proc = subprocess.run(
        [str(ansible_bin / tool), *args],
        cwd=ANSIBLE_DIR,
        env={**_env(ansible_bin, tmp), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr)


# --- lint, syntax, inventory -------------------------------------------------------------


def _inventory(ansible_bin: Path, tmp: Path, inventory: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [str(ansible_bin / "ansible-inventory"), "-i", str(inventory), "--list"],
        cwd=ANSIBLE_DIR, env=_env(ansible_bin, tmp), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_playbook_syntax_is_valid(ansible_bin: Path, tmp_path: Path) -> None:
    run = ansible(
        ansible_bin, tmp_path, "ansible-playbook", "-i", str(EXAMPLE_INVENTORY),
        "site.yml", "--syntax-check",
    )  # fmt: skip
    assert run.returncode == 0, run.output
    assert "playbook: site.yml" in run.output


@pytest.mark.slow
def test_ansible_lint_passes_with_the_production_profile(ansible_bin: Path, tmp_path: Path) -> None:
    run = ansible(ansible_bin, tmp_path, "ansible-lint", "--offline", timeout=900)
    assert run.returncode == 0, run.output
    assert "Profile 'production' was required, and it passed" in run.output


@pytest.mark.slow
def test_example_inventory_groups_villages_under_their_town(
    ansible_bin: Path, tmp_path: Path
) -> None:
    inv = _inventory(ansible_bin, tmp_path, EXAMPLE_INVENTORY)
    assert inv["terminals"]["children"] == ["taoyuan_town"]
    assert set(inv["taoyuan_town"]["children"]) >= {"liutang_village", "shiqiao_village"}
    hostvars = inv["_meta"]["hostvars"]
    village_of = {
        host: group
        for group in inv["taoyuan_town"]["children"]
        for host in inv[group].get("hosts", [])
    }
    assert {"qx-ty-lt-01", "qx-ty-lt-02"} <= {
        h for h, g in village_of.items() if g == "liutang_village"
    }
    ids = [v["kiosk_terminal_id"] for v in hostvars.values()]
    assert len(ids) == len(set(ids)) == len(hostvars) >= 5
    for host, hv in hostvars.items():
        # Quoted in YAML, so a code stays a string (a number would lose nothing here, but a
        # technician copying the pattern should see strings).
        assert isinstance(hv["kiosk_region_code"], str), host
        assert hv["kiosk_mode"] in ("touch", "signage", "led"), host
        assert hv["kiosk_name"], host
        # group_vars/terminals.yml reaches every terminal.
        assert hv["kiosk_feed_url"].startswith("https://"), host
        assert len(hv["kiosk_public_keys"]) == 2, host
        assert (hv["kiosk_screen_on"], hv["kiosk_screen_off"]) == ("07:30", "21:00")
    # A village's terminals stand in that village: their region codes are the town's plus
    # three digits, the same in one village.
    town_code = hostvars["qx-ty-zx-led"]["kiosk_region_code"]
    for group in inv["taoyuan_town"]["children"]:
        codes = {hostvars[h]["kiosk_region_code"] for h in inv[group]["hosts"]}
        assert len(codes) == 1, group
        (code,) = codes
        assert len(code) == 12 and code.startswith(town_code), group


_RENDER_PLAY = """
- name: Validate and render the configuration of every terminal
  hosts: terminals
  gather_facts: true
  gather_subset: [min]
  tasks:
    - name: Validate with the role's own checks
      ansible.builtin.include_role:
        name: kiosk_terminal
        tasks_from: validate.yml
        public: true
    - name: Render kiosk.toml on the controller
      ansible.builtin.template:
        src: {template}
        dest: "{out}/{{{{ inventory_hostname }}}}.toml"
        mode: "0600"
      delegate_to: localhost
"""


def _render_configs(ansible_bin: Path, tmp: Path, inventory: Path, *extra: str) -> tuple[Run, Path]:
    out = tmp / "rendered"
    out.mkdir(exist_ok=True)
    play = tmp / "render.yml"
    play.write_text(
        _RENDER_PLAY.format(template=ROLE_DIR / "templates" / "kiosk.toml.j2", out=out),
        encoding="utf-8",
    )
    # Everything runs on this machine, read-only except the files under tmp.
    run = ansible(
        ansible_bin, tmp, "ansible-playbook", "-i", str(inventory), str(play),
        "-e", "ansible_connection=local", "-e", "ansible_become=false",
        "-e", f"ansible_python_interpreter={sys.executable}", *extra,
    )  # fmt: skip
    return run, out


@pytest.mark.slow
def test_every_example_terminal_gets_a_configuration_the_kiosk_loads(
    ansible_bin: Path, tmp_path: Path
) -> None:
    run, out = _render_configs(ansible_bin, tmp_path, EXAMPLE_INVENTORY)
    assert run.returncode == 0, run.output
    inv = _inventory(ansible_bin, tmp_path, EXAMPLE_INVENTORY)["_meta"]["hostvars"]
    assert sorted(p.stem for p in out.glob("*.toml")) == sorted(inv)
    for host, hv in inv.items():
        path = out / f"{host}.toml"
        config = load_config(path)  # the kiosk's own loader: unknown keys are errors
        assert config.terminal.id == hv["kiosk_terminal_id"]
        assert config.terminal.region_code == hv["kiosk_region_code"]
        assert config.terminal.mode == hv["kiosk_mode"]
        assert config.terminal.name == hv["kiosk_name"]
        assert config.feed.url == hv["kiosk_feed_url"]
        assert config.trust.public_keys == tuple(hv["kiosk_public_keys"])
        assert config.trust.allow_unsigned is False
        assert str(config.data_dir) == "/var/lib/kiosk"
        assert (config.display.width, config.display.height) == (
            hv.get("kiosk_display_width", 1920),
            hv.get("kiosk_display_height", 1080),
        )
        assert config.schedule.screen_on is not None
        assert config.schedule.screen_on.strftime("%H:%M") == "07:30"
        assert config.ops.heartbeat_url == hv["kiosk_heartbeat_url"]
        assert config.ops.heartbeat_token == ""  # not in the example: it lives in a vault
        # Chinese names stay readable in the file rather than \\u escapes.
        assert hv["kiosk_name"] in path.read_text("utf-8")
    # The same sections and keys as the install.sh template (docs/configuration.md).
    rendered = tomllib.loads((out / "qx-ty-lt-01.toml").read_text("utf-8"))
    template_keys = _active_template_keys()
    rendered_keys = {(s, k) for s, table in rendered.items() for k in table}
    assert template_keys <= rendered_keys


def _active_template_keys() -> set[tuple[str, str]]:
    """``(section, key)`` of every uncommented key in deploy/kiosk.toml.template."""
    keys: set[tuple[str, str]] = set()
    section = ""
    for line in (REPO / "deploy" / "kiosk.toml.template").read_text("utf-8").splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            section = m[1]
        elif m := re.match(r"^(\w+)\s*=", line):
            keys.add((section, m[1]))
    return keys


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("kiosk_region_code=36099910120", 'kiosk_region_code "36099910120" must be a 6, 9 or 12'),
        ("kiosk_terminal_id='QX TY 01'", 'kiosk_terminal_id "QX TY 01" must be 1-64'),
        ("kiosk_feed_url=http://gk.example.gov.cn/feed.json", "must be an\nhttps:// URL"),
        (
            'kiosk_public_keys=["bG4eaGCgs1NFQqBvkIhPkpFVJGRSosR/hvw63Hh7ic=="]',
            "not the base64 of a 32-byte",
        ),
        ("kiosk_public_keys=[]", "an empty list is allowed only"),
        ("kiosk_screen_off=''", "must be given together"),
        ("kiosk_mode=tv", 'kiosk_mode "tv" must be touch, signage or led'),
        ("kiosk_display_width=1920.5", "must be whole pixels"),
    ],
)
def test_a_wrong_variable_stops_the_run_with_a_clear_line(
    ansible_bin: Path, tmp_path: Path, override: str, message: str
) -> None:
    extra = ["-e", override]
    if override.startswith("kiosk_public_keys"):
        extra = ["-e", json.dumps({"kiosk_public_keys": json.loads(override.split("=", 1)[1])})]
    run, out = _render_configs(
        ansible_bin, tmp_path, EXAMPLE_INVENTORY, "--limit", "qx-ty-lt-01", *extra
    )
    assert run.returncode != 0
    flat = " ".join(run.output.split())
    assert " ".join(message.split()) in flat, run.output[-3000:]
    assert "qx-ty-lt-01:" in flat
    assert not list(out.glob("*.toml")), "nothing may be written after a failed check"


@pytest.mark.slow
def test_a_terminal_that_does_not_answer_is_listed_and_fails_the_run_at_the_end(
    ansible_bin: Path, tmp_path: Path
) -> None:
    with socket.socket() as s:  # a port nothing listens on: "connection refused" at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inventory = tmp_path / "offline.yml"
    inventory.write_text(
        json.dumps(
            {
                "terminals": {
                    "hosts": {
                        "qx-ty-sq-07": {
                            "ansible_host": "127.0.0.1",
                            "ansible_port": port,
                            "ansible_connection": "ssh",
                            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no",
                        }
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    run = ansible(
        ansible_bin, tmp_path, "ansible-playbook", "-i", str(inventory), "site.yml", "--check"
    )
    assert run.returncode == 2, run.output
    flat = " ".join(run.output.split())
    assert "1 terminal(s) did not answer" in flat
    assert "--limit 'qx-ty-sq-07'" in flat
    # The terminal was skipped, not counted as a failed rollout batch.
    assert run.recap("qx-ty-sq-07")["failed"] == 0
    assert run.recap("localhost")["failed"] == 1


# --- the real run against a Debian 12 root -----------------------------------------------


@dataclass
class DebianRoot:
    """A fresh Debian 12 root, and the environment Ansible needs to pass on into it."""

    path: Path
    env: dict[str, str]


@contextmanager
def debian_root(where: Path) -> Iterator[DebianRoot]:
    """A copy of the shared cached root (tests/deploy/conftest.py) at ``where``.

    Mounted inside: /proc, /dev, and host caches for .debs and wheels, so that a second run
    downloads nothing. Unmounted (before anything deletes the copy) when the block ends.
    """
    tarball = base_tarball(require_root_and_debootstrap())
    root = where / "root"
    root.mkdir()
    subprocess.run(["tar", "--numeric-owner", "-xpf", str(tarball), "-C", str(root)], check=True)
    shutil.copyfile("/etc/resolv.conf", root / "etc" / "resolv.conf")
    # No daemon may start inside the root while packages install.
    policy = root / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    # This machine may reach PyPI through a TLS-inspecting proxy whose CA only the host
    # trusts. pip's isolated build step reads the system bundle whatever PIP_CERT says, so
    # the root trusts what the host trusts: the host's bundle now, and its local CAs for
    # when the ca-certificates package rebuilds the bundle.
    env: dict[str, str] = {}
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if host_bundle.is_file():
        (root / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(host_bundle, root / "etc/ssl/certs/ca-certificates.crt")
        # The chroot connection passes Ansible's environment on to the modules.
        env["PIP_CERT"] = "/etc/ssl/certs/ca-certificates.crt"
    local_cas = Path("/usr/local/share/ca-certificates")
    if local_cas.is_dir():
        shutil.copytree(local_cas, root / local_cas.relative_to("/"), dirs_exist_ok=True)
    mounts: list[Path] = []

    def mount(args: list[str], target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *args, str(target)], check=True)
        mounts.append(target)

    try:
        mount(["-t", "proc", "proc"], root / "proc")
        mount(["--bind", "/dev"], root / "dev")
        for name, inside in (("apt-archives", "var/cache/apt/archives"), ("pip", PIP_CACHE)):
            (CACHE / name).mkdir(parents=True, exist_ok=True)
            mount(["--bind", str(CACHE / name)], root / inside.lstrip("/"))
        yield DebianRoot(root, env)
    finally:
        for target in reversed(mounts):
            if subprocess.run(["umount", str(target)], check=False).returncode != 0:
                subprocess.run(["umount", "--lazy", str(target)], check=False)
        # Never delete through a mount point that is still there (the host's caches).
        if not any(os.path.ismount(target) for target in mounts):
            shutil.rmtree(root, ignore_errors=True)


def _chroot_inventory(tmp: Path, root: Path) -> Path:
    inventory = {
        "all": {
            "children": {
                "terminals": {
                    "children": {
                        "test_village": {
                            "hosts": {
                                "chroot-terminal": {
                                    "ansible_connection": "community.general.chroot",
                                    "ansible_host": str(root),
                                    "ansible_python_interpreter": "/usr/bin/python3",
                                    "ansible_become": False,
                                    "kiosk_terminal_id": "QX-TY-LT-09",
                                    "kiosk_region_code": "360999101201",
                                    "kiosk_mode": "signage",
                                    "kiosk_name": '柳塘村 "老年活动室"',
                                    "kiosk_display_width": 1280,
                                    "kiosk_display_height": 720,
                                }
                            }
                        }
                    },
                    "vars": {
                        "kiosk_feed_url": "https://gk.qingxi.example.gov.cn/feed/feed.json",
                        "kiosk_public_keys": [DEMO_PUBLIC_KEY],
                        "kiosk_sync_minutes": 20,
                        "kiosk_screen_on": "07:30",
                        "kiosk_screen_off": "21:00",
                        "kiosk_display_options": {"ticker": False, "chars_per_minute": 120},
                        "kiosk_packages": CHROOT_PACKAGES,
                        "kiosk_pip_cache_dir": PIP_CACHE,
                        "kiosk_controller_build_dir": str(tmp / "controller-build"),
                    },
                }
            }
        }
    }
    # JSON is YAML: the yaml inventory plugin reads it.
    path = tmp / "chroot-inventory.yml"
    path.write_text(json.dumps(inventory, ensure_ascii=False), encoding="utf-8")
    return path


def _in_root(root: Path, *argv: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = ["chroot", *([f"--userspec={user}:{user}"] if user else []), str(root), *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
    })  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_role_installs_a_terminal_in_a_debian_root_and_is_idempotent(
    ansible_bin: Path, tmp_path: Path
) -> None:
    with debian_root(tmp_path) as debian:
        root = debian.path
        inventory = _chroot_inventory(tmp_path, root)
        timings: dict[str, float] = {}

        def playbook(label: str, *args: str) -> Run:
            start = time.monotonic()
            run = ansible(
                ansible_bin, tmp_path, "ansible-playbook", "-i", str(inventory), "site.yml",
                *args, timeout=1800, env=debian.env,
            )  # fmt: skip
            timings[label] = round(time.monotonic() - start, 1)
            assert run.returncode == 0, f"{label}:\n{run.output[-8000:]}"
            return run

        check = playbook("check", "--check", "--diff")
        first_check = check.recap("chroot-terminal")
        assert first_check["failed"] == 0 and first_check["changed"] > 0
        assert "would install source" in check.output
        assert 'id = "QX-TY-LT-09"' in check.output, "--check shows the configuration"
        # --check changed nothing in the root.
        assert not (root / "etc" / "kiosk").exists()
        assert not (root / "opt" / "kiosk").exists()
        assert _in_root(root, "getent", "passwd", "kiosk").returncode != 0

        real = playbook("apply")
        assert real.recap("chroot-terminal")["changed"] > 0
        _assert_terminal_installed(root)

        again = playbook("again")
        assert again.recap("chroot-terminal")["changed"] == 0, again.output[-8000:]
        # --check on an installed terminal predicts no change either.
        recheck = playbook("recheck", "--check")
        assert recheck.recap("chroot-terminal")["changed"] == 0, recheck.output[-8000:]

        # A changed inventory value is applied, and only the configuration changes.
        changed = playbook("mode", "-e", "kiosk_mode=touch", "--diff")
        assert changed.recap("chroot-terminal")["changed"] == 1, changed.output[-8000:]
        assert '-mode = "signage"' in changed.output
        assert '+mode = "touch"' in changed.output
        print("ansible-playbook timings (s):", timings)


def _assert_terminal_installed(root: Path) -> None:
    passwd = _in_root(root, "getent", "passwd", "kiosk")
    assert passwd.returncode == 0, passwd.stderr
    fields = passwd.stdout.strip().split(":")
    assert fields[5] == "/var/lib/kiosk" and fields[6] == "/usr/sbin/nologin"
    assert int(fields[2]) < 1000, "a system user"
    groups = _in_root(root, "id", "-nG", "kiosk").stdout.split()
    assert {"kiosk", "video", "render", "input"} <= set(groups)

    def owner(path: str) -> tuple[str, str, str]:
        out = _in_root(root, "stat", "-c", "%U %G %a", path).stdout.split()
        return (out[0], out[1], out[2])

    assert owner("/etc/kiosk") == ("root", "kiosk", "750")
    assert owner("/etc/kiosk/kiosk.toml") == ("root", "kiosk", "640")
    assert owner("/var/lib/kiosk") == ("kiosk", "kiosk", "750")

    config = tomllib.loads((root / "etc/kiosk/kiosk.toml").read_text("utf-8"))
    assert config["terminal"] == {
        "id": "QX-TY-LT-09",
        "region_code": "360999101201",
        "name": '柳塘村 "老年活动室"',
        "mode": "signage",
    }
    assert config["feed"]["url"] == "https://gk.qingxi.example.gov.cn/feed/feed.json"
    assert config["feed"]["sync_minutes"] == 20
    assert config["trust"] == {"public_keys": [DEMO_PUBLIC_KEY], "allow_unsigned": False}
    assert config["display"] == {
        "width": 1280, "height": 720, "ticker": False, "chars_per_minute": 120,
    }  # fmt: skip
    assert config["schedule"] == {"screen_on": "07:30", "screen_off": "21:00"}

    # The installed kiosk, as the service user, accepts its configuration.
    status = _in_root(
        root, "/opt/kiosk/venv/bin/kiosk", "status", "--json", "--config",
        "/etc/kiosk/kiosk.toml", user="kiosk",
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["terminal_id"] == "QX-TY-LT-09"
    assert report["mode"] == "signage"
    assert report["last_result"] is None  # never synced: nothing reachable from here
    imports = _in_root(
        root, "/opt/kiosk/venv/bin/python", "-c",
        "import kiosk.cli, sync.coordinator, screens; import kivy; print(kivy.__version__)",
    )  # fmt: skip
    assert imports.returncode == 0, imports.stderr
    assert imports.stdout.strip().startswith("2.3")

    unit = root / "etc/systemd/system/kiosk.service"
    assert unit.read_text("utf-8") == (REPO / "deploy/systemd/kiosk.service").read_text("utf-8")
    wanted_by = re.search(r"^WantedBy=(\S+)", unit.read_text("utf-8"), re.MULTILINE)
    assert wanted_by is not None
    link = root / "etc/systemd/system" / f"{wanted_by[1]}.wants" / "kiosk.service"
    assert link.is_symlink(), "the service is enabled"
    # install.sh's record of the installed source: both tools agree on it.
    assert re.fullmatch(r"[0-9a-f]{64}\n", (root / "opt/kiosk/.installed").read_text())
