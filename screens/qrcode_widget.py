"""A QR code drawn as a texture with nearest-neighbour filtering, always on white.

One texel per module, magnified by the GPU with ``nearest`` filtering: modules stay
crisp squares at any size, and the texture is tiny (a few KB) whatever the screen.
"""

from __future__ import annotations

from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import ListProperty
from kivy.uix.widget import Widget


def matrix_texture(matrix: list[list[bool]]) -> Texture:
    n = len(matrix)
    buf = bytearray()
    # Kivy textures start at the bottom row.
    for row in reversed(matrix):
        for dark in row:
            buf.extend((0, 0, 0) if dark else (255, 255, 255))
    texture = Texture.create(size=(n, n), colorfmt="rgb")
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    texture.blit_buffer(bytes(buf), colorfmt="rgb", bufferfmt="ubyte")
    return texture


class QRCode(Widget):
    """Set ``matrix`` (rows of booleans, quiet zone included); draws a white square."""

    matrix = ListProperty([])

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._texture: Texture | None = None
        self.bind(matrix=self._rebuild, pos=self._redraw, size=self._redraw)
        self._rebuild()

    def _rebuild(self, *_args: object) -> None:
        self._texture = matrix_texture(self.matrix) if self.matrix else None
        self._redraw()

    def _redraw(self, *_args: object) -> None:
        self.canvas.clear()
        if self._texture is None:
            return
        n = len(self.matrix)
        side = min(self.width, self.height)
        side = max(n, int(side // n) * n)  # a whole number of pixels per module
        x = self.x + (self.width - side) / 2
        y = self.y + (self.height - side) / 2
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(texture=self._texture, pos=(x, y), size=(side, side))

    def release(self) -> None:
        self.matrix = []
