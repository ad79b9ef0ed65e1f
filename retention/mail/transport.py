"""How a built message leaves: SMTP (SMTP_URL) or the outbox folder (the embedded default, MAIL_OUTBOX_DIR).

SMTP_URL: smtp://[user:pass@]host[:port] (plain, 25), smtp://...?starttls (STARTTLS, 587), smtps://... (TLS, 465).
One connection serves a whole batch; a failure closes it, and the next message opens a new one.

A reply is read by its class (RFC 5321 4.2.1) and by when it came. Before the message (the greeting, EHLO, STARTTLS,
AUTH: `_connect`, all done before MAIL FROM) any failure is the server's or our configuration's, never the message's:
a wrong password (535), a sign-in the server asks for and SMTP_URL does not give (530, also when it comes in reply to
MAIL FROM), a 554 greeting, STARTTLS refused (the session never goes on in the clear after asking for it), a server
that cannot be reached (connection refused, a timeout, a name that does not resolve). Each is `down` (the batch stops:
every other message would meet the same) and `transient` (retried like a 4xx for up to five days,
sending.TRANSIENT_GIVE_UP: a password typo fixed within that time loses no email), with `problem` naming it for the
admin's outbox page (models.SERVER_PROBLEMS). In reply to the message (MAIL FROM, RCPT, DATA) 4xx is a temporary
failure (`transient`, retried with the backoff; 421 "service not available" also closes the session: `down`) and 5xx
a refusal of that message (MAIL_MAX_ATTEMPTS); the connection lost mid-message is temporary and `down`, like a 421.
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

    `down`: the server took no message at all: it could not be reached, refused the session or our sign-in, or is
    closing (421) (the batch stops: the other messages would fail the same way). `transient`: a temporary failure,
    retried for longer than a refusal is (retention/mail/sending.py): the server answered 4xx, could not be reached or
    refused the session before any message (an outage of a few hours, or a password typo, must not fail the emails
    waiting for it). `problem` (models.SERVER_PROBLEMS) and `detail` (the server's reply or the error as it came):
    what the outbox page tells the admin, set whenever `down` is.
    """

    def __init__(self, message: str, down: bool = False, transient: bool = False, problem: str | None = None,
                 detail: str | None = None):
        super().__init__(message)
        self.down = down
        self.transient = transient
        self.problem = problem
        self.detail = detail if detail is not None else message


def _session_error(message: str, problem: str, detail: str) -> TransportError:
    """The server takes no message now (`down`: the batch stops), a temporary failure (`transient`), and what the
    outbox page tells the admin (`problem`, models.SERVER_PROBLEMS; `detail`, the reply or error as it came)."""
    return TransportError(message, down=True, transient=True, problem=problem, detail=detail)


def _is_transient(code) -> bool:
    return isinstance(code, int) and 400 <= code < 500


def _reply_error(codes: list, text: str) -> TransportError:
    """A refusal (5xx, or anything but 4xx) or, when every reply is 4xx, a temporary failure (421: the server is
    closing the session, so the batch stops)."""
    if codes and all(_is_transient(code) for code in codes):
        return TransportError(f"temporarily refused (retried later): {text}", down=421 in codes, transient=True,
                              problem="busy" if 421 in codes else None, detail=text)
    return TransportError(f"refused: {text}")


# A reply that says we are not signed in (RFC 4954 530 "Authentication required"; also 5.7.0 "Must issue a STARTTLS
# command first"): our configuration's problem whenever it comes, never the message's.
SIGN_IN_REQUIRED = 530


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
        """A session ready for MAIL FROM: greeting, EHLO, STARTTLS, AUTH. TransportError (`down`, `transient`, with
        the problem named) when any of them fails: the server's or our configuration's failure, not a message's."""
        where = f"{self.host}:{self.port}"
        stage, smtp = "connect", None
        try:
            if self.tls:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            stage = "hello"
            smtp.ehlo_or_helo_if_needed()  # here, not inside send_message: a 5xx to EHLO is the session's
            if self.starttls and not self.tls:
                code, reply = smtp.starttls(context=ssl.create_default_context())
                if code != 220:  # smtplib returns a refusal (454, 501...) rather than raising it: never go on in clear
                    raise smtplib.SMTPResponseException(code, reply)
                smtp.ehlo_or_helo_if_needed()
            if self.user:
                stage = "sign_in"
                smtp.login(self.user, self.password or "")
            return smtp
        except smtplib.SMTPResponseException as exc:
            _close_quietly(smtp)
            reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if _is_transient(exc.smtp_code):  # e.g. a 421 greeting, a 454 to AUTH: busy or going down, later may work
                raise _session_error(f"cannot reach {where}: temporarily refused: {reply}", "busy", reply) from exc
            if stage == "sign_in" or exc.smtp_code == SIGN_IN_REQUIRED:
                raise _session_error(f"{where} refused our sign-in: {reply}", "sign_in", reply) from exc
            raise _session_error(f"{where} refused the session: {reply}", "refused", reply) from exc
        except smtplib.SMTPNotSupportedError as exc:  # no AUTH or no STARTTLS offered: SMTP_URL asks what it lacks
            _close_quietly(smtp)
            problem = "sign_in" if stage == "sign_in" else "refused"
            raise _session_error(f"{where} cannot do what SMTP_URL asks: {exc}", problem, str(exc)) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, no such name, TLS, closed on us
            _close_quietly(smtp)
            if stage == "sign_in" and not isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):
                # "No suitable authentication method found": our sign-in, not the network
                raise _session_error(f"{where} refused our sign-in: {exc}", "sign_in", str(exc)) from exc
            raise _session_error(f"cannot reach {where}: {exc}", "unreachable", str(exc)) from exc

    def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; TransportError unless every recipient was accepted."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if exc.smtp_code == SIGN_IN_REQUIRED:  # "sign in first", to MAIL FROM: SMTP_URL gives no user
                self.close()
                raise _session_error(f"{self.host}:{self.port} refused our sign-in: {reply}", "sign_in", reply) from exc
            self._reset()
            raise _reply_error([exc.smtp_code], reply) from exc
        except smtplib.SMTPNotSupportedError as exc:  # e.g. a non-ASCII address and a server without SMTPUTF8
            self._reset()
            raise TransportError(f"refused: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = "; ".join(f"{code} {_text(text)}" for code, text in exc.recipients.values())
            if SIGN_IN_REQUIRED in [code for code, _ in exc.recipients.values()]:
                self.close()
                raise _session_error(f"{self.host}:{self.port} refused our sign-in: {codes}", "sign_in", codes) from exc
            self._reset()
            raise _reply_error([code for code, _ in exc.recipients.values()], codes) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise _session_error(f"connection lost: {exc}", "lost", str(exc)) from exc
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


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        try:
            smtp.close()
        except Exception:
            pass


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
            raise _session_error(f"outbox folder: {exc}", "outbox", str(exc)) from exc

    def close(self) -> None:
        return None


def from_config(config) -> SmtpTransport | OutboxTransport:
    """SMTP when SMTP_URL is set, else the outbox folder."""
    if config.get("SMTP_URL"):
        return SmtpTransport(config["SMTP_URL"], config["MAIL_SMTP_TIMEOUT"])
    return OutboxTransport(config["MAIL_OUTBOX_DIR"])
