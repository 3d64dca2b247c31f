"""Raw RFC 5322 bytes -> :class:`InboundEmail`, with no I/O.

The parser is lenient: whatever real mail clients and spammers produce, it returns what it
could read and lists what was odd in ``defects``. The one exception is bytes that are not an
email at all (nothing, or no header field): :class:`UnparseableEmail` tells the caller to
quarantine the raw bytes, so a message is never silently dropped.

Nothing is lost: every text part ends up in ``bodies`` (decoded, unsanitised, in order) and
``text``/``html``, every other part in ``attachments``; ``message/rfc822`` parts are kept as
attachments *and* parsed into ``forwarded`` so their text is reachable; a winmail.dat (TNEF)
is replaced by the files inside it.
"""

from __future__ import annotations

import codecs
import email
import email.message
import email.policy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import Header, decode_header
from email.utils import getaddresses, parsedate_to_datetime

import nh3

from heard.channels.email.quotes import html_to_text, visible_text

__all__ = [
    "MAX_NESTING",
    "Attachment",
    "BodyPart",
    "DeliveryStatus",
    "InboundEmail",
    "UnparseableEmail",
    "decode_bytes",
    "parse_message",
]

# message/rfc822 inside message/rfc822 ... is parsed this many levels deep; deeper messages
# stay reachable as the raw bytes of the innermost attachment. Stops a hostile "endless
# enclosure" from costing unbounded time.
MAX_NESTING = 3

# Tags kept when we show a customer's HTML to an agent. No style, script, forms or iframes:
# the agent's browser must never run or fetch anything the sender chose.
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "blockquote": {"type"},
}
# cid: keeps inline images resolvable against our attachments; no http(s) images would
# be a privacy choice (tracking pixels), but agents expect to see them, so they stay.
_URL_SCHEMES = {"http", "https", "mailto", "cid"}

# Charsets that mail clients write but Python's codec registry does not know by that name.
_CHARSET_ALIASES = {
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "x-user-defined": "windows-1252",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "gb2312": "gb18030",  # a superset: mislabelled GBK mail decodes instead of failing
    "gbk": "gb18030",
    "x-mac-roman": "mac-roman",
    "utf8": "utf-8",
    "cp-850": "cp850",
    "ansi_x3.4-1968": "ascii",
}



class _Verbatim(email.policy.Compat32):
    """Write header values exactly as parsed (compat32 keeps the sender's folding).

    Regenerating an enclosed message/rfc822 part is then a concatenation instead of
    re-encoding every header through ``email.header.Header`` (which was most of the cost),
    and the bytes stay closer to what the sender wrote.
    """

    def _fold(self, name: str, value: object, sanitize: bool) -> str:
        if isinstance(value, str):
            return f"{name}: {value}{self.linesep}"
        folded: str = super()._fold(name, value, sanitize)  # type: ignore[misc]
        return folded


_NO_REFOLD = _Verbatim(max_line_length=0)
_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_FOLD_RE = re.compile(r"\r?\n[ \t]*")
# One plain address, bare or with an unquoted display name: parsed without getaddresses.
_ATOMS = r'[^<>\s",;:@()\[\]\\]+'
_SIMPLE_ADDRESS = re.compile(
    rf'\s*(?:([^<>",;:@()\[\]\\]*?)\s*<({_ATOMS}@{_ATOMS})>|({_ATOMS}@{_ATOMS}))\s*\Z'
)


class UnparseableEmail(ValueError):
    """The bytes are not an email; the caller must quarantine them with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    content: bytes
    content_id: str | None = None  # without angle brackets, as used in ``cid:`` URLs
    inline: bool = False
    # "mime": a MIME part; "tnef": unpacked from a winmail.dat; "rfc822": a whole message
    source: str = "mime"


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One decoded text body part as the sender wrote it (before sanitising)."""

    content_type: str
    charset: str
    text: str


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """One per-recipient block of a ``message/delivery-status`` report (RFC 3464)."""

    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. "5.1.1"
    diagnostic: str


