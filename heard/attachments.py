"""Finding an attachment's bytes again, for an actor, and serving them safely.

Where the bytes live depends on where the file came from (see ``heard/db/attachment.py``):

- a file an agent attached to a reply: an ``attachment`` row, named by
  ``Message.attachments[i]["attachment_id"]``;
- a file inside an inbound email: the raw email (``channel_meta["raw_email_id"]``), parsed
  again on demand by the same parser that listed it. ``Message.attachments[i]`` is the
  parser's ``attachments[i]``; its ``sha256`` confirms we found the same file (and finds it
  by content should a parser change ever reorder the list);
- anything else (an API integration that sent only a name and a URL): no bytes here.

The conversation is loaded through :func:`heard.access.access_conversation`, so an actor
who can't see it gets the same :class:`NotFound` as for a missing one.

Serving: only PNG, JPEG, GIF and WebP whose *bytes* are what they claim are shown inline
(with the type read from the bytes, never the sender's); everything else — SVG and HTML
included, which can carry script — is a download (``Content-Disposition: attachment``),
always with ``X-Content-Type-Options: nosniff`` and a CSP that allows nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from heard.access import Actor, NotFound, access_conversation, is_id
from heard.db import Attachment, Message, RawEmail

__all__ = [
    "INLINE_IMAGE_LIMIT",
    "MAX_INDEX",
    "AttachmentFile",
    "content_disposition",
    "has_content",
    "image_type",
    "label",
    "load_attachment",
    "previewable",
    "response_headers",
]

# Images larger than this are listed with a download link, not rendered in the timeline:
# a phone photo of 10 MB in a thumbnail costs the agent's bandwidth for nothing.
INLINE_IMAGE_LIMIT = 3 * 1024 * 1024
MAX_INDEX = 999  # more attachments than this on one message is not something we list
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
# Declared types kept on a download (the browser and the OS know what to open them with);
# anything else is sent as application/octet-stream.
DOWNLOAD_TYPES = frozenset({"application/pdf", "text/plain", "text/csv", "application/zip"})
# Allows nothing: an attachment opened directly can run no script, load nothing, and is
# sandboxed (an origin of its own) should a browser ever render it as a document.
CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@dataclass(frozen=True)
class AttachmentFile:
    filename: str
    content_type: str  # as declared by the sender (see :func:`response_headers` for use)
    content: bytes


def has_content(message: Message, meta: dict[str, Any]) -> bool:
    """Whether the bytes of ``meta`` (one of ``message.attachments``) are stored here."""
    if meta.get("attachment_id") is not None:
        return True
    return message.channel == "email" and bool((message.channel_meta or {}).get("raw_email_id"))


def label(meta: dict[str, Any]) -> str:
    """A short English label for the kind of file (a msgid: the UI translates it)."""
    ctype = str(meta.get("content_type") or "").lower()
    name = str(meta.get("filename") or "").lower()
    if ctype in INLINE_TYPES:
        return "Image"
    if ctype == "application/pdf" or name.endswith(".pdf"):
        return "PDF"
    if ctype.startswith("text/") and ctype not in ("text/html", "text/xml"):
        return "Text"
    return "File"


def previewable(message: Message, meta: dict[str, Any]) -> bool:
    """An image the timeline shows as a thumbnail (small enough, bytes stored here)."""
    ctype = str(meta.get("content_type") or "").lower()
    size = int(meta.get("size") or 0)
    return ctype in INLINE_TYPES and 0 < size <= INLINE_IMAGE_LIMIT and has_content(message,
                                                                                    meta)


def load_attachment(
    session: Session, actor: Actor, conversation_id: int, message_id: int, index: int
) -> AttachmentFile:
    """The bytes of attachment ``index`` of message ``message_id`` in the conversation.

    Raises :class:`NotFound` (the conversation is not the actor's, the message is not in
    it, there is no such attachment, or its bytes are not stored here).
    """
    conversation = access_conversation(session, actor, conversation_id)
    if not is_id(message_id):
        raise NotFound("message")
    row = session.execute(
        select(Message.id, Message.channel, Message.attachments, Message.channel_meta).where(
            Message.id == message_id, Message.conversation_id == conversation.id
        )
    ).first()
    if row is None:
        raise NotFound("message")
    metas = row.attachments or []
    if not 0 <= index < min(len(metas), MAX_INDEX + 1):
        raise NotFound("attachment")
    meta = metas[index]
    if not isinstance(meta, dict):
        raise NotFound("attachment")
    if meta.get("attachment_id") is not None:
        content = session.scalar(
            select(Attachment.content).where(
                Attachment.id == int(meta["attachment_id"]), Attachment.message_id == row.id
            )
        )
        if content is None:
            raise NotFound("attachment content")
        return _file(meta, bytes(content))
    raw_id = (row.channel_meta or {}).get("raw_email_id")
    if row.channel != "email" or not isinstance(raw_id, int) or not is_id(raw_id):
        raise NotFound("attachment content")  # the channel sent only its name (and a URL)
    raw = session.scalar(select(RawEmail.raw).where(RawEmail.id == raw_id))
    if raw is None:
        raise NotFound("attachment content")  # the raw email was deleted
    return _file(meta, _from_raw(bytes(raw), index, meta.get("sha256")))


def _from_raw(raw: bytes, index: int, sha256: object) -> bytes:
    # Imported here: the email parser is not needed to start the app (docs/benchmarks.md).
    from heard.channels.email.parse import UnparseableEmail, parse_message

    try:
        found = parse_message(raw).attachments
    except UnparseableEmail as exc:
        raise NotFound("attachment content") from exc  # the raw email no longer parses
    candidates = ([found[index]] if index < len(found) else []) + found
    for candidate in candidates:
        if not sha256 or hashlib.sha256(candidate.content).hexdigest() == sha256:
            return candidate.content
    raise NotFound("attachment content")  # not in the raw email any more


def _file(meta: dict[str, Any], content: bytes) -> AttachmentFile:
    return AttachmentFile(
        filename=str(meta.get("filename") or "attachment"),
        content_type=str(meta.get("content_type") or "application/octet-stream").lower(),
        content=content,
    )


def image_type(content: bytes) -> str | None:
    """The image type the bytes really are (PNG, JPEG, GIF, WebP), or None."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def content_disposition(kind: str, filename: str) -> str:
    """``inline`` or ``attachment`` with the name for every browser (RFC 6266, 5987): an
    ASCII ``filename`` fallback and the exact UTF-8 name in ``filename*``."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "attachment"
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f")[:200] or "attachment"
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\%;' else "_" for ch in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def response_headers(file: AttachmentFile) -> tuple[str, dict[str, str]]:
    """(Content-Type, other headers) for serving ``file`` to a browser."""
    sniffed = image_type(file.content)
    inline = sniffed is not None and file.content_type in INLINE_TYPES
    if inline:
        assert sniffed is not None
        media = sniffed
    elif file.content_type in DOWNLOAD_TYPES:
        media = file.content_type
    else:
        media = "application/octet-stream"
    return media, {
        "Content-Disposition": content_disposition("inline" if inline else "attachment",
                                                   file.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "private, max-age=300",
        "Referrer-Policy": "no-referrer",
    }
