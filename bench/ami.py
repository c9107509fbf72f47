"""Parse and dispatch of a recorded AMI stream: the engine's link against panoramisk's
bare parser, in the same run.

The stream is the engine's own: a short SIPp load (2 queues x 3 agents, callers through
the IVR, queue, offer, bridge, hang-up) against `callcenter run` and its managed
Asterisk, read by an AMI session logged in as the engine's user, so Asterisk's event
filters (manager.conf) cut it exactly as they cut the engine's. It is recorded once to
``bench/results/ami-stream.txt`` (``--record`` records it again).

Both sides are fed the same bytes in 64 KiB reads, as a socket hands them over:

* **bare**: panoramisk's ``AMIProtocol.data_received`` (split, ``Message.from_line``,
  ``handle_message``) with a factory whose ``dispatch`` only counts;
* **link**: the engine's ``AmiLink`` path: its protocol and manager, ``AmiEvent`` made
  of each message, the ordered queue, and the consumer task handing each event to a
  handler (one that counts; what the voice feature then does is not the link's cost).

Each side runs ``--passes`` times; the best pass of each is compared (the machine is
shared: the best is the least disturbed). Last line:

    ami: events_per_s=… vs_bare=…

Run: .venv/bin/python -m bench.ami [--record] [--passes 15]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from collections import Counter
from pathlib import Path

from panoramisk.ami_protocol import AMIProtocol

from callcenter.ami.link import AmiEvent, AmiLink, LinkState, _Manager, _Protocol
from callcenter.simulate.chaos import LoadPlan, run

RESULTS = Path(__file__).resolve().parent / "results"
TAPE = RESULTS / "ami-stream.txt"
READ = 65536  # bytes per read, as asyncio's selector transport reads a socket


class _Transport:
    """Where the protocols would write (they write nothing here)."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


async def record(tape: Path) -> None:
    tape.parent.mkdir(parents=True, exist_ok=True)
    tape.unlink(missing_ok=True)
    plan = LoadPlan(queues=2, agents_per_queue=3, rate=3.0, arrivals_s=10.0, talk_ms=2000,
                    drain_s=30.0, ami_tape=tape)
    with tempfile.TemporaryDirectory(prefix="cc-bench-ami-") as work:
        result = await run(plan, Path(work))
    print(f"recorded {tape.stat().st_size} bytes: {result.line()}")


def chunks(data: bytes) -> list[bytes]:
    return [data[i:i + READ] for i in range(0, len(data), READ)]


class _Counter:
    """panoramisk's factory, reduced to counting what it is handed."""

    def __init__(self) -> None:
        self.events = 0

    def dispatch(self, message: object) -> None:
        self.events += 1


class _Names(_Counter):
    """Counts by event name too (the stream's make-up; not timed)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: Counter[str] = Counter()

    def dispatch(self, message: dict) -> None:
        super().dispatch(message)
        self.names[message["Event"]] += 1


def bare_pass(reads: list[bytes], counter: _Counter | None = None) -> tuple[int, float]:
    protocol = AMIProtocol()
    protocol.connection_made(_Transport())
    protocol.factory = counter = counter or _Counter()
    started = time.perf_counter()
    for data in reads:
        protocol.data_received(data)
    return counter.events, time.perf_counter() - started


async def link_pass(reads: list[bytes], expected: int) -> tuple[int, float]:
    """The link as it runs, minus the socket: its manager is the one it would have made,
    and its consumer task delivers to the handler in order."""
    link = AmiLink(host="127.0.0.1", port=0, username="bench", secret="bench")
    manager = _Manager(link, host="127.0.0.1", port=0, username="bench", secret="bench",
                       ping_delay=0, reconnect_timeout=0, loop=asyncio.get_running_loop())
    link._manager, link.state = manager, LinkState.UP
    protocol = _Protocol()
    protocol.connection_made(_Transport())
    protocol.factory = manager
    delivered = 0
    done = asyncio.Event()

    def handler(event: AmiEvent) -> None:
        nonlocal delivered
        delivered += 1
        if delivered == expected:
            done.set()

    link.on_event(handler)
    consumer = asyncio.create_task(link._consume())  # not start(): it would connect
    started = time.perf_counter()
    for data in reads:
        protocol.data_received(data)
        await asyncio.sleep(0)  # the loop turns between reads, as it does between packets
    await done.wait()
    took = time.perf_counter() - started
    link.state = LinkState.CLOSED
    consumer.cancel()
    return delivered, took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true", help="record the stream again")
    parser.add_argument("--passes", type=int, default=15)
    args = parser.parse_args()
    if args.record or not TAPE.exists():
        await record(TAPE)
    reads = chunks(TAPE.read_bytes())
    stream = _Names()
    events, _ = bare_pass(reads, stream)
    print(f"stream: {sum(map(len, reads))} bytes, {events} events; most frequent: "
          + ", ".join(f"{n} {c}" for n, c in stream.names.most_common(6)))

    gc.collect()
    gc.freeze()  # the stream's bytes and the setup are not what is measured
    bare, link = [], []
    for _ in range(args.passes):  # interleaved: a disturbance hits both sides alike
        count, took = bare_pass(reads)
        assert count == events, (count, events)
        bare.append(took)
        count, took = await link_pass(reads, events)
        assert count == events, (count, events)
        link.append(took)
    bare_rate, link_rate = events / min(bare), events / min(link)
    print("| side | best pass ms | median pass ms | events/s (best) |")
    print("|---|---|---|---|")
    for side, times in (("panoramisk bare", bare), ("engine link", link)):
        ordered = sorted(times)
        print(f"| {side} | {ordered[0] * 1000:.1f} | {ordered[len(ordered) // 2] * 1000:.1f} "
              f"| {events / ordered[0]:,.0f} |")
    print(f"ami: events_per_s={link_rate:.0f} vs_bare={link_rate / bare_rate:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
