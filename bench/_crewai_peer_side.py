"""One side of ``bench/crewai_peers.py``: a CrewAI flow recorded by one instrumentor.

Runs under the python of that instrumentor's venv (framescope's own venv for ``none`` and
``framescope``).  The flow: an agent with a tool, answering with a streamed LLM reply from
the loopback OpenAI-compatible server (tests/support/openai_server.py), in a child process
so that its CPU time is not counted as the recorder's.  It prints one JSON
object: CPU time per run, CrewAI's own frames of the last run, and the spans recorded (as
OTLP JSON, for the driver to count and to try to replay).

    python bench/_crewai_peer_side.py SIDE ROUNDS OUT.json
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

for _name, _value in (
    ("CREWAI_DISABLE_TELEMETRY", "true"),
    ("CREWAI_DISABLE_TRACKING", "true"),
    ("CREWAI_TRACING_ENABLED", "false"),
    ("CREWAI_TESTING", "true"),
):
    os.environ[_name] = _value

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from support.openai_server import OpenAICompatibleServer  # noqa: E402

ANSWER = " ".join(f"word{i}" for i in range(200))  # a 200-token streamed answer


def instrument(side: str, exporter: InMemorySpanExporter) -> list[tuple[Any, dict[str, Any]]]:
    """Start ``side``'s recording; its instrumentors and their arguments (to switch it off and on)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentors: list[tuple[Any, dict[str, Any]]]
    if side == "none":
        return []
    if side == "openinference":
        from openinference.instrumentation.crewai import CrewAIInstrumentor
        from openinference.instrumentation.openai import OpenAIInstrumentor

        instrumentors = [
            (CrewAIInstrumentor(), {"tracer_provider": provider}),
            (OpenAIInstrumentor(), {"tracer_provider": provider}),
        ]
    elif side == "openllmetry":
        from opentelemetry.instrumentation.crewai import CrewAIInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        instrumentors = [
            (CrewAIInstrumentor(), {"tracer_provider": provider}),
            (OpenAIInstrumentor(), {"tracer_provider": provider}),
        ]
    elif side == "framescope":
        sys.path.insert(0, str(ROOT / "plugin"))
        import framescope
        from framescope.integrations.crewai import CrewAIInstrumentor

        framescope.configure(tracer_provider=provider, replace=True)
        instrumentors = [(CrewAIInstrumentor(), {})]
    else:
        raise SystemExit(f"unknown side {side!r}: none, openinference, openllmetry or framescope")
    set_recording(instrumentors, True)
    return instrumentors


def set_recording(instrumentors: list[tuple[Any, dict[str, Any]]], on: bool) -> None:
    for instrumentor, arguments in instrumentors:
        if on:
            instrumentor.instrument(**arguments)
        else:
            instrumentor.uninstrument()


class ServerInChild:
    """The loopback OpenAI-compatible server in a child process, scripted through a pipe.

    In a thread of this process its CPU time (parsing requests, streaming 200 chunks) would
    count as the recorder's and swamp the differences measured (±15 µs/frame between runs).
    """

    base_url: str

    def __enter__(self) -> ServerInChild:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end,), daemon=True)
        self._process.start()
        self.base_url = self._pipe.recv()
        return self

    def _call(self, operation: str, overrides: dict[str, Any]) -> None:
        self._pipe.send((operation, overrides))
        self._pipe.recv()

    def set(self, **overrides: Any) -> None:
        self._call("set", overrides)

    def enqueue(self, **overrides: Any) -> None:
        self._call("enqueue", overrides)

    def __exit__(self, *exc: object) -> None:
        self._pipe.send(("stop", {}))
        self._process.join(10)


def _serve(pipe: Any) -> None:
    with OpenAICompatibleServer() as server:
        pipe.send(server.base_url)
        while True:
            operation, overrides = pipe.recv()
            if operation == "stop":
                return
            getattr(server, operation)(**overrides)
            pipe.send(None)


