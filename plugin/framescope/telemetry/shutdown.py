"""A shutdown that never holds the interpreter hostage: flushing and closing under one deadline.

The SDK's batch processors flush everything at shutdown and its OTLP exporters retry with
backoff for up to their timeout per batch: with a closed port, a hanging endpoint or a full
queue, interpreter exit took 16 to 50 seconds.  Here the whole shutdown (span processors and
the metrics provider) runs in a daemon thread that is waited for at most
:func:`shutdown_deadline_s`; what is still queued then is counted as lost, in the one loss
summary, and the process exits.

The deadline, in order: ``FRAMESCOPE_SHUTDOWN_TIMEOUT`` (seconds); else the OTLP exporter's
own ``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`` / ``OTEL_EXPORTER_OTLP_TIMEOUT`` (seconds, as the
Python SDK reads them; a value above 300 is taken as milliseconds, as the specification
writes it); else :data:`DEFAULT_SHUTDOWN_TIMEOUT_S`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

__all__ = ["DEFAULT_SHUTDOWN_TIMEOUT_S", "run_with_deadline", "shutdown_deadline_s"]

DEFAULT_SHUTDOWN_TIMEOUT_S = 2.0
logger = logging.getLogger("framescope")


def shutdown_deadline_s() -> float:
    """How long a shutdown may wait for the exporters (see the module docstring)."""
    for name in ("FRAMESCOPE_SHUTDOWN_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            from framescope.errors import ConfigurationError

            raise ConfigurationError(f"{name}={raw!r} is not a number of seconds; set e.g. {name}=2") from None
        if value < 0:
            from framescope.errors import ConfigurationError

            raise ConfigurationError(f"{name}={raw!r} is negative; set a number of seconds, e.g. 2")
        if name != "FRAMESCOPE_SHUTDOWN_TIMEOUT" and value > 300:
            value /= 1000.0  # written in milliseconds, as the OpenTelemetry specification has it
        return value
    return DEFAULT_SHUTDOWN_TIMEOUT_S


def run_with_deadline(work: Callable[[], None], deadline_s: float, what: str) -> bool:
    """Run ``work`` in a daemon thread; True if it finished within ``deadline_s``.

    An unfinished ``work`` is left to the daemon thread (the interpreter does not wait for it).
    """
    done = threading.Event()

    def target() -> None:
        try:
            work()
        except Exception:  # shutting down must never raise at interpreter exit
            logger.warning("framescope: %s failed", what, exc_info=True)
        finally:
            done.set()

    thread = threading.Thread(target=target, name="framescope-shutdown", daemon=True)
    thread.start()
    return done.wait(deadline_s)
