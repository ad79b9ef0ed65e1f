"""How a built message leaves: SMTP (SMTP_URL) or the outbox folder (the embedded default, MAIL_OUTBOX_DIR).

SMTP_URL: smtp://[user:pass@]host[:port] (plain, 25), smtp://...?starttls (STARTTLS, 587), smtps://... (TLS, 465).
One connection serves a whole batch; a failure closes it, and the next message opens a new one.

A reply is read by its class (RFC 5321 4.2.1): 4xx is a temporary failure (the server may take the message later:
`transient`, retried with the backoff; 421 "service not available" also closes the session, so the batch stops:
`down`), 5xx is a refusal. A server that cannot be reached (connection refused, a timeout, a name that does not
resolve, the connection lost mid-message) never saw the message either: temporary and `down`, like a 421.
"""
from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class TransportError(Exception):
    """The message was not accepted (server refused it, or could not be reached); it is retried later.

    `down`: the server could not be reached at all, or is closing (421) (the batch stops: the other messages would
    fail the same way). `transient`: a temporary failure, retried for longer than a refusal is
    (retention/mail/sending.py): the server answered 4xx, or could not be reached (an outage of a few hours must
    not fail the emails waiting for it).
    """

    def __init__(self, message: str, down: bool = False, transient: bool = False):
        super().__init__(message)
        self.down = down
        self.transient = transient


def _is_transient(code) -> bool:
    return isinstance(code, int) and 400 <= code < 500


def _reply_error(codes: list, text: str) -> TransportError:
    """A refusal (5xx, or anything but 4xx) or, when every reply is 4xx, a temporary failure (421: the server is
    closing the session, so the batch stops)."""
    if codes and all(_is_transient(code) for code in codes):
        return TransportError(f"temporarily refused (retried later): {text}", down=421 in codes, transient=True)
    return TransportError(f"refused: {text}")


class SmtpTransport:
    """Sends through an SMTP server with a timeout; reuses one connection while it works."""

    def __init__(self, url: str, timeout: float):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL: smtp://host:port or smtps://host:port")
        self.tls = parts.scheme == "smtps"
        query = parse_qs(parts.query, keep_blank_values=True)
        self.starttls = query.get("starttls", ["0"])[-1].lower() not in ("0", "false", "no")
        self.host, self.port = parts.hostname, parts.port or (465 if self.tls else 587 if self.starttls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                smtp.starttls(context=context)
        if self.user:
            smtp.login(self.user, self.password or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; TransportError unless every recipient was accepted."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
        except smtplib.SMTPResponseException as exc:
            self._smtp = None
            if _is_transient(exc.smtp_code):  # e.g. a 421 greeting: busy or going down, later may work
                raise TransportError(f"cannot reach {self.host}:{self.port}: temporarily refused: "
                                     f"{exc.smtp_code} {_text(exc.smtp_error)}", down=True, transient=True) from exc
            raise TransportError(f"cannot reach {self.host}:{self.port}: {exc}", down=True) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, no such name, closed before greeting
            self._smtp = None
            raise TransportError(f"cannot reach {self.host}:{self.port}: {exc}", down=True, transient=True) from exc
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise _reply_error([exc.smtp_code], f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. a non-ASCII address and a server without SMTPUTF8
            self._reset()
            raise TransportError(f"refused: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset()
            codes = "; ".join(f"{code} {_text(text)}" for code, text in exc.recipients.values())
            raise _reply_error([code for code, _ in exc.recipients.values()], codes) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransportError(f"connection lost: {exc}", down=True, transient=True) from exc
        if refused:  # only possible with several recipients; ours have one
            raise TransportError(f"refused: {refused}")

    def _reset(self) -> None:
        try:
            self._smtp.rset()
        except Exception:
            self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:
                pass
            self._smtp = None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class OutboxTransport:
    """Writes each message to `<folder>/<name>.eml`, atomically (a temporary file renamed into place).

    Not fsynced: the outbox is where email goes when none leaves the machine (no SMTP_URL), and a reader never
    sees half a file; an fsync per message cost more than everything else sending does (bench/tick.py).
    """

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def path_for(self, name: str) -> Path:
        return self.folder / f"{name}.eml"

    def send(self, message: EmailMessage, name: str | None = None) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = name or message["Message-ID"].strip("<>").replace("/", "_")
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as handle:
                handle.write(bytes(message))
            os.replace(tmp, self.path_for(name))
        except OSError as exc:  # a full disk, say: the folder cannot take any message now
            raise TransportError(f"outbox folder: {exc}", down=True, transient=True) from exc

    def close(self) -> None:
        return None


def from_config(config) -> SmtpTransport | OutboxTransport:
    """SMTP when SMTP_URL is set, else the outbox folder."""
    if config.get("SMTP_URL"):
        return SmtpTransport(config["SMTP_URL"], config["MAIL_SMTP_TIMEOUT"])
    return OutboxTransport(config["MAIL_OUTBOX_DIR"])