def build_flow(server: Any) -> Any:
    from crewai import LLM, Agent, Crew, Task
    from crewai.flow.flow import Flow, start
    from crewai.tools import tool

    @tool("lookup_weather")
    def lookup_weather(city: str) -> str:
        """Look up the weather of a city."""
        return f"sunny in {city}"

    llm = LLM(model="openai/gpt-test", base_url=server.base_url, api_key="bench-key", stream=True)

    class WeatherFlow(Flow):  # type: ignore[type-arg]
        @start()
        def forecast(self) -> str:
            agent = Agent(
                role="Weatherman",
                goal="tell the weather",
                backstory="a forecaster",
                llm=llm,
                tools=[lookup_weather],
                verbose=False,
            )
            task = Task(description="What is the weather in Paris?", expected_output="a report", agent=agent)
            return str(Crew(agents=[agent], tasks=[task], verbose=False).kickoff().raw)

    return WeatherFlow()


def one_run(server: Any, *, streamed: bool = True) -> tuple[float, list[dict[str, Any]]]:
    from crewai.events.stream_context import add_stream_sink, reset_stream_sinks
    from crewai.utilities.streaming import stream_frame_from_event

    server.enqueue(reply="", tool_calls=[{"name": "lookup_weather", "arguments": {"city": "Paris"}}])
    server.set(reply="Final Answer: " + ANSWER)
    flow = build_flow(server)
    frames: list[Any] = []
    # streamed: a CrewAI session is open (here CrewAI's own scoped sink, what stream_events uses)
    token = add_stream_sink(lambda _source, event: frames.append(stream_frame_from_event(event))) if streamed else None
    started = time.process_time()
    try:
        flow.kickoff()
    finally:
        if token is not None:
            reset_stream_sinks(token)
    spent = time.process_time() - started
    return spent, [json.loads(frame.model_dump_json()) for frame in frames]


def otlp_json(spans: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return MessageToDict(encode_spans(spans))


def main() -> None:
    side, rounds, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    exporter = InMemorySpanExporter()
    instrumentors = instrument(side, exporter)
    # Switched off and on between rounds only where that is known to restore CrewAI exactly
    # (framescope's tests check it); OpenLLMetry's uninstrument() leaves wrappers behind, so
    # the peers are compared with the bare side's own process instead.
    toggled = instrumentors if side == "framescope" else []
    times: list[float] = []
    unstreamed: list[float] = []
    bare: list[float] = []  # the same runs with the recording switched off, paired round by round
    bare_unstreamed: list[float] = []
    with ServerInChild() as server:
        one_run(server)  # warm-up: imports, first-call caches
        for index in range(rounds):
            # with and without the recording, in turn and in both orders, in this one process:
            # what differs between two runs is the recording, not the process or the moment
            for recording in (True, False) if index % 2 else (False, True):
                if toggled:
                    set_recording(toggled, recording)
                elif not recording:
                    continue  # not switched: no paired bare runs
                quiet = one_run(server, streamed=False)[0]
                spent = one_run(server)[0]
                exporter.clear()
                (unstreamed if recording else bare_unstreamed).append(quiet)
                (times if recording else bare).append(spent)
        if toggled:
            set_recording(toggled, True)
        frames = one_run(server)[1]  # the run whose frames and trace are shown (not timed)
    from importlib import metadata

    versions = {}
    for dist in ("crewai", "openinference-instrumentation-crewai", "opentelemetry-instrumentation-crewai"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    out.write_text(
        json.dumps(
            {
                "side": side,
                "versions": versions,
                "cpu_s": times,
                "cpu_unstreamed_s": unstreamed,
                "cpu_bare_s": bare,
                "cpu_bare_unstreamed_s": bare_unstreamed,
                "frames": frames,
                "trace": otlp_json(exporter.get_finished_spans()),
            }
        )
    )


if __name__ == "__main__":
    main()