@dataclass(slots=True)
class InboundEmail:
    message_id: str | None  # without angle brackets
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_address: str | None  # lower-cased addr-spec
    from_name: str
    to: list[str]
    cc: list[str]
    reply_to: list[str]
    date: datetime | None  # timezone-aware UTC
    text: str  # plain text: the text parts, or the HTML converted when there is none
    html: str | None  # sanitised with an allow-list
    visible_text: str  # ``text`` without quoted history and signatures
    attachments: list[Attachment]
    defects: list[str]
    bodies: list[BodyPart] = field(default_factory=list)
    forwarded: list[InboundEmail] = field(default_factory=list)
    # Loop and bounce facts (see heard.channels.email.loops).
    auto_submitted: str | None = None  # the header's value, e.g. "auto-replied"
    precedence: str | None = None
    list_id: str | None = None
    list_unsubscribe: str | None = None
    return_path: str | None = None  # "" for the null reverse-path "<>"
    auto_reply_headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    report_type: str | None = None  # multipart/report; report-type=...
    delivery_status: list[DeliveryStatus] = field(default_factory=list)
    original_message_id: str | None = None  # the message a report or bounce is about
    # X-Spam-Score / X-Spam-Status / X-Spam-Flag as an upstream filter wrote them
    # (lower-cased names), for the spam hook (heard.channels.email.spam).
    spam_headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_auto_submitted(self) -> bool:
        return self.auto_submitted is not None and self.auto_submitted.lower() != "no"

    @property
    def is_list(self) -> bool:
        return bool(self.list_id or self.list_unsubscribe) or (
            self.precedence is not None and self.precedence.lower() == "list"
        )

    @property
    def is_bounce(self) -> bool:
        return self.report_type == "delivery-status" or bool(self.delivery_status)


# Headers some auto-responders set instead of (or as well as) Auto-Submitted.
_AUTO_REPLY_HEADERS = (
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Response-Suppress",
    "X-Autogenerated",
    "X-Loop",
    "X-Mailer-Daemon",
    "X-Failed-Recipients",
    "Feedback-ID",
)


_SPAM_HEADERS = ("X-Spam-Score", "X-Spam-Status", "X-Spam-Flag")


