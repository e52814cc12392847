"""The demo flow touches every channel with real parts, and replays identically from its trace."""

from __future__ import annotations

import framescope
from framescope import replay
from framescope.demo import ANSWER, IncidentTriage, register_demo_script


def test_the_demo_flow_streams_every_kind_of_frame_and_replays(trace_file):
    register_demo_script(token_delay_s=0)
    with IncidentTriage().stream_events() as stream:
        frames = list(stream)
    assert stream.result == ANSWER
    channels = {frame.channel for frame in frames}
    assert {"flow", "tools", "llm", "custom"} <= channels
    types = [frame.type for frame in frames]
    assert types[0] == "flow_started" and types[-1] == "flow_finished"
    assert "flow_routed" in types and "llm_thinking_chunk" in types
    tools = [f.data["tool_name"] for f in frames if f.type == "tool_usage_started"]
    assert tools == ["search_runbooks", "get_service_metrics"]  # one by the flow, one asked for by the LLM
    assert "".join(frame.content for frame in frames if frame.type == "llm_stream_chunk") == ANSWER
    framescope.flush()
    assert list(replay.from_file(trace_file, stream.trace_id)) == frames
