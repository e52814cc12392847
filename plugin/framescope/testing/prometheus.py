"""The Prometheus series names framescope's OTLP metrics get through the Collector.

A test double: it predicts the names the Collector's Prometheus exporters produce, so tests
can check that dashboards and alert rules query series that exist.  Nothing at run time uses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from framescope.telemetry.metrics import METRIC_NAMES, MetricKind, MetricSpec

__all__ = ["all_prometheus_names", "prometheus_names"]

# OTLP (UCUM) unit -> Prometheus unit word, as the Collector's Prometheus translation
# (github.com/prometheus/otlptranslator, used by the prometheus and prometheusremotewrite
# exporters) maps them.  Units not listed are kept as written; ``{...}`` annotations vanish.
_UNIT_WORDS = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tibibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    "Cel": "celsius",
    "Hz": "hertz",
    "1": "",
    "%": "percent",
}
_PER_UNIT_WORDS = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}
_INVALID = re.compile(r"[^a-zA-Z0-9:]")
_UNDERSCORES = re.compile(r"_+")


def _clean_unit(word: str) -> str:
    return _UNDERSCORES.sub("_", _INVALID.sub("_", word)).lstrip("_")


def _unit_suffixes(unit: str) -> tuple[str, str]:
    main_otel, _, per_otel = unit.partition("/")
    main_otel, per_otel = main_otel.strip(), per_otel.strip()
    main = ""
    if main_otel and "{" not in main_otel and "}" not in main_otel:
        main = _UNIT_WORDS.get(main_otel, main_otel)
    per = ""
    if per_otel and "{" not in per_otel and "}" not in per_otel:
        per = "per_" + _PER_UNIT_WORDS.get(per_otel, per_otel)
    return _clean_unit(main), _clean_unit(per)


def prometheus_names(name: str, kind: MetricKind, unit: str) -> list[str]:
    """The Prometheus series names an OTLP metric gets through the Collector's exporters.

    Follows the default translation (underscore escaping with suffixes): invalid characters
    split the name into words, the unit word is appended unless already present (``s`` ->
    ``seconds``, ``{token}`` -> nothing), monotonic counters end in ``_total``, gauges of
    unit ``1`` in ``_ratio``, and histograms expand into ``_bucket``, ``_sum``, ``_count``.
    An up-down counter becomes a Prometheus gauge without ``_total``.
    """
    tokens = [t for t in _INVALID.split(name) if t]
    main, per = _unit_suffixes(unit)
    if main in tokens:
        main = ""
    if per == "per_":
        per = ""
    else:
        per = per.rstrip("_")
        if per in tokens:
            per = ""
    if per:
        main = main.rstrip("_")
    tokens += [t for t in (main, per) if t]
    if kind == "counter":
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if kind == "gauge" and unit == "1":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    base = "_".join(tokens)
    if base[:1].isdigit():
        base = "_" + base
    if not base.strip("_"):
        raise ValueError(f"metric name {name!r} has no Prometheus equivalent")
    if kind == "histogram":
        return [base + "_bucket", base + "_sum", base + "_count"]
    return [base]


def all_prometheus_names(specs: Sequence[MetricSpec] = METRIC_NAMES) -> set[str]:
    """Every Prometheus series name the given instruments produce (for dashboards/tests)."""
    return {p for spec in specs for p in prometheus_names(spec.name, spec.kind, spec.unit)}
