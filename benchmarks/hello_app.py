"""The baseline for ``bench_api_inbound.py``: a hello-world on the same server stack.

A FastAPI POST route that validates a body shaped like Heard's inbound message with
pydantic and returns a constant, served by the same uvicorn settings as Heard:
``uvicorn benchmarks.hello_app:app``.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI()


class CustomerIn(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class InboundIn(BaseModel):
    channel: str
    customer: CustomerIn
    subject: str | None = Field(default=None, max_length=500)
    text: str = Field(min_length=1, max_length=200_000)
    external_id: str | None = Field(default=None, max_length=255)
    thread_key: str | None = Field(default=None, max_length=255)


class InboundOut(BaseModel):
    conversation_id: int
    message_id: int
    created: bool


@app.post("/api/v1/messages", status_code=201, response_model=InboundOut)
def receive(body: InboundIn) -> InboundOut:
    return InboundOut(conversation_id=1, message_id=1, created=True)


@app.get("/api/v1/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
