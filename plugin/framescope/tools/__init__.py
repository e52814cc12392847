"""Tools: plain functions that, when called inside a run, stream as ``tools`` frames."""

from framescope.tools.tool import Tool, ToolArgumentsError, tool

__all__ = ["Tool", "ToolArgumentsError", "tool"]
