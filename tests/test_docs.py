"""Docs that state facts the code decides must agree with the code."""

from __future__ import annotations

import re
from pathlib import Path

from framescope.events.routing import CHANNELS, routing_table

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_channel_routing_table_in_the_docs_matches_the_code():
    text = (DOCS / "frames.md").read_text()
    documented: dict[str, str] = {}
    for channel, types in re.findall(r"^\| `(\w+)` \| (`.*`) \|$", text, flags=re.MULTILINE):
        if channel in CHANNELS:
            for event_type in re.findall(r"`([^`]+)`", types):
                documented[event_type] = channel
    assert documented == routing_table()
