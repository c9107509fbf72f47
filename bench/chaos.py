"""Load and faults at full size: 9 queues x 15 agents, ~45 and ~200 callers waiting.

Each scenario (baseline, engine SIGKILL and restart 5 s later, AMI link cut,
Asterisk restart) runs SIPp callers and agents against `callcenter run` and its
managed Asterisk on loopback; an AMI observer independent of the engine counts
what happened to every caller. Prints a line per scenario (with the engine's own
recovery log lines under it: adoption's timings), and last:

    chaos: dropped=… served_twice=… leaked=… order_violations=… resume_s=…

(the worst scenario of each). Needs root (the private Asterisk) and SIPp.
Run: .venv/bin/python -m bench.chaos [--waiting 45 200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from callcenter.simulate.chaos import FAULTS, LoadPlan, RunResult, run


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, nargs="+", default=[45, 200])
    parser.add_argument("--seconds", type=float, default=60.0, help="arrivals per run")
    parser.add_argument("--faults", nargs="+", default=list(FAULTS), choices=FAULTS)
    args = parser.parse_args()
    results: list[RunResult] = []
    for waiting in args.waiting:
        print(f"\n9 queues x 15 agents, ~{waiting} waiting, 5 s calls", flush=True)
        for fault in args.faults:
            plan = LoadPlan(queues=9, agents_per_queue=15, rate=30.0, waiting=waiting,
                            arrivals_s=args.seconds, fault=fault, fault_at_s=args.seconds / 3,
                            drain_s=90.0)
            with tempfile.TemporaryDirectory(prefix=f"chaos-{fault}-") as work:
                result = await run(plan, Path(work))
                results.append(result)
                print("  " + result.line(), flush=True)
                for line in _recovery_lines(result):
                    print("    " + line, flush=True)
    tallies = [r.tally for r in results]
    resumes = [t.resume_s for t in tallies if t.resume_s is not None]
    resume = f"{max(resumes):.2f}" if resumes else "-"
    print(f"chaos: dropped={max(t.dropped for t in tallies)} "
          f"served_twice={max(t.served_twice for t in tallies)} "
          f"leaked={max(t.leaked for t in tallies)} "
          f"order_violations={max(t.order_violations for t in tallies)} resume_s={resume}")


def _recovery_lines(result: RunResult) -> list[str]:
    """The engine's own account of a restart (adoption's timings, callers not queued in
    their turn): where a slow resume went."""
    path = result.engine_log_path
    if path is None or not path.exists():
        return []
    wanted = ("voice.adopting", "voice.adopted", "voice.woken_not_queued", "ami.ping_late")
    return [line.split(" ", 1)[1] for line in path.read_text(errors="replace").splitlines()
            if any(word in line for word in wanted) and "channels=0" not in line
            and "standby=0" not in line]


if __name__ == "__main__":
    asyncio.run(main())
