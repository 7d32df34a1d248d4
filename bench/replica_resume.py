#!/usr/bin/env python3
"""Cross-replica resume latency (issue #16): a link completed on one replica
to `event: auth_complete` on the stream another replica holds, beside the
same figure for one process on SQLite.

    python3 bench/replica_resume.py [--pauses 1000] [--batch 50] [--pg-fsync on|off] [--build-dir build]
    python3 bench/replica_resume.py --smoke --build-dir build   (ctest bench_replicas_smoke)

Unless it already runs under tests/pg/pgcluster.py (PG_URL and
PG_CLUSTER_DIR set), the script runs itself again under it: a throwaway
PostgreSQL cluster of its own, restarted with fsync=on (--pg-fsync) so that
its commits are as durable as authrelay's SQLite ones. It starts the example
agent server, two authrelay replicas A and B on that PostgreSQL store, and
one authrelay on its default store (SQLite, its own data directory). Both
setups take turns, one batch each (the first setup of a batch alternates),
so the machine's noise falls on both alike:

- a batch opens `--batch` streams at once, each for a user of its own (so each
  pause mints a link of its own): GET /stream?format=sse&count=5&auth_at=2
  &shape=mcp&connector=openai with X-Registered-User-Id, on A (SQLite: on the
  one process), and waits until every stream has shown its link_token;
- then, one pause at a time: GET the Link page on B (SQLite: the same
  process) until it offers its form (outside the timing: the user opens the
  page), connect a new socket to it, and POST `api_key=...` to that page. Timed
  from just before the POST is sent: its answer (POST round trip) and the
  `event: auth_complete` on the stream (the resume); the next pause is
  completed only when both have arrived, so no completion queues behind
  another;
- at the end of the batch every stream must end with all its upstream events
  (seq 0..4) and `auth_complete`: a pause that did not resume, or resumed with
  something lost, fails the run (exit 1). Timings are never asserted.

The client is this one Python process: non-blocking sockets on one selector,
a timestamp (CLOCK_MONOTONIC) taken just after the recv() that brought the
bytes. Its own floor is measured in the same run (a socketpair ping through
the same selector) and printed beside the figures.

Results: bench/results/<timestamp>-replicas.md and .json, and the Markdown on
stdout. See bench/README.md "Cross-replica resume latency".
Python 3 standard library only; every process started here is stopped by its
pid; every wait is bounded.
"""

import argparse
import datetime
import json
import math
import os
import re
import selectors
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from run_bench import Upstream, children_of, machine_meta, proc_sample, raise_nofile, stop_proc  # noqa: E402

PGCLUSTER = os.path.join(ROOT, "tests", "pg", "pgcluster.py")
CATALOG = os.path.join(ROOT, "examples", "connectors.json")
ENV = {"AUTHRELAY_ADMIN_KEY": "bench-owner-key-0123456789", "AUTHRELAY_SECRET_KEY": "5e" * 32}
SEQS = 5
STREAM_PATH = "/stream?format=sse&count=%d&auth_at=2&shape=mcp&connector=openai" % SEQS
LINK_RE = re.compile(rb'"link_token":"(ltk_[0-9a-f]+)","magic_link_url":"([^"]+)"')
WAIT_S = 30.0  # longest wait for any one step (links of a batch, one resume, the ends); smoke: 10
MAX_ERRORS = 20  # the run stops after this many failed pauses (smoke: 3), so a broken build ends soon


def log(*a):
    print("[replicas]", *a, file=sys.stderr, flush=True)


# ---- processes ------------------------------------------------------------------


