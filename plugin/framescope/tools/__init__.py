"""Tools: plain functions that, when called inside a run, stream as ``tools`` frames."""

from framescope.tools.definition import Tool, ToolArgumentsError, tool

__all__ = ["Tool", "ToolArgumentsError", "tool"]
