"""The flow ``framescope demo`` runs: an incident triage, offline by default.

It exercises every channel with real framescope parts: a ``Flow`` with a router, a tool
(called by the flow and by the LLM), a streamed multi-sentence LLM answer from the scripted
provider (or a real OpenAI-compatible endpoint), and a custom event.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from framescope.events.custom import CustomEvent
from framescope.flow import Flow, listen, router, start
from framescope.llm import LLM
from framescope.llm.providers.scripted import ScriptedReply, ScriptedToolCall, register_script
from framescope.tools import tool

SCRIPT_NAME = "demo"
DEFAULT_MODEL = f"scripted/{SCRIPT_NAME}"

ALERT = {"service": "checkout", "symptom": "p99 latency 2.4 s (SLO 800 ms)", "since": "14:02 UTC"}

_RUNBOOKS = {
    "checkout": "Runbook checkout-latency: check the payment gateway's error rate, then the DB pool.",
}
_METRICS = {
    "checkout": {"p99_ms": 2400, "error_rate": 0.031, "db_pool_in_use": 0.97, "deploy": "v2.14.0 at 13:58 UTC"},
}

ANSWER = (
    "Checkout p99 latency rose to 2.4 s four minutes after the v2.14.0 deploy. "
    "The database pool is 97% in use while the error rate stays near 3%, "
    "which points at connection exhaustion rather than the payment gateway. "
    "Roll back v2.14.0 first, then raise the pool size and watch p99 return under 800 ms."
)


@tool
def search_runbooks(service: str) -> str:
    """Find the runbook for a service."""
    return _RUNBOOKS.get(service, f"no runbook for {service}")


@tool
def get_service_metrics(service: str) -> dict[str, Any]:
    """Current golden signals and the last deploy of a service."""
    return _METRICS.get(service, {})


class SeverityAssessed(CustomEvent):
    """A user-defined event: it streams on the ``custom`` channel."""

    service: str
    severity: str
    reason: str


class TriageState(BaseModel):
    alert: dict[str, Any] = {}
    runbook: str = ""
    severity: str = ""


def register_demo_script(token_delay_s: float) -> None:
    """The offline model: asks for the metrics tool once, then streams its analysis."""
    register_script(
        SCRIPT_NAME,
        [
            ScriptedToolCall("get_service_metrics", {"service": "checkout"}),
            ScriptedReply(text=ANSWER, thinking="Latency after a deploy; compare pool use with errors. "),
        ],
        token_delay_s=token_delay_s,
    )


class IncidentTriage(Flow[TriageState]):
    """Alert in, runbook and severity, then an LLM analysis streamed token by token."""

    model: str = DEFAULT_MODEL

    @start()
    def receive_alert(self) -> dict[str, Any]:
        self.state.alert = dict(ALERT)
        return self.state.alert

    @listen(receive_alert)
    def find_runbook(self, alert: dict[str, Any]) -> str:
        self.state.runbook = search_runbooks(service=alert["service"])
        return self.state.runbook

    @router(find_runbook)
    def assess_severity(self) -> str:
        severity = "page" if "SLO" in self.state.alert["symptom"] else "ticket"
        self.state.severity = severity
        SeverityAssessed(service=self.state.alert["service"], severity=severity, reason="p99 above the SLO").emit()
        return severity

    @listen("page")
    def analyse(self) -> str:
        llm = LLM(model=self.model)
        prompt = (
            f"Alert: {self.state.alert}. {self.state.runbook} "
            "Use get_service_metrics, then say in a few sentences what is wrong and what to do."
        )
        return llm.call(
            [{"role": "system", "content": "You are an SRE assistant."}, {"role": "user", "content": prompt}],
            available_functions={"get_service_metrics": get_service_metrics},
            stream=True,
        )

    @listen("ticket")
    def file_ticket(self) -> str:
        return f"ticket filed for {self.state.alert['service']}"