def parse_message(raw: bytes) -> InboundEmail:
    """Parse raw message bytes; raise :class:`UnparseableEmail` only for non-email input."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise UnparseableEmail(f"expected bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if not data.strip():
        raise UnparseableEmail("empty message")
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # the stdlib parser is lenient; this is a last resort
        raise UnparseableEmail(f"MIME parser failed: {type(exc).__name__}: {exc}") from exc
    if not msg.keys():
        raise UnparseableEmail("no header fields: not an RFC 5322 message")
    try:
        return _parse(msg, depth=0)
    except RecursionError as exc:
        raise UnparseableEmail("MIME structure nested too deeply") from exc
    except UnparseableEmail:
        raise
    except Exception as exc:  # never crash the caller: quarantine with the reason
        raise UnparseableEmail(f"{type(exc).__name__}: {exc}") from exc


def _parse(msg: email.message.Message, *, depth: int) -> InboundEmail:
    defects: list[str] = []
    collector = _Collector(defects, depth)
    collector.walk(msg, in_alternative=False)

    text = "\n\n".join(t for t in collector.plain if t.strip())
    html_raw = "\n".join(collector.html)
    html: str | None = None
    from_html = False
    if html_raw.strip():
        html = nh3.clean(
            html_raw,
            tags=_ALLOWED_TAGS,
            attributes=_ALLOWED_ATTRIBUTES,
            url_schemes=_URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
        )
        if not text.strip():
            text = html_to_text(html_raw)
            from_html = True
    if not text.strip() and collector.tnef_text:
        text = collector.tnef_text

    # The header names once: most lookups are for headers a message does not have, and
    # each Message.get / "in" scans every field.
    present = {name.lower() for name in msg}

    def header(name: str) -> str:
        return _header(msg, name, defects) if name.lower() in present else ""

    def addresses(name: str) -> list[str]:
        return _addresses(msg, name, defects) if name.lower() in present else []

    from_name, from_address = _first_address(msg, "From", defects)
    content_type = _content_type(msg)
    report_type = None
    if content_type == "multipart/report":
        report_type = (msg.get_param("report-type") or "").__str__().lower() or None

    result = InboundEmail(
        message_id=_msgid(header("Message-ID")),
        in_reply_to=_msgid(header("In-Reply-To")),
        references=_msgids(header("References")),
        subject=header("Subject"),
        from_address=from_address,
        from_name=from_name,
        to=addresses("To"),
        cc=addresses("Cc"),
        reply_to=addresses("Reply-To"),
        date=_date(msg, defects) if "date" in present else None,
        text=text,
        html=html,
        visible_text=(visible_text("", html=html_raw) if from_html else visible_text(text))
        if text
        else "",
        attachments=collector.attachments,
        defects=defects,
        bodies=collector.bodies,
        forwarded=collector.forwarded,
        auto_submitted=header("Auto-Submitted") or None,
        precedence=header("Precedence").strip().lower() or None,
        list_id=header("List-Id") or None,
        list_unsubscribe=header("List-Unsubscribe") or None,
        return_path=_return_path(msg) if "return-path" in present else None,
        auto_reply_headers={
            name: header(name) for name in _AUTO_REPLY_HEADERS if name.lower() in present
        },
        content_type=content_type,
        report_type=report_type,
        delivery_status=collector.delivery_status,
        original_message_id=collector.original_message_id,
        spam_headers={
            name.lower(): header(name) for name in _SPAM_HEADERS if name.lower() in present
        },
    )
    for defect in msg.defects:
        defects.insert(0, type(defect).__name__)
    return result


class _Collector:
    """Walks a MIME tree once, sorting leaves into bodies and attachments."""

    def __init__(self, defects: list[str], depth: int) -> None:
        self.defects = defects
        self.depth = depth
        self.plain: list[str] = []
        self.html: list[str] = []
        self.bodies: list[BodyPart] = []
        self.attachments: list[Attachment] = []
        self.forwarded: list[InboundEmail] = []
        self.delivery_status: list[DeliveryStatus] = []
        self.original_message_id: str | None = None
        self.tnef_text = ""

    def walk(self, part: email.message.Message, *, in_alternative: bool) -> None:
        ctype = _content_type(part)
        maintype = ctype.partition("/")[0]
        if ctype == "message/rfc822" or (
            maintype == "message"
            and isinstance(part.get_payload(), list)
            and ctype not in ("message/delivery-status", "message/disposition-notification")
        ):
            self._message(part)
            return
        if ctype == "message/delivery-status":
            self._delivery_status(part)
            return
        if part.is_multipart():
            payload = part.get_payload()
            children = [
                c
                for c in (payload if isinstance(payload, list) else [])
                if isinstance(c, email.message.Message)
            ]
            for defect in part.defects:
                self.defects.append(type(defect).__name__)
            if ctype == "multipart/alternative":
                self._alternative(children)
            else:
                for child in children:
                    if isinstance(child, email.message.Message):
                        self.walk(child, in_alternative=in_alternative)
            return
        self._leaf(part, as_body=True)

    def _alternative(self, children: list[email.message.Message]) -> None:
        """Keep the last plain and the last HTML version (RFC 2046: best is last)."""
        plain = [c for c in children if _is_body(c, "text/plain")]
        html = [c for c in children if _is_body(c, "text/html")]
        chosen = {id(plain[-1])} if plain else set()
        if html:
            chosen.add(id(html[-1]))
        for child in children:
            if id(child) in chosen:
                self._leaf(child, as_body=True)
            elif child.is_multipart() and not (plain or html):
                self.walk(child, in_alternative=True)
            elif child.is_multipart():
                # e.g. multipart/related holding the HTML and its images
                self.walk(child, in_alternative=True)
            elif _content_type(child) in ("text/plain", "text/html"):
                # a second rendering of the same text: keep it reachable but not shown twice
                self._leaf(child, as_body=False, reachable_only=True)
            else:
                self._leaf(child, as_body=False)  # e.g. text/calendar beside the text

    def _leaf(
        self, part: email.message.Message, *, as_body: bool, reachable_only: bool = False
    ) -> None:
        ctype = _content_type(part)
        filename = _filename(part, self.defects)
        disposition = (part.get_content_disposition() or "").lower()
        is_tnef = ctype in ("application/ms-tnef", "application/vnd.ms-tnef") or (
            (filename or "").lower() == "winmail.dat"
        )
        content = _payload_bytes(part, self.defects)
        if is_tnef and self._tnef(content):
            return
        if (
            (as_body or reachable_only)
            and ctype in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
        ):
            charset = _charset(part)
            text = decode_bytes(content, charset, self.defects)
            self.bodies.append(BodyPart(ctype, charset, text))
            if reachable_only:
                return
            (self.plain if ctype == "text/plain" else self.html).append(text)
            return
        cid = part.get("Content-ID")
        content_id = _msgid(str(cid)) if cid else None
        if ctype == "text/rfc822-headers" and self.original_message_id is None:
            inner = email.message_from_bytes(content, policy=email.policy.compat32)
            self.original_message_id = _msgid(_header(inner, "Message-ID", []))
        self.attachments.append(
            Attachment(
                filename=filename or _default_name(ctype, len(self.attachments) + 1),
                content_type=ctype,
                size=len(content),
                content=content,
                content_id=content_id,
                inline=disposition == "inline" or (disposition == "" and content_id is not None),
            )
        )

    def _message(self, part: email.message.Message) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, email.message.Message):
            self._leaf(part, as_body=False)
            return
        try:
            content = inner.as_bytes(policy=_NO_REFOLD)
        except Exception:  # broken inner headers can defeat the generator
            content = inner.as_string(policy=email.policy.compat32).encode(
                "utf-8", "surrogateescape"
            )
            self.defects.append("RegeneratedEnclosedMessage")
        filename = _filename(part, self.defects)
        subject = _header(inner, "Subject", [])
        self.attachments.append(
            Attachment(
                filename=filename or _safe_filename(subject or "message") + ".eml",
                content_type="message/rfc822",
                size=len(content),
                content=content,
                inline=False,
                source="rfc822",
            )
        )
        if self.original_message_id is None:
            self.original_message_id = _msgid(_header(inner, "Message-ID", []))
        if self.depth + 1 > MAX_NESTING:
            self.defects.append("NestingTooDeep")
            return
        nested = _parse(inner, depth=self.depth + 1)
        self.forwarded.append(nested)

    def _delivery_status(self, part: email.message.Message) -> None:
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        content = _payload_bytes(part, self.defects)
        self.attachments.append(
            Attachment("delivery-status.txt", "message/delivery-status", len(content), content)
        )
        for block in blocks[1:] if len(blocks) > 1 else blocks:
            if not isinstance(block, email.message.Message):
                continue
            recipient = _header(block, "Final-Recipient", []) or _header(
                block, "Original-Recipient", []
            )
            if not recipient and not block.get("Status"):
                continue
            self.delivery_status.append(
                DeliveryStatus(
                    recipient=recipient.split(";", 1)[-1].strip(),
                    action=_header(block, "Action", []).strip().lower(),
                    status=_header(block, "Status", []).strip().split(" ", 1)[0],
                    diagnostic=_header(block, "Diagnostic-Code", []).strip(),
                )
            )

    def _tnef(self, content: bytes) -> bool:
        """Replace a winmail.dat with its files; False (keep it as is) if it won't decode."""
        try:
            from tnefparse.tnef import TNEF  # imported here: only Outlook mail pays for it

            tnef = TNEF(content, do_checksum=False)
            files = [
                (a.long_filename() or a.name or "", a.data)
                for a in tnef.attachments
                if isinstance(a.data, bytes)
            ]
            body = tnef.body if isinstance(tnef.body, str) else ""
            if not body and isinstance(tnef.body, bytes):
                body = decode_bytes(tnef.body, "windows-1252", self.defects)
            html = getattr(tnef, "htmlbody", None)
        except Exception as exc:
            self.defects.append(f"TnefUndecodable: {type(exc).__name__}")
            return False
        if not files:
            # Body-only TNEF (RTF, properties): keep the winmail.dat itself so nothing is lost.
            self.attachments.append(
                Attachment("winmail.dat", "application/ms-tnef", len(content), content)
            )
        for index, (name, data) in enumerate(files, start=1):
            ctype = _guess_type(name)
            self.attachments.append(
                Attachment(
                    filename=name.strip("\x00") or f"attachment-{index}",
                    content_type=ctype,
                    size=len(data),
                    content=data,
                    source="tnef",
                )
            )
        if body.strip():
            self.tnef_text = body
            self.bodies.append(BodyPart("text/plain", "tnef", body))
        elif isinstance(html, bytes | str) and html:
            html_text = html if isinstance(html, str) else decode_bytes(html, "utf-8", [])
            self.bodies.append(BodyPart("text/html", "tnef", html_text))
            self.tnef_text = html_to_text(html_text)
        return True