class Relay:
    """authrelay on 127.0.0.1:0 (listen and control), in front of the agent
    server, on --store STORE (None: its default, SQLite in its data dir)."""

    def __init__(self, binary, upstream_addr, tmp, name, store=None):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="authrelay-%s-" % name, dir=tmp)
        self.errpath = os.path.join(self.dir, "stderr.log")
        self.err = open(self.errpath, "wb")
        cmd = [binary, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--upstream",
               "http://" + upstream_addr, "--data-dir", os.path.join(self.dir, "data"),
               "--connectors", CATALOG]
        if store:
            cmd += ["--store", store]
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=self.err,
                                     env=dict(os.environ, **ENV), preexec_fn=raise_nofile)
        self.addr = self.control = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.addr is None and self.proc.poll() is None:
            with open(self.errpath, errors="replace") as f:
                for ln in f:
                    try:
                        rec = json.loads(ln)
                    except ValueError:
                        continue
                    if rec.get("msg") == "listening":
                        self.addr, self.control = rec["listen"], rec["control"]
            time.sleep(0.02)
        if self.addr is None:
            self.stop()
            raise RuntimeError("authrelay %s did not start: %s" % (name, open(self.errpath).read()[-2000:]))
        while time.monotonic() < deadline:
            if http_get(self.control, "/readyz")[0] == 200:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("authrelay %s not ready: %s" % (name, open(self.errpath).read()[-2000:]))

    def stop(self):
        stop_proc(self.proc, timeout=30)
        self.err.close()
        return self.proc.returncode


def http_get(addr, path):
    """(status, body text) of a GET with a fresh connection; (0, error) when it fails."""
    host, port = addr.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, addr)).encode())
            resp = Response()
            while not resp.done:
                data = s.recv(65536)
                if not data:
                    resp.eof()
                    break
                resp.feed(data)
        return resp.status, resp.body.decode(errors="replace")
    except OSError as e:
        return 0, str(e)


# ---- the client -----------------------------------------------------------------


class Response:
    """An HTTP/1.1 response read incrementally: head, then a body by
    Content-Length, chunked, or up to the close. body holds the decoded bytes."""

    def __init__(self):
        self.buf = bytearray()
        self.pos = 0
        self.status = None
        self.body = bytearray()
        self.mode = None  # "length", "chunked" or "close", once the head is in
        self.left = 0  # bytes left of the body (length) or of this chunk (chunked)
        self.crlf = False  # chunked: the CRLF after a chunk's data is still due
        self.done = False  # the whole response is in
        self.error = None

    def feed(self, data):
        self.buf += data
        if self.status is None and not self._head():
            return
        self._body()

    def eof(self):
        if self.mode == "close":
            self.done = True
        elif not self.done:
            self.error = "connection closed before the end of the response"

    def _head(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        try:
            self.status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            self.status, self.error, self.done = 0, "bad status line %r" % lines[0], True
            return False
        fields = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            fields[k.strip().lower()] = v.strip().lower()
        if "chunked" in fields.get("transfer-encoding", ""):
            self.mode = "chunked"
        elif "content-length" in fields:
            self.mode, self.left = "length", int(fields["content-length"])
            self.done = self.left == 0
        else:
            self.mode = "close"
        self.pos = end + 4
        return True

    def _body(self):
        buf = self.buf
        while not self.done and self.pos < len(buf):
            if self.mode != "chunked":
                take = len(buf) - self.pos if self.mode == "close" else min(self.left, len(buf) - self.pos)
                self.body += buf[self.pos:self.pos + take]
                self.pos += take
                self.left -= take
                self.done = self.mode == "length" and self.left == 0
            elif self.crlf:
                if len(buf) - self.pos < 2:
                    return
                self.pos += 2
                self.crlf = False
            elif self.left == 0:
                nl = buf.find(b"\r\n", self.pos)
                if nl < 0:
                    return
                size = int(bytes(buf[self.pos:nl]).split(b";")[0], 16)
                self.pos = nl + 2
                if size == 0:
                    self.done = True  # trailers are not used here
                self.left = size
            else:
                take = min(self.left, len(buf) - self.pos)
                self.body += buf[self.pos:self.pos + take]
                self.pos += take
                self.left -= take
                self.crlf = self.left == 0
        if self.pos > 65536:
            del buf[:self.pos]
            self.pos = 0


class Conn:
    """One non-blocking client connection on the selector; t_* are the
    CLOCK_MONOTONIC ns of the recv() that brought each thing."""

    def __init__(self, sel, addr, request):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)  # loopback: done at once
        self.sock.setblocking(False)
        self.resp = Response()
        self.ended = False  # the response is complete or the connection closed
        self.t_link = self.t_resume = self.t_end = None
        self.link = None
        self.sel = sel
        self.sent_ns = time.monotonic_ns()
        sent = self.sock.send(request)
        if sent != len(request):  # a fresh socket takes a request of a few hundred bytes whole
            raise RuntimeError("short send on a fresh socket")
        sel.register(self.sock, selectors.EVENT_READ, self)

    def on_readable(self):
        try:
            data = self.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            data = b""
            self.resp.error = str(e)
        now = time.monotonic_ns()
        seen = len(self.resp.body)
        if data:
            self.resp.feed(data)
        else:
            self.resp.eof()
        body = self.resp.body
        if self.link is None:
            m = LINK_RE.search(body)
            if m:
                self.link, self.t_link = m.group(2).decode(), now
        if self.t_resume is None and body.find(b"event: auth_complete", max(0, seen - 32)) >= 0:
            self.t_resume = now
        if not data or self.resp.done:
            self.ended, self.t_end = True, now
            self.close()

    def close(self):
        if self.sock is not None:
            self.sel.unregister(self.sock)
            self.sock.close()
            self.sock = None


