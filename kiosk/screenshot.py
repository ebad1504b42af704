"""``kiosk screenshot``: render one screen headless to a PNG, from the real store.

Used for the README's pictures, for technicians checking a layout for a new panel size
without the panel, and by the GUI tests. The window is created at exactly the requested
size, so what is written is the real framebuffer.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from typing import Any

from kiosk.config import Config, ConfigError
from kiosk.player import Player
from kiosk.render import prepare_window, render
from kiosk.terminal import make_coordinator, open_store
from screens.cards import ItemCard, StatusInfo

SCREENS = ("signage", "home", "category", "detail", "feedback", "led", "pin", "technician")
MAX_SIDE = 7680


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{2,5})[xX×](\d{2,5})", text.strip())
    if not match:
        raise ConfigError(f"--size {text!r} is not WIDTHxHEIGHT, e.g. 1920x1080")
    w, h = int(match.group(1)), int(match.group(2))
    if not (32 <= w <= MAX_SIDE and 32 <= h <= MAX_SIDE):
        raise ConfigError(f"--size {text} is outside 32x32 .. {MAX_SIDE}x{MAX_SIDE}")
    return w, h


def take_screenshot(
    config: Config,
    *,
    screen: str,
    item_id: str | None,
    size: str,
    out: str,
    at: datetime | None = None,
) -> int:
    if screen not in SCREENS:
        raise ConfigError(f"--screen {screen!r} is not one of {', '.join(SCREENS)}")
    width, height = parse_size(size)
    prepare_window(width, height)
    from screens.fonts import FontNotFound, find_font, register

    try:
        register(find_font(config.display.font))
    except FontNotFound as exc:
        raise ConfigError(str(exc)) from exc

    store = open_store(config)
    if store.feed_state() is None:
        # A fresh terminal (or the demo on a fresh clone): one sync so there is something
        # to draw. A failure is reported as the reason there is nothing to show.
        make_coordinator(config, store).sync()
    now = at or datetime.now(UTC)
    root = build_screen(config, store, screen, item_id, now)
    path = render(root, out, size=(width, height), frames=8)
    print(path)
    return 0


def build_screen(config: Config, store: Any, name: str, item_id: str | None, now: datetime) -> Any:
    from kivy.uix.screenmanager import NoTransition, ScreenManager

    from kiosk.feedback import qr_matrix

    snapshot = store.snapshot()
    player = Player(config)
    player.load(snapshot, now)
    card = _pick_card(player, item_id, prefer_image=name in ("detail", "signage"))
    manager = ScreenManager(transition=NoTransition())

    if name == "signage":
        from screens.signage import SignageScreen

        scr = SignageScreen(name=name)
        scr.qr_for = qr_matrix
        scr.feedback = player.feedback()
        player.pages_of = scr.pages_of
        player.refresh(now, force=True)
        scr.set_ticker(player.urgent_titles())
        status = store.sync_status()
        scr.set_status(StatusInfo(terminal_name=config.terminal.name, offline=False, last_sync=""))
        if status.last_result == "failed":
            from kiosk.presenter import cn_clock

            last = cn_clock(status.last_success_at) if status.last_success_at else "尚未同步"
            scr.set_status(
                StatusInfo(terminal_name=config.terminal.name, offline=True, last_sync=last)
            )
        position, count = _position(player, card)
        scr.show(card, 0, position, count)
    elif name == "led":
        from screens.led import LedScreen

        scr = LedScreen(name=name)
        scr.set_ticker(player.urgent_titles())
        position, count = _position(player, card)
        scr.show(card, position, count)
    elif name == "home":
        from screens.home import HomeScreen

        scr = HomeScreen(name=name)
        scr.set_categories(player.categories(), config.terminal.name)
    elif name == "category":
        from screens.category import CategoryScreen

        scr = CategoryScreen(name=name)
        cat = player.category(card.category_id)
        assert cat is not None
        scr.set_items(cat, player.cards_in(card.category_id))
    elif name == "detail":
        from screens.detail import DetailScreen

        scr = DetailScreen(name=name)
        scr.qr_for = qr_matrix
        scr.show(card, player.feedback())
    elif name == "feedback":
        from screens.feedback import FeedbackScreen

        scr = FeedbackScreen(name=name)
        scr.qr_for = qr_matrix
        scr.show(card, player.feedback())
    elif name == "pin":
        from screens.technician import PinScreen

        scr = PinScreen(name=name)
        scr.set_message("请输入维护密码")
    else:
        from screens.technician import TechnicianScreen

        scr = TechnicianScreen(name=name)
        scr.set_info(_technician_preview(config, store, player))
    manager.add_widget(scr)
    manager.current = name
    return manager


def _pick_card(player: Player, item_id: str | None, *, prefer_image: bool) -> ItemCard:
    if item_id is not None:
        card = player.card(item_id)
        if card is None:
            raise ConfigError(f"--item {item_id!r} is not shown on this terminal now")
        return card
    if not player.items:
        raise ConfigError("nothing to show: the store holds no item the display rule admits")
    cards = [player.card_for(i) for i in player.items]
    if prefer_image:
        with_image = [c for c in cards if c.image_paths]
        if with_image:
            return with_image[0]
    return cards[0]


def _position(player: Player, card: ItemCard) -> tuple[int, int]:
    ids = [c.id for c in player.cards_in(card.category_id)]
    return (ids.index(card.id) + 1 if card.id in ids else 1), len(ids)


def _technician_preview(config: Config, store: Any, player: Player) -> list[tuple[str, str]]:
    from kiosk.technician import technician_rows

    class _App:
        config_ = config

    app = _App()
    app.store = store  # type: ignore[attr-defined]
    app.player = player  # type: ignore[attr-defined]
    return technician_rows(app)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: kiosk screenshot")