def decode_bytes(data: bytes, charset: str, defects: list[str]) -> str:
    """Decode with the declared charset, falling back to UTF-8 then Windows-1252."""
    name = _CHARSET_ALIASES.get(charset.lower(), charset.lower()) if charset else "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        defects.append(f"UnknownCharset: {charset}")
        name = "utf-8"
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        pass
    except Exception:  # some codecs raise other errors on garbage
        defects.append(f"CharsetDecodeError: {charset}")
    if name != "utf-8":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            defects.append(f"MislabelledCharset: {charset} (was UTF-8)")
            return text
    elif charset.lower() in ("", "utf-8", "utf8", "unknown-8bit", "x-unknown"):
        # undeclared 8-bit text that is not UTF-8 is, in practice, Windows-1252
        defects.append(f"MislabelledCharset: {charset or 'none'} (was Windows-1252)")
        return data.decode("windows-1252", errors="replace")
    defects.append(f"UndecodableBytes: {charset}")
    try:
        return data.decode(name, errors="replace")
    except Exception:
        return data.decode("windows-1252", errors="replace")


def _content_type(part: email.message.Message) -> str:
    """``get_content_type()``, computed once per part (it re-reads the header each call)."""
    cache = vars(part)
    found = cache.get("_heard_content_type")
    if found is None:
        found = cache["_heard_content_type"] = part.get_content_type()
    return str(found)


