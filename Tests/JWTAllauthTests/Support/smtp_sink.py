#!/usr/bin/python3
"""A real SMTP server on loopback for the end-to-end tests (Debian's python3-aiosmtpd).

Each accepted message is written atomically (temp file + rename) as <n>.eml into --dir, with the
envelope in the first lines as "X-Sink-Mail-From:" / "X-Sink-Rcpt-To:" headers. Options make it
misbehave on purpose: slow on DATA, refuse every message with a reply code, STARTTLS or implicit
TLS with a given certificate, AUTH with one username/password. Runs until SIGTERM/SIGKILL.
"""
import argparse
import asyncio
import itertools
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class DirectoryHandler:
    def __init__(self, directory, delay, reply):
        self.directory = directory
        self.delay = delay
        self.reply = reply
        # Numbering continues after a restart on the same directory.
        existing = [int(name[:-4]) for name in os.listdir(directory) if name.endswith(".eml") and name[:-4].isdigit()]
        self.counter = itertools.count(max(existing, default=0) + 1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reply:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        number = next(self.counter)
        temporary = os.path.join(self.directory, ".%d.tmp" % number)
        with open(temporary, "wb") as out:
            out.write(b"X-Sink-Mail-From: " + envelope.mail_from.encode() + b"\r\n")
            out.write(b"X-Sink-Rcpt-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            out.write(envelope.original_content)
        os.rename(temporary, os.path.join(self.directory, "%d.eml" % number))
        # Received and stored, but the client waits for the answer: a kill lands mid-send.
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--delay", type=float, default=0, help="seconds to wait after DATA before answering")
    parser.add_argument("--reply", default="", help='refuse every recipient with this reply, e.g. "451 4.3.0 try later"')
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--mode", choices=["plain", "starttls", "tls"], default="plain")
    parser.add_argument("--auth", default="", help="user:password required before MAIL")
    args = parser.parse_args()

    options = {}
    if args.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.mode == "tls":
            options["ssl_context"] = context
        else:
            options["tls_context"] = context
            options["require_starttls"] = True
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
            # handled=False: aiosmtpd itself answers 535 to a refusal (else the client waits forever).
            return AuthResult(success=ok, handled=False)

        options["authenticator"] = authenticator
        options["auth_required"] = True
        # Implicit TLS is invisible to aiosmtpd (it only knows STARTTLS), which would then hide AUTH.
        options["auth_require_tls"] = args.mode == "starttls"

    # Started by a test process that may have signals blocked: the mask is inherited, and a
    # blocked SIGTERM would never reach the handler below. Unblock before any thread starts.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    handler = DirectoryHandler(args.dir, args.delay, args.reply)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port, ready_timeout=10, **options)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
