"""``callcenter``: run the engine, check configuration, render prompts, simulate traffic."""

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
    check = sub.add_parser("check-config", help="validate the YAML configuration")
    check.add_argument("directory", nargs="?", type=Path, default=Path("config"))
    render = sub.add_parser("prompts", help="render missing IVR prompts with espeak-ng")
    render.add_argument("--config", type=Path, default=Path("config"))
    render.add_argument("--out", type=Path, required=True, help="folder for the sound files")
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
    if args.command == "run":
        from callcenter.app import serve
        from callcenter.config import ConfigError

        logs.configure()
        try:
            asyncio.run(serve(args.config))
        except ConfigError as exc:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            return 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