def pump(sel, until, what):
    """Runs the selector until until() is true; False after WAIT_S seconds."""
    timeout = WAIT_S
    deadline = time.monotonic() + timeout
    while not until():
        left = deadline - time.monotonic()
        if left <= 0:
            log("timed out after %g s waiting for %s" % (timeout, what))
            return False
        for key, _ in sel.select(min(left, 1.0)):
            key.data.on_readable()
    return True


def client_floor(n=1000):
    """The client's own floor: a 1-byte socketpair ping through a selector
    like the one the measurement uses (send, select, recv, timestamp): us."""
    a, b = socket.socketpair()
    b.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(b, selectors.EVENT_READ)
    out = []
    for _ in range(n):
        t0 = time.monotonic_ns()
        a.send(b"x")
        while not sel.select(1.0):
            pass
        b.recv(16)
        out.append((time.monotonic_ns() - t0) / 1000.0)
    sel.close()
    a.close()
    b.close()
    return out


# ---- one batch ----------------------------------------------------------------------


def stream_request(addr, user):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nX-Registered-User-Id: %s\r\n"
            "Connection: close\r\n\r\n" % (STREAM_PATH, addr, user)).encode()


def post_request(addr, path, key):
    body = "api_key=" + key
    return ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (path, addr, len(body), body)).encode()


