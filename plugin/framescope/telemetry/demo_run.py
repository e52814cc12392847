"""A small scripted run for ``framescope demo`` until the flow runtime lands (offline)."""

from __future__ import annotations

import time

from framescope.telemetry.run import emit, emit_token, lifecycle

ANSWER = (
    "framescope turns every event of a run into a frame, records it in OpenTelemetry spans, "
    "and can replay the run exactly from its trace."
)


def demo_run(token_delay: float = 0.01) -> str:
    with lifecycle(
        "flow_started", {"flow_name": "DemoFlow"}, finished="flow_finished", failed="flow_failed",
        namespace=["flow", "DemoFlow"],
    ) as flow:
        with lifecycle(
            "tool_usage_started", {"tool_name": "lookup", "arguments": {"topic": "framescope"}},
            finished="tool_usage_finished", failed="tool_usage_error",
        ) as tool:
            tool.data.update(tool_name="lookup", output="spans, events, links")
        with lifecycle(
            "llm_call_started", {"model": "scripted/demo", "provider": "scripted"},
            finished="llm_call_completed", failed="llm_call_failed",
        ) as call:
            for word in ANSWER.split(" "):
                emit_token("llm_stream_chunk", word + " ")
                if token_delay:
                    time.sleep(token_delay)
            call.data.update(result=ANSWER, finish_reason="stop")
        emit("demo_note", {"note": "a custom event lands on the custom channel"})
        flow.data["result"] = ANSWER
    return ANSWER
