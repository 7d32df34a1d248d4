#!/usr/bin/env python3
"""A stand-in for the operator's own app (not a SaaS): its link-binding
verifier page, for the tests of link.verifier_url (test_linkbind.py and
browser/link_binding.test.mjs).

The app's "session" is a cookie, app_user=<origin_user_id>, that the test
sets in its browser (a real app would read its signed-in user from its own
session). GET /verify?flow_id=... confirms that user to authrelay with
POST {control}/api/v1/link-flows/{flow_id}/confirm {"origin_user_id": ...}
(bearer: the app's API token, write:user) and sends the browser (303) to
the redirect_url authrelay answers with (200 or 409); any other answer is
shown as a plain page with its status. GET /_control/log lists the
confirmations made ({flow_id, user, status}).

    verifier_app.py --listen 127.0.0.1:0 --config FILE
prints {"listening": "127.0.0.1:PORT"} on stdout. FILE is JSON
{"control_url": ..., "token": ...}, read on every request (the test writes
it once authrelay, started with this app's URL, is up).
"""

import argparse
import http.cookies
import http.server
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

LOG = []


def confirm(config, flow_id, user):
    url = config["control_url"] + "/api/v1/link-flows/" + urllib.parse.quote(flow_id, safe="") + "/confirm"
    body = json.dumps({"origin_user_id": user}).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Authorization": "Bearer " + config["token"],
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, {"detail": text.decode(errors="replace")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--config", required=True)
    args = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status, text, location=None):
            body = text.encode()
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path == "/_control/log":
                self.answer(200, json.dumps(LOG))
                return
            if url.path != "/verify":
                self.answer(404, "not found")
                return
            flow_id = urllib.parse.parse_qs(url.query).get("flow_id", [""])[0]
            cookies = http.cookies.SimpleCookie(self.headers.get("Cookie", ""))
            if "app_user" not in cookies:
                self.answer(401, "<p>Sign in to the app first.</p>")
                return
            user = cookies["app_user"].value
            with open(args.config) as f:
                config = json.load(f)
            status, answer = confirm(config, flow_id, user)
            LOG.append({"flow_id": flow_id, "user": user, "status": status})
            if status in (200, 409) and "redirect_url" in answer:
                self.answer(303, "<p>Continuing.</p>", answer["redirect_url"])
            else:
                self.answer(status, "<p>authrelay answered %d.</p>" % status)

        def log_message(self, *a):
            pass

    host, port = args.listen.rsplit(":", 1)
    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    print(json.dumps({"listening": "%s:%d" % server.server_address[:2]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
