"""Hypothesis profiles for the hostile-input tests.

``ci`` (the default) is deterministic and keeps no example database, so a CI run is the
same run every time and a failure reproduces on a laptop; ``nightly`` explores far more
and randomly, for a scheduled job. Pick one with ``HYPOTHESIS_PROFILE=nightly``.

The profiles are registered, not loaded: loading would change the defaults of every other
Hypothesis test in the same pytest session. The tests here apply :data:`ACTIVE` themselves.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON: dict[str, object] = {
    "deadline": None,  # a loaded 2-core CI machine makes per-example timings meaningless
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}

#: Examples per feed-level property; there are three such properties, so ``ci`` runs 1,050
#: generated or mutated feeds and ``nightly`` 21,000.
settings.register_profile(
    "ci",
    max_examples=400,
    derandomize=True,
    database=None,
    **_COMMON,  # type: ignore[arg-type]
)
settings.register_profile("nightly", max_examples=7000, **_COMMON)  # type: ignore[arg-type]

PROFILE_NAME = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE_NAME not in ("ci", "nightly"):
    raise ValueError(f"HYPOTHESIS_PROFILE must be ci or nightly, not {PROFILE_NAME!r}")
