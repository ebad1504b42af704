"""A portrait picture on a landscape output: ``[display] rotation = 90``.

Under KMS a Raspberry Pi cannot turn an HDMI picture by 90° for applications, so the app
draws turned. This runs the real App in a child process (the window's rotation is fixed
when the window is created, and the test suite's shared window is landscape) and reads
the real framebuffer back with ``glReadPixels``: Kivy's own ``Window.screenshot`` reads
it at the rotated size and returns garbage for a rotated window.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from kiosk.config import load
from kiosk.terminal import make_coordinator
from tests.conftest import write_demo_config

CHILD = r"""
import json, sys, time
from kiosk.config import load
from kiosk.app import configure_window
config = load(sys.argv[1])
configure_window(config, windowed=True)
from kivy.config import Config
Config.set("graphics", "window_state", "hidden")
from screens.fonts import find_font, register
register(find_font())
from kiosk.app import build_app
from kiosk.render import pump
app = build_app(config)
app.root = app.build()
from kivy.core.window import Window
Window.add_widget(app.root)
app.on_start()
pump(10)
app._on_resize(0)
app.advance()
for _ in range(40):  # let the cross-fade finish
    time.sleep(0.05)
    pump(1)
touches = []
Window.bind(on_touch_down=lambda _w, t: touches.append(list(t.pos)) or True)
from kivy.input.providers.mouse import MouseMotionEvent
# The touch panel turns with the screen: it reports in output coordinates. A press at the
# output's left edge, half-way up, is the top middle of the portrait picture.
press = MouseMotionEvent("mouse", 1, [0.02, 0.5])
press.is_touch, press.type_id = True, "touch"  # as the mouse/hidinput providers set them
Window.dispatch("on_motion", "begin", press)
from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
from PIL import Image
w, h = Window.system_size
Window.canvas.ask_update()
pump(1)
pixels = glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE)
Image.frombytes("RGBA", (w, h), pixels).transpose(Image.FLIP_TOP_BOTTOM).save(sys.argv[2])
print(json.dumps({"size": list(Window.size), "system_size": list(Window.system_size),
                  "rolling": list(app.rolling.size), "touches": touches}))
app.on_stop()
"""


@pytest.mark.gui
def test_portrait_is_drawn_turned_into_a_landscape_output(tmp_path: Path) -> None:
    extra = "[display]\nwidth = 1080\nheight = 1920\nrotation = 90\n"
    path = write_demo_config(tmp_path, extra=extra)
    make_coordinator(load(path)).sync()
    shot = tmp_path / "rotated.png"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(shot)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["system_size"] == [1920, 1080]  # what the HDMI output is
    assert facts["size"] == [1080, 1920] and facts["rolling"] == [1080, 1920]  # the layout

    image = Image.open(shot).convert("RGB")
    assert image.size == (1920, 1080)
    # The category band, a full-width strip at the top of the portrait picture, must run
    # down the output's left edge: one colour along that column, not along the top row.
    column = {image.getpixel((20, y)) for y in range(150, 930, 20)}
    row = {image.getpixel((x, 20)) for x in range(150, 1770, 20)}
    assert len(column) == 1 and max(column) != (255, 255, 255)
    assert not column & row  # unturned, the band would be the top row

    [(x, y)] = facts["touches"]
    assert 1800 < y <= 1920 and 440 < x < 640  # top middle of the portrait picture
