"""Shared helpers for the integration tests: real processes on loopback.

Starts the example agent server and authrelay on ephemeral ports (both print
the ports they got), runs curl as the client, and reads /proc for RSS. Every
process started here is killed when the test ends; every wait is bounded.

No test sleeps to let something happen: it waits for the thing itself, with
wait_until(cond) (a bounded poll) or Stream.wait_for() (woken by each chunk).
"""

import json
import os
import re
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

BUILD = os.environ.get("AUTHRELAY_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
AUTHRELAY = os.environ.get("AUTHRELAY_BIN", os.path.join(BUILD, "authrelay"))
AGENT = os.environ.get("AGENT_SERVER_BIN", os.path.join(BUILD, "agent-server"))
HERE = os.path.dirname(os.path.abspath(__file__))


def wait_until(cond, what="a condition", timeout=15, interval=0.01):
    """Polls cond() until it returns a true value, and returns that value.
    Raises AssertionError naming what after timeout seconds. The bounded
    wait tests use instead of a fixed sleep (too short on a loaded machine,
    time wasted on an idle one)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(interval)


class AgentServer:
    """The example agent server (examples/agent-server) on 127.0.0.1:0."""

    def __init__(self, extra=()):
        self.proc = subprocess.Popen([AGENT, "--listen", "127.0.0.1:0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("agent-server did not start")
        self.addr = json.loads(line)["listening"]
        self.port = int(self.addr.rsplit(":", 1)[1])
        self.url = "http://" + self.addr

    def stats(self):
        with urllib.request.urlopen(self.url + "/stats", timeout=5) as r:
            return json.loads(r.read())

    def reset(self):
        req = urllib.request.Request(self.url + "/stats/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class Relay:
    """authrelay on 127.0.0.1:0 in front of upstream; collects its log lines."""

    def __init__(self, upstream, *args, env=None, data_dir=None, listen="127.0.0.1:0", control="127.0.0.1:0"):
        # Each relay gets its own data directory (SQLite, keys) unless the
        # test passes one to restart on the same state; it is removed at stop.
        self.own_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="authrelay-test-")
        cmd = [AUTHRELAY, "--listen", listen, "--control", control, "--data-dir", self.data_dir, *args]
        if upstream is not None:
            cmd += ["--upstream", upstream]
        full_env = dict(os.environ)
        # Under AddressSanitizer freed blocks wait in a quarantine (256 MiB by
        # default) before reuse, which would hide what RSS says about our own
        # buffering; a small one keeps the RSS checks meaningful there too.
        asan = full_env.get("ASAN_OPTIONS", "")
        full_env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=8"
        full_env.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env)
        self.stdout_lines = []
        self.logs = []
        self.addr = None
        deadline = time.time() + 10
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            rec = self._record(line)
            if rec.get("msg") == "listening":
                self.addr = rec["listen"]
                self.control = rec["control"]
                break
        if self.addr is None:
            self.proc.kill()
            raise RuntimeError("authrelay did not start: %r" % self.logs)
        self.port = int(self.addr.rsplit(":", 1)[1])
        self.url = "http://" + self.addr
        self.control_url = "http://" + self.control
        self._reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._reader.start()
        self._out_reader = threading.Thread(target=self._drain_stdout, daemon=True)
        self._out_reader.start()

    def _drain_stdout(self):
        for line in self.proc.stdout:
            self.stdout_lines.append(line.decode(errors="replace"))

    def owner_key(self):
        """The control API's owner key: AUTHRELAY_ADMIN_KEY, or the generated one."""
        with open(os.path.join(self.data_dir, "owner.key")) as f:
            return f.read().strip()

    def _record(self, line):
        try:
            rec = json.loads(line)
        except ValueError:
            rec = {"raw": line.decode(errors="replace")}
        self.logs.append(rec)
        return rec

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self._record(line)

    def metrics(self):
        with urllib.request.urlopen(self.control_url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        out = {}
        for ln in text.splitlines():
            if ln and not ln.startswith("#"):
                name, value = ln.rsplit(" ", 1)
                out[name] = float(value) if "." in value else int(value)  # seconds: 1.250
        return out

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        self._out_reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        if self.own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.proc.returncode


def curl(*args, timeout=60, check=True):
    """Runs curl; returns (exit code, stdout bytes, stderr text)."""
    p = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 10)
    if check and p.returncode != 0:
        raise AssertionError("curl %s failed (%d): %s" % (args, p.returncode, p.stderr.decode()))
    return p.returncode, p.stdout, p.stderr.decode()


def raw_exchange(port, data, timeout=5.0, host="127.0.0.1"):
    """Sends raw bytes, reads until the server closes or timeout.
    Returns (bytes received, closed_by_server)."""
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    got = b""
    closed = False
    try:
        s.sendall(data)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += chunk
    finally:
        s.close()
    return got, closed


def status_of(response):
    """Status code of a raw HTTP response, or None."""
    if not response.startswith(b"HTTP/1."):
        return None
    return int(response.split(b" ", 2)[1])


class Stream:
    """A streaming GET through curl; bytes collected by a thread."""

    def __init__(self, url, headers=None):
        args = ["curl", "-sS", "-N", "--max-time", "60"]
        for k, v in (headers or {}).items():
            args += ["-H", "%s: %s" % (k, v)]
        self.proc = subprocess.Popen(args + [url], stdout=subprocess.PIPE)
        self.data = b""
        self.ended = False  # curl's output closed: no more data will come
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # notified on every chunk and at the end
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            chunk = self.proc.stdout.read1(65536)
            with self.changed:
                if not chunk:
                    self.ended = True
                    self.changed.notify_all()
                    return
                self.data += chunk
                self.changed.notify_all()

    def wait_data(self, pred, what, timeout=15):
        """Waits (woken by each chunk, never polling) until pred(data) is
        true, and returns its value; AssertionError after timeout seconds or
        when the stream ends first."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                value = pred(self.data)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    raise AssertionError("%s not seen%s in %r" % (what, "" if left <= 0 else " (the stream ended)",
                                                                  self.data[-400:]))
                self.changed.wait(left)

    def wait_for(self, pattern, timeout=15):
        return self.wait_data(lambda data: re.search(pattern, data), repr(pattern), timeout)

    def finish(self, timeout=30):
        self.proc.wait(timeout)
        self.thread.join(5)
        self.proc.stdout.close()
        return self.data

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.thread.join(5)
        self.proc.stdout.close()


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class StandIn:
    """One of the Python stand-ins beside these tests (oauth_provider.py,
    remote_link_service.py, verifier_app.py) on a free loopback port: it
    prints {"listening": "host:port"} first. Its test controls: POST
    /_control/mode (form fields) and GET /_control/log (a JSON list)."""

    def __init__(self, script, *args):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, script), "--listen", "127.0.0.1:0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.url = "http://" + json.loads(self.proc.stdout.readline())["listening"]

    def mode(self, **modes):
        """Sets its modes; returns the HTTP status (200: taken)."""
        return http("POST", self.url + "/_control/mode", urllib.parse.urlencode(modes).encode())[0]

    def log(self):
        return json.loads(http("GET", self.url + "/_control/log")[1])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)
        self.proc.stdout.close()


def catalog_file(connectors):
    """A connector catalog (--connectors) in a new temporary file: its path
    (the caller unlinks it)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"connectors": connectors}, f)
    return f.name


def link_of(stream):
    m = stream.wait_for(rb'"link_token":"(ltk_[0-9a-f]+)","magic_link_url":"([^"]+)"')
    return m.group(1).decode(), m.group(2).decode()


class AgentCase(unittest.TestCase):
    """Test cases sharing one agent server (cls.agent) for the class."""

    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()


class RelayCase(unittest.TestCase):
    """Test cases sharing one agent server (cls.agent) and one authrelay
    (cls.relay) for the class: setUpClass (the subclass's) starts both;
    tearDownClass stops them and fails unless authrelay exited 0."""

    @classmethod
    def tearDownClass(cls):
        code = cls.relay.stop()
        cls.agent.stop()
        assert code == 0, "authrelay exited with %r" % code
