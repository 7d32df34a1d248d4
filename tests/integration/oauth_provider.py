#!/usr/bin/env python3
"""A stand-in OAuth2 provider for the integration tests.

authrelay's hosted link page connects OAuth2 connectors by sending the
browser to a third-party provider (a SaaS: Slack, GitHub, ...) and then
exchanging the code at that provider's token endpoint over libcurl. Those
providers cannot run here, so this small server replaces them: the
authorization-code grant (RFC 6749) with PKCE S256 (RFC 7636), strict about
what a real provider checks, the refresh_token grant (RFC 6749 6) with
access tokens that can expire in seconds and optionally rotating refresh
tokens, revocation (RFC 7009), plus a control API so that tests can make it
refuse, hang, and show what it saw. Python 3 standard library only.

    python3 oauth_provider.py --listen 127.0.0.1:0 --client-id ID --client-secret SECRET
        [--access-ttl SECONDS] [--rotate-refresh] [--token-auth any|basic|post]

--access-ttl: lifetime of the access tokens issued (default 3600; the
expires_in sent). --rotate-refresh: every refresh issues a new refresh token
and retires the one used (RFC 6749 10.4); without it the refresh token stays
valid and the answer carries none. --token-auth: how the client is
registered to authenticate (RFC 6749 2.3.1): any (default: the secret in the
body or HTTP Basic, not both), basic (a client_secret in the body is refused
with invalid_client, as Notion does), post (an Authorization header is
refused with invalid_client).

prints one line on stdout, {"listening": "127.0.0.1:PORT"}, then serves:

  GET  /authorize?response_type=code&client_id=..&redirect_uri=..&scope=..
       &state=..&code_challenge=..&code_challenge_method=S256[&auto=1]
       An HTML page with an Approve button (<button id="approve">) whose form
       POSTs to /authorize/approve; with auto=1, a 302 straight to
       redirect_uri?code=..&state=.. instead. A bad request: 400, text.
  POST /authorize/approve   302 to redirect_uri?code=..&state=.. (or
       ?error=access_denied&state=.. when authorize mode is deny, or when the
       form's Deny button was used).
  POST /token   grant_type=authorization_code, code (single use, 10 minutes),
       redirect_uri (as at /authorize), client_id, client_secret (in the body
       or HTTP Basic, as --token-auth allows), code_verifier (its S256 must
       match the challenge). 200 {"access_token","token_type":"Bearer",
       "expires_in": the access TTL, "refresh_token","scope"}; else 400
       {"error": invalid_request | invalid_client | invalid_grant |
       unsupported_grant_type}. (A real provider may answer invalid_client
       with 401; this one always says 400.)
       grant_type=refresh_token, refresh_token, the client as above: 200
       {"access_token","token_type","expires_in","scope"} plus a new
       "refresh_token" when rotating; 400 invalid_grant for a refresh token
       that is unknown, revoked, rotated away or another client's.
  POST /revoke  RFC 7009: token, optional token_type_hint (a hint only: an
       unknown value is ignored), the client as at /token (else 401
       invalid_client). 200 whether or not the token was known; revoking a
       refresh token revokes the access tokens issued from it too.
  GET  /resource   Authorization: Bearer <access token>: 200
       {"client_id","scope"} while the token is valid; 401
       {"error":"invalid_token"} once it expired or was revoked.
  POST /_control/mode   form body token=ok|error|hang and/or authorize=ok|deny.
       token=error: /token answers 400 {"error":"invalid_grant"} without
       looking at the request; token=hang: /token reads the request and does
       not answer until the mode changes, then answers as the new mode says
       (the waiting threads are daemons: they never keep the process alive).
       Answers the modes as JSON.
       Also access_ttl=SECONDS (1-86400), rotate=on|off and
       token_auth=any|basic|post, changing the options above, and
       held=drop: the /token calls held so far end without an answer (the
       connection closed, nothing issued nor spent: the call of a client
       that died before the provider acted on it), whatever the mode.
  GET  /_control/log    JSON list of the /token requests seen: grant
       (authorization_code or refresh_token), code, client_ok, verifier_ok
       (null when not checked), result ("ok" or the error sent, "hang"
       for a call held, "dropped" for a held call dropped), mode.
  GET  /_control/stats  JSON counts: refresh_requests (refresh grants
       received), refreshes (refresh grants answered with a token),
       revocations (revocation requests answered 200), tokens_revoked; the
       options in force; last_authorize (the parameters of the last valid
       authorization request, so that tests can see extra ones arrive).

A redirect's body is its Location (text/plain), for clients that do not
read headers.

Every request body is capped (64 KiB); SIGTERM and SIGINT end the process.
"""

