"""The ``heard`` command: serve, migrate, demo, create-agent, create-token, eval."""

from __future__ import annotations

import argparse
import getpass
import importlib
import sys
import threading
import time
from collections.abc import Sequence

from heard.settings import Settings, SettingsError


def _db(settings: Settings):  # type: ignore[no-untyped-def]
    from heard.db import Database

    return Database(settings.database_url)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from heard.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database is up to date ({_safe_url(settings.database_url)})")
    return 0


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from heard.demo.load import load_demo
    from heard.migrate import upgrade

    upgrade(settings.database_url)
    db = _db(settings)
    result = load_demo(db)
    if result.created:
        print(f"demo data loaded: {result.conversations} conversations, {result.agents} agents")
    else:
        print("demo data already present; nothing to do")
    print(f"demo login: {result.login_email} / {result.login_password}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from heard.migrate import upgrade
    from heard.web.app import create_app

    started = time.perf_counter()
    upgrade(settings.database_url)
    db = _db(settings)
    if args.demo:
        from heard.demo.load import load_demo

        result = load_demo(db)
        note = "loaded" if result.created else "already present"
        print(f"demo data {note}; log in at http://{args.host}:{args.port}/login as "
              f"{result.login_email} / {result.login_password}", flush=True)
    app = create_app(settings, db)
    # Load the empathy model and compile the coach's phrasebooks off the request path, so
    # the first message read and the first draft reviewed don't pay ~1.5 s for it.
    threading.Thread(target=_warm_up_engines, name="heard-warm-up", daemon=True).start()
    listener = None
    if args.smtp_port:
        from heard.channels.email.smtp_server import SMTPListener

        listener = SMTPListener(db, settings, host=args.host, port=args.smtp_port)
        listener.start()
        print(f"SMTP listener on {args.host}:{args.smtp_port}", flush=True)
    print(f"Heard ready in {time.perf_counter() - started:.2f}s on http://{args.host}:{args.port} "
          f"(API docs: /api/docs, database: {_safe_url(settings.database_url)})", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                    workers=None, access_log=args.log_level == "debug")
    finally:
        if listener is not None:
            listener.stop()
    return 0


def cmd_smtp(settings: Settings, args: argparse.Namespace) -> int:
    from heard.channels.email.smtp_server import serve_forever

    serve_forever(_db(settings), settings, host=args.host, port=args.port)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from heard.worker import run

    return run(settings, once=args.once)


def cmd_fetch(settings: Settings, args: argparse.Namespace) -> int:
    from heard.channels.email.fetch import run_fetchers

    return run_fetchers(settings, once=args.once, poll_seconds=args.poll)


def _warm_up_engines() -> None:
    from heard.empathy import coach, warm_up

    warm_up()
    coach.warm_up()


def cmd_create_agent(settings: Settings, args: argparse.Namespace) -> int:
    from heard.access import SYSTEM
    from heard.actions.agents import create_agent

    password = args.password
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("password (empty for none): ") or None
    db = _db(settings)
    try:
        agent_id = create_agent(db, actor=SYSTEM, email=args.email, name=args.name,
                                role=args.role, password=password, languages=args.languages)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"created {args.role} {args.email} (id {agent_id})")
    return 0


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from heard.access import SYSTEM
    from heard.actions.agents import create_token
    from heard.db import Agent

    db = _db(settings)
    with db.read() as session:
        agent_id = session.scalars(
            select(Agent.id).where(Agent.email == args.email.lower())
        ).first()
    if agent_id is None:
        print(f"error: no agent with email {args.email}", file=sys.stderr)
        return 2
    print(create_token(db, actor=SYSTEM, agent_id=agent_id, name=args.name))
    return 0


def cmd_rescore(settings: Settings, args: argparse.Namespace) -> int:
    from heard.access import SYSTEM
    from heard.actions.rescore import rescore

    def bar(done: int, total: int) -> None:
        width = 40
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} conversations")
        sys.stderr.flush()

    result = rescore(_db(settings), actor=SYSTEM, progress=None if args.quiet else bar)
    if not args.quiet:
        sys.stderr.write("\n")
    print(f"re-read {result.messages} messages in {result.conversations} conversations; "
          f"{result.changed} readings changed")
    return 0


EVALS = {"empathy": "heard.evaluation.empathy", "coach": "heard.evaluation.coach",
         "email": "heard.evaluation.email"}


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    module = importlib.import_module(EVALS[args.what])
    code: int = module.main(args.rest)
    return code


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="heard", description="Heard customer-support helpdesk.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the agent UI and API")
    s.add_argument("--demo", action="store_true", help="load demo data once and print the login")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    s.add_argument("--smtp-port", type=int, default=0,
                   help="also run the email SMTP listener on this port (0: off)")
    s.set_defaults(fn=cmd_serve)

    m = sub.add_parser("smtp", help="run the email SMTP listener (mail for our mailboxes)")
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--port", type=int, default=2525)
    m.set_defaults(fn=cmd_smtp)

    w = sub.add_parser("worker", help="send queued email, retry failures (the outbox), end snoozes")
    w.add_argument("--once", action="store_true", help="one pass, then exit")
    w.set_defaults(fn=cmd_worker)

    f = sub.add_parser("fetch", help="fetch mail for IMAP/POP3 mailboxes (IDLE where possible)")
    f.add_argument("--once", action="store_true", help="one pass, then exit")
    f.add_argument("--poll", type=float, default=60.0, help="seconds between polls")
    f.set_defaults(fn=cmd_fetch)

    sub.add_parser("migrate", help="create or upgrade the database schema").set_defaults(
        fn=cmd_migrate
    )
    sub.add_parser("demo", help="load the demo data set (once)").set_defaults(fn=cmd_demo)

    a = sub.add_parser("create-agent", help="create an agent")
    a.add_argument("email")
    a.add_argument("--name", required=True)
    a.add_argument("--role", choices=["admin", "lead", "agent"], default="agent")
    a.add_argument("--password")
    a.add_argument("--languages", nargs="*", default=["en"], choices=["en", "fr", "es"])
    a.set_defaults(fn=cmd_create_agent)

    t = sub.add_parser("create-token", help="print a new API token for an agent")
    t.add_argument("email")
    t.add_argument("--name", default="cli")
    t.set_defaults(fn=cmd_create_token)

    r = sub.add_parser("rescore", help="re-read every stored message after a model update")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(fn=cmd_rescore)

    e = sub.add_parser("eval", help="measure the empathy engine, reply coach or email parser")
    e.add_argument("what", choices=sorted(EVALS))
    e.add_argument("rest", nargs=argparse.REMAINDER)
    e.set_defaults(fn=cmd_eval)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    code: int = args.fn(settings, args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