def run_batch(setup, first, count, errors):
    """Pauses count streams on setup["streams_on"], completes each link on
    setup["complete_on"], one at a time. Returns a list of samples (ms) of
    the pauses that resumed whole; appends what went wrong to errors."""
    sel = selectors.DefaultSelector()
    a, b = setup["streams_on"], setup["complete_on"]
    streams = []
    samples = []
    try:
        for i in range(first, first + count):
            user = "bench_%s_%d" % (setup["key"], i)
            streams.append(Conn(sel, a.addr, stream_request(a.addr, user)))
        if not pump(sel, lambda: all(s.link or s.ended for s in streams), "the links of a batch"):
            errors.append("%s: a batch's links did not all come within %g s" % (setup["key"], WAIT_S))
            return samples
        for n, s in enumerate(streams):
            if len(errors) >= MAX_ERRORS:
                break
            if s.link is None:
                errors.append("%s: stream %d ended before its link: %r" % (setup["key"], first + n,
                                                                           bytes(s.resp.body[-300:])))
                continue
            path = s.link[s.link.index("/_authrelay/link/"):]
            deadline = time.monotonic() + WAIT_S
            while True:  # the user opens the Link page (on B: the row is in the store)
                status, page = http_get(b.addr, path)
                if (status == 200 and "<form" in page) or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            if status != 200 or "<form" not in page:
                errors.append("%s: the Link page of pause %d did not offer its form on %s: %s" % (
                    setup["key"], first + n, b.name, status))
                continue
            post = Conn(sel, b.addr, post_request(b.addr, path, "sk-bench-%d" % (first + n)))
            if not pump(sel, lambda: post.ended and s.t_resume is not None, "a resume"):
                errors.append("%s: pause %d: POST %s, auth_complete %s" % (
                    setup["key"], first + n, "answered" if post.ended else "unanswered",
                    "seen" if s.t_resume else "not seen"))
                post.close()
                continue
            if post.resp.status != 200 or b"Connected" not in post.resp.body:
                errors.append("%s: pause %d: the completion POST answered %s" % (setup["key"], first + n,
                                                                                 post.resp.status))
                continue
            samples.append(dict(resume_ms=(s.t_resume - post.sent_ns) / 1e6,
                                post_ms=(post.t_end - post.sent_ns) / 1e6,
                                after_answer_ms=(s.t_resume - post.t_end) / 1e6, stream=s))
        pump(sel, lambda: all(s.ended for s in streams), "the ends of a batch's streams")
        whole = []
        for smp in samples:
            s = smp.pop("stream")
            body = bytes(s.resp.body)
            lost = [i for i in range(SEQS) if b'"seq":%d' % i not in body]
            if not s.resp.done or s.resp.error or lost:
                errors.append("%s: a resumed stream did not end whole (done %s, error %s, lost seqs %s)" % (
                    setup["key"], s.resp.done, s.resp.error, lost))
                continue
            whole.append(smp)
        return whole
    finally:
        for s in streams:
            s.close()
        sel.close()


# ---- figures and report -------------------------------------------------------------


def pct(values, p):
    """Nearest-rank percentile (p99 of 1000 values = the 990th smallest)."""
    if not values:
        return None
    v = sorted(values)
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]


def summary(values):
    return dict(n=len(values), p50=pct(values, 50), p99=pct(values, 99), max=max(values) if values else None,
                min=min(values) if values else None)


