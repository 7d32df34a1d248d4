"""Smoke test of `make run-cluster` (scripts/run-cluster.py, issue #16): the
script started on free ports (PostgreSQL, three replicas, nginx, the example
agent server), then one cross-replica loop through nginx, then SIGTERM.

- The stream is paused through nginx on one replica (found by the control
  APIs); its Link page link points at nginx (public_url), not at a replica.
- The Link page is opened and completed through nginx; each answer names the
  replica that served it (X-Replica, nginx's $upstream_addr), and the
  completion is served by another replica than the stream's. nginx's
  round-robin is strict (one worker, equal weights), so the test opens the
  page until the next request goes elsewhere. The stream resumes through
  nginx with auth_complete and every upstream event.
- SIGTERM: the script exits 0, no process of its session is left, every port
  (nginx, replicas, control APIs, agent server, PostgreSQL) is closed and the
  temporary directory is gone.
Skipped only when nginx or PostgreSQL is not installed (make deps installs both).
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import AGENT, AUTHRELAY, Stream, link_of, wait_until  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "run-cluster.py")
ADMIN_KEY = "cluster-test-admin-key"
SEQS = 5
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def request(method, url, body=None, headers=None):
    """(status, body text, X-Replica) of one request."""
    req = urllib.request.Request(url, data=body.encode() if body else None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("X-Replica")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("X-Replica")


def parse_summary(text):
    """The addresses the script printed, once its summary is complete."""
    m = re.search(r"temporary directory (\S+)", text)
    if not m:
        return None
    return {"tmp": m.group(1),
            "front": re.search(r"Chat page: (http://\S+)/", text).group(1),
            "replicas": re.findall(r"replica r\d +http://(\S+) +control (http://\S+)", text),
            "agent": re.search(r"agent server +http://(\S+)", text).group(1),
            "pg": re.search(r"database +postgresql://\S+@([^/]+)/", text).group(1)}


def session_members(sid):
    """Pids of the live processes in session sid (from /proc/PID/stat)."""
    pids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(stat.split("/")[2]))
    return pids


def port_open(addr):
    host, port = addr.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return True
    except OSError:
        return False


class RunClusterTest(unittest.TestCase):

    def setUp(self):
        if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
            self.skipTest("nginx is not installed (Debian package nginx: make deps installs it)")
        if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
            self.skipTest("PostgreSQL is not installed (Debian package postgresql: make deps installs it)")
        self.out = tempfile.NamedTemporaryFile(prefix="run-cluster-", suffix=".out")
        env = dict(os.environ, AUTHRELAY_BIN=AUTHRELAY, AGENT_SERVER_BIN=AGENT, AUTHRELAY_ADMIN_KEY=ADMIN_KEY)
        # A session of its own: every process it starts is found by session id.
        self.proc = subprocess.Popen([sys.executable, SCRIPT, os.path.dirname(AUTHRELAY), "--free-ports"], env=env,
                                     stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.out.close()

    def output(self):
        with open(self.out.name, errors="replace") as f:
            return f.read()

    def holder_of(self, user, replicas):
        """The listen address of the replica holding user's paused stream."""
        for addr, control in replicas:
            req = urllib.request.Request(control + "/v1/streams", headers={"Authorization": "Bearer " + ADMIN_KEY})
            with urllib.request.urlopen(req, timeout=10) as r:
                if any(s.get("registered_user") == user for s in json.loads(r.read())["streams"]):
                    return addr
        return None

    def test_cross_replica_loop_through_nginx_then_sigterm(self):
        def summary():
            self.assertIsNone(self.proc.poll(), self.output())
            return parse_summary(self.output())
        info = wait_until(summary, "the cluster's summary", timeout=60, interval=0.1)
        front, replicas = info["front"], info["replicas"]
        self.assertEqual(len(replicas), 3, self.output())
        order = [addr for addr, _ in replicas]  # nginx's upstream order

        stream = Stream(front + "/stream?format=sse&count=%d&auth_at=2&shape=mcp&connector=openai" % SEQS,
                        {"X-Registered-User-Id": "cluster_user"})
        try:
            _, link = link_of(stream)
            self.assertTrue(link.startswith(front + "/_authrelay/link/"), link)  # nginx, not a replica
            holder = wait_until(lambda: self.holder_of("cluster_user", replicas), "the stream's replica")

            def page_with_next_elsewhere():
                status, page, served = request("GET", link)
                return (status == 200 and "<form" in page and served in order and order[(order.index(served) + 1) % 3] != holder)
            wait_until(page_with_next_elsewhere, "the Link page through nginx, the next request going elsewhere")
            status, page, served = request("POST", link, "api_key=sk-through-nginx", FORM)
            self.assertEqual(status, 200, page)
            self.assertIn("Connected", page)
            self.assertIn(served, order)
            self.assertNotEqual(served, holder)  # completed on another replica than the stream's
            body = stream.finish()
            stream = None
        finally:
            if stream is not None:
                stream.kill()
        self.assertIn(b"event: auth_complete", body)
        for i in range(SEQS):
            self.assertIn(b'"seq":%d' % i, body)

        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(40), 0, self.output())
        self.assertEqual(session_members(self.proc.pid), [])
        for addr in [front[len("http://"):], info["agent"], info["pg"]] + order + \
                [c[len("http://"):] for _, c in replicas]:
            self.assertFalse(port_open(addr), addr + " still open")
        self.assertFalse(os.path.exists(info["tmp"]))


if __name__ == "__main__":
    unittest.main()
