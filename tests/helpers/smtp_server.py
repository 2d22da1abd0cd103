#!/usr/bin/env python3
"""A real SMTP server for orc's mail tests (aiosmtpd), with fault modes.

Listens on 127.0.0.1 only. Prints `PORT <n>` on stdout once it accepts connections, then
saves every accepted message into --dir as NNNN.eml (the raw bytes) and NNNN.json (envelope,
TLS and AUTH facts); the .json file is written last, atomically, so a test can wait for it.

Modes:
  --tls none        plain SMTP, no STARTTLS offered (the "server without STARTTLS" fault)
  --tls starttls    STARTTLS offered and required before MAIL (aiosmtpd require_starttls)
  --tls tls         implicit TLS from the first byte
  --auth USER:PASS  AUTH PLAIN/LOGIN required; only offered after TLS unless --tls none
  --xoauth2 USER:TOKEN  AUTH XOAUTH2 required (the only mechanism offered): the client must
                    send "user=USER^Aauth=Bearer TOKEN^A^A"; same TLS rule as --auth
  --reject CODE     reject every RCPT TO with CODE (e.g. 550)
  --blackhole       accept TCP connections and never send a byte
  --port N          listen on this port (default: a free one)

It stops by itself after --lifetime seconds (default 300) or when its stdin closes, so a
crashed test never leaves it running. Needs `aiosmtpd` (python3 -m pip install aiosmtpd).
"""

import argparse
import asyncio
import base64
import email
import email.policy
import json
import os
import ssl
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "smtp")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dir", required=False, default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", choices=["none", "starttls", "tls"], default="none")
    p.add_argument("--cert", default=os.path.join(FIXTURES, "server.pem"))
    p.add_argument("--key", default=os.path.join(FIXTURES, "server.key"))
    p.add_argument("--auth", default=None, help="USER:PASS")
    p.add_argument("--xoauth2", default=None, help="USER:TOKEN")
    p.add_argument("--reject", type=int, default=None)
    p.add_argument("--blackhole", action="store_true")
    p.add_argument("--lifetime", type=float, default=300.0)
    return p.parse_args()


def watch_stdin():
    """Exit when the parent closes our stdin (or dies)."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except Exception:
        pass
    os._exit(0)


class Saver:
    def __init__(self, directory, reject):
        self.directory = directory
        self.reject = reject
        self.count = 0
        if directory:
            os.makedirs(directory, exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject:
            return f"{self.reject} 5.7.1 <{address}>: rejected by the test server"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, f"{self.count:04d}")
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        with open(base + ".eml", "wb") as f:
            f.write(content)
        login = getattr(session, "auth_data", None)
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        meta = {
            "headers": [[k, str(v)] for k, v in parsed.items()],
            "content_type": parsed.get_content_type(),
            "parts": [
                {"content_type": p.get_content_type(), "text": p.get_content()}
                for p in parsed.walk()
                if not p.is_multipart()
            ],
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": bool(session.ssl)
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(getattr(session, "authenticated", False)),
            "login": login,
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.replace(base + ".json.tmp", base + ".json")
        return "250 Message accepted for delivery"


def make_authenticator(user, password):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    return authenticator


class XoauthSaver(Saver):
    """A Saver whose server offers AUTH XOAUTH2 (a handler auth_* method, as aiosmtpd allows)."""

    def __init__(self, directory, reject, user, token):
        super().__init__(directory, reject)
        self.expected = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
        self.user = user

    async def auth_XOAUTH2(self, server, args):
        from aiosmtpd.smtp import MISSING, AuthResult

        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except Exception:
                return AuthResult(success=False)
        if blob != self.expected:
            await server.push("535 5.7.3 Authentication unsuccessful")
            return AuthResult(success=False, handled=True)
        return AuthResult(success=True, auth_data=self.user.encode())


async def blackhole(reader, writer):
    # Accept and never answer; keep the connection open until the client gives up.
    try:
        while await reader.read(4096):
            pass
    finally:
        writer.close()


async def main():
    args = parse_args()
    loop = asyncio.get_running_loop()
    loop.call_later(args.lifetime, lambda: os._exit(0))
    threading.Thread(target=watch_stdin, daemon=True).start()

    if args.blackhole:
        server = await asyncio.start_server(blackhole, args.host, args.port)
    else:
        from aiosmtpd.smtp import SMTP

        if not args.dir:
            sys.exit("--dir is required unless --blackhole")
        context = None
        if args.tls in ("starttls", "tls"):
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(args.cert, args.key)
        if args.xoauth2:
            user, _, token = args.xoauth2.partition(":")
            handler = XoauthSaver(args.dir, args.reject, user, token)
        else:
            handler = Saver(args.dir, args.reject)
        kwargs = {"hostname": "smtp.test", "decode_data": False}
        if args.tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if args.auth:
            user, _, password = args.auth.partition(":")
            kwargs.update(
                authenticator=make_authenticator(user, password),
                auth_required=True,
                auth_require_tls=args.tls != "none",
            )

        if args.xoauth2:
            kwargs.update(
                auth_required=True,
                auth_require_tls=args.tls != "none",
                auth_exclude_mechanism=["LOGIN", "PLAIN"],
            )

        def factory():
            return SMTP(handler, **kwargs)

        server = await loop.create_server(
            factory, args.host, args.port, ssl=context if args.tls == "tls" else None
        )
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