def cpu_busy():
    """(busy, total) jiffies of the machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def own_pids(relays, agent):
    """This run's processes: the relays, the agent server, this script, and
    the PostgreSQL postmaster and its children (backends, writers)."""
    pids = [r.proc.pid for r in relays] + [agent.proc.pid, os.getpid()]
    try:
        with open(os.path.join(os.environ["PG_CLUSTER_DIR"], "data", "postmaster.pid")) as f:
            master = int(f.readline())
        pids += [master] + children_of(master)
    except (OSError, ValueError):
        pass
    return pids


def cpu_of(pids):
    """{pid: utime+stime seconds} of the pids still alive."""
    return {pid: proc_sample([pid])[1] for pid in pids}


def ms(v, nd=2):
    return "n/a" if v is None else "%.*f" % (nd, v)


def markdown(meta, res):
    L = ["# Cross-replica resume latency (issue #16)", ""]
    ld = res.get("load", {})
    other = None
    if ld.get("busy_cores") is not None and ld.get("own_cores") is not None:
        other = max(0.0, ld["busy_cores"] - ld["own_cores"])
    L.append("Run %s, `%s`: %d pauses per setup, in batches of %d streams paused at once, completions one at "
             "a time (%.1f s). Machine: %s, %d CPUs, shared with other sessions' builds and tests: over the "
             "batches the machine was busy %s cores on average, this run's own processes (relays, agent "
             "server, PostgreSQL, this client) %s, everything else %s (load average %s at the start and %s at "
             "the end); build type %s; "
             "%s on loopback, fsync %s (authrelay's SQLite: WAL, synchronous=FULL), replicas' connections "
             "over TLS: %s." % (
                 meta["started"], meta["command"], meta["pauses"], meta["batch"], ld.get("wall_s", 0),
                 meta["cpu_model"], meta["cpus"], ms(ld.get("busy_cores")), ms(ld.get("own_cores")),
                 ms(other), meta["loadavg_start"], meta["loadavg_end"], meta["build_type"],
                 meta["postgres"], res["pg_fsync"], res["pg_conns_tls"]))
    L.append("")
    L.append("| setup | pauses | resumed whole | POST sent → auth_complete p50 ms | p99 ms | max ms "
             "| POST round trip p50 ms | p99 ms | auth_complete − POST answer p50 ms | p99 ms |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in ("postgres", "sqlite"):
        r = res[key]
        rs, po, aa = r["resume_ms"], r["post_ms"], r["after_answer_ms"]
        L.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            r["title"], r["pauses"], rs["n"], ms(rs["p50"]), ms(rs["p99"]), ms(rs["max"]), ms(po["p50"]),
            ms(po["p99"]), ms(aa["p50"]), ms(aa["p99"])))
    L.append("")
    rt = res["ratio"]
    L.append("| ratio PostgreSQL cross-replica / SQLite one process | p50 | p99 |")
    L.append("| --- | ---: | ---: |")
    L.append("| POST sent → auth_complete | %s | %s |" % (ms(rt["p50"]), ms(rt["p99"])))
    L.append("| POST round trip | %s | %s |" % (ms(rt["post_p50"]), ms(rt["post_p99"])))
    L.append("")
    fl = res["client_floor_us"]
    L.append("- **POST sent → auth_complete**: from just before the completion POST is sent (on a connection "
             "already open) to the recv() on the paused stream that brought `event: auth_complete`: the "
             "figure of issue #16. PostgreSQL: the stream is held by replica A and the link completed on B "
             "(B's commit, its NOTIFY, A's LISTEN connection, A's read of the outcome, the resume). SQLite: "
             "one process holds the stream and serves the Link page.")
    L.append("- **POST round trip**: the same start to the end of the POST's answer (the Link page's "
             "`Connected`). **auth_complete − POST answer** is signed: negative when the stream resumed "
             "before the answer arrived.")
    L.append("- Client floor (this Python client's own send → select → recv on a socketpair, %d pings): "
             "p50 %.1f us, p99 %.1f us: figures closer than that are not told apart." % (
                 fl["n"], fl["p50"], fl["p99"]))
    L.append("- The two setups took turns batch by batch in the same run (the first of each batch "
             "alternating). Every pause was for a user of its own (one link each); a pause counts as resumed "
             "whole only when its stream also ended with all %d upstream events. Timings are never "
             "asserted." % SEQS)
    if res["errors"]:
        L.append("- **Errors** (%d): %s" % (len(res["errors"]), "; ".join(res["errors"][:10])))
    L.append("")
    return "\n".join(L)


# ---- main -----------------------------------------------------------------------------


def pgcluster_module():
    sys.path.insert(0, os.path.dirname(PGCLUSTER))
    import pgcluster
    return pgcluster


def psql(sql):
    """One query's rows (psql -At) on PG_URL, or the error text."""
    p = subprocess.run(["psql", os.environ["PG_URL"], "-Atc", sql], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    return p.stdout.decode().strip()


def postgres_fsync_on():
    """pgcluster.py starts its clusters with fsync=off (their data is thrown
    away) while authrelay's SQLite commits with synchronous=FULL. For a
    like-for-like figure the cluster is restarted (same port) with its own
    options from postmaster.opts, fsync=on in place of fsync=off (a
    command-line option, so ALTER SYSTEM could not change it)."""
    pgc = pgcluster_module()
    data = os.path.join(os.environ["PG_CLUSTER_DIR"], "data")
    with open(os.path.join(data, "postmaster.opts")) as f:
        argv = shlex.split(f.read())[1:]
    opts = []
    while argv:
        arg = argv.pop(0)
        if arg == "-D":
            argv.pop(0)
            continue
        opts.append("fsync=on" if arg == "fsync=off" else arg)
    if pgc.pg_ctl(data, "-l", os.path.join(os.environ["PG_CLUSTER_DIR"], "postgres.log"),
                  "-o", " ".join(shlex.quote(o) for o in opts), "-m", "fast", "-w", "-t", "60", "restart") != 0:
        raise RuntimeError("pg_ctl restart with fsync=on failed")


def postgres_version():
    """`postgres --version` of the binaries pgcluster.py uses."""
    try:
        return subprocess.run([os.path.join(pgcluster_module().BINDIR, "postgres"), "--version"],
                              stdout=subprocess.PIPE, timeout=10).stdout.decode().strip()
    except OSError:
        return "postgres (version unknown)"


def measure(args, build, tmp):
    """Starts the processes, runs the batches; returns (results, relays' exit codes ok)."""
    agent = Upstream(os.path.join(build, "agent-server"), tmp, "agent")
    binary = os.path.join(build, "authrelay")
    relays = []
    errors = []
    exits_ok = True
    pg_conns = "n/a"
    load = {}
    try:
        a = Relay(binary, agent.addr, tmp, "A", os.environ["PG_URL"])
        relays.append(a)
        b = Relay(binary, agent.addr, tmp, "B", os.environ["PG_URL"])
        relays.append(b)
        one = Relay(binary, agent.addr, tmp, "sqlite")
        relays.append(one)
        # libpq's default sslmode=prefer and the cluster's ssl=on: say what the replicas use
        pg_conns = psql("SELECT count(*) FILTER (WHERE s.ssl) || ' of ' || count(*) FROM pg_stat_activity a "
                        "JOIN pg_stat_ssl s USING (pid) WHERE a.backend_type = 'client backend' "
                        "AND a.pid <> pg_backend_pid()")
        setups = [dict(key="postgres", title="PostgreSQL: paused on replica A, completed on replica B",
                       streams_on=a, complete_on=b, samples=[]),
                  dict(key="sqlite", title="SQLite: one process (paused and completed on it)",
                       streams_on=one, complete_on=one, samples=[])]
        cpu0, busy0, t0 = cpu_of(own_pids(relays, agent)), cpu_busy(), time.monotonic()
        done = 0
        k = 0
        while done < args.pauses and len(errors) < MAX_ERRORS:
            count = min(args.batch, args.pauses - done)
            for setup in (setups if k % 2 == 0 else setups[::-1]):
                if len(errors) < MAX_ERRORS:
                    setup["samples"] += run_batch(setup, done, count, errors)
            done += count
            k += 1
            if k % 5 == 0 or done == args.pauses:
                log("%d/%d pauses per setup; resumed whole: postgres %d, sqlite %d; errors %d" % (
                    done, args.pauses, len(setups[0]["samples"]), len(setups[1]["samples"]), len(errors)))
        cpu1, busy1, wall = cpu_of(own_pids(relays, agent)), cpu_busy(), time.monotonic() - t0
        ours = sum(c - cpu0.get(pid, 0.0) for pid, c in cpu1.items())
        busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * (os.cpu_count() or 1)
        load = dict(wall_s=wall, busy_cores=busy, own_cores=ours / wall if wall > 0 else None)
    finally:
        for r in relays:
            code = r.stop()
            if code != 0:
                exits_ok = False
                errors.append("authrelay %s exited with %s" % (r.name, code))
        agent.stop()
    res = dict(errors=errors, load=load, pg_conns_tls=pg_conns, pg_fsync=psql("SHOW fsync"))
    for setup in setups:
        sm = setup["samples"]
        res[setup["key"]] = dict(title=setup["title"], pauses=args.pauses,
                                 resume_ms=summary([x["resume_ms"] for x in sm]),
                                 post_ms=summary([x["post_ms"] for x in sm]),
                                 after_answer_ms=summary([x["after_answer_ms"] for x in sm]),
                                 samples=sm)
    pg, sq = res["postgres"], res["sqlite"]

    def rat(x, y):
        return x / y if x is not None and y else None
    res["ratio"] = dict(p50=rat(pg["resume_ms"]["p50"], sq["resume_ms"]["p50"]),
                        p99=rat(pg["resume_ms"]["p99"], sq["resume_ms"]["p99"]),
                        post_p50=rat(pg["post_ms"]["p50"], sq["post_ms"]["p50"]),
                        post_p99=rat(pg["post_ms"]["p99"], sq["post_ms"]["p99"]))
    ok = exits_ok and not errors and all(res[k]["resume_ms"]["n"] == args.pauses for k in ("postgres", "sqlite"))
    return res, ok


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pauses", type=int, default=1000, help="pauses per setup (1000)")
    ap.add_argument("--batch", type=int, default=50, help="streams paused at once (50)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("--pg-fsync", choices=("on", "off"), default="on",
                    help="PostgreSQL fsync (on: durable commits like authrelay's SQLite; off: pgcluster.py's own)")
    ap.add_argument("--smoke", action="store_true",
                    help="ctest bench_replicas_smoke: 10 pauses, checks that all resumed and the report's rows")
    args = ap.parse_args(argv)
    global WAIT_S, MAX_ERRORS
    if args.smoke:
        args.pauses, args.batch = 10, 5
        WAIT_S, MAX_ERRORS = 10.0, 3
    if args.pauses < 1 or args.batch < 1:
        ap.error("--pauses and --batch must be at least 1")
    if "PG_URL" not in os.environ or "PG_CLUSTER_DIR" not in os.environ:
        # run again under a throwaway PostgreSQL cluster of our own (never a database of someone's)
        timeout = 300 + args.pauses
        return subprocess.run([sys.executable, PGCLUSTER, "run", "--timeout", str(timeout), "--",
                               sys.executable, os.path.abspath(__file__)] + argv, check=False).returncode
    build = os.path.abspath(args.build_dir)
    started = datetime.datetime.now()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    floor = summary(client_floor())
    load0 = "%.2f" % os.getloadavg()[0]
    if args.pg_fsync == "on" and psql("SHOW fsync") == "off":
        postgres_fsync_on()
    tmp = tempfile.mkdtemp(prefix="authrelay-replicas-")
    try:
        res, ok = measure(args, build, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["client_floor_us"] = floor
    meta = machine_meta(argparse.Namespace(workers=1), build)
    for k in ("nginx_version", "h2load_version", "workers"):
        meta.pop(k, None)
    meta.update(started=started.strftime("%Y-%m-%d %H:%M:%S"), pauses=args.pauses, batch=args.batch,
                command=" ".join(["python3 bench/replica_resume.py"] + argv),
                loadavg_start=load0, loadavg_end="%.2f" % os.getloadavg()[0], postgres=postgres_version(),
                elapsed_s=round((datetime.datetime.now() - started).total_seconds(), 1))
    md = markdown(meta, res)
    if args.smoke:
        rows = [ln for ln in md.splitlines() if ln.startswith("| %s " % res["postgres"]["title"]) or
                ln.startswith("| %s " % res["sqlite"]["title"]) or ln.startswith("| POST sent")]
        rows_ok = len(rows) == 3 and not any("n/a" in ln for ln in rows)
        print(md)
        log("smoke: %d/%d resumed on PostgreSQL, %d/%d on SQLite; report rows %s" % (
            res["postgres"]["resume_ms"]["n"], args.pauses, res["sqlite"]["resume_ms"]["n"], args.pauses,
            "present" if rows_ok else "MISSING"))
        return 0 if ok and rows_ok else 1
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, stamp + "-replicas")
    with open(base + ".json", "w") as f:
        json.dump(dict(meta=meta, results=res), f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(md)
    print(md)
    log("wrote %s.{md,json} in %.0f s" % (base, meta["elapsed_s"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
