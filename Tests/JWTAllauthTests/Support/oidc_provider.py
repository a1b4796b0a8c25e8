#!/usr/bin/python3
"""A small OpenID Connect provider on loopback for the social-login tests (stdlib http.server and
Debian's python3-cryptography).

Publishes discovery and a JWKS (with Cache-Control: max-age), signs id_tokens RS256 and ES256 with
keys it generates at start (each with a fresh jti), and implements the authorization-code flow with
PKCE (S256): /authorize redirects straight back with a one-time code for the current test user,
/token exchanges it once, /userinfo answers the user's claims for the access token it gave.
Test-only /control/ endpoints mint tokens (with any claims, a key it never published, or alg none),
issue codes directly (optionally with the address only at UserInfo, another UserInfo answer, or a
raw token-endpoint reply), set the user, rotate the keys, make the OIDC endpoints slow, and count
fetches.
Runs until SIGTERM.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(number, length=None):
    length = length or (number.bit_length() + 7) // 8
    return number.to_bytes(length, "big")


class KeyPair:
    def __init__(self, alg, kid):
        self.alg, self.kid = alg, kid
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())

    def jwk(self):
        numbers = self.private.public_key().public_numbers()
        if self.alg == "RS256":
            return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": b64url(int_bytes(numbers.n)), "e": b64url(int_bytes(numbers.e))}
        return {"kty": "EC", "kid": self.kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                "x": b64url(int_bytes(numbers.x, 32)), "y": b64url(int_bytes(numbers.y, 32))}

    def sign(self, data):
        if self.alg == "RS256":
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        return int_bytes(r, 32) + int_bytes(s, 32)


class Provider:
    def __init__(self, issuer, client_id, client_secret, max_age):
        self.issuer, self.client_id, self.client_secret, self.max_age = issuer, client_id, client_secret, max_age
        self.lock = threading.Lock()
        self.generation = 0
        self.rotate()
        # Same kids as the published ones: only the signature tells them apart.
        self.unpublished = {alg: KeyPair(alg, self.keys[alg].kid) for alg in ("RS256", "ES256")}
        self.user = {"sub": "user-1", "email": "social@example.com", "email_verified": True}
        self.codes = {}
        self.delay = 0.0
        self.fetches = {"discovery": 0, "jwks": 0, "token": 0, "userinfo": 0}
        # access token -> the claims /userinfo answers for it
        self.access_tokens = {}

    def rotate(self):
        self.generation += 1
        self.keys = {alg: KeyPair(alg, "%s-%d" % (alg.lower(), self.generation)) for alg in ("RS256", "ES256")}

    def id_token(self, alg="RS256", key="current", claims=None, omit=(), header=None, user=None):
        now = int(time.time())
        body = dict(user or self.user)
        body.update({"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300, "jti": secrets.token_hex(16)})
        body.update(claims or {})
        for name in omit:
            body.pop(name, None)
        if alg == "none":
            head = {"alg": "none", "typ": "JWT"}
            head.update(header or {})
            return b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(body).encode()) + "."
        pair = self.unpublished[alg] if key == "unpublished" else self.keys[alg]
        head = {"alg": alg, "typ": "JWT", "kid": pair.kid}
        head.update(header or {})
        signing_input = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(body).encode())
        return signing_input + "." + b64url(pair.sign(signing_input.encode()))

    def issue_code(self, redirect_uri, challenge, nonce=None, user=None, alg="RS256", userinfo_only=False, userinfo=None, reply=None):
        """`userinfo_only`: the id_token carries no address (only sub), as django-oidc-provider's
        default; `userinfo`: what /userinfo answers instead of the user; `reply`: the token
        endpoint's raw answer {status, body} instead of tokens."""
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"redirect_uri": redirect_uri, "challenge": challenge, "nonce": nonce, "user": dict(user or self.user), "alg": alg,
                                "userinfo_only": userinfo_only, "userinfo": userinfo, "reply": reply}
        return code


