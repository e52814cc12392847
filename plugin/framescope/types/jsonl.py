"""One frame as one line of JSON: the encoding ``framescope replay --format jsonl`` prints and
``framescope serve`` sends as each SSE ``data:`` line, so the two can never disagree."""

from __future__ import annotations

import json

from framescope.types.streaming import StreamFrame

__all__ = ["frame_json_line"]


def frame_json_line(frame: StreamFrame) -> str:
    """``frame.model_dump_json()``; for data holding a lone surrogate (which pydantic cannot
    write as UTF-8) the same line with that data \\u-escaped, instead of a crash."""
    try:
        return frame.model_dump_json()
    except ValueError:
        head = frame.model_dump_json(exclude={"data"})
        return head[:-1] + ',"data":' + json.dumps(frame.data, separators=(",", ":")) + "}"
