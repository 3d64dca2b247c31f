"""Real time for the agent UI: server-sent events and who is viewing or typing.

Actions publish :class:`heard.events.Event` after commit. A :class:`Hub` per app hands them to
every open ``/ui/events`` stream of this process. With ``HEARD_REDIS_URL`` set, the hub also
forwards each local event to a Redis channel and relays the other processes' events, so an
agent connected to process A sees a reply sent through process B. Without Redis, events stay
in-process (one server process: the default).

Streams carry ids and kinds, never message text: the page fetches what changed through the
normal access-checked routes. Presence ("Lena is typing") is in memory, kept per process and
shared through the same events, so it also crosses processes with Redis. It expires on its
own (:data:`PRESENCE_TTL`) because a closed tab says nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from heard import events
from heard.access import Actor, NotFound, access_conversation
from heard.db import Database
from heard.events import Event
from heard.web.deps import api_actor, get_db

log = logging.getLogger(__name__)
CHANNEL = "heard:events"
PRESENCE_TTL = 30.0  # seconds; the page pings every 10 s while open
STREAM_SECONDS = 55.0  # a stream ends after this (EventSource reconnects in 2 s): proxies
# commonly cut idle streams at 60 s, and a server shutting down waits for open streams
Listener = tuple[asyncio.AbstractEventLoop, "asyncio.Queue[Event]"]


class Presence:
    """conversation id → agent id → (name, state, expires at monotonic time)."""

    def __init__(self) -> None:
        self._by_conversation: dict[int, dict[int, tuple[str, str, float]]] = {}
        self._lock = threading.Lock()

    def update(self, conversation_id: int, agent_id: int, name: str, state: str) -> None:
        with self._lock:
            agents = self._by_conversation.setdefault(conversation_id, {})
            if state == "left":
                agents.pop(agent_id, None)
            else:
                agents[agent_id] = (name, state, time.monotonic() + PRESENCE_TTL)

    def others(self, conversation_id: int, agent_id: int | None) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            agents = self._by_conversation.get(conversation_id, {})
            for aid in [a for a, (_, _, exp) in agents.items() if exp < now]:
                del agents[aid]
            return [{"agent_id": aid, "name": name, "state": state}
                    for aid, (name, state, _) in sorted(agents.items()) if aid != agent_id]


class Hub:
    def __init__(self, redis_url: str | None = None) -> None:
        self.origin = uuid.uuid4().hex
        self.presence = Presence()
        self._listeners: dict[int, Listener] = {}
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._redis: Any = None
        self._stop = threading.Event()
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
            # Publish every local event from now on: other processes may have listeners.
            self._unsubscribe = events.subscribe(self._local)
            threading.Thread(target=self._relay, name="heard-redis-relay", daemon=True).start()

    # -- local side -------------------------------------------------------------------
    def _local(self, event: Event) -> None:
        if self._redis is not None:
            payload = {"origin": self.origin, "kind": event.kind,
                       "conversation_id": event.conversation_id, "data": event.data}
            try:
                self._redis.publish(CHANNEL, json.dumps(payload, default=str))
            except Exception:  # Redis down: local agents still get the event
                log.warning("could not publish an event to Redis", exc_info=True)
        self.deliver(event)

    def deliver(self, event: Event) -> None:
        if event.kind == "presence" and event.conversation_id is not None:
            d = event.data
            self.presence.update(event.conversation_id, int(d["agent_id"]), str(d["name"]),
                                 str(d["state"]))
        with self._lock:
            targets = list(self._listeners.values())
        for loop, queue in targets:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(_offer, queue, event)

    def add(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Event]) -> int:
        with self._lock:
            key = id(queue)
            self._listeners[key] = (loop, queue)
            if self._unsubscribe is None:
                self._unsubscribe = events.subscribe(self._local)
        return key

    def remove(self, key: int) -> None:
        with self._lock:
            self._listeners.pop(key, None)
            if not self._listeners and self._redis is None and self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

    def publish_presence(self, conversation_id: int, actor: Actor, state: str) -> None:
        events.publish(Event("presence", conversation_id,
                             {"agent_id": actor.agent_id, "name": actor.name, "state": state}))
        if self._unsubscribe is None:  # nobody streams here: still remember it
            self.deliver(Event("presence", conversation_id,
                               {"agent_id": actor.agent_id, "name": actor.name,
                                "state": state}))

    # -- Redis side -------------------------------------------------------------------
    def _relay(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    raw = json.loads(message["data"])
                    if raw.get("origin") == self.origin:
                        continue
                    self.deliver(Event(str(raw["kind"]), raw.get("conversation_id"),
                                       dict(raw.get("data") or {})))
                pubsub.close()
            except Exception:  # reconnect after a Redis restart
                log.warning("Redis relay lost its connection; retrying", exc_info=True)
                self._stop.wait(2.0)

    def close(self) -> None:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
    with contextlib.suppress(asyncio.QueueFull):  # a stalled tab drops events, not memory
        queue.put_nowait(event)


def hub_of(request: Request) -> Hub:
    hub: Hub | None = getattr(request.app.state, "hub", None)
    if hub is None:
        hub = Hub(request.app.state.settings.redis_url)
        request.app.state.hub = hub
    return hub


router = APIRouter(include_in_schema=False)
ActorDep = Annotated[Actor, Depends(api_actor)]
DbDep = Annotated[Database, Depends(get_db)]


class _Visibility:
    """Which conversations an agent may hear about, cached briefly (one query per id)."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db, self.actor = db, actor
        self.cache: dict[int, tuple[bool, float]] = {}

    def check(self, conversation_id: int) -> bool:
        hit = self.cache.get(conversation_id)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        try:
            with self.db.read() as session:
                access_conversation(session, self.actor, conversation_id)
            ok = True
        except NotFound:
            ok = False
        self.cache[conversation_id] = (ok, time.monotonic() + 30)
        return ok


@router.get("/ui/events")
async def ui_events(
    request: Request, actor: ActorDep, db: DbDep, ttl: float = 0
) -> StreamingResponse:
    hub = hub_of(request)
    seconds = min(ttl, STREAM_SECONDS) if ttl > 0 else STREAM_SECONDS
    visible = _Visibility(db, actor)

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=500)
        key = hub.add(loop, queue)
        try:
            yield "retry: 2000\n: connected\n\n"
            deadline = loop.time() + seconds
            while (remaining := deadline - loop.time()) > 0:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=min(15.0, remaining))
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
                cid = event.conversation_id
                if (cid is not None and event.kind != "presence" and not actor.at_least("lead")
                        and not await run_in_threadpool(visible.check, cid)):
                    continue
                data = {"conversation_id": cid, **event.data}
                yield f"event: {event.kind}\ndata: {json.dumps(data, default=str)}\n\n"
        finally:
            hub.remove(key)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


class PresenceIn(BaseModel):
    conversation_id: int
    state: str = Field(pattern="^(viewing|typing|left)$")


@router.post("/ui/presence")
def ui_presence(body: PresenceIn, request: Request, actor: ActorDep, db: DbDep) -> dict[str, Any]:
    with db.read() as session:
        access_conversation(session, actor, body.conversation_id)
    hub = hub_of(request)
    if actor.agent_id is not None:
        hub.publish_presence(body.conversation_id, actor, body.state)
    return {"others": hub.presence.others(body.conversation_id, actor.agent_id)}
