"""framescope's one error hierarchy: every exception it raises derives from FramescopeError.

Why one module: an application catches ``framescope.errors.FramescopeError`` (or one of the
narrower classes below) without knowing which subpackage raised it. Classes keep a standard
base beside the root (``ValueError``, ``RuntimeError``, ``LookupError``...) where the contract
or ordinary Python code expects one.

Two classes here are deliberately *not* under the root: :class:`StreamClosed` and
:class:`PauseRequested` are control flow, not failures.  They derive from ``BaseException``
(like ``GeneratorExit``) so that ``except Exception`` in user code cannot swallow a
cancellation or a pause and keep a closed or pausing run going.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from framescope.replay.records import SpanRecord


class FramescopeError(Exception):
    """Root of every error framescope raises."""


# --- core: configuration, frames, codec -------------------------------------------------


class ConfigurationError(FramescopeError, ValueError):
    """A framescope or ``OTEL_*`` setting has a value framescope cannot use."""


class FrameDecodeError(FramescopeError, ValueError):
    """A span event claims to be a framescope frame but cannot be read as one."""


class StreamClosed(BaseException):
    """Raised at a producer's emit point after the consumer closed the session.

    A ``BaseException`` (like ``GeneratorExit``), not a :class:`FramescopeError`: it is the
    cancellation signal, and ``except Exception`` in user code must not swallow it and keep
    a closed run going.  Runtime authors calling :func:`framescope.emit_token` may see it.
    """


class HistoryNotKept(FramescopeError, RuntimeError):
    """A session opened with ``keep_history=False`` was asked for frames it did not keep."""


# --- flows and tools ---------------------------------------------------------------------


class FlowDefinitionError(FramescopeError, TypeError):
    """The flow class itself is wrong (no ``@start``, a listener naming nothing, ...).

    Raised when the flow is instantiated or kicked off, before any frame is emitted, so a
    broken flow never produces a half-run trace.
    """


class FlowInputError(FramescopeError, ValueError):
    """``kickoff(inputs=...)`` got inputs that do not fit the flow's state."""


class FlowStateError(FramescopeError, RuntimeError):
    """The flow is not in a state that allows the call (already running, nothing to resume)."""


class PauseRequested(BaseException):
    """Raised by ``ask`` to unwind the asking method; the engine turns it into a pause.

    A ``BaseException`` so that ``except Exception`` in user code cannot swallow the pause.
    """

    def __init__(self, method_name: str, prompt: str) -> None:
        super().__init__(prompt)
        self.method_name = method_name
        self.prompt = prompt


class UnhandledRouteWarning(UserWarning):
    """A router returned a label no method listens to, so that branch of the flow ends there.

    A warning and not an error: a label can be a deliberate end (``"done"``), and the run's
    ``flow_routed`` frame says ``handled: false`` either way.  Return ``None`` from the router
    to end a branch without this warning.
    """


class ToolArgumentsError(FramescopeError, ValueError):
    """The arguments given to a tool do not match its signature."""


# --- LLM ---------------------------------------------------------------------------------