def _is_body(part: email.message.Message, ctype: str) -> bool:
    return (
        _content_type(part) == ctype
        and (part.get_content_disposition() or "") != "attachment"
        and not part.get_filename()
    )


def _charset(part: email.message.Message) -> str:
    charset = part.get_content_charset()
    return str(charset) if charset else "us-ascii"


def _payload_bytes(part: email.message.Message, defects: list[str]) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        for defect in part.defects:
            name = type(defect).__name__
            if name not in defects:
                defects.append(name)
        return payload
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, list):  # a message/* part treated as a leaf
        return b"\n".join(
            m.as_bytes(policy=email.policy.compat32)
            for m in raw
            if isinstance(m, email.message.Message)
        )
    return b""


def _header(msg: email.message.Message, name: str, defects: list[str]) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    return _decode_header_value(value, defects, name)


# Raw 8-bit bytes in a header surface as lone surrogates; one regex scan finds them faster
# than a per-character generator (it runs for every header of every message).
_SURROGATES = re.compile("[\udc80-\udcff]")


def _decode_header_value(value: object, defects: list[str], name: str) -> str:
    if isinstance(value, Header):
        source: str | Header = value
    else:
        text = str(value)
        if _SURROGATES.search(text):
            # raw 8-bit bytes in a header (RFC 6532 or just sloppy): assume UTF-8
            text = decode_bytes(text.encode("ascii", "surrogateescape"), "utf-8", [])
        if "=?" not in text:
            return _FOLD_RE.sub(" ", text).strip()
        source = _FOLD_RE.sub(" ", text)
    try:
        chunks = decode_header(source)
    except (HeaderParseError, ValueError, AssertionError):
        defects.append(f"InvalidEncodedWord: {name}")
        return _FOLD_RE.sub(" ", str(value)).strip()
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset or "us-ascii", defects))
        else:
            out.append(chunk)
    return _FOLD_RE.sub(" ", "".join(out)).strip()


def _addresses(msg: email.message.Message, name: str, defects: list[str]) -> list[str]:
    return [address for _, address in _address_pairs(msg, name, defects)]


