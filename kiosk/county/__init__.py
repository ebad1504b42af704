"""The county side of the feed: build, sign and serve what terminals fetch.

Kept apart from ``sync`` (the terminal side) so that a terminal never carries the code
that holds a private key, and so the county office can run these tools on any PC with
Python and no Kivy.
"""

from kiosk.county.build import BuildError, BuildReport, build_feed, sign_file
from kiosk.county.serve import make_server, serve_forever

__all__ = [
    "BuildError",
    "BuildReport",
    "build_feed",
    "make_server",
    "serve_forever",
    "sign_file",
]