class LLMError(FramescopeError):
    """Base of every provider failure; carries where the call went, never credentials."""

    def __init__(self, message: str, *, base_url: str | None = None, model: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.base_url = base_url
        self.model = model


class LLMConfigurationError(LLMError, ValueError):
    """The call cannot be made as configured (unknown model prefix, missing key, ...)."""


class LLMHTTPError(LLMError):
    """The server answered with an error status; ``body_excerpt`` is its (redacted) body."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body_excerpt: str = "",
        base_url: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, base_url=base_url, model=model)
        self.status = status
        self.body_excerpt = body_excerpt


class LLMTimeoutError(LLMError):
    """The server did not answer (or stopped streaming) within the timeout."""


class LLMConnectionError(LLMError):
    """The server could not be reached, or the connection dropped mid-stream."""


class LLMProtocolError(LLMError):
    """The server sent something that is not valid OpenAI-compatible data."""


class LLMToolLoopError(LLMError):
    """The model kept asking for tools past ``max_tool_rounds``; the call is stopped.

    A model that never stops calling tools would otherwise loop (and spend tokens)
    forever, so the bound is a hard error rather than a silently truncated answer.
    """


class UnknownToolError(FramescopeError, LookupError):
    """The model asked for a tool that is not in ``available_functions``.

    Never raised to the caller: it is recorded as the tool's error frame and its message
    is fed back to the model as the tool result, so the model can correct itself.
    """


# --- conversations -----------------------------------------------------------------------


class ConversationError(FramescopeError):
    """Base class of every conversational-flow error."""


class ConversationDefinitionError(ConversationError, FlowDefinitionError):
    """The conversational flow class itself is wrong (no ``conversational = True``, wrong state type)."""


class ConversationInputError(ConversationError, ValueError):
    """A turn was asked for with bad input (an empty message, a bad session id)."""


class UnknownSessionError(ConversationError, LookupError):
    """A resume-only call (``create=False``) named a session the store does not hold."""

    def __init__(self, message: str, session_id: str) -> None:
        super().__init__(message)
        self.session_id = session_id

    def __str__(self) -> str:  # LookupError would otherwise repr() the message
        return str(self.args[0])


class ConversationStoreError(ConversationError, RuntimeError):
    """The transcript store cannot be used (corrupted file, another program's database).

    Raised before anything is written, so the file is left exactly as it was.
    """


class RouteError(ConversationError, RuntimeError):
    """A route handler is missing or returned something that is not a reply."""


# --- replay and trace sources ------------------------------------------------------------


class TraceFormatError(FramescopeError, ValueError):
    """A trace document is not in a format framescope reads, or is malformed.

    ``where`` is the path inside the document (or ``line N``) when one is known.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class TornTraceFileError(TraceFormatError):
    """The last line of a JSON-lines trace file is cut off.

    This is what a file looks like when its writer was killed mid-write.  ``records`` holds
    every span parsed from the complete lines before it, so a caller may choose to replay
    what was written instead of failing.
    """

    def __init__(self, message: str, *, line_number: int, records: list[SpanRecord]) -> None:
        self.line_number = line_number
        self.records = records
        super().__init__(message, where=f"line {line_number}")


class TraceFetchError(FramescopeError, RuntimeError):
    """A trace could not be fetched from a backend (Jaeger, Tempo).

    ``url`` is the request that failed and ``status_code`` the HTTP status, if any.
    """

    def __init__(self, message: str, *, url: str | None = None, status_code: int | None = None) -> None:
        self.url = url
        self.status_code = status_code
        super().__init__(message)


class TraceNotFoundError(TraceFetchError):
    """The backend answered but does not know the trace id (HTTP 404 or an empty trace)."""


class ReplayError(FramescopeError, ValueError):
    """Replay cannot give what was asked (no framescope run, unknown trace id, gaps in strict mode)."""


class IncompleteTraceError(ReplayError):
    """The trace is missing frames (dropped spans, a partial or torn trace) and strict mode is on."""


class ReplayedRunIncomplete(FramescopeError, RuntimeError):
    """The replayed run is missing frames (a killed process, dropped spans, a torn file), so its
    outcome is unknown: ``result`` raises this instead of passing a partial run off as finished.

    ``gaps`` are the missing ``seq`` ranges, inclusive.
    """

    def __init__(self, message: str, gaps: list[tuple[int, int]]) -> None:
        self.gaps = gaps
        super().__init__(message)


class ReplayedRunFailed(FramescopeError, RuntimeError):
    """The replayed run had failed; ``error_type`` and the message are the original ones."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        super().__init__(f"{error_type}: {message}" if message else error_type)


class ReplayedRunCancelled(FramescopeError, RuntimeError):
    """The replayed run was cancelled by its consumer; it has no result."""


# --- integrations (CrewAI) ---------------------------------------------------------------


class IntegrationNotInstalledError(FramescopeError, ImportError):
    """An integration's framework is missing or too old; the message names the extra to install."""


class CrewAIReportedFailure(FramescopeError, RuntimeError):
    """A CrewAI lifecycle ended in failure; recorded as its span's status, never raised."""


class FollowTimeoutError(FramescopeError, TimeoutError):
    """``follow()`` waited for a run that never started within its timeout."""


# --- serve -------------------------------------------------------------------------------


class ServeError(FramescopeError):
    """Root of the errors ``framescope serve`` raises."""


class ServeConfigError(ServeError, ValueError):
    """The server cannot start as configured (a non-loopback bind without a token, a bad
    CORS origin, a source that is neither a trace file nor a backend URL)."""


class UnknownRunError(ServeError, LookupError):
    """The run id asked for is not in the served source; the HTTP layer answers 404."""

    def __init__(self, run_id: str, known: int) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id!r} is not in the served source ({known} runs there); list them at /api/runs")


class ServeRequestError(ServeError, ValueError):
    """A request the server cannot answer as asked (a malformed ``Last-Event-ID``, ``speed``
    or protocol); the HTTP layer answers 400 with this message."""
