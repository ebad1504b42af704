"""What the technician panel lists: everything needed on site, without a keyboard."""

from __future__ import annotations

import shutil
import socket
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from kiosk.presenter import cn_clock

RESULTS = {"updated": "已更新", "not_modified": "无变化", "failed": "失败"}


def package_version() -> str:
    try:
        return version("disclosure-kiosk")
    except PackageNotFoundError:
        return "开发版"


def ip_addresses() -> list[str]:
    """Addresses of this host without asking any server (works offline)."""
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            addr = str(info[4][0])
            if not addr.startswith(("127.", "::1")):
                found.add(addr)
    except OSError:
        pass
    try:  # the address the default route would use; UDP connect sends nothing
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))
            found.add(sock.getsockname()[0])
    except OSError:
        pass
    return sorted(found)


def free_disk(path: Any) -> str:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return "未知"
    return f"{usage.free / 2**30:.1f} GB 可用 / 共 {usage.total / 2**30:.1f} GB"


def technician_rows(app: Any) -> list[tuple[str, str]]:
    config = app.config_
    status = app.store.sync_status()
    snapshot = app.player.snapshot
    state = snapshot.state if snapshot else None
    attempt = "从未同步"
    if status.last_attempt_at:
        attempt = f"{cn_clock(status.last_attempt_at)}  {RESULTS.get(status.last_result or '', '')}"
    cycle = app.player.rotation.cycle_length()
    withheld = state.items_withheld if state else 0
    dropped = len(state.dropped) if state else 0
    stored = len(snapshot.items) if snapshot else 0
    return [
        ("终端编号", config.terminal.id),
        ("区划代码", config.terminal.region_code),
        ("终端名称", config.terminal.name or "-"),
        ("运行模式", config.terminal.mode),
        ("软件版本", package_version()),
        ("配置文件", config.source),
        ("数据源地址", config.feed.url),
        ("最近同步", attempt),
        ("最近成功", cn_clock(status.last_success_at) if status.last_success_at else "-"),
        ("错误信息", status.last_error or "无"),
        ("数据序号", str(state.sequence) if state else "-"),
        (
            "条目数量",
            f"显示 {len(app.player.items)} 条，存储 {stored} 条，"
            f"非公开 {withheld} 条，无效 {dropped} 条",
        ),
        ("轮播一周", f"{cycle} 页，约 {app.player.cycle_seconds() / 60:.1f} 分钟"),
        ("磁盘空间", free_disk(config.data_dir)),
        ("IP 地址", "，".join(ip_addresses()) or "无网络"),
        ("屏幕电源", screen_power(app)),
        ("心跳上报", heartbeat_text(app)),
    ]


def screen_power(app: Any) -> str:
    """Off hours and how the screen is switched, so a dark TV at night is not a mystery."""
    schedule = app.config_.schedule
    if schedule.screen_on is None:
        return "全天开启"
    power = app.display_power
    text = f"{schedule.screen_off:%H:%M} 关屏，{schedule.screen_on:%H:%M} 开屏；"
    text += "仅黑屏（无法关闭屏幕电源）" if power.method == "none" else f"方式 {power.method}"
    if power.last_error:
        text += f"；失败：{power.last_error}"
    return text


def heartbeat_text(app: Any) -> str:
    beat = getattr(app, "heartbeat", None)
    if beat is None:
        return "未配置"
    state = beat.state()
    if state.last_error:
        return f"失败 {state.consecutive_failures} 次：{state.last_error}"
    if state.last_success_at:
        return f"{cn_clock(state.last_success_at)} 成功"
    return "尚未发送"