def _address_pairs(
    msg: email.message.Message, name: str, defects: list[str]
) -> list[tuple[str, str]]:
    values = msg.get_all(name) or []
    pairs: list[tuple[str, str]] = []
    raw_values: list[str] = []
    for value in values:
        if isinstance(value, Header):  # compat32 wraps raw 8-bit headers (RFC 6532)
            text = "".join(
                decode_bytes(chunk, charset or "utf-8", []) if isinstance(chunk, bytes) else chunk
                for chunk, charset in decode_header(value)
            )
        else:
            text = str(value)
        if _SURROGATES.search(text):
            text = decode_bytes(text.encode("ascii", "surrogateescape"), "utf-8", [])
        raw_values.append(_FOLD_RE.sub(" ", text))
    simple = [_SIMPLE_ADDRESS.match(v) for v in raw_values]
    try:
        if all(simple):  # the common "Name <a@b>" / "a@b": no need for the full grammar
            parsed = [
                (" ".join((m.group(1) or "").split()), m.group(2) or m.group(3))
                for m in simple if m is not None
            ]
        else:
            parsed = getaddresses(raw_values)
    except Exception:
        defects.append(f"InvalidAddressHeader: {name}")
        return []
    for display, address in parsed:
        address = address.strip().strip("<>").lower()
        if not address or "@" not in address:
            if address or display:
                defects.append(f"InvalidAddress: {name}")
            continue
        pairs.append((_decode_header_value(display, defects, name) if display else "", address))
    return pairs


def _first_address(
    msg: email.message.Message, name: str, defects: list[str]
) -> tuple[str, str | None]:
    pairs = _address_pairs(msg, name, defects)
    if not pairs:
        if name in msg:
            defects.append(f"NoUsableAddress: {name}")
        return _header(msg, name, defects), None
    return pairs[0]


def _return_path(msg: email.message.Message) -> str | None:
    value = msg.get("Return-Path")
    if value is None:
        return None
    text = str(value).strip()
    found = _MSGID_RE.search(text)
    if text in ("<>", ""):
        return ""
    return (found.group(1) if found else text).lower()


def _msgid(value: str) -> str | None:
    found = _MSGID_RE.search(value)
    if found:
        return found.group(1)
    value = value.strip()
    return value or None


def _msgids(value: str) -> list[str]:
    found = _MSGID_RE.findall(value)
    if found:
        return list(dict.fromkeys(found))
    return [token for token in value.split() if "@" in token]


def _date(msg: email.message.Message, defects: list[str]) -> datetime | None:
    value = msg.get("Date")
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("InvalidDate")
        return None
    if parsed.tzinfo is None:  # "-0000": the sender didn't know its zone; treat as UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        defects.append("InvalidDate")
        return None


def _filename(part: email.message.Message, defects: list[str]) -> str | None:
    """RFC 2231 (``filename*=``) and RFC 2047 (``=?utf-8?...?=``) filenames, decoded."""
    try:
        name = part.get_filename()
    except Exception:
        defects.append("InvalidFilenameParameter")
        name = None
    if name is None:
        try:
            name = part.get_param("name")  # type: ignore[assignment]
        except Exception:
            name = None
        if isinstance(name, tuple):  # an RFC 2231 value on "name"
            name = email.utils.collapse_rfc2231_value(name)
    if not name:
        return None
    text = str(name)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode_bytes(text.encode("ascii", "surrogateescape"), "utf-8", [])
    if "=?" in text:
        text = _decode_header_value(text, defects, "filename")
    return _safe_filename(text) or None


def _safe_filename(name: str) -> str:
    """No directories, control characters or hidden-file tricks in stored names."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip().lstrip(".")
    return name[:255]


def _default_name(ctype: str, index: int) -> str:
    extension = {
        "text/plain": ".txt",
        "text/html": ".html",
        "text/calendar": ".ics",
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/gif": ".gif",
        "application/pdf": ".pdf",
        "message/delivery-status": ".txt",
        "message/disposition-notification": ".txt",
        "text/rfc822-headers": ".txt",
    }.get(ctype, ".bin")
    return f"part-{index}{extension}"


# A fixed table rather than ``mimetypes``, which reads /etc/mime.types: parsing does no I/O.
_EXTENSION_TYPES = {
    "txt": "text/plain", "htm": "text/html", "html": "text/html", "ics": "text/calendar",
    "csv": "text/csv", "rtf": "application/rtf", "pdf": "application/pdf",
    "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint", "zip": "application/zip",
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff", "mp3": "audio/mpeg",
    "wav": "audio/wav", "eml": "message/rfc822", "msg": "application/vnd.ms-outlook",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}  # fmt: skip


def _guess_type(filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _EXTENSION_TYPES.get(extension, "application/octet-stream")
