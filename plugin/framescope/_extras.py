"""Optional extras that a setting can require: one clear error when the extra is not installed.

The gRPC OTLP exporter pulls ``grpcio`` (a large native wheel), so it is the ``grpc`` extra
and not a core dependency; the default ``http/protobuf`` protocol needs nothing more.
"""

from __future__ import annotations

import importlib

from framescope.errors import ConfigurationError

GRPC_EXPORTER = "opentelemetry.exporter.otlp.proto.grpc"


def require_grpc_exporter() -> None:
    """Raise a :class:`ConfigurationError` naming the extra when the gRPC exporter is missing."""
    try:
        importlib.import_module(GRPC_EXPORTER)
    except ImportError as exc:
        raise ConfigurationError(
            "OTLP protocol 'grpc' needs the gRPC exporter: pip install 'framescope[grpc]', "
            "or use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (the default, no extra needed)"
        ) from exc
