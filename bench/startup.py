"""How long `callcenter run` takes to be up with many agents in agents.yaml.

For each size (``--agents``, a baseline of 10 then 1,000 by default, in queues of 100 at
the most), a fresh configuration and data folder, then three starts, each timed from the
process starting to its ``callcenter running`` line (consoles, AMI link and FastAGI up):

1. **first**: Asterisk is started and every agent's console password is hashed (once
   per agent, ever);
2. **after a crash**: the engine was SIGKILLed; it adopts the running Asterisk;
3. **after `callcenter stop`**: Asterisk was stopped with it and starts again.

No password is hashed again in 2 and 3. Last line (the largest size against the
baseline, in the same run):

    startup: agents=… restart_s=… cold_s=… vs_baseline=…

Run: .venv/bin/python -m bench.startup [--agents 10 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from callcenter.simulate.chaos import Engine, LoadPlan, write_config

PHASES = ("first", "after a crash", "after callcenter stop")


async def measure(agents: int) -> dict[str, float]:
    per_queue = min(agents, 100)
    plan = LoadPlan(queues=max(1, agents // per_queue), agents_per_queue=per_queue)
    took: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cc-bench-startup-") as work:
        config, _, _ = write_config(plan, Path(work))
        engine = Engine(config, Path(work))
        try:
            for phase in PHASES:
                engine.log_path.write_text("")  # the next "callcenter running" is this one
                started = time.monotonic()
                await engine.start(timeout=600)
                took[phase] = time.monotonic() - started
                if phase == "first":
                    engine.kill()  # a crash: Asterisk stays
                elif phase == "after a crash":
                    await asyncio.to_thread(engine.stop)  # both stop
        finally:
            await asyncio.to_thread(engine.stop)
    return took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[10, 1000])
    args = parser.parse_args()
    results = {n: await measure(n) for n in args.agents}
    print("| agents | " + " | ".join(f"{p} s" for p in PHASES) + " |")
    print("|---|" + "---|" * len(PHASES))
    for n, took in results.items():
        print(f"| {n} | " + " | ".join(f"{took[p]:.2f}" for p in PHASES) + " |")
    base, top = results[args.agents[0]], results[args.agents[-1]]
    print(f"startup: agents={args.agents[-1]} restart_s={top['after a crash']:.2f} "
          f"cold_s={top['after callcenter stop']:.2f} "
          f"vs_baseline={top['after callcenter stop'] / base['after callcenter stop']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
