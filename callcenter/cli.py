"""``callcenter``: run the engine, check configuration, render prompts, simulate traffic,
transcribe stored recordings, export the event log as queue_log."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from callcenter import logs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="callcenter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the engine, the IVR and the consoles")
    run.add_argument("--config", type=Path, default=Path("config"))
    run.add_argument("--demo", action="store_true",
                     help="loopback-only demo: the sample's passwords need not be changed")
    run.add_argument("--always-open", action="store_true",
                     help="with --demo: business hours never close a queue or an IVR "
                          "schedule (try it at night; the files are not changed)")
    halt = sub.add_parser("stop", help="stop the running engine and its managed Asterisk "
                          "(an engine that dies leaves Asterisk and its calls running)")
    halt.add_argument("--config", type=Path, default=Path("config"))
    check = sub.add_parser("check-config", help="validate the YAML configuration")
    check.add_argument("directory", nargs="?", type=Path, default=Path("config"))
    render = sub.add_parser("prompts", help="render missing IVR prompts with espeak-ng")
    render.add_argument("--config", type=Path, default=Path("config"))
    render.add_argument("--out", type=Path, required=True, help="folder for the sound files")
    sim = sub.add_parser("simulate", help="agents and callers on SIP phones, against a "
                         "running engine")
    sim.add_argument("--config", type=Path, default=Path("config"))
    sim.add_argument("--url", help="the consoles' address (default: from callcenter.yaml)")
    sim.add_argument("--agents", type=int, default=3, help="agents to log in (default 3)")
    sim.add_argument("--calls", type=int, default=10, help="calls to place (default 10)")
    sim.add_argument("--rate", type=float, default=0.5, help="calls per second (default 0.5)")
    sim.add_argument("--talk", type=float, default=10.0, help="talk time, s (default 10)")
    sim.add_argument("--digits", default="21", help="IVR keys (default 21: English, sales)")
    sim.add_argument("--ignore-hours", action="store_true",
                     help="place the calls even if the IVR says closed now (for an engine "
                          "run with --demo --always-open)")
    stt = sub.add_parser("transcribe", help="transcribe, summarise and inspect stored call "
                         "recordings the engine has not (stt off, no model, failed), or all")
    stt.add_argument("--config", type=Path, default=Path("config"))
    stt.add_argument("--since", help="only calls since: 7d, 12h, 30m or an ISO date/time")
    stt.add_argument("--queue", help="only this queue's calls")
    stt.add_argument("--all", action="store_true",
                     help="also calls already transcribed (new models or rules)")
    qlog = sub.add_parser("export-queue-log", help="write the event log in Asterisk's "
                          "queue_log format, for queue_log reporting tools")
    qlog.add_argument("--config", type=Path, default=Path("config"))
    qlog.add_argument("--since", required=True,
                      help="from: 7d, 12h, 30m or an ISO date/time (local time)")
    qlog.add_argument("--until", help="to (excluded): an ISO date/time; default now")
    qlog.add_argument("--output", type=Path, help="file to write (default: standard output)")
    args = parser.parse_args(argv)

    if args.command == "check-config":
        from callcenter.config import check_config

        code, text = check_config(args.directory)
        print(text, file=sys.stdout if code == 0 else sys.stderr)
        return code
    if args.command == "prompts":
        from callcenter.config import load_config
        from ivr import prompts

        config = load_config(args.config).config
        written = prompts.render(prompts.prompts_in(config.ivr, config.queues), args.out)
        print(f"{len(written)} prompt(s) rendered into {args.out}")
        return 0
    if args.command == "simulate":
        from datetime import UTC, datetime

        from callcenter.config import load_config
        from callcenter.simulate.traffic import Plan, simulate, why_no_agent

        logs.configure()
        config = load_config(args.config).config
        why = asyncio.run(why_no_agent(config, args.digits, datetime.now(UTC)))
        if why and not args.ignore_hours:
            print(f"{why}.\nNothing placed. To try it now: run the engine with "
                  "`callcenter run --demo --always-open` and add --ignore-hours here.",
                  file=sys.stderr)
            return 2
        web = config.callcenter.web
        plan = Plan(agents=args.agents, calls=args.calls, rate=args.rate, talk=args.talk,
                    digits=args.digits, url=args.url or f"http://{web.bind}:{web.port}")
        outcome = asyncio.run(simulate(config, plan))
        print(f"placed {outcome.placed}, answered by the IVR {outcome.answered_by_ivr}, "
              f"reached an agent {outcome.reached_agent}, gave up {outcome.gave_up}")
        return 0 if not outcome.failures else 1
    if args.command == "transcribe":
        return _transcribe(args)
    if args.command == "export-queue-log":
        return _export_queue_log(args)
    if args.command == "stop":
        from callcenter.app import stop

        print(stop(args.config))
        return 0
    if args.command == "run":
        from callcenter.app import serve
        from callcenter.config import ConfigError
        from callcenter.runtime import AlreadyRunning

        logs.configure()
        try:
            if args.always_open and not args.demo:
                print("--always-open is for a demo only: add --demo", file=sys.stderr)
                return 2
            asyncio.run(serve(args.config, demo=args.demo, always_open=args.always_open))
        except ConfigError as exc:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            return 1
        except AlreadyRunning as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    return 2


def _export_queue_log(args: argparse.Namespace) -> int:
    """The queue_log lines on stdout (or --output), how many on stderr."""
    import time

    from callcenter.config import ConfigError, ConfigStore
    from callcenter.reports.services import ReportService
    from callcenter.storage import Store
    from recordings.batch import parse_since

    try:
        config_store = ConfigStore.open(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 1
    config = config_store.config.callcenter
    now = time.time()
    try:
        since = parse_since(args.since, now, config.timezone)
        until = parse_since(args.until, now, config.timezone) if args.until else now
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2

    async def export() -> int:
        store = await Store.open(config.storage.path)
        try:
            service = ReportService(store=store, config=lambda: config_store.config,
                                    clock=time.time)
            if args.output is None:
                return await service.export_queue_log(since, until, sys.stdout.write)
            with args.output.open("w", encoding="utf-8") as out:
                return await service.export_queue_log(since, until, out.write)
        finally:
            await store.close()

    count = asyncio.run(export())
    print(f"{count} queue_log line(s) written", file=sys.stderr)
    return 0


def _transcribe(args: argparse.Namespace) -> int:
    """Progress on stderr, the final table on stdout; 1 if a call failed."""
    import time

    from tqdm import tqdm

    from callcenter.config import ConfigError, ConfigStore
    from recordings.batch import parse_since, report_table, transcribe_stored

    try:
        store = ConfigStore.open(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 1
    config = store.config.callcenter
    try:
        since = parse_since(args.since, time.time(), config.timezone) if args.since else None
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.queue and args.queue not in store.config.queues:
        print(f"--queue {args.queue!r}: no such queue; queues: "
              f"{', '.join(store.config.queues)}", file=sys.stderr)
        return 2
    bar = tqdm(total=0, unit="call", desc="transcribing", file=sys.stderr)

    def started(count: int) -> None:
        bar.total = count
        bar.refresh()

    def progress(_task: str, outcome) -> None:
        bar.update(1)
        bar.set_postfix_str(outcome.status)

    try:
        report = asyncio.run(transcribe_stored(store, since=since, queue=args.queue,
                                               redo=args.all, clock=time.time,
                                               started=started, progress=progress))
    finally:
        bar.close()
    print(report_table(report))
    return 1 if report.statuses["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
