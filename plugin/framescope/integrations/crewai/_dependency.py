"""Whether CrewAI is importable, and the one error that says how to get it."""

from __future__ import annotations

from importlib import metadata

from framescope.errors import IntegrationNotInstalledError

REQUIREMENT = "crewai >= 1.15.30, < 2"
_EXTRA = "pip install 'framescope[crewai]'"


def require_crewai() -> str:
    """The installed CrewAI version; a clear error naming the extra when it is missing or too old."""
    try:
        version = metadata.version("crewai")
    except metadata.PackageNotFoundError:
        raise IntegrationNotInstalledError(
            f"CrewAIInstrumentor needs CrewAI ({REQUIREMENT}), which is not installed; install it "
            f"with the framescope extra: {_EXTRA}"
        ) from None
    if not _supported(version):
        raise IntegrationNotInstalledError(
            f"CrewAIInstrumentor supports {REQUIREMENT}, but CrewAI {version} is installed; "
            f"install a supported one with {_EXTRA}"
        )
    return version


def _supported(version: str) -> bool:
    parts: list[int] = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return (1, 15, 30) <= tuple(parts) < (2, 0, 0)