class Handler(BaseHTTPRequestHandler):
    provider = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("oidc: " + fmt % args + "\n")

    def answer(self, status, body, headers=None):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def slow(self):
        if self.provider.delay:
            time.sleep(self.provider.delay)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        p = self.provider
        url = urllib.parse.urlparse(self.path)
        cache = {"Cache-Control": "public, max-age=%d" % p.max_age}
        if url.path == "/.well-known/openid-configuration":
            self.slow()
            p.fetches["discovery"] += 1
            self.answer(200, {
                "issuer": p.issuer, "authorization_endpoint": p.issuer + "/authorize", "token_endpoint": p.issuer + "/token",
                "userinfo_endpoint": p.issuer + "/userinfo", "jwks_uri": p.issuer + "/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"], "code_challenge_methods_supported": ["S256"],
            }, cache)
        elif url.path == "/jwks":
            self.slow()
            p.fetches["jwks"] += 1
            self.answer(200, {"keys": [pair.jwk() for pair in p.keys.values()]}, cache)
        elif url.path == "/authorize":
            query = dict(urllib.parse.parse_qsl(url.query))
            ok = (query.get("client_id") == p.client_id and query.get("response_type") == "code"
                  and query.get("code_challenge_method") == "S256" and query.get("code_challenge"))
            target = query.get("redirect_uri", "")
            if not target.startswith("http://127.0.0.1:"):
                self.answer(400, {"error": "invalid_request"})
                return
            if ok:
                code = p.issue_code(target, query["code_challenge"], query.get("nonce"))
                params = {"code": code, "state": query.get("state", "")}
            else:
                params = {"error": "invalid_request", "state": query.get("state", "")}
            self.send_response(302)
            self.send_header("Location", target + "?" + urllib.parse.urlencode(params))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/userinfo":
            self.slow()
            p.fetches["userinfo"] += 1
            header = self.headers.get("Authorization", "")
            with p.lock:
                claims = p.access_tokens.get(header[len("Bearer "):]) if header.startswith("Bearer ") else None
            if claims is None:
                self.answer(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            else:
                self.answer(200, claims, {"Cache-Control": "no-store"})
        elif url.path == "/control/stats":
            self.answer(200, p.fetches)
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        p = self.provider
        path = urllib.parse.urlparse(self.path).path
        raw = self.read_body()
        if path == "/token":
            self.slow()
            p.fetches["token"] += 1
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            if form.get("client_id") != p.client_id or form.get("client_secret") != p.client_secret:
                self.answer(401, {"error": "invalid_client"})
                return
            with p.lock:
                grant = p.codes.pop(form.get("code", ""), None)  # one use only
            if grant is None or form.get("grant_type") != "authorization_code" or form.get("redirect_uri") != grant["redirect_uri"]:
                self.answer(400, {"error": "invalid_grant"})
                return
            verifier = form.get("code_verifier", "")
            if grant["challenge"] and b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
                self.answer(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
                return
            if grant["reply"]:
                reply = grant["reply"]
                self.answer(reply.get("status", 200), reply.get("body", "").encode())
                return
            claims = {"nonce": grant["nonce"]} if grant["nonce"] else {}
            user = grant["user"]
            access_token = secrets.token_urlsafe(16)
            with p.lock:
                p.access_tokens[access_token] = grant["userinfo"] or user
            if grant["userinfo_only"]:
                user = {"sub": user["sub"]}
            token = p.id_token(alg=grant["alg"], user=user, claims=claims)
            self.answer(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "id_token": token},
                        {"Cache-Control": "no-store"})
            return
        body = json.loads(raw or b"{}")
        if path == "/control/token":
            self.answer(200, {"id_token": p.id_token(body.get("alg", "RS256"), body.get("key", "current"), body.get("claims"),
                                                     body.get("omit", ()), body.get("header"), body.get("user"))})
        elif path == "/control/code":
            self.answer(200, {"code": p.issue_code(body["redirect_uri"], body.get("code_challenge"), body.get("nonce"),
                                                   body.get("user"), body.get("alg", "RS256"), body.get("userinfo_only", False),
                                                   body.get("userinfo"), body.get("reply"))})
        elif path == "/control/access-token":
            # An access token for the token flow's UserInfo read, answering `claims` (or the user's).
            access_token = secrets.token_urlsafe(16)
            with p.lock:
                p.access_tokens[access_token] = body.get("claims") or p.user
            self.answer(200, {"access_token": access_token})
        elif path == "/control/user":
            p.user = body
            self.answer(200, p.user)
        elif path == "/control/rotate":
            with p.lock:
                p.rotate()
            self.answer(200, {"kids": [pair.kid for pair in p.keys.values()]})
        elif path == "/control/delay":
            p.delay = float(body.get("seconds", 0))
            self.answer(200, {"delay": p.delay})
        else:
            self.answer(404, {"error": "not_found"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", default="abc")
    parser.add_argument("--client-secret", default="s3cret")
    parser.add_argument("--max-age", type=int, default=300)
    args = parser.parse_args()
    # The test process starts us with SIGTERM/SIGINT blocked (an inherited mask): unblock them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    issuer = "http://127.0.0.1:%d" % args.port
    Handler.provider = Provider(issuer, args.client_id, args.client_secret, args.max_age)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("listening on", issuer, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
