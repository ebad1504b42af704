"""deploy/: the shell scripts, the systemd unit, the config template, and a real install.

The install runs ``deploy/install.sh`` for real (apt, the kiosk user, a virtualenv with the
project from PyPI, /etc/kiosk/kiosk.toml, the unit) inside a Debian 12 root made with
debootstrap (see conftest.py), then checks the result from outside and as the kiosk user
inside, runs it again to see that nothing changes, and feeds it bad options.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import (
    DisplayConfig,
    FeedConfig,
    TechnicianConfig,
    TrustConfig,
    load,
)
from tests.deploy.conftest import REPO, Chroot, repo_files

DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "systemd" / "kiosk.service"
TEMPLATE = DEPLOY / "kiosk.toml.template"
DOCS = REPO / "docs" / "configuration.md"
QUIET = {"unchanged", "kept", "skipped"}
STEP = re.compile(r"^  ([a-z]+) +(\S.*)$")


# ---------------------------------------------------------------------------------------
# Shell scripts


def shell_scripts() -> list[str]:
    """Every ``*.sh`` and every file that starts with a shell shebang (e.g. ``.ci/run``)."""
    found = []
    for name in repo_files():
        path = REPO / name
        if name.endswith(".sh"):
            found.append(name)
            continue
        with path.open("rb") as f:
            first = f.readline(200)
        if re.match(rb"#!\s*/(usr/)?bin/(env\s+)?(ba|da)?sh\b", first):
            found.append(name)
    return found


def test_shell_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    scripts = shell_scripts()
    assert "deploy/install.sh" in scripts and "deploy/dev.sh" in scripts
    result = subprocess.run(
        [shellcheck, "--external-sources", *scripts], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_script_is_executable() -> None:
    assert os.access(DEPLOY / "install.sh", os.X_OK)


# ---------------------------------------------------------------------------------------
# systemd unit


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of ``key=value`` pairs in order; systemd allows a key more than once."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def verify_unit(path: Path) -> str:
    """``systemd-analyze verify`` output for ``path``; empty when it is clean.

    A unit whose ExecStart does not exist fails verification, so the program path is swapped
    for /bin/true in a copy; everything else is verified as written. Unknown keys and bad
    values only produce messages (exit status 0), hence the output is what counts.
    """
    text = re.sub(r"(?m)^(ExecStart=)\S+", r"\1/bin/true", path.read_text(encoding="utf-8"))
    copy = path.parent / f"verify-{path.name}"
    copy.write_text(text, encoding="utf-8")
    try:
        result = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", copy.name],
            cwd=copy.parent,
            capture_output=True,
            text=True,
            env={**os.environ, "SYSTEMD_LOG_COLOR": "0"},
        )
    finally:
        copy.unlink()
    return (result.stdout + result.stderr).strip() + (
        f"\n(exit status {result.returncode})" if result.returncode else ""
    )


@pytest.fixture
def systemd_analyze() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")


@pytest.mark.usefixtures("systemd_analyze")
def test_units_verify_clean(tmp_path: Path) -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service")) + sorted(
        (DEPLOY / "systemd").glob("*.timer")
    )
    assert UNIT in units
    for unit in units:
        copy = tmp_path / unit.name
        shutil.copyfile(unit, copy)
        assert verify_unit(copy) == "", unit.name


@pytest.mark.usefixtures("systemd_analyze")
def test_unit_verification_catches_mistakes(tmp_path: Path) -> None:
    """The check above is only worth something if a typo makes it speak."""
    text = UNIT.read_text(encoding="utf-8")
    broken = text.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes").replace(
        "Restart=always", "Restart=allways"
    )
    assert broken != text
    copy = tmp_path / "kiosk.service"
    copy.write_text(broken, encoding="utf-8")
    output = verify_unit(copy)
    assert "NoNewPrivilege" in output and "allways" in output


def test_unit_contract() -> None:
    unit = parse_unit(UNIT.read_text(encoding="utf-8"))
    service, head = unit["Service"], unit["Unit"]
    assert values(service, "Type") == ["notify"]
    assert values(service, "NotifyAccess") == ["main"]
    assert values(service, "ExecStart") == [
        "/opt/kiosk/venv/bin/kiosk run --config /etc/kiosk/kiosk.toml"
    ]
    assert values(service, "User") == ["kiosk"]
    assert values(service, "Restart") == ["always"]
    assert values(service, "RestartSec") == ["5"]
    assert values(service, "WatchdogSec") == ["60"]
    assert "getty@tty1.service" in values(head, "Conflicts")
    after = " ".join(values(head, "After")).split()
    assert "network.target" in after and "network-online.target" not in after
    assert sorted(" ".join(values(service, "SupplementaryGroups")).split()) == [
        "input",
        "render",
        "video",
    ]
    env = dict(v.split("=", 1) for v in values(service, "Environment"))
    assert env["SDL_VIDEODRIVER"] == "kmsdrm" and env["KIVY_WINDOW"] == "sdl2"
    assert env["KIVY_NO_FILELOG"] == "1"
    for key in (
        "NoNewPrivileges",
        "PrivateTmp",
        "ProtectHome",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectControlGroups",
        "RestrictSUIDSGID",
        "LockPersonality",
        "RestrictRealtime",
    ):
        assert values(service, key) == ["yes"], key
    assert values(service, "ProtectSystem") == ["strict"]
    # DRM and input devices must stay reachable: no device allow-list of any kind.
    for key in ("DeviceAllow", "DevicePolicy", "PrivateDevices", "ProtectClock"):
        assert values(service, key) == [], key


def test_unit_sandbox_leaves_the_app_its_writable_places() -> None:
    """Everything the app writes (store, media, Kivy's home) lies under ReadWritePaths."""
    service = parse_unit(UNIT.read_text(encoding="utf-8"))["Service"]
    writable = [Path(p) for v in values(service, "ReadWritePaths") for p in v.split()]
    env = dict(v.split("=", 1) for v in values(service, "Environment"))
    rendered = tomllib.loads(render_template(TEMPLATE.read_text(encoding="utf-8")))
    data_dir = Path(rendered["paths"]["data_dir"])
    for place in (data_dir, Path(env["KIVY_HOME"]), Path(values(service, "WorkingDirectory")[0])):
        assert any(place == w or w in place.parents for w in writable), place


# ---------------------------------------------------------------------------------------
# The configuration template

SAMPLE = {
    "TERMINAL_ID": '"QX-TY-LT-01"',
    "REGION_CODE": '"360999101201"',
    "NAME": '"柳塘村党群服务中心"',
    "MODE": '"touch"',
    "FEED_URL": '"https://gk.qingxi.example.gov.cn/feed/feed.json"',
    "PUBLIC_KEYS": '["' + base64.b64encode(bytes(range(32))).decode() + '"]',
    "WIDTH": "1920",
    "HEIGHT": "1080",
}
COMMENTED_KEY = re.compile(r"(?m)^# ([a-z_]+ = .*)$")


def render_template(text: str) -> str:
    for name, value in SAMPLE.items():
        text = text.replace(f"@{name}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, f"placeholders without a sample value: {left}"
    return text


def documented_keys() -> set[tuple[str, str]]:
    """(section, key) for every row of the key table in docs/configuration.md."""
    keys: set[tuple[str, str]] = set()
    section = ""
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3:
            continue
        named = re.search(r"`\[(\w+)\]`", cells[0])
        if named:
            section = named.group(1)
        if section:
            keys.update((section, k) for k in re.findall(r"`([a-z_]+)`", cells[1]))
    return keys


def template_keys(text: str) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    section = ""
    for line in text.splitlines():
        header = re.match(r"^\[(\w+)\]$", line)
        if header:
            section = header.group(1)
        key = re.match(r"^(?:# )?([a-z_]+) = ", line)
        if key and section:
            keys.add((section, key.group(1)))
    return keys


def test_template_lists_every_documented_key() -> None:
    documented = documented_keys()
    assert ("terminal", "region_code") in documented and len(documented) > 25
    missing = documented - template_keys(TEMPLATE.read_text(encoding="utf-8"))
    assert not missing, f"keys in docs/configuration.md missing from the template: {missing}"


def test_template_defaults_are_the_real_defaults(tmp_path: Path) -> None:
    """Uncommenting every key must load, and give what leaving it commented gives."""
    text = render_template(TEMPLATE.read_text(encoding="utf-8"))
    as_written = tmp_path / "as-written.toml"
    as_written.write_text(text, encoding="utf-8")
    config = load(as_written)
    assert config.terminal.id == "QX-TY-LT-01" and config.terminal.name == "柳塘村党群服务中心"

    uncommented = COMMENTED_KEY.sub(r"\1", text)
    assert uncommented != text
    everything = tmp_path / "everything.toml"
    everything.write_text(uncommented, encoding="utf-8")
    full = load(everything)
    assert full.schedule.screen_on is not None  # the example hours are valid too
    defaults: dict[str, Any] = {
        "feed": FeedConfig(url=config.feed.url),
        "display": DisplayConfig(),
        "trust": TrustConfig(),
        "technician": TechnicianConfig(),
    }
    raw = tomllib.loads(uncommented)
    checked = 0
    for section, default in defaults.items():
        for key in raw.get(section, {}):
            if f"\n# {key} = " in text:
                assert getattr(getattr(full, section), key) == getattr(default, key), key
                checked += 1
    assert checked >= 15


# ---------------------------------------------------------------------------------------
# The real install, in a Debian 12 root


def key_of(n: int) -> str:
    return base64.b64encode(n.to_bytes(32, "big")).decode()


def install_options(public_key: str, /, **change: str | None) -> list[str]:
    """A valid command line; ``change`` replaces (or with None drops) options by name."""
    options: dict[str, str | None] = {
        "terminal_id": "QX-TY-LT-01",
        "region_code": "360999101201",
        "feed_url": "https://gk.qingxi.example.gov.cn/feed/feed.json",
        "public_key": public_key,
        "mode": "signage",
        "name": "柳塘村党群服务中心",
        "width": "1280",
        "height": "720",
    }
    options.update(change)
    args: list[str] = []
    for name, value in options.items():
        if value is not None:
            args += [f"--{name.replace('_', '-')}", value]
    return args


def tree_state(top: Path) -> dict[str, tuple[Any, ...]]:
    """Mode, owner, size and mtime of everything under ``top``; contents of small files."""
    if not top.exists():
        return {str(top): ("absent",)}
    state: dict[str, tuple[Any, ...]] = {}
    for path in [top, *top.rglob("*")]:
        st = path.lstat()
        digest = ""
        if path.is_file() and not path.is_symlink() and st.st_size < 65536:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        state[str(path)] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, digest)
    return state


def system_state(ch: Chroot) -> dict[str, tuple[Any, ...]]:
    """What install.sh may change: accounts, packages, its directories and the unit."""
    state: dict[str, tuple[Any, ...]] = {}
    for name in (
        "/etc/passwd",
        "/etc/group",
        "/etc/shadow",
        "/etc/gshadow",
        "/var/lib/dpkg/status",
    ):
        state[name] = (hashlib.sha256(ch.path(name).read_bytes()).hexdigest(),)
    for top in ("/etc/kiosk", "/opt/kiosk", "/var/lib/kiosk", "/etc/systemd/system"):
        state.update(tree_state(ch.path(top)))
    return state


def steps(output: str) -> list[tuple[str, str]]:
    """The ``  status  subject`` lines install.sh prints for each step."""
    lines = output.split("install.sh: done")[0].splitlines()
    return [(m.group(1), m.group(2)) for m in map(STEP.match, lines) if m]


def account(ch: Chroot, name: str, database: str = "passwd") -> list[str]:
    for line in ch.path(f"/etc/{database}").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    raise AssertionError(f"no {name} in /etc/{database}")


def fail_with(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@dataclass
class Timed:
    result: subprocess.CompletedProcess[str]
    seconds: float


def timed(run: Any, *args: Any, **kwargs: Any) -> Timed:
    start = time.monotonic()
    result = run(*args, **kwargs)
    return Timed(result, time.monotonic() - start)


@dataclass
class Story:
    """Everything that happened to the root, in order; the tests below read it."""

    public_key: str
    refusals: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    state_before_refusals: dict[str, Any] = field(default_factory=dict)
    state_after_refusals: dict[str, Any] = field(default_factory=dict)
    apt_note: str = ""
    first: Timed | None = None
    first_config: bytes = b""
    first_config_owner_mode: tuple[int, int, int] = (0, 0, 0)
    first_unit: tuple[bytes, int] = (b"", 0)
    status: subprocess.CompletedProcess[str] | None = None
    state_before_rerun: dict[str, Any] = field(default_factory=dict)
    rerun: Timed | None = None
    state_after_rerun: dict[str, Any] = field(default_factory=dict)
    edited_config: bytes = b""
    marker: str = ""
    update: Timed | None = None
    config_after_update: tuple[bytes, int] = (b"", 0)
    broken_config: bytes = b""
    broken: subprocess.CompletedProcess[str] | None = None


REFUSALS: dict[str, tuple[dict[str, str | None], str]] = {
    "region code of 8 digits": ({"region_code": "36099910"}, "--region-code"),
    "key of 31 bytes": (
        {"public_key": base64.b64encode(bytes(31)).decode()},
        "--public-key",
    ),
    "key that is not base64": ({"public_key": "not-a-key!"}, "--public-key"),
    "id with spaces": ({"terminal_id": "QX TY 01"}, "--terminal-id"),
    "id of 65 characters": ({"terminal_id": "Q" * 65}, "--terminal-id"),
    "unknown mode": ({"mode": "kiosk"}, "--mode"),
    "ftp feed": ({"feed_url": "ftp://gk.example.gov.cn/feed.json"}, "--feed-url"),
    "feed missing": ({"feed_url": None}, "--feed-url is required"),
    "width out of range": ({"width": "99999"}, "--width"),
}


@pytest.fixture(scope="module")
def story(chroot: Chroot) -> Story:
    tale = Story(public_key=key_of(0x6B696F736B))
    ch = chroot

    tale.state_before_refusals = system_state(ch)
    for label, (change, _) in REFUSALS.items():
        tale.refusals[label] = ch.install(*install_options(tale.public_key, **change))
    tale.refusals["typo in an option"] = ch.install(
        *install_options(tale.public_key), "--regoin-code", "360999"
    )
    tale.refusals["not root"] = ch.install(*install_options(tale.public_key), user="nobody:nogroup")
    tale.refusals["http feed and a bad height"] = ch.install(
        *install_options(tale.public_key, feed_url="http://10.0.0.5/feed.json", height="0")
    )
    tale.state_after_refusals = system_state(ch)

    options = install_options(tale.public_key)
    probe = ch.run("apt-get", "update", "-qq", timeout=300)
    if probe.returncode != 0:
        # Fall back to --no-apt: debootstrap already put python3-venv in; the package test
        # then skips with this note.
        tale.apt_note = "apt inside the root cannot reach Debian: " + probe.stderr.strip()[-200:]
        options.append("--no-apt")
    tale.first = timed(ch.install, *options)
    assert tale.first.result.returncode == 0, fail_with(tale.first.result)
    config = ch.path("/etc/kiosk/kiosk.toml")
    tale.first_config = config.read_bytes()
    st = config.stat()
    tale.first_config_owner_mode = (st.st_mode & 0o7777, st.st_uid, st.st_gid)
    unit = ch.path("/etc/systemd/system/kiosk.service")
    tale.first_unit = (unit.read_bytes(), unit.stat().st_mode & 0o7777)

    tale.status = ch.run(
        "/opt/kiosk/venv/bin/kiosk",
        "status",
        "--json",
        "--config",
        "/etc/kiosk/kiosk.toml",
        user="kiosk:kiosk",
    )

    tale.state_before_rerun = system_state(ch)
    tale.rerun = timed(ch.install, *options)
    tale.state_after_rerun = system_state(ch)

    # A technician edits the config (and loosens its mode); a new version of the source
    # arrives. Re-running must keep the edit, restore the mode and reinstall the program.
    edited = config.read_text(encoding="utf-8").replace(
        'name = "柳塘村党群服务中心"', 'name = "柳塘村党群服务中心（一楼大厅）"'
    )
    config.write_text(edited + "# edited by hand\n", encoding="utf-8")
    config.chmod(0o644)
    tale.edited_config = config.read_bytes()
    tale.marker = f"# update {uuid.uuid4()}"
    with ch.path("/src/kiosk/__init__.py").open("a", encoding="utf-8") as f:
        f.write(f"\n{tale.marker}\n")
    tale.update = timed(ch.install, *options)
    tale.config_after_update = (config.read_bytes(), config.stat().st_mode & 0o7777)

    # A broken edit is kept too, but the run fails and says where the mistake is.
    tale.broken_config = tale.edited_config.replace(
        b'region_code = "360999101201"', b'region_code = "3609991012"'
    )
    config.write_bytes(tale.broken_config)
    tale.broken = ch.install(*options)
    return tale


@pytest.mark.parametrize("label", [*REFUSALS, "typo in an option", "not root"])
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_bad_options_are_refused_with_one_line(story: Story, label: str) -> None:
    result = story.refusals[label]
    expected = (
        REFUSALS[label][1]
        if label in REFUSALS
        else ("unknown option" if label == "typo in an option" else "must run as root")
    )
    assert result.returncode == 2, fail_with(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], fail_with(result)
    assert result.stdout == ""


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_refusals_change_nothing_and_http_is_warned_about(story: Story) -> None:
    assert story.state_after_refusals == story.state_before_refusals
    mixed = story.refusals["http feed and a bad height"]
    assert mixed.returncode == 2
    lines = mixed.stderr.strip().splitlines()
    assert any("warning" in line and "http://" in line for line in lines), fail_with(mixed)
    assert any("--height" in line for line in lines), fail_with(mixed)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_install_creates_the_kiosk_user(story: Story, chroot: Chroot) -> None:
    user = account(chroot, "kiosk")
    assert user[5] == "/var/lib/kiosk" and user[6].endswith("nologin")
    assert int(user[2]) < 1000  # a system account
    groups = chroot.run("id", "-nG", "kiosk").stdout.split()
    assert {"video", "render", "input"} <= set(groups)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_install_writes_the_config_from_the_options(
    story: Story, chroot: Chroot, tmp_path: Path
) -> None:
    gid = int(account(chroot, "kiosk", "group")[2])
    assert story.first is not None
    first_steps = dict((subject, status) for status, subject in steps(story.first.result.stdout))
    assert first_steps["/etc/kiosk/kiosk.toml"] == "created"
    raw = tomllib.loads(story.first_config.decode("utf-8"))
    assert raw["terminal"]["name"] == "柳塘村党群服务中心"
    assert raw["terminal"]["id"] == "QX-TY-LT-01"
    assert raw["terminal"]["region_code"] == "360999101201"
    assert raw["terminal"]["mode"] == "signage"
    assert raw["feed"]["url"] == "https://gk.qingxi.example.gov.cn/feed/feed.json"
    assert raw["trust"]["public_keys"] == [story.public_key]
    assert (raw["display"]["width"], raw["display"]["height"]) == (1280, 720)
    assert story.first_config_owner_mode == (0o640, 0, gid)
    first = tmp_path / "kiosk.toml"
    first.write_bytes(story.first_config)
    config = load(first)  # what the program itself accepts
    assert config.trust.public_keys == (story.public_key,)
    assert str(config.data_dir) == "/var/lib/kiosk"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_kiosk_user_can_run_the_program(story: Story, chroot: Chroot) -> None:
    assert story.status is not None
    assert story.status.returncode == 0, fail_with(story.status)
    status = json.loads(story.status.stdout)
    assert (status["terminal_id"], status["region_code"], status["mode"]) == (
        "QX-TY-LT-01",
        "360999101201",
        "signage",
    )
    data = chroot.path("/var/lib/kiosk")
    st = data.stat()
    kiosk_uid, kiosk_gid = (int(x) for x in account(chroot, "kiosk")[2:4])
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o750, kiosk_uid, kiosk_gid)
    assert (data / "store.sqlite3").stat().st_uid == kiosk_uid


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_program_is_a_root_owned_non_editable_install(story: Story, chroot: Chroot) -> None:
    result = chroot.run(
        "/opt/kiosk/venv/bin/python",
        "-B",
        "-c",
        "import kiosk, screens, sync; print(kiosk.__file__, sync.__file__, screens.__file__)",
    )
    assert result.returncode == 0, fail_with(result)
    for module in result.stdout.split():
        assert module.startswith("/opt/kiosk/venv/lib/"), module
    not_root = [p for p in chroot.path("/opt/kiosk").rglob("*") if p.lstat().st_uid != 0]
    assert not_root == []
    world_readable = chroot.path("/opt/kiosk/venv/bin/kiosk").stat().st_mode & 0o005
    assert world_readable == 0o005


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_install_puts_the_unit_in_place(story: Story) -> None:
    assert story.first_unit == (UNIT.read_bytes(), 0o644)
    assert story.first is not None
    # No systemd runs in a chroot: enabling is skipped, and said so.
    skipped = [t for s, t in steps(story.first.result.stdout) if s == "skipped"]
    assert any(t.startswith("systemctl enable kiosk.service") for t in skipped), skipped


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_install_installs_the_debian_packages(story: Story, chroot: Chroot) -> None:
    if story.apt_note:
        pytest.skip(story.apt_note)
    wanted = [
        "fonts-noto-cjk",
        "fonts-wqy-zenhei",
        "libmtdev1",
        "libgl1-mesa-dri",
        "libegl1",
        "libgles2",
        "libgbm1",
        "python3-venv",
        "cec-utils",
    ]
    result = chroot.run("dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *wanted)
    assert result.returncode == 0, fail_with(result)
    assert sorted(result.stdout.split("\n")[:-1]) == sorted(f"{p} installed" for p in wanted)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_rerun_changes_nothing(story: Story) -> None:
    assert story.rerun is not None
    result = story.rerun.result
    assert result.returncode == 0, fail_with(result)
    statuses = {status for status, _ in steps(result.stdout)}
    assert statuses <= QUIET and "unchanged" in statuses, result.stdout
    assert "done, 0 change(s)" in result.stdout
    assert story.state_after_rerun == story.state_before_rerun
    assert story.rerun.seconds < 30  # no apt, no pip: a re-run is quick


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_rerun_keeps_an_edited_config_and_installs_a_new_version(
    story: Story, chroot: Chroot
) -> None:
    assert story.update is not None
    result = story.update.result
    assert result.returncode == 0, fail_with(result)
    done = steps(result.stdout)
    assert ("kept", "/etc/kiosk/kiosk.toml (exists; never overwritten)") in done
    assert any(s == "fixed" and t.startswith("/etc/kiosk/kiosk.toml") for s, t in done)
    assert any(s == "updated" and t.startswith("/opt/kiosk/venv") for s, t in done)
    assert story.config_after_update == (story.edited_config, 0o640)
    installed = list(chroot.path("/opt/kiosk/venv/lib").glob("python3*/site-packages/kiosk"))
    assert len(installed) == 1
    assert story.marker in (installed[0] / "__init__.py").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_rerun_reports_a_broken_config_without_touching_it(story: Story, chroot: Chroot) -> None:
    assert story.broken is not None and story.broken_config != story.edited_config
    result = story.broken
    assert result.returncode == 1, fail_with(result)
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and "[terminal] region_code" in errors[0], fail_with(result)
    assert chroot.path("/etc/kiosk/kiosk.toml").read_bytes() == story.broken_config


# ---------------------------------------------------------------------------------------
# With systemd running. No systemd runs inside a chroot (nor as PID 1 here), so a stand-in
# `systemctl` records its calls and keeps "enabled"/"active" as files.

SYSTEMCTL_STANDIN = """#!/bin/sh
echo "$*" >> /var/log/systemctl.calls
state=/var/lib/systemctl-standin
mkdir -p "$state"
case "$1 $2" in
    "is-enabled --quiet") [ -e "$state/enabled" ] ;;
    "is-active --quiet") [ -e "$state/active" ] ;;
    "enable --quiet") touch "$state/enabled" ;;
    *) exit 0 ;;
esac
"""


@dataclass
class SystemdStory:
    first: subprocess.CompletedProcess[str]
    first_calls: list[str]
    again: subprocess.CompletedProcess[str]
    again_calls: list[str]


@pytest.fixture(scope="module")
def with_systemd(story: Story, chroot: Chroot) -> SystemdStory:
    ch = chroot
    ch.path("/etc/kiosk/kiosk.toml").write_bytes(story.edited_config)
    ch.path("/run/systemd/system").mkdir(parents=True, exist_ok=True)
    standin = ch.path("/usr/local/sbin/systemctl")
    standin.write_text(SYSTEMCTL_STANDIN, encoding="utf-8")
    standin.chmod(0o755)
    calls = ch.path("/var/log/systemctl.calls")
    options = [*install_options(story.public_key), "--no-apt"]

    def run_and_collect() -> tuple[subprocess.CompletedProcess[str], list[str]]:
        calls.write_text("", encoding="utf-8")
        result = ch.install(*options)
        return result, calls.read_text(encoding="utf-8").splitlines()

    try:
        first, first_calls = run_and_collect()
        # The service is running an older unit: the new one needs a reload and a restart.
        unit = ch.path("/etc/systemd/system/kiosk.service")
        unit.write_text(unit.read_text(encoding="utf-8").replace("RestartSec=5", "RestartSec=9"))
        ch.path("/var/lib/systemctl-standin/active").touch()
        again, again_calls = run_and_collect()
    finally:
        standin.unlink()
        shutil.rmtree(ch.path("/run/systemd"))
    return SystemdStory(first, first_calls, again, again_calls)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_with_systemd_the_service_is_enabled_once(with_systemd: SystemdStory) -> None:
    result = with_systemd.first
    assert result.returncode == 0, fail_with(result)
    assert with_systemd.first_calls == [
        "is-enabled --quiet kiosk.service",
        "enable --quiet kiosk.service",
    ]
    assert ("enabled", "kiosk.service (starts at boot)") in steps(result.stdout)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_with_systemd_a_new_unit_is_reloaded_and_restarted(with_systemd: SystemdStory) -> None:
    result = with_systemd.again
    assert result.returncode == 0, fail_with(result)
    assert with_systemd.again_calls == [
        "daemon-reload",
        "is-enabled --quiet kiosk.service",
        "is-active --quiet kiosk.service",
        "restart kiosk.service",
    ]
    done = steps(result.stdout)
    assert ("updated", "/etc/systemd/system/kiosk.service") in done
    assert any(status == "restarted" for status, _ in done)