import argparse
import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 64 * 1024
CODE_TTL_S = 600
CODES_MAX = 10000
TOKENS_MAX = 10000   # access and refresh tokens each; the oldest are forgotten
LOG_MAX = 10000
TTL_MAX = 86400
TOKEN_AUTH_MODES = ("any", "basic", "post")
PKCE_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class Provider:
    """What the provider knows: its one client, the codes it issued, modes."""

    def __init__(self, client_id, client_secret, access_ttl=3600, rotate=False, token_auth="any"):
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_ttl = access_ttl
        self.rotate = rotate
        self.token_auth = token_auth
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # mode changes wake hung /token calls
        self.codes = {}  # code -> grant details
        self.access_tokens = {}   # token -> {"client_id", "scope", "expires", "refresh"}
        self.refresh_tokens = {}  # token -> {"client_id", "scope"}; gone once revoked or rotated away
        self.stats = {"refresh_requests": 0, "refreshes": 0, "revocations": 0, "tokens_revoked": 0}
        self.last_authorize = None
        self.log = []
        self.token_mode = "ok"
        self.authorize_mode = "ok"
        self.stopping = False
        self.drops = 0  # held=drop requests so far: a held call seeing it change is dropped

    def issue_tokens(self, client_id, scope, refresh_token=None):
        """A token answer; a new refresh token unless refresh_token (the one
        the tokens come from) is given. Caller holds no lock."""
        access = "at_" + secrets.token_urlsafe(24)
        answer = {"access_token": access, "token_type": "Bearer", "scope": scope}
        with self.lock:
            answer["expires_in"] = self.access_ttl
            if refresh_token is None:
                refresh_token = "rt_" + secrets.token_urlsafe(24)
                answer["refresh_token"] = refresh_token
                self.refresh_tokens[refresh_token] = {"client_id": client_id, "scope": scope}
                while len(self.refresh_tokens) > TOKENS_MAX:
                    self.refresh_tokens.pop(next(iter(self.refresh_tokens)))
            self.access_tokens[access] = {"client_id": client_id, "scope": scope, "refresh": refresh_token,
                                          "expires": time.monotonic() + self.access_ttl}
            while len(self.access_tokens) > TOKENS_MAX:
                self.access_tokens.pop(next(iter(self.access_tokens)))
        return answer

    def issue_code(self, params):
        code = "code_" + secrets.token_urlsafe(24)
        with self.lock:
            now = time.monotonic()
            for old in [c for c, g in self.codes.items() if g["expires"] <= now]:
                del self.codes[old]
            if len(self.codes) >= CODES_MAX:
                self.codes.pop(next(iter(self.codes)))
            self.codes[code] = {
                "client_id": params["client_id"],
                "redirect_uri": params["redirect_uri"],
                "challenge": params["code_challenge"],
                "scope": params.get("scope", ""),
                "expires": now + CODE_TTL_S,
                "used": False,
            }
        return code

    def record(self, entry):
        with self.lock:
            self.log.append(entry)
            del self.log[:-LOG_MAX]


def s256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def with_query(uri, params):
    """uri with params added to its query (kept in order, after any it has)."""
    parts = urllib.parse.urlsplit(uri)
    query = parts.query + ("&" if parts.query else "") + urllib.parse.urlencode(params)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def single_values(pairs):
    """A dict of name -> value from parse_qsl pairs; None when a name repeats."""
    out = {}
    for name, value in pairs:
        if name in out:
            return None
        out[name] = value
    return out


