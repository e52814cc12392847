"""Helpers for tests that drive the offline ``scripted/<name>`` models.

Registering scripts is public API (``framescope.llm.providers.register_script``); what lives
here only makes sense in a test: wiping every script between tests, and knowing the exact
tokens a scripted model streams for a text so a test can assert frame for frame.
"""

from __future__ import annotations

from framescope.llm.providers import scripted

__all__ = ["clear_scripts", "tokenize"]


def clear_scripts() -> None:
    """Forget every registered script (test isolation); ``scripted/echo`` stays available."""
    with scripted._registry_lock:
        scripted._registry.clear()


def tokenize(text: str) -> list[str]:
    """The tokens a scripted model streams for ``text``: ``"Hi, you!"`` -> ``["Hi", ",", " you", "!"]``.

    Joining them always gives ``text`` back exactly.
    """
    return scripted.tokenize(text)
