"""Integration tests: the link store on PostgreSQL (issue #16, the store
slice), under tests/pg/pgcluster.py (PG_URL: a throwaway cluster).

- Two authrelay processes, each with a data directory of its own, share one
  store given as `--store postgresql://...`: a stream paused on A and its link
  completed on A; B sees the user and its connected account; no SQLite file
  is made; the URL's password is in no log line.
- A database that cannot be reached at start: authrelay does not start (the
  links of the store cannot be restored), saying why, without the password.
- The database unreachable (a TCP relay in front of it, cut): /readyz says
  503 store_unreachable with the reason and /metrics authrelay_store_reachable
  0, API writes answer 503 (never 201) once store_timeout_s passed, plain
  relaying goes on, a stream pausing then is told its link (it cannot wait
  to say it) and, once the link's row failed to go in, link_expired (no
  other replica could serve that link); the relay restored, /readyz is 200 again without traffic
  and writes succeed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import AgentServer, Relay, Stream, curl, link_of  # noqa: E402
from test_durability import api, readyz, request  # noqa: E402,F401 (the replica suites import them from here)

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "..", "..", "examples", "connectors.json")
ADMIN_KEY = "test-owner-key-0123456789"
SECRET_KEY = "6f" * 32
ENV = {"AUTHRELAY_ADMIN_KEY": ADMIN_KEY, "AUTHRELAY_SECRET_KEY": SECRET_KEY}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORD = "sekrit-pw-4242"  # trust authentication ignores it; it must never be logged


def wait_until(cond, what, timeout=30):
    """harness.wait_until with room for PostgreSQL restarts and store timeouts."""
    return harness.wait_until(cond, what, timeout)


def pg_url(port, password=PASSWORD):
    return "postgresql://authrelay:%s@127.0.0.1:%d/postgres" % (password, port)


class TcpRelay:
    """A TCP relay on a fixed loopback port in front of PostgreSQL: cut()
    refuses new connections and drops those open, restore() serves again."""

    def __init__(self, target_port):
        self.target = target_port
        self.conns = []
        self.lock = threading.Lock()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.listener = None
        self.restore()

    def restore(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def passes(self, src):
        """Whether what src sends goes on (a subclass may drop it)."""
        return True

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.passes(src):
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(): no longer listening
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class PgStoreTest(unittest.TestCase):

    def setUp(self):
        self.port = int(os.environ["PG_PORT"])
        self.agent = AgentServer()
        self.relays = []

    def tearDown(self):
        for r in self.relays:
            r.stop()
        self.agent.stop()

    def start(self, url, *args):
        r = Relay(self.agent.url, "--connectors", CATALOG, "--store", url, *args, env=ENV)
        self.relays.append(r)
        return r

    def no_password_logged(self):
        for r in self.relays:
            for rec in r.logs:
                self.assertNotIn(PASSWORD, json.dumps(rec))

    def test_two_processes_share_one_store(self):
        a = self.start(pg_url(self.port))
        b = self.start(pg_url(self.port))
        wait_until(lambda: readyz(a)[0] == 200 and readyz(b)[0] == 200, "both ready")
        status, u = api(a, "POST", "/api/v1/registered-users/",
                        {"origin_user_id": "made_on_a", "origin_user_name": "Made on A"})
        self.assertEqual(status, 201, u)
        status, got = api(b, "GET", "/api/v1/registered-users/%s/" % u["id"])
        self.assertEqual((status, got["origin_user_name"]), (200, "Made on A"))
        # a stream paused on A, its link completed on A: the account is in the store
        stream = Stream(a.url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=openai",
                        {"X-Registered-User-Id": "pg_user"})
        try:
            _, link = link_of(stream)
            status, page = request("POST", link, "api_key=sk-on-postgres", FORM)
            self.assertEqual(status, 200, page)
            self.assertIn("Connected", page)
            body = stream.finish()
            stream = None
        finally:
            if stream is not None:
                stream.kill()
        self.assertIn(b"event: auth_complete", body)
        status, got = api(b, "GET", "/api/v1/registered-users/?origin_user_id=pg_user")
        self.assertEqual(status, 200, got)
        self.assertEqual(got["results"][0]["authenticated_connectors"], ["openai"])
        for r in (a, b):
            self.assertFalse(os.path.exists(os.path.join(r.data_dir, "authrelay.db")))
        self.no_password_logged()

    def test_unreachable_at_start_is_refused_with_the_reason(self):
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()  # nothing listens there now
        data_dir = tempfile.mkdtemp(prefix="authrelay-pgstore-")
        try:
            p = subprocess.run([harness.AUTHRELAY, "--upstream", self.agent.url, "--listen", "127.0.0.1:0",
                                "--control", "127.0.0.1:0", "--data-dir", data_dir, "--store", pg_url(port),
                                "--store-timeout-s", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                               env=dict(os.environ, **ENV))
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
        err = p.stderr.decode()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("did not answer within store_timeout_s", err)
        self.assertIn("127.0.0.1", err)
        self.assertNotIn(PASSWORD, err + p.stdout.decode())

    def test_database_unreachable_then_back(self):
        front = TcpRelay(self.port)
        try:
            a = self.start(pg_url(front.port), "--store-timeout-s", "1")
            wait_until(lambda: readyz(a)[0] == 200, "ready")
            self.assertEqual(a.metrics()["authrelay_store_reachable"], 1)
            front.cut()
            status, why = wait_until(lambda: (lambda s: s if s[0] == 503 else None)(readyz(a)),
                                     "/readyz 503 while the database is unreachable")
            self.assertEqual(why["status"], "store_unreachable")
            self.assertTrue(why["error"])
            self.assertEqual(a.metrics()["authrelay_store_reachable"], 0)
            status, body = api(a, "POST", "/api/v1/registered-users/",
                               {"origin_user_id": "while_down", "origin_user_name": "Down"})
            self.assertEqual(status, 503, body)
            # relaying does not need the store
            rc, out, _ = curl(a.url + "/stream?format=sse&count=3")
            self.assertEqual(rc, 0)
            self.assertIn(b"data:", out)
            # a pause: its link is not durable, so it ends as link_expired
            stream = Stream(a.url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=openai",
                            {"X-Registered-User-Id": "paused_while_down"})
            try:
                link_of(stream)
                wait_until(lambda: b"event: link_expired" in stream.data, "link_expired", timeout=20)
                self.assertNotIn(b"auth_complete", stream.data)
            finally:
                stream.kill()
            self.assertGreaterEqual(a.metrics()["authrelay_link_store_errors_total"], 1)
            front.restore()
            wait_until(lambda: readyz(a)[0] == 200, "/readyz 200 once the database is back")
            self.assertEqual(a.metrics()["authrelay_store_reachable"], 1)
            status, u = api(a, "POST", "/api/v1/registered-users/",
                            {"origin_user_id": "after_down", "origin_user_name": "Back"})
            self.assertEqual(status, 201, u)
            status, got = api(a, "GET", "/api/v1/registered-users/?origin_user_id=while_down")
            self.assertEqual((status, got["count"]), (200, 0))
            self.no_password_logged()
        finally:
            front.cut()


if __name__ == "__main__":
    unittest.main()
