"""Voice at load: this engine against Asterisk's own app_queue, same workload, same run.

9 queues x 15 agents (SIPp phones: ring 200 ms, talk 5 s, the agent hangs up), SIPp
callers from the carrier address keeping about ``--waiting`` callers queued (one caller
stream per queue, each holding its share: a shared stream lets some queues run dry). Each
size runs twice, first through app_queue's ``Queue()`` (agents as static members:
leastrecent, autofill, ringinuse=no, wrapuptime=0), then through the engine
(longest_idle, wrap-up 0), on a private Asterisk from the same templates. Measured
the same way for both (``callcenter/simulate/measure.py``) over the window
``--warmup``..``--seconds`` after the first caller:

* dispatch p50/p90/p99 ms: an agent's BYE -> the next INVITE to an agent of that
  queue, at the phones (SIPp's message trace), each INVITE paired with the oldest
  unpaired BYE of its queue;
* the same, only where a caller of that queue was waiting at the BYE (answered at
  least 0.6 s before, past Answer()'s wait for media, and no agent rung for it yet:
  both sides' phones show the caller's number, masked or not), which leaves out the
  moments a queue runs empty;
* mean wait: from Asterisk answering a caller to an agent's phone ringing for it;
* answered/s: calls agents answered in the window, per second;
* Asterisk CPU and engine CPU: % of one core, from /proc (the engine with its children);
  Asterisk's also per answered call, since the faster router answers more calls.

Then the most concurrent calls (``--concurrent``, levels of calls at once, each held
``--hold`` s) through the engine: SIPp callers who speak (SIPp's 7 s A-law recording,
again and again), agents' phones that echo what they hear, 10 queues with an agent for
every call; a level holds when every call stays bridged for the whole hold, audio
flows on every leg (``pjsip show channelstats``) and under 1 % of the echoed audio is
lost. It stops at the first level that does not hold and says why.

The machine is shared and the figures are noisy: compare the two columns of one run,
not runs of different days. Writes ``bench/results/voice.md``; last line

    voice: p99_ratio_vs_app_queue=… asterisk_cpu_ratio=… engine_cpu_pct=…

(engine / app_queue at the largest ``--waiting``: the all-dispatch p99, and Asterisk's CPU
per answered call), after ``concurrent: held=… failed_at=…``. Needs root (the private Asterisk)
and SIPp. Run: .venv/bin/python -m bench.voice [--waiting 45 200] [--seconds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import tempfile
import time
from pathlib import Path

from callcenter.simulate.chaos import LoadPlan
from callcenter.simulate.versus import SIDES, SideResult, run_concurrency, run_side

RESULTS = Path(__file__).resolve().parent / "results"
ROWS = [("dispatch p50 ms", "p50", "{:.1f}"), ("dispatch p90 ms", "p90", "{:.1f}"),
        ("dispatch p99 ms", "p99", "{:.1f}"), ("dispatches measured", "dispatches", "{:.0f}"),
        ("… a caller waiting: p50 ms", "w50", "{:.1f}"), ("… p90 ms", "w90", "{:.1f}"),
        ("… p99 ms", "w99", "{:.1f}"), ("… dispatches", "waiting_dispatches", "{:.0f}"),
        ("mean wait s (answered -> agent rung)", "mean_wait", "{:.1f}"),
        ("answered calls/s", "answered_per_s", "{:.1f}"),
        ("Asterisk CPU % of a core", "asterisk_cpu", "{:.0f}"),
        ("Asterisk CPU ms per answered call", "asterisk_ms_per_call", "{:.1f}"),
        ("engine CPU % of a core", "engine_cpu", "{:.0f}")]


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else spec.format(value)


def ratio(engine: float | None, app_queue: float | None) -> float:
    if engine is None or app_queue is None or app_queue == 0:
        return float("nan")
    return engine / app_queue


def table(waiting: int, a: SideResult, b: SideResult) -> list[str]:
    left, right = a.row(), b.row()
    lines = [f"| ~{waiting} waiting | app_queue | engine | engine / app_queue |",
             "|---|---|---|---|"]
    for label, key, spec in ROWS:
        lines.append(f"| {label} | {_cell(left[key], spec)} | {_cell(right[key], spec)} | "
                     f"{_cell(ratio(right[key], left[key]), '{:.2f}')} |")
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, nargs="*", default=[45, 200],
                        help="sizes of the dispatch comparison (none: skip it)")
    parser.add_argument("--seconds", type=float, default=40.0,
                        help="callers are placed this long; the window ends here")
    parser.add_argument("--warmup", type=float, default=12.0,
                        help="the window starts this long after the first caller")
    parser.add_argument("--rate", type=float, default=40.0, help="calls placed per second "
                        "(above what the agents can take: the queues fill and stay full)")
    parser.add_argument("--queues", type=int, default=9)
    parser.add_argument("--agents", type=int, default=15, help="agents per queue")
    parser.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES)
    parser.add_argument("--keep", action="store_true", help="keep each run's folder")
    parser.add_argument("--concurrent", type=int, nargs="*", default=[100, 200, 300, 400, 500],
                        help="talking calls held at once through the engine, level by level "
                        "(none: skip)")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds each level is held")
    args = parser.parse_args()
    report = [f"# bench/voice.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]
    last: dict[str, SideResult] = {}
    for waiting in args.waiting:
        print(f"\n{args.queues} queues x {args.agents} agents, ~{waiting} waiting, ring 200 ms, "
              f"talk 5 s, {args.rate:g} calls/s offered, window {args.warmup:g}-{args.seconds:g} s",
              flush=True)
        results: dict[str, SideResult] = {}
        for side in args.sides:
            plan = LoadPlan(queues=args.queues, agents_per_queue=args.agents, rate=args.rate,
                            waiting=waiting, arrivals_s=args.seconds, ring_ms=200,
                            talk_ms=5000)
            work = Path(tempfile.mkdtemp(prefix=f"voice-{side}-{waiting}-"))
            results[side] = await run_side(side, plan, work, warmup_s=args.warmup)
            row = results[side].row()
            print(f"  {side:9} " + " ".join(f"{key}={_cell(row[key], spec)}"
                                           for _, key, spec in ROWS), flush=True)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        if len(results) == 2:
            lines = table(waiting, results["app_queue"], results["engine"])
            print("\n".join(lines), flush=True)
            report += [*lines, ""]
        last = results
    if args.concurrent:
        report += await concurrency(args.concurrent, args.hold, args.keep)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "voice.md").write_text("\n".join(report) + "\n")
    a, b = last.get("app_queue"), last.get("engine")
    p99 = ratio(b.figures.percentile(99), a.figures.percentile(99)) if a and b else math.nan
    cpu = ratio(b.asterisk_ms_per_call, a.asterisk_ms_per_call) if a and b else math.nan
    engine_cpu = b.engine_cpu if b and b.engine_cpu is not None else math.nan
    print(f"voice: p99_ratio_vs_app_queue={p99:.2f} asterisk_cpu_ratio={cpu:.2f} "
          f"engine_cpu_pct={engine_cpu:.0f}")


async def concurrency(levels: list[int], hold_s: float, keep: bool) -> list[str]:
    print(f"\nconcurrent talking calls through the engine, each level held {hold_s:g} s",
          flush=True)
    work = Path(tempfile.mkdtemp(prefix="voice-concurrent-"))
    try:
        results = await run_concurrency(levels, work, hold_s=hold_s)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    lines = ["| calls at once | bridged (fewest) | channels with audio | audio lost % | "
             "Asterisk CPU % | engine CPU % | held |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.calls} | {r.bridged_min} | {r.talking} | {r.lost_pct:.2f} | "
                     f"{r.asterisk_cpu:.0f} | {r.engine_cpu:.1f} | "
                     f"{'yes' if r.held else 'no: ' + str(r.why_not)} |")
    print("\n".join(lines), flush=True)
    held = [r for r in results if r.held]
    failed = next((r for r in results if not r.held), None)
    summary = (f"concurrent: held={held[-1].calls if held else 0} "
               + (f"failed_at={failed.calls} why={failed.why_not!r}" if failed
                  else "failed_at=- (every level held)"))
    print(summary, flush=True)
    return [*lines, "", summary, ""]


if __name__ == "__main__":
    asyncio.run(main())
