"""framescope for CrewAI apps: ``CrewAIInstrumentor`` and following its runs live.

    from framescope.integrations.crewai import CrewAIInstrumentor
    CrewAIInstrumentor().instrument()          # or: opentelemetry-instrument python app.py

Every CrewAI run (flows, crews, LLM calls, conversation turns) is then recorded as the frames
CrewAI itself would stream, through framescope's codec, and can be replayed with
``framescope replay`` or followed live with :func:`follow`.  docs/crewai.md is the guide.
Importing this module does not import CrewAI; instrumenting without it is a clear error that
names the extra (``pip install 'framescope[crewai]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from framescope._version import __version__
from framescope.telemetry.follow import follow

if TYPE_CHECKING:
    from framescope.integrations.crewai.instrumentor import CrewAIInstrumentor


def __getattr__(name: str) -> Any:
    if name == "CrewAIInstrumentor":
        try:
            from framescope.integrations.crewai.instrumentor import CrewAIInstrumentor
        except ModuleNotFoundError as exc:
            if exc.name is None or not exc.name.startswith("opentelemetry.instrumentation"):
                raise
            from framescope.errors import IntegrationNotInstalledError

            raise IntegrationNotInstalledError(
                "CrewAIInstrumentor needs opentelemetry-instrumentation and CrewAI; install them "
                "with the framescope extra: pip install 'framescope[crewai]'"
            ) from None
        return CrewAIInstrumentor
    raise AttributeError(f"module 'framescope.integrations.crewai' has no attribute {name!r}")


__all__ = ["CrewAIInstrumentor", "__version__", "follow"]
