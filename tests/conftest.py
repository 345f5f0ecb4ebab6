"""Shared test settings: the hypothesis profile."""

from __future__ import annotations

import os

from hypothesis import settings

# CI runs the property tests with a fixed seed, so a red CI is reproducible
# (`CI=true make check`); local runs explore new examples every time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
