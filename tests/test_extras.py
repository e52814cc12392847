"""The core works without the optional extras, and each extra's absence is a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN = str(Path(__file__).resolve().parents[1] / "plugin")


def test_core_without_openai_and_httpx(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        sys.modules["openai"] = None   # as if the extras were not installed
        sys.modules["httpx"] = None
        import framescope
        from framescope import LLM, replay
        from framescope.errors import LLMConfigurationError
        from framescope.errors import TraceFetchError
        assert LLM("scripted/echo").call("hi") == "You said: hi"
        try:
            LLM("gpt-4o-mini", base_url="http://127.0.0.1:9/v1")
        except LLMConfigurationError as exc:
            assert "framescope[openai]" in str(exc), exc
        else:
            raise AssertionError("an OpenAI-compatible model without the openai SDK must fail clearly")
        try:
            replay.from_url("http://127.0.0.1:9/api/traces/abc")
        except TraceFetchError as exc:
            assert "framescope[backends]" in str(exc), exc
        else:
            raise AssertionError("fetching without httpx must fail clearly")
        print("OK")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "OPENAI_"))}
    env["PYTHONPATH"] = PLUGIN
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"


def test_grpc_protocol_without_the_grpc_extra_names_the_extra(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        sys.modules["opentelemetry.exporter.otlp.proto.grpc"] = None   # as if framescope[grpc] were absent
        import framescope
        from framescope.errors import ConfigurationError
        try:
            framescope.configure(exporter="otlp", protocol="grpc", endpoint="http://127.0.0.1:9")
        except ConfigurationError as exc:
            assert "framescope[grpc]" in str(exc), exc
        else:
            raise AssertionError("protocol grpc without the grpc extra must fail clearly")
        framescope.configure(exporter="otlp", protocol="http/protobuf", endpoint="http://127.0.0.1:9")
        framescope.shutdown()
        print("OK")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FRAMESCOPE_", "OPENAI_"))}
    env["PYTHONPATH"] = PLUGIN
    env["FRAMESCOPE_TRACE_FILE"] = str(tmp_path / "traces.jsonl")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"
