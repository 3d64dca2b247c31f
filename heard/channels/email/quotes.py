"""Visible reply extraction: the part of an email the customer just wrote.

Agents read the new text; the quoted history and the signature stay in ``InboundEmail.text``
(nothing is deleted, only hidden). A wrong cut costs more than a long message: hiding a
customer's actual words makes an agent answer the wrong question, so each rule below only
fires on shapes that real clients produce, and ambiguous text is kept.

Rules, in order:

1. A *quote header* ends the reply: "On … wrote:" and its translations, Outlook's
   "-----Original Message-----" and "From: … Sent: …" blocks, "---- X wrote ----".
   When the header is followed by ``>`` lines *and then more unquoted text*, the sender
   answered inline, so the header and its quote stay visible.
2. A trailing block of ``>`` lines is quoted history.
3. A trailing signature is dropped: the "-- " delimiter, a mobile footer ("Sent from my
   iPhone", "Envoyé de mon iPhone", "Enviado desde mi iPhone", "Von meinem iPhone
   gesendet"), or a one-word "-Name" sign-off right at the end.

HTML input goes through :func:`html_to_text`, which writes ``<blockquote>`` as ``>`` lines
and turns the containers clients put around quoted history (Gmail's ``gmail_quote``,
Thunderbird's ``moz-cite-prefix``, Outlook's reply-header border ...) into a cut marker.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["QUOTE_MARKER", "html_to_text", "visible_text"]

# A line html_to_text writes where a client marked the start of quoted history.
QUOTE_MARKER = "\x00quote\x00"

_WROTE = (
    r"wrote|writes|a écrit|escribió|escribio|schrieb|ha scritto|scrisse|schreef|escreveu"
    r"|napisał|napisal|skrev|kirjoitti|написал|написала|написал\(а\)|đã viết|yazdı|írta"
    r"|het volgende geschreven|geschreven|napsal|schreibt|kirjutas|rakstīja|rašė|пише"
    r"|έγραψε|כתב|كتب|写道|작성"
)
# "On <date>, <name> wrote:" and the same sentence in other languages. The header may wrap
# over up to three lines, so it is matched on the joined lines.
_ON_WROTE_RE = re.compile(
    r"^\s*(?:>\s*)?(?:On|Le|El|Am|Il|Op|Em|W dniu|Dnia|Den|Pe|Vào|Dana|Dne|Στις|ב-|"
    r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|[A-Za-z]{2,9},? \d|\w{2,3},\s)"
    r"[^\n]{0,300}?(?:" + _WROTE + r")[^\n]{0,80}?:?\s*$",
    re.IGNORECASE,
)
_ENDS_WROTE_RE = re.compile(r"(?:" + _WROTE + r")\s*:\s*$", re.IGNORECASE)
# "…, Name <a@b.c> wrote:" with the verb before the name (Scandinavian, Polish …).
_WROTE_THEN_COLON_RE = re.compile(r"\b(?:" + _WROTE + r")\b[^\n]{0,120}:\s*$", re.IGNORECASE)
_ENDS_WROTE_NO_COLON_RE = re.compile(r"\b(?:" + _WROTE + r")\s*$", re.IGNORECASE)
# Russian/Ukrainian clients: "ср, 1 апр. 2020 г. в 10:00, Имя <a@b.c>:"
_NAME_EMAIL_COLON_RE = re.compile(r"^.{0,200}<\s*[^<>@\s]+@[^<>\s]+\s*>\s*:\s*$")
# "---- John Smith wrote ----" (Android) and "--- Original message ---" separators.
_SEPARATOR_RE = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:"
    r"original message|original e-?mail|forwarded message|reply message|"
    r"message d'origine|message original|message transféré|"
    r"ursprüngliche nachricht|original nachricht|antwort nachricht|weitergeleitete nachricht|"
    r"mensaje original|mensaje reenviado|messaggio originale|messaggio inoltrato|"
    r"oorspronkelijk bericht|origineel bericht|doorgestuurd bericht|"
    r"oprindelig (?:besked|meddelelse)|opprinnelig melding|ursprungligt meddelande|"
    r"vidarebefordrat meddelande|alkuperäinen viesti|oryginalna wiadomość|"
    r"mensagem original|исходное сообщение|пересылаемое сообщение|"
    r"[^\n]{1,80}\s(?:" + _WROTE + r")"
    r")\s*:?\s*[-_=*]*\s*$",
    re.IGNORECASE,
)
_UNDERSCORES_RE = re.compile(r"^\s*(?:_{10,}|-{10,}|={10,})\s*$")
_RULE_RE = re.compile(r"^\s*(?:_{3,}|-{3,}|={3,})\s*$")
_FOOTER_RULE_RE = re.compile(r"^\s*_{2,}\s*$")
# Outlook-style header block: a From line followed closely by Sent/Date/To/Subject lines.
_FROM_KEYS = r"from|de|von|da|van|fra|från|od|от|lähettäjä|feladó|expéditeur|remitente|absender"
_OTHER_KEYS = (
    r"sent|date|to|cc|subject|envoyé|date d'envoi|à|objet|gesendet|datum|an|betreff|"
    r"enviado|enviado el|fecha|para|asunto|inviato|data|a|oggetto|verzonden|aan|onderwerp|"
    r"sendt|til|emne|skickat|ämne|wysłano|do|temat|отправлено|кому|тема|lähetetty|"
    r"vastaanottaja|aihe|enviada|assunto"
)
_HEADER_FROM_RE = re.compile(r"^\s*\**(?:" + _FROM_KEYS + r")\s*\**\s*:\s*\**\s*\S", re.I)
_HEADER_DATE_RE = re.compile(
    r"^\s*\**(?:date|sent|envoyé|gesendet|enviado|fecha|datum)\s*\**\s*:", re.I
)
_HEADER_OTHER_RE = re.compile(r"^\s*\**(?:" + _OTHER_KEYS + r")\s*\**\s*:", re.I)

_ADVERT_RE = re.compile(
    r"^\s*(?:get outlook for|obtenir outlook pour|télécharger outlook pour|"
    r"descargar outlook para|outlook für \w+ herunterladen|"
    r"[^\n]{0,40}\boutlook (?:for|pour|para|für) (?:ios|android))\b[^,;:\n]{0,40}"
    r"(?:<https?://[^>\s]+>)?\s*$",
    re.IGNORECASE,
)
_SIG_DELIMITER_RE = re.compile(r"^(?:-- ?|--|__)$")
# Mobile and webmail footers. Short and comma-free so "Sent from my desk, is much easier
# than my phone" stays a sentence.
_MOBILE_SIG_RE = re.compile(
    r"^\s*(?:sent (?:from|with|using|via|wirelessly from|from my)|envoyé (?:de|depuis|avec)|"
    r"envoyé à partir de|enviado (?:desde|do|de|con|com)|von meinem|gesendet (?:von|mit)|"
    r"inviato da|verzonden (?:met|vanaf|van)|get outlook for|obtenir outlook pour|"
    r"télécharger outlook pour|descargar outlook para|outlook für|skickat från|"
    r"sendt fra|lähetetty|wysłane z|отправлено с)\b[^,;:\n]{0,70}(?:<https?://[^>\s]+>)?\s*$",
    re.IGNORECASE,
)


def visible_text(text: str, *, html: str | None = None) -> str:
    """The new part of a reply: quoted history and trailing signature removed.

    ``html`` is used when ``text`` is empty (HTML-only mail). Never returns an empty string
    for a non-empty message: if every line looks quoted, the whole text is kept.
    """
    if not text.strip() and html:
        text = html_to_text(html, mark_quotes=True)
    lines = _split_inline_headers(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    hidden: list[tuple[int, int]] = []
    cut = _quote_start(lines, hidden)
    kept: list[str] = []
    position = 0
    for start, stop in hidden:
        kept.extend(lines[position:start])
        position = stop
        while position < cut and not lines[position].strip():
            position += 1
    kept.extend(lines[position:cut])
    if cut == len(lines):
        # A signature is dropped when it ends the message. Above quoted history it is
        # left alone (the history cut is enough, and "Sent from my iPhone" tells the agent
        # the customer is on a phone), except app adverts like "Get Outlook for iOS".
        kept = _drop_signature(kept)
    else:
        while kept and (not kept[-1].strip() or _ADVERT_RE.match(kept[-1])):
            kept.pop()
    result = "\n".join(kept).strip("\n").rstrip()
    if not result.strip():
        result = "\n".join(line for line in lines if line != QUOTE_MARKER).strip()
    return result


# "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:" on one line.
_INLINE_HEADER_RE = re.compile(
    r"^(?P<reply>.*?\S)\s*-*\s*(?P<header>(?:On|Le|El|Am)\s[^\n]{5,250}?(?:"
    + _WROTE
    + r")\s*:)\s*$"
)


def _split_inline_headers(lines: list[str]) -> list[str]:
    out: list[str] = []
    for k, line in enumerate(lines):
        if len(line) < 400 and line.rstrip().endswith(":") and not _is_quoted(line):
            found = _INLINE_HEADER_RE.match(line)
            nxt = _next_nonblank(lines, k + 1)
            if found and _looks_dated(found["header"]) and (nxt is None or _is_quoted(lines[nxt])):
                out.extend((found["reply"], found["header"]))
                continue
        out.append(line)
    return out


def _quote_start(lines: list[str], hidden: list[tuple[int, int]]) -> int:
    """Index of the first line of trailing quoted history (``len(lines)`` if none).

    A single quoted block with reply text after it (bottom-posting, or a quote between
    the answer and a sign-off) is recorded in ``hidden``; several alternating blocks are
    an inline answer and stay visible.
    """
    n = len(lines)
    i = 0
    inline = False  # once the sender answered between quotes, later quotes stay too
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if line == QUOTE_MARKER:
            return i
        if _FORWARD_RE.match(stripped):
            return n  # a forward: what follows is content the sender wants us to read
        if i and _MOBILE_SIG_RE.match(line):
            nxt = _next_nonblank(lines, i + 1)
            if (
                nxt is not None
                and not _is_quoted(lines[nxt])
                and lines[nxt] != QUOTE_MARKER
                and _header_end(lines, nxt) is None
            ):
                return i  # Outlook/Gmail mobile put the original right below their footer
        end = _header_end(lines, i)
        if end is None and not _is_quoted(line):
            i += 1
            continue
        block_start = i
        if end is not None:
            nxt = _next_nonblank(lines, end)
            if nxt is None or not _is_quoted(lines[nxt]):
                return i
            after = _skip_quoted(lines, nxt)
        else:
            after = _skip_quoted(lines, i)
            nxt = _next_nonblank(lines, after)
            if nxt is not None and (lines[nxt] == QUOTE_MARKER or _header_end(lines, nxt)):
                i = nxt  # quoted above the history's header: part of the reply
                continue
        if not _has_reply_text(lines, after):
            return block_start
        if inline or _more_quotes(lines, after):
            inline = True
            i = after  # an inline answer: keep this quote and what follows
            continue
        hidden.append((block_start, after))
        i = after
    return n


def _more_quotes(lines: list[str], i: int) -> bool:
    return any(_is_quoted(line) for line in lines[i:])


_FORWARD_RE = re.compile(
    r"^[-_=*\s]*(?:forwarded message|begin forwarded message|message transféré|"
    r"weitergeleitete nachricht|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|"
    r"vidarebefordrat meddelande|videresendt meddelelse|пересылаемое сообщение)"
    r"[-_=*:\s]*$",
    re.IGNORECASE,
)


def _header_end(lines: list[str], i: int) -> int | None:
    """If a quote header starts at line ``i``, the index just after it."""
    line = lines[i].strip()
    if len(line) > 400:
        return None
    if _SEPARATOR_RE.match(line) and not _FORWARD_RE.match(line):
        return i + 1
    if _RULE_RE.match(line):
        # "____" / "====" then, within two lines, a From:/Date: block (Outlook, Hotmail)
        nxt = _next_nonblank(lines, i + 1)
        for _ in range(2):
            if nxt is None:
                break
            if _outlook_block_end(lines, nxt) is not None:
                return nxt
            nxt = _next_nonblank(lines, nxt + 1)
        return None
    end = _outlook_block_end(lines, i)
    if end is not None:
        return end
    # "On … wrote:" possibly wrapped over several lines (Gmail wraps at 78 columns and
    # sometimes puts the address on lines of its own).
    first_dated = _looks_dated(line)
    starts_like_on = bool(_ON_START_RE.match(line)) and first_dated
    joined = line
    j = i
    for extra in range(6 if starts_like_on else 3):
        if extra:
            j += 1
            while starts_like_on and j < len(lines) and not lines[j].strip():
                j += 1
            if j >= len(lines) or not lines[j].strip():
                break
            if not (first_dated or starts_like_on):
                break
            joined = joined + " " + lines[j].strip()
        if len(joined) > 400:
            break
        if _is_wrote_header(joined):
            return j + 1
        if _NAME_EMAIL_COLON_RE.match(joined) and first_dated:
            return j + 1
        if first_dated and _NAME_EMAIL_RE.match(joined):
            nxt = _next_nonblank(lines, j + 1)
            if nxt is not None and _is_quoted(lines[nxt]):
                return j + 1
    return None


_ON_START_RE = re.compile(r"^\s*(?:On|Le|El|Am|Il|Op|Em|Den|På|W dniu|Dnia)\s", re.IGNORECASE)
# "2011/4/7 Nathan <support@example.com>" right above a quote (Gmail, some locales)
_NAME_EMAIL_RE = re.compile(r"^\s*\d[^\n]{0,200}<\s*[^<>@\s]+@[^<>\s]+\s*>\s*$")


def _is_wrote_header(joined: str) -> bool:
    if _ENDS_WROTE_RE.search(joined) and _ON_WROTE_RE.match(joined):
        return True
    if _WROTE_THEN_COLON_RE.search(joined) and (_looks_dated(joined) or "@" in joined):
        return True
    if _ON_START_RE.match(joined) and _looks_dated(joined) and joined.endswith(" sent:"):
        return True
    # "On Wed, 14 Nov 2018 08:14:43 -0200 John Doe <john@doe.com> wrote" (no colon)
    return bool(
        _ENDS_WROTE_NO_COLON_RE.search(joined)
        and _ON_WROTE_RE.match(joined + ":")
        and _looks_dated(joined)
    )


def _looks_dated(line: str) -> bool:
    return bool(re.search(r"\d{1,2}:\d{2}|\d{4}", line))


def _outlook_block_end(lines: list[str], i: int) -> int | None:
    """Two or more header lines (From/Date/Sent/To/Subject … in several languages)."""
    if not (_HEADER_FROM_RE.match(lines[i]) or _HEADER_DATE_RE.match(lines[i])):
        return None
    j = i + 1
    keys = 1
    while j < len(lines) and j <= i + 8:
        line = lines[j]
        if _HEADER_OTHER_RE.match(line) or _HEADER_FROM_RE.match(line):
            keys += 1
        elif not line.strip():
            if keys > 1:
                break
        elif keys == 1 and j == i + 1:
            pass  # "From:" value wrapped onto the next line
        elif not line.startswith((" ", "\t")):
            break
        j += 1
    return j if keys >= 2 else None


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _next_nonblank(lines: list[str], i: int) -> int | None:
    while i < len(lines):
        if lines[i].strip():
            return i
        i += 1
    return None


def _skip_quoted(lines: list[str], i: int) -> int:
    """End of the quoted block at ``i``; one wrapped unquoted line inside it is tolerated."""
    n = len(lines)
    while i < n:
        if _is_quoted(lines[i]) or not lines[i].strip():
            i += 1
        elif (
            i + 1 < n
            and _is_quoted(lines[i + 1])
            and i
            and _is_quoted(lines[i - 1])
            and (
                not lines[i][:1].isalpha()
                or len(lines[i - 1]) >= 60
                or lines[i - 1].count("(") > lines[i - 1].count(")")
            )
        ):
            i += 1  # a quoted line the sender's client wrapped without its ">"
        else:
            break
    # leave trailing blank lines to whatever follows
    while i > 0 and not lines[i - 1].strip():
        i -= 1
    return i


def _has_reply_text(lines: list[str], i: int) -> bool:
    """Is there new text after line ``i`` other than a signature or list footer?"""
    rest = lines[i:]
    cut = len(rest)
    for k, line in enumerate(rest):
        stripped = line.strip()
        if _SIG_DELIMITER_RE.match(stripped) or _UNDERSCORES_RE.match(stripped):
            cut = k
            break
        if line == QUOTE_MARKER or _header_end(rest, k) is not None:
            cut = k
            break
    body = [line for line in rest[:cut] if line.strip()]
    body = [line for line in body if not _MOBILE_SIG_RE.match(line)]
    return bool(body)


def _drop_signature(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    # "-- " delimiter: everything below it, if the block is signature-sized.
    for k in range(end - 1, -1, -1):
        stripped = lines[k].rstrip()
        if _SIG_DELIMITER_RE.match(stripped) and k > 0 and end - k <= 15:
            if any(line.strip() for line in lines[:k]):
                end = k
            break
    # A mailing-list footer under a "____" rule.
    for k in range(end - 1, max(-1, end - 8), -1):
        if _FOOTER_RULE_RE.match(lines[k]) and _has_text(lines, k):
            end = k
            break
    # Mobile footers, from the bottom up.
    while end:
        while end and not lines[end - 1].strip():
            end -= 1
        if not end:
            break
        last = lines[end - 1]
        if _MOBILE_SIG_RE.match(last):
            if not _has_text(lines, end - 1):
                break
            end -= 1
            continue
        break
    return lines[:end]


def _has_text(lines: list[str], end: int) -> bool:
    return any(line.strip() for line in lines[:end])


# --- HTML to text -------------------------------------------------------------------------

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript", "xml"}
_VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr"}
_QUOTE_CLASSES = (
    "gmail_quote",
    "yahoo_quoted",
    "moz-cite-prefix",
    "divrplyfwdmsg",
    "outlookmessageheader",
    "protonmail_quote",
    "zmail_extra",
    "ms-outlook-mobile-reference-message",
)
_QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "stopspelling", "isforwardcontent")


class _TextExtractor(HTMLParser):
    def __init__(self, *, mark_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.mark_quotes = mark_quotes
        self.out: list[str] = []
        self.skip = 0
        self.quote_depth = 0
        self.pre = 0
        self.stack: list[str] = []
        self.line: list[str] = []

    def _flush(self) -> None:
        text = "".join(self.line)
        if not self.pre:
            text = re.sub(r"[ \t\r\n\f\u200b]+", " ", text).strip()
        self.line = []
        prefix = "> " * self.quote_depth
        if text or not self.out or self.out[-1] != "":
            self.out.append(prefix + text if text else (prefix.rstrip() if prefix else ""))

    def _marker(self) -> None:
        self._flush()
        self.out.append(QUOTE_MARKER)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
            return
        if self.mark_quotes and tag in ("div", "hr", "blockquote", "span", "table", "p"):
            attributes = {k: (v or "") for k, v in attrs}
            classes = attributes.get("class", "").lower()
            ident = attributes.get("id", "").lower()
            style = attributes.get("style", "").lower().replace(" ", "")
            if (
                any(name in classes for name in _QUOTE_CLASSES)
                or any(name in ident for name in _QUOTE_IDS)
                or (tag == "div" and "border-top:solid#b5c4df" in style)
                or (tag == "div" and "border-top:solid#e1e1e1" in style)
                or (tag == "blockquote" and attributes.get("type", "").lower() == "cite")
                or (tag == "hr" and ident == "stopspelling")
            ):
                self._marker()
        if tag == "hr":
            self._flush()
            self.out.append("_" * 32)
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "li":
            self.line.append("- ")
        elif tag in ("td", "th"):
            self.line.append(" ")
        if tag not in _VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            parts = data.split("\n")
            for k, part in enumerate(parts):
                if k:
                    self._flush()
                self.line.append(part)
            return
        self.line.append(data)

    def text(self) -> str:
        self._flush()
        lines: list[str] = []
        for line in self.out:
            if line or (lines and lines[-1]):
                lines.append(line)
        return "\n".join(lines).strip("\n")


def html_to_text(html: str, *, mark_quotes: bool = False) -> str:
    """Readable plain text from HTML: blocks become lines, ``<blockquote>`` becomes ``>``.

    With ``mark_quotes``, a :data:`QUOTE_MARKER` line is written where a mail client
    marked the start of quoted history (for :func:`visible_text`).
    """
    parser = _TextExtractor(mark_quotes=mark_quotes)
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser gives up on some garbage
        pass
    return parser.text().replace("\xa0", " ")
