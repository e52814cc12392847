"""Benchmark (not a test): one CrewAI flow recorded by OpenInference, OpenLLMetry and framescope.

The flow (bench/_crewai_peer_side.py): an agent with a tool, answering with a streamed
200-token LLM reply from the loopback OpenAI-compatible server (in a child process, so its CPU
time is not counted).  Each recorder runs in its own
process: OpenInference's and OpenLLMetry's CrewAI instrumentors (each with its project's
OpenAI instrumentor too, as their docs advise) in their own venvs under bench/ (gitignored,
created on first use with ``pip install crewai==1.15.30 <instrumentor>``), framescope's
and the bare baseline (``none``) in this python.  All export into an in-memory exporter
through a SimpleSpanProcessor, so export costs the same everywhere.  For each the table shows:

* spans, span events and links recorded, and the span names;
* tokens kept: how many of the streamed answer's chunks can be read back from the trace (with
  their timing), and whether the whole answer text is there at all;
* replayable: whether ``framescope.replay`` rebuilds CrewAI's own frames of the run, field for
  field (framescope), or only a reconstruction from GenAI spans (peers), or nothing;
* cost: CPU time a run takes with the recording minus the same run without it, per CrewAI
  frame, and as a share of CrewAI's own CPU time per frame; "streamed" with a CrewAI session
  open (CrewAI converts every event to a frame itself), "unstreamed" with none (a plain
  ``kickoff()``: CrewAI makes no frames).  framescope's process switches its instrumentor
  off and on round by round (in both orders), and its cost is the median of those paired
  differences: what differs between the two runs of a pair is the recording, not the process,
  its memory layout or the moment (process-to-process spread on this machine was ±5 µs/frame).
  The peers cannot be measured that way (OpenLLMetry's ``uninstrument()`` leaves wrappers
  behind): their cost is their best round minus the bare side's best round, as before, and
  framescope's is shown that way too for comparison.

    PYTHONPATH=plugin python bench/crewai_peers.py [--rounds 5 --passes 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CREWAI = "crewai==1.15.30"
PEERS = {
    "openinference": ("openinference-instrumentation-crewai", "openinference-instrumentation-openai"),
    "openllmetry": ("opentelemetry-instrumentation-crewai", "opentelemetry-instrumentation-openai"),
}
SIDES = ("none", "framescope", "openinference", "openllmetry")


def venv_python(side: str) -> str:
    if side not in PEERS:
        return sys.executable
    venv = HERE / f".peer-{side}-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (pip install {CREWAI} {' '.join(PEERS[side])}) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", CREWAI, *PEERS[side], "opentelemetry-sdk"], check=True
        )
    return str(python)


def run_side(side: str, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "side.json"
        env = dict(os.environ, PYTHONPATH=str(ROOT / "plugin"))
        subprocess.run(
            [venv_python(side), str(HERE / "_crewai_peer_side.py"), side, str(rounds), str(out)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        return json.loads(out.read_text())


def analyse(result: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    from framescope.integrations.crewai.frames import without_secrets
    from framescope.replay import from_records
    from framescope.replay.decode import decode_runs
    from framescope.replay.sources import parse_trace_document

    records = parse_trace_document(json.dumps(result["trace"])) if result["trace"] else []
    frames = result["frames"]
    chunks = [f["data"]["chunk"] for f in frames if f["type"] == "llm_stream_chunk"]
    answer = "".join(chunks[-200:])
    texts = json.dumps([[s.attributes, [e.attributes for e in s.events]] for s in records], default=str)
    runs = [run for run in decode_runs(records) if run.frames and run.frames[0].id == frames[0]["id"]]
    if not records:
        replay = "nothing recorded"
    if not records:
        kept = 0
    elif runs:
        replayed = [json.loads(f.model_dump_json()) for f in runs[0].frames]
        expected = [{**f, "data": without_secrets(f["data"])} for f in frames]
        replay = "exact" if replayed == expected else f"differs ({len(replayed)} of {len(frames)} frames)"
        kept = sum(1 for f in runs[0].frames if f.type == "llm_stream_chunk")
    else:
        kept = 0
        try:
            session = from_records(records, reconstruct=True)
            rebuilt = list(session)
            replay = f"reconstructed only: {len(rebuilt)} frames of {len(frames)}, no CrewAI ids/seq"
        except Exception as error:  # a peer's trace may hold nothing replay can use
            replay = f"no ({type(error).__name__})"
    cpu = min(result["cpu_s"])  # the least disturbed round: the machine is shared
    if result["cpu_bare_s"]:
        # paired: each round against the same run with the recording switched off in the same
        # process (round by round, in both orders); the median of those differences
        method = "paired"
        added = statistics.median(r - b for r, b in zip(result["cpu_s"], result["cpu_bare_s"], strict=True))
        alone = statistics.median(result["cpu_bare_s"])
        quiet_added = statistics.median(
            r - b for r, b in zip(result["cpu_unstreamed_s"], result["cpu_bare_unstreamed_s"], strict=True)
        )
        quiet_alone = statistics.median(result["cpu_bare_unstreamed_s"])
    else:
        # best round against the bare side's best round, each in its own process
        method = "best rounds" if result["side"] != "none" else "-"
        alone, quiet_alone = min(baseline["cpu_s"]), min(baseline["cpu_unstreamed_s"])
        added, quiet_added = cpu - alone, min(result["cpu_unstreamed_s"]) - quiet_alone
    return {
        "side": result["side"],
        "method": method,
        "versions": result["versions"],
        "spans": len(records),
        "events": sum(len(s.events) for s in records),
        "links": sum(len(s.links) for s in records),
        "span_names": sorted({s.name for s in records}),
        "crewai_frames": len(frames),
        "chunks_streamed": len(chunks),
        "chunks_kept": kept,
        "answer_text_kept": answer.strip() != "" and json.dumps(answer.strip())[1:-1] in texts,
        "replay": replay,
        "cpu_ms_per_run": cpu * 1000,
        "cpu_ms_median": statistics.median(result["cpu_s"]) * 1000,
        "overhead_us_per_frame": added / len(frames) * 1e6,
        "crewai_us_per_frame": alone / len(frames) * 1e6,
        "unstreamed_overhead_us_per_frame": quiet_added / len(frames) * 1e6,
        "unstreamed_crewai_us_per_frame": quiet_alone / len(frames) * 1e6,
        "cpu_s": result["cpu_s"],
        "cpu_bare_s": result["cpu_bare_s"],
        "cpu_unstreamed_s": result["cpu_unstreamed_s"],
        "cpu_bare_unstreamed_s": result["cpu_bare_unstreamed_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="measured runs per side and pass")
    parser.add_argument("--passes", type=int, default=3, help="times every side runs, in turn")
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sides = [s for s in args.sides.split(",") if s]
    order = ["none", *[s for s in sides if s != "none"]]
    results: dict[str, dict[str, Any]] = {}
    for _ in range(args.passes):  # the sides take turns, so a change of load hits them all alike
        for side in order:
            result = run_side(side, args.rounds)
            if side in results:
                for key in ("cpu_s", "cpu_unstreamed_s", "cpu_bare_s", "cpu_bare_unstreamed_s"):
                    results[side][key] += result[key]
            else:
                results[side] = result
    rows = []
    for result in results.values():
        rows.append(analyse(result, results["none"]))
        if result["cpu_bare_s"]:  # the same side the peers' way too, to compare like with like
            rows.append(analyse({**result, "cpu_bare_s": [], "cpu_bare_unstreamed_s": []}, results["none"]))
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.passes} passes x {args.rounds} rounds; "
        "process CPU time; cost: paired = median of rounds with and without the recording in one "
        "process, best rounds = best round against the bare side's best round"
    )
    header = (
        f"{'recorder':14} {'spans':>5} {'events':>6} {'links':>5} {'chunks kept':>12} {'answer':>6} "
        f"{'CPU/run ms':>10} {'+us/frame':>9} {'+%':>5} {'unstreamed':>10} {'+%':>5} {'cost by':>11}  replay"
    )
    print(header)
    for row in rows:
        share = row["overhead_us_per_frame"] / row["crewai_us_per_frame"] * 100
        quiet_share = row["unstreamed_overhead_us_per_frame"] / row["unstreamed_crewai_us_per_frame"] * 100
        print(
            f"{row['side']:14} {row['spans']:>5} {row['events']:>6} {row['links']:>5} "
            f"{row['chunks_kept']:>5}/{row['chunks_streamed']:<6} {'yes' if row['answer_text_kept'] else 'no':>6} "
            f"{row['cpu_ms_per_run']:>10.1f} {row['overhead_us_per_frame']:>9.1f} {share:>5.1f} "
            f"{row['unstreamed_overhead_us_per_frame']:>10.1f} {quiet_share:>5.1f} {row['method']:>11}  {row['replay']}"
        )
    for row in rows:
        if row["method"] != "best rounds" or row["side"] != "framescope":
            print(f"  {row['side']}: {', '.join(row['span_names'][:12])}")
    if args.json:
        args.json.write_text(json.dumps({"load": load, "rounds": args.rounds, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