def check_authorize(provider, params):
    """None when params make a valid authorization request, else why not."""
    if params is None:
        return "a parameter is repeated"
    if params.get("response_type") != "code":
        return "response_type must be code"
    if not hmac.compare_digest(params.get("client_id", "").encode(), provider.client_id.encode()):
        return "unknown client_id"
    uri = params.get("redirect_uri", "")
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        return "redirect_uri must be an absolute http(s) URI without a fragment"
    if params.get("code_challenge_method") != "S256":
        return "code_challenge_method must be S256"
    if not CHALLENGE_RE.match(params.get("code_challenge", "")):
        return "code_challenge missing or malformed"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oauth-provider-standin/1"

    @property
    def provider(self):
        return self.server.provider

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("oauth_provider: " + (fmt % args) + "\n")

    # ---- answers ----

    def send(self, status, body, ctype, extra=()):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a held /token call)

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj), "application/json",
                  (("Cache-Control", "no-store"), ("Pragma", "no-cache")))

    def send_text(self, status, text):
        self.send(status, text + "\n", "text/plain; charset=utf-8")

    def redirect(self, location):
        self.send(302, location + "\n", "text/plain", (("Location", location),))

    def read_body(self):
        """The request body (bytes), or None after answering 411/413."""
        if self.headers.get("Transfer-Encoding"):
            self.send_text(411, "Content-Length required")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > BODY_MAX:
            self.close_connection = True
            self.send_text(413, "body too large")
            return None
        return self.rfile.read(length)

    def read_form(self):
        """(params or None when a name repeats, raw ok) or (None, False) after an answer."""
        body = self.read_body()
        if body is None:
            return None, False
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                           strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError):
            return None, True
        return single_values(pairs), True

    # ---- routes ----

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/authorize":
            self.authorize_page(url.query)
        elif url.path == "/_control/log":
            with self.provider.lock:
                entries = list(self.provider.log)
            self.send_json(200, entries)
        elif url.path == "/_control/stats":
            provider = self.provider
            with provider.lock:
                stats = dict(provider.stats, access_ttl=provider.access_ttl, rotate=provider.rotate,
                             token_auth=provider.token_auth, last_authorize=provider.last_authorize)
            self.send_json(200, stats)
        elif url.path == "/resource":
            self.resource()
        else:
            self.send_text(404, "not found")

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/authorize/approve":
            self.approve()
        elif path == "/token":
            self.token()
        elif path == "/revoke":
            self.revoke()
        elif path == "/_control/mode":
            self.set_mode()
        else:
            self.read_body()
            self.send_text(404, "not found")

    def authorize_page(self, query):
        try:
            params = single_values(urllib.parse.parse_qsl(query, keep_blank_values=True))
        except ValueError:
            params = None
        why = check_authorize(self.provider, params)
        if why is not None:
            self.send_text(400, "invalid authorization request: " + why)
            return
        with self.provider.lock:
            self.provider.last_authorize = dict(params)
        if params.get("auto") == "1":
            self.finish_authorize(params, deny=False)
            return
        fields = "".join(
            '<input type="hidden" name="%s" value="%s">' % (html.escape(k), html.escape(params[k]))
            for k in ("response_type", "client_id", "redirect_uri", "scope", "state",
                      "code_challenge", "code_challenge_method") if k in params)
        page = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorize</title></head>"
                "<body><h1>Authorize %s</h1><p>Scopes: %s</p>"
                "<form method=\"post\" action=\"/authorize/approve\">%s"
                "<button id=\"approve\" type=\"submit\" name=\"action\" value=\"approve\">"
                "Approve</button> "
                "<button id=\"deny\" type=\"submit\" name=\"action\" value=\"deny\">Deny</button>"
                "</form></body></html>") % (html.escape(params["client_id"]),
                                            html.escape(params.get("scope", "")), fields)
        self.send(200, page, "text/html; charset=utf-8")

    def approve(self):
        params, ok = self.read_form()
        if not ok:
            return
        why = check_authorize(self.provider, params)
        if why is not None:
            self.send_text(400, "invalid authorization request: " + why)
            return
        self.finish_authorize(params, deny=params.get("action") == "deny")

    def finish_authorize(self, params, deny):
        with self.provider.lock:
            deny = deny or self.provider.authorize_mode == "deny"
        answer = {}
        if deny:
            answer["error"] = "access_denied"
        else:
            answer["code"] = self.provider.issue_code(params)
        if "state" in params:
            answer["state"] = params["state"]
        self.redirect(with_query(params["redirect_uri"], answer))

    def client_from_basic(self):
        """(client_id, secret) from an Authorization: Basic header, None when
        there is none, or False when it is malformed."""
        auth = self.headers.get("Authorization")
        if auth is None:
            return None
        scheme, _, b64 = auth.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            raw = base64.b64decode(b64.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        cid, sep, secret = raw.partition(":")
        if not sep:
            return False
        return urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)

    def token(self):
        provider = self.provider
        params, ok = self.read_form()
        if not ok:
            return
        with provider.lock:
            mode = provider.token_mode
        entry = {"grant": None, "code": None, "client_ok": False, "verifier_ok": None, "result": None,
                 "mode": mode}
        if params is not None:
            entry["code"] = params.get("code")
            entry["grant"] = params.get("grant_type")
            if entry["grant"] == "refresh_token":
                with provider.lock:
                    provider.stats["refresh_requests"] += 1
        if mode == "hang":
            provider.record(dict(entry, result="hang"))
            with provider.lock:
                drops = provider.drops
                while provider.token_mode == "hang" and provider.drops == drops and not provider.stopping:
                    provider.changed.wait(1.0)
                mode = provider.token_mode
                stopping = provider.stopping or provider.drops != drops
            if stopping:
                if provider.drops != drops:
                    provider.record(dict(entry, result="dropped"))
                self.close_connection = True
                return
            entry["mode"] = mode  # released: answered as the new mode says
        if mode == "error":
            entry["result"] = "invalid_grant"
            provider.record(entry)
            self.send_json(400, {"error": "invalid_grant",
                                 "error_description": "the provider is in error mode"})
            return
        if params is not None and params.get("grant_type") == "refresh_token":
            status, answer = self.refresh(params, entry)
        else:
            status, answer = self.exchange(params, entry)
        entry["result"] = "ok" if status == 200 else answer["error"]
        provider.record(entry)
        self.send_json(status, answer)

    def exchange(self, params, entry):
        """Checks a token request; returns (status, JSON answer), filling entry."""
        provider = self.provider
        if params is None or self.headers.get_content_type() != "application/x-www-form-urlencoded":
            return 400, {"error": "invalid_request"}
        if params.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        cid, error = self.authenticate(params)
        entry["client_ok"] = error is None
        if error is not None:
            return 400, error
        code = params.get("code", "")
        verifier = params.get("code_verifier", "")
        if not code or not PKCE_RE.match(verifier):
            return 400, {"error": "invalid_request",
                         "error_description": "code and code_verifier required"}
        with provider.lock:
            grant = provider.codes.get(code)
            fresh = grant is not None and not grant["used"] and grant["expires"] > time.monotonic()
            if grant is not None:
                grant["used"] = True  # any redemption spends it
        if not fresh or grant["client_id"] != cid:
            return 400, {"error": "invalid_grant"}
        if params.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
        verifier_ok = hmac.compare_digest(s256(verifier), grant["challenge"])
        entry["verifier_ok"] = verifier_ok
        if not verifier_ok:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        return 200, provider.issue_tokens(cid, grant["scope"])

    def authenticate(self, params):
        """(client_id, None) when the request authenticates the client as it
        is registered (--token-auth), else (None, the error answer)."""
        provider = self.provider
        with provider.lock:
            token_auth = provider.token_auth
        basic = self.client_from_basic()
        if basic is False or (basic is not None and "client_secret" in params):
            return None, {"error": "invalid_request", "error_description": "one client authentication method"}
        if basic is not None and token_auth == "post":
            return None, {"error": "invalid_client", "error_description": "registered for client_secret_post"}
        if basic is None and "client_secret" in params and token_auth == "basic":
            return None, {"error": "invalid_client", "error_description": "registered for client_secret_basic"}
        if basic is not None:
            cid, secret = basic
            if params.get("client_id", cid) != cid:
                return None, {"error": "invalid_request"}
        else:
            cid, secret = params.get("client_id", ""), params.get("client_secret", "")
        client_ok = (hmac.compare_digest(cid.encode(), provider.client_id.encode())
                     and hmac.compare_digest(secret.encode(), provider.client_secret.encode()))
        if not client_ok:
            return None, {"error": "invalid_client"}
        return cid, None

    def refresh(self, params, entry):
        """The refresh_token grant: (status, JSON answer), filling entry."""
        provider = self.provider
        if self.headers.get_content_type() != "application/x-www-form-urlencoded":
            return 400, {"error": "invalid_request"}
        cid, error = self.authenticate(params)
        entry["client_ok"] = error is None
        if error is not None:
            return 400, error
        token = params.get("refresh_token", "")
        if not token:
            return 400, {"error": "invalid_request", "error_description": "refresh_token required"}
        with provider.lock:
            grant = provider.refresh_tokens.get(token)
            if grant is None or grant["client_id"] != cid:
                return 400, {"error": "invalid_grant", "error_description": "unknown or revoked refresh token"}
            rotate = provider.rotate
            if rotate:
                del provider.refresh_tokens[token]
        answer = provider.issue_tokens(cid, grant["scope"], None if rotate else token)
        with provider.lock:
            provider.stats["refreshes"] += 1
        return 200, answer

    def revoke(self):
        """RFC 7009: 200 for a known or unknown token; the client must authenticate."""
        provider = self.provider
        params, ok = self.read_form()
        if not ok:
            return
        if params is None or self.headers.get_content_type() != "application/x-www-form-urlencoded":
            self.send_json(400, {"error": "invalid_request"})
            return
        _, error = self.authenticate(params)
        if error is not None:
            self.send_json(401 if error["error"] == "invalid_client" else 400, error)
            return
        token = params.get("token", "")
        if not token:
            self.send_json(400, {"error": "invalid_request", "error_description": "token required"})
            return
        with provider.lock:
            revoked = 0
            if provider.refresh_tokens.pop(token, None) is not None:
                revoked += 1
                for access in [a for a, g in provider.access_tokens.items() if g["refresh"] == token]:
                    del provider.access_tokens[access]
                    revoked += 1
            if provider.access_tokens.pop(token, None) is not None:
                revoked += 1
            provider.stats["revocations"] += 1
            provider.stats["tokens_revoked"] += revoked
        self.send(200, "", "text/plain")

    def resource(self):
        """A protected resource: 200 for a valid access token, else 401."""
        provider = self.provider
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        with provider.lock:
            grant = provider.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            valid = grant is not None and grant["expires"] > time.monotonic()
        if not valid:
            self.send(401, json.dumps({"error": "invalid_token"}), "application/json",
                      (("WWW-Authenticate", 'Bearer error="invalid_token"'),))
            return
        self.send_json(200, {"client_id": grant["client_id"], "scope": grant["scope"]})

    def set_mode(self):
        provider = self.provider
        params, ok = self.read_form()
        if not ok:
            return
        allowed = {"token": ("ok", "error", "hang"), "authorize": ("ok", "deny"), "rotate": ("on", "off"),
                   "token_auth": TOKEN_AUTH_MODES, "held": ("drop",)}

        def valid(name, value):
            if name == "access_ttl":
                return value.isdigit() and len(value) <= 6 and 1 <= int(value) <= TTL_MAX
            return name in allowed and value in allowed[name]

        if params is None or not params or not all(valid(k, v) for k, v in params.items()):
            self.send_text(400, "want token=ok|error|hang, authorize=ok|deny, rotate=on|off, "
                                "token_auth=any|basic|post, access_ttl=1-%d, held=drop" % TTL_MAX)
            return
        with provider.lock:
            provider.token_mode = params.get("token", provider.token_mode)
            provider.authorize_mode = params.get("authorize", provider.authorize_mode)
            provider.token_auth = params.get("token_auth", provider.token_auth)
            if "rotate" in params:
                provider.rotate = params["rotate"] == "on"
            if "access_ttl" in params:
                provider.access_ttl = int(params["access_ttl"])
            if "held" in params:
                provider.drops += 1
            provider.changed.notify_all()
            modes = {"token": provider.token_mode, "authorize": provider.authorize_mode,
                     "rotate": "on" if provider.rotate else "off", "token_auth": provider.token_auth,
                     "access_ttl": provider.access_ttl}
        self.send_json(200, modes)


class Server(ThreadingHTTPServer):
    daemon_threads = True   # a hung /token handler never keeps the process alive
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # a client that went away is no error of ours
        super().handle_error(request, client_address)


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("want HOST:PORT")
    return host.strip("[]"), int(port)


def parse_ttl(text):
    if not text.isdigit() or not 1 <= int(text) <= TTL_MAX:
        raise argparse.ArgumentTypeError("want 1 to %d seconds" % TTL_MAX)
    return int(text)


def main():
    ap = argparse.ArgumentParser(description="Stand-in OAuth2 provider for tests")
    ap.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 0))
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--access-ttl", type=parse_ttl, default=3600, metavar="SECONDS",
                    help="lifetime of issued access tokens (1-%d)" % TTL_MAX)
    ap.add_argument("--rotate-refresh", action="store_true", help="issue a new refresh token on every refresh")
    ap.add_argument("--token-auth", choices=TOKEN_AUTH_MODES, default="any",
                    help="client authentication the client is registered for")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    args = ap.parse_args()

    host, port = args.listen
    if ":" in host:
        Server.address_family = socket.AF_INET6
    server = Server((host, port), Handler)
    server.provider = Provider(args.client_id, args.client_secret, args.access_ttl, args.rotate_refresh,
                               args.token_auth)
    server.verbose = args.verbose

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    bound = server.server_address
    shown = ("[%s]" % bound[0]) if ":" in bound[0] else bound[0]
    print(json.dumps({"listening": "%s:%d" % (shown, bound[1])}), flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        with server.provider.lock:
            server.provider.stopping = True
            server.provider.changed.notify_all()
        server.server_close()


if __name__ == "__main__":
    main()
