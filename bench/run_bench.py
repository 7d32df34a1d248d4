#!/usr/bin/env python3
"""Load benchmark driver: authrelay side by side with nginx and a direct connection.

    python3 bench/run_bench.py [--quick] [--build-dir build] [--workers N] [--only a,b]
    python3 bench/run_bench.py --smoke --build-dir build     (ctest bench_load_smoke)

For each scenario the same load (build/bench-load) runs against three targets
in the same run: direct (client to the upstream), nginx (Debian package,
started here with a generated config in a temp dir) and authrelay (inspection
on, the default). The relay process is sampled from /proc (RSS from
/proc/PID/status, CPU = utime+stime from /proc/PID/stat; nginx: master and
workers summed). Results: bench/results/<timestamp>.json, .md and
<timestamp>-latency.png (gnuplot). See bench/README.md "Load benchmark".

Python 3 standard library only. Every process started here is stopped by its
pid when the run ends; every wait is bounded.
"""

import argparse
import datetime
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from bench_report import evaluate, fmt, log, markdown, plot, seq_ok
import h2sat

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FD_HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
USER_HEADER = "X-Registered-User-Id: bench_user"

# name: (full, quick) sizes. "up" is the upstream: agent (examples/agent-server)
# or gen (bench-upstream, see upstream.c for why).
# driver=h2load: h2load --h1 -c clients, finite fixed bodies of `events`
# events, each target's run sized to about `duration` s (h2sat.py).
SCENARIOS = [
    dict(name="sat_delta", driver="h2load", up="gen", events=100,
         title="saturation, token deltas (h2load --h1, keep-alive; 100 x 200-byte events per response)",
         path="/stream?kind=delta&count=100&size=200&fixed=1",
         full=dict(clients=64, duration=4.0, rounds=5), quick=dict(clients=64, duration=1.0, rounds=3)),
    dict(name="sat_tool", driver="h2load", up="gen", events=20,
         title="saturation, tool results (h2load --h1, keep-alive; 20 x 2 KiB JSON-in-string events per response)",
         path="/stream?kind=tool&count=20&size=2048&fixed=1",
         full=dict(clients=64, duration=4.0, rounds=3), quick=dict(clients=64, duration=1.0, rounds=1)),
    dict(name="saturation", up="gen", title="saturation: 200-byte events, as fast as possible",
         path="/stream?kind=delta&count=1000000000&size=200",
         full=dict(streams=100, warmup=1.0, duration=6.0, rounds=3),
         quick=dict(streams=50, warmup=0.5, duration=3.0)),
    dict(name="latency", up="agent", title="latency: open loop, 200-byte events",
         path="/stream?format=sse&count=1000000&rate={rate}&size=200&ts=1",
         full=dict(streams=500, rate=40, warmup=2.0, duration=10.0, rounds=3),
         quick=dict(streams=200, rate=50, warmup=1.0, duration=3.0)),
    dict(name="idle", up="agent", title="idle streams: one event every 10 s",
         path="/stream?format=sse&count=1000&rate=0.1&size=200&ts=1",
         full=dict(streams=10000, warmup=0.0, duration=12.0), quick=dict(streams=1000, warmup=0.0, duration=2.0)),
    dict(name="parse_heavy", up="gen", title="parse-heavy: every event a 2 KiB MCP tool result (yajl path)",
         path="/stream?kind=tool&count=1000000000&size=2048",
         full=dict(streams=100, warmup=1.0, duration=6.0, rounds=3),
         quick=dict(streams=50, warmup=0.5, duration=3.0)),
    dict(name="pause_storm", up="agent", title="pause storm: one (user, connector) pause, one completion",
         path="/stream?format=sse&count=6&auth_at=3&shape=authenticate_meta&connector=slack&ts=1",
         full=dict(streams=1000), quick=dict(streams=100), relay_only=True),
    dict(name="parser", driver="parser", title="bench-parser (parser micro-benchmark)"),
]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_proc(p, timeout=10.0):
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


# ---- /proc sampling ----------------------------------------------------------

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def proc_sample(pids):
    """(rss_kib, cpu_s) summed over pids (utime+stime; VmRSS)."""
    rss = 0
    cpu = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            cpu += (int(fields[11]) + int(fields[12])) / CLK
            with open("/proc/%d/status" % pid) as f:
                for ln in f:
                    if ln.startswith("VmRSS:"):
                        rss += int(ln.split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return rss, cpu


class Sampler:
    """Samples the relay processes every 0.2 s (peak RSS) and at the phases."""

    def __init__(self, pid_fn):
        self.pid_fn = pid_fn
        self.peak = 0
        self.marks = {}
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.wait(0.2):
            rss, _ = proc_sample(self.pid_fn())
            self.peak = max(self.peak, rss)

    def mark(self, name):
        rss, cpu = proc_sample(self.pid_fn())
        self.peak = max(self.peak, rss)
        self.marks[name] = dict(t=time.time(), rss_kib=rss, cpu_s=cpu)

    def close(self):
        self.stop.set()
        self.t.join(2)


# ---- processes ----------------------------------------------------------------


class Upstream:
    def __init__(self, binary, tmp, name):
        self.log = open(os.path.join(tmp, name + ".log"), "wb")
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     stderr=self.log, preexec_fn=raise_nofile)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("%s did not start" % binary)
        self.addr = json.loads(line)["listening"]

    def stop(self):
        stop_proc(self.proc)
        self.proc.stdout.close()
        self.log.close()


class NoRelay:
    name = "direct"

    def __init__(self, upstream_addr):
        self.addr = upstream_addr

    def pids(self):
        return []

    def stop(self):
        return 0


class Nginx:
    name = "nginx"

    def __init__(self, upstream_addr, workers, tmp):
        self.prefix = tempfile.mkdtemp(prefix="nginx-", dir=tmp)
        port = free_port()
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % dict(workers=workers, prefix=self.prefix, nofile=FD_HARD,
                                      conns=max(1024, FD_HARD - 100), upstream=upstream_addr, port=port))
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.prefix, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=raise_nofile)
        if not wait_port(port):
            err = open(os.path.join(self.prefix, "error.log")).read()[-2000:]
            stop_proc(self.proc)
            raise RuntimeError("nginx did not start: " + err)
        self.addr = "127.0.0.1:%d" % port
        self.workers = children_of(self.proc.pid)

    def pids(self):
        return [self.proc.pid] + self.workers

    def stop(self):
        stop_proc(self.proc)
        return self.proc.returncode


NGINX_CONF = """# generated by bench/run_bench.py
worker_processes %(workers)d;
worker_rlimit_nofile %(nofile)d;
pid %(prefix)s/nginx.pid;
error_log %(prefix)s/error.log warn;
events { worker_connections %(conns)d; }
http {
  access_log off;
  client_body_temp_path %(prefix)s/client_body;
  proxy_temp_path %(prefix)s/proxy;
  fastcgi_temp_path %(prefix)s/fastcgi;
  uwsgi_temp_path %(prefix)s/uwsgi;
  scgi_temp_path %(prefix)s/scgi;
  upstream agent {
    server %(upstream)s;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:%(port)d;
    location / {
      proxy_pass http://agent;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
"""


class Authrelay:
    name = "authrelay"

    def __init__(self, binary, upstream_addr, workers, tmp):
        self.dir = tempfile.mkdtemp(prefix="authrelay-", dir=tmp)
        self.errpath = os.path.join(self.dir, "stderr.log")
        self.err = open(self.errpath, "wb")
        cmd = [binary, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--upstream",
               "http://" + upstream_addr, "--workers", str(workers), "--data-dir",
               os.path.join(self.dir, "data")]
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=self.err,
                                     preexec_fn=raise_nofile)
        self.addr = None
        deadline = time.time() + 10
        while time.time() < deadline and self.addr is None:
            if self.proc.poll() is not None:
                break
            with open(self.errpath) as f:
                for ln in f:
                    try:
                        rec = json.loads(ln)
                    except ValueError:
                        continue
                    if rec.get("msg") == "listening":
                        self.addr = rec["listen"]
                        self.control = rec["control"]
            time.sleep(0.02)
        if self.addr is None:
            stop_proc(self.proc)
            raise RuntimeError("authrelay did not start: " + open(self.errpath).read()[-2000:])

    def pids(self):
        return [self.proc.pid]

    def metrics(self):
        import urllib.request
        out = {}
        try:
            with urllib.request.urlopen("http://%s/metrics" % self.control, timeout=5) as r:
                for ln in r.read().decode().splitlines():
                    if ln and not ln.startswith("#"):
                        k, v = ln.rsplit(" ", 1)
                        out[k] = float(v)
        except OSError as e:
            out["error"] = str(e)
        return out

    def stop(self):
        stop_proc(self.proc, timeout=40)
        self.err.close()
        return self.proc.returncode


# ---- one measurement ------------------------------------------------------------


def run_load(build, target_addr, sc, size, relay, timeout):
    """Runs bench-load against target_addr; returns its JSON plus /proc samples."""
    path = sc["path"].format(**size)
    args = [os.path.join(build, "bench-load"), "--url", "http://%s%s" % (target_addr, path),
            "--streams", str(size["streams"]), "--timeout", str(timeout), "--batch", "250"]
    if sc["name"] == "pause_storm":
        args += ["--pause-storm", "--header", USER_HEADER]
    else:
        args += ["--warmup", str(size["warmup"]), "--duration", str(size["duration"])]
    sampler = Sampler(relay.pids)
    sampler.mark("before")
    t0 = time.time()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=raise_nofile)
    stderr_lines = []

    def read_err():
        for ln in p.stderr:
            try:
                rec = json.loads(ln)
            except ValueError:
                stderr_lines.append(ln.decode(errors="replace"))
                continue
            if "phase" in rec:
                sampler.mark(rec["phase"])

    outbuf = []
    th = threading.Thread(target=read_err, daemon=True)
    th.start()
    tho = threading.Thread(target=lambda: outbuf.append(p.stdout.read()), daemon=True)
    tho.start()
    try:
        p.wait(timeout + 30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)
    tho.join(10)
    th.join(5)
    out = outbuf[0] if outbuf else b""
    p.stdout.close()
    p.stderr.close()
    sampler.mark("after")
    sampler.close()
    try:
        res = json.loads(out)
    except ValueError:
        res = dict(ok=False, errors=["bench-load printed no JSON (exit %s): %s" % (p.returncode, "".join(stderr_lines)[-500:])])
    res["exit_status"] = p.returncode
    res["wall_s"] = round(time.time() - t0, 3)
    m = sampler.marks
    proc = dict(peak_rss_kib=sampler.peak)
    if relay.pids():
        proc["rss_before_kib"] = m["before"]["rss_kib"]
        end = m.get("measure_end") or m.get("after")
        proc["rss_end_kib"] = end["rss_kib"]
        if "measure_start" in m and "measure_end" in m:
            dt = m["measure_end"]["t"] - m["measure_start"]["t"]
            dcpu = m["measure_end"]["cpu_s"] - m["measure_start"]["cpu_s"]
            proc["cpu_s"] = round(dcpu, 3)
            proc["cpu_util"] = round(dcpu / dt, 3) if dt > 0 else None
            ev = res.get("events_window") or 0
            proc["cpu_us_per_event"] = round(dcpu * 1e6 / ev, 3) if ev else None
        else:
            dcpu = m["after"]["cpu_s"] - m["before"]["cpu_s"]
            proc["cpu_s"] = round(dcpu, 3)
    res["proc"] = proc
    return res


def pick_median(name, rs):
    """The run with the median events/s (latency: the median p99) of a target;
    every run's correctness counts: a failed run makes the pick fail."""
    if len(rs) == 1:
        return rs[0]
    if name == "latency":
        key = lambda r: r.get("latency_us", {}).get("p99", float("inf"))  # noqa: E731
    else:
        key = lambda r: -(r.get("events_per_s") or 0)  # noqa: E731
    ordered = sorted(rs, key=key)
    pick = dict(ordered[(len(ordered) - 1) // 2])
    pick["rounds"] = [dict(events_per_s=r.get("events_per_s"), p99_us=r.get("latency_us", {}).get("p99"),
                           ok=seq_ok(r)) for r in rs]
    bad = [r for r in rs if not seq_ok(r)]
    if bad:
        pick["ok"] = False
        pick["errors"] = pick.get("errors", []) + ["another round failed: %s" % bad[0].get("errors")]
        for k in ("lost", "duplicated", "reordered"):
            pick[k] = sum(r.get(k, 0) or 0 for r in rs)
    return pick



def machine_meta(args, build):
    cpu = "unknown"
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nv = subprocess.run(["nginx", "-v"], stderr=subprocess.PIPE, timeout=10).stderr.decode().strip()
    except OSError:
        nv = "nginx missing"
    bt = "?"
    try:
        for ln in open(os.path.join(build, "CMakeCache.txt")):
            if ln.startswith("CMAKE_BUILD_TYPE:"):
                bt = ln.split("=", 1)[1].strip() or "RelWithDebInfo (the default of CMakeLists.txt)"
    except OSError:
        pass
    try:
        hv = subprocess.run(["h2load", "--version"], stdout=subprocess.PIPE, timeout=10).stdout.decode().strip()
    except OSError:
        hv = "h2load missing"
    return dict(cpu_model=cpu, cpus=os.cpu_count(), kernel=os.uname().release, nginx_version=nv, h2load_version=hv,
                build_type=bt, workers=args.workers, fd_hard_limit=FD_HARD)


# ---- main -----------------------------------------------------------------------


def smoke(build):
    """ctest bench_load_smoke: correctness only, never timings."""
    tmp = tempfile.mkdtemp(prefix="bench-smoke-")
    ups = []
    failed = []
    try:
        agent = Upstream(os.path.join(build, "agent-server"), tmp, "agent")
        ups.append(agent)
        gen = Upstream(os.path.join(build, "bench-upstream"), tmp, "gen")
        ups.append(gen)
        runs = [("agent-server", agent.addr, "/stream?format=sse&count=2000&rate=1000&size=200&ts=1"),
                ("bench-upstream delta", gen.addr, "/stream?kind=delta&count=5000&size=200"),
                ("bench-upstream tool", gen.addr, "/stream?kind=tool&count=500&size=2048"),
                ("bench-upstream fixed delta (h2load's body)", gen.addr, "/stream?kind=delta&count=100&size=200&fixed=1"),
                ("bench-upstream fixed tool (h2load's body)", gen.addr, "/stream?kind=tool&count=20&size=2048&fixed=1")]
        for name, addr, path in runs:
            p = subprocess.run([os.path.join(build, "bench-load"), "--url", "http://%s%s" % (addr, path),
                                "--streams", "20", "--until-done", "--timeout", "20"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=40)
            try:
                r = json.loads(p.stdout)
            except ValueError:
                r = {}
            good = (p.returncode == 0 and seq_ok(r) and r.get("ended") == 20 and r.get("events_total") ==
                    20 * int(path.split("count=")[1].split("&")[0]))
            print("%s: %s: events %s lost %s duplicated %s reordered %s ended %s errors %s" % (
                "ok" if good else "FAIL", name, r.get("events_total"), r.get("lost"), r.get("duplicated"),
                r.get("reordered"), r.get("ended"), r.get("errors")))
            if not good:
                failed.append(name)
    finally:
        for u in ups:
            u.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


def start_target(tgt, up, build, workers, tmp):
    if tgt == "direct":
        return NoRelay(up)
    if tgt in ("nginx", "nginx2"):
        return Nginx(up, workers, tmp)
    return Authrelay(os.path.join(build, "authrelay"), up, workers, tmp)


def one_run(tgt, up, build, workers, tmp, fn):
    """Starts a fresh target, returns fn(relay) with the target's own failures
    (cannot start, bad exit status) folded into the result."""
    relay = None
    try:
        relay = start_target(tgt, up, build, workers, tmp)
        r = fn(relay)
    except Exception as e:  # a target that cannot start is reported, not fatal
        r = dict(ok=False, errors=["%s: %s" % (type(e).__name__, e)])
    finally:
        if relay is not None:
            code = relay.stop()
            if code not in (0, None) and tgt != "direct":
                r.setdefault("errors", []).append("%s exited with %s" % (tgt, code))
                r["ok"] = False
    time.sleep(0.5)
    return r


def rotations(targets, rounds):
    """Round k runs the targets rotated by k, so no target always runs first."""
    return [targets[k % len(targets):] + targets[:k % len(targets)] for k in range(rounds)]


def run_h2_scenario(sc, size, upstream, build, args, tmp, mode):
    """h2load saturation: `rounds` rounds over direct, nginx, authrelay, then
    one profiled run (perf stat) per relay. Returns the scenario's results."""
    out = dict(kind="h2load", rounds=[], median={}, profile={})
    if h2sat.h2load_path() is None:
        out["skipped"] = "h2load is missing (Debian nghttp2-client; make bench installs it): not run."
        log(out["skipped"])
        return out
    up = upstream.addr
    try:
        body = h2sat.body_size(up, sc["path"])
    except OSError as e:
        out["skipped"] = "the upstream did not answer %s: %s" % (sc["path"], e)
        out["rounds"].append(dict(direct=dict(ok=False, errors=[out["skipped"]])))
        return out
    nreq = {}
    targets = ["direct", "nginx", "authrelay"]
    timeout = 60 + 10 * size["duration"]

    def run(tgt, requests, perf):
        return one_run(tgt, up, build, args.workers, tmp, lambda relay: h2sat.saturation_run(
            relay.addr, sc["path"], sc["events"], body, relay.pids(), [upstream.proc.pid], size["clients"],
            size["duration"], requests=requests, perf_tmp=tmp if perf else None, timeout=timeout))

    for k, order in enumerate(rotations(targets, size["rounds"])):
        rnd = {}
        for tgt in order:
            log("%s (%s): %s, %d clients, round %d/%d" % (sc["name"], mode, tgt, size["clients"], k + 1,
                                                       size["rounds"]))
            r = run(tgt, nreq.get(tgt), False)
            if r.get("ok") and tgt not in nreq:
                nreq[tgt] = r["requests"]  # later rounds repeat the first round's size
            rnd[tgt] = r
            log("  -> ok=%s events/s=%s h2load CPU %s cores %s" % (r.get("ok"), fmt(r.get("events_per_s"), 0),
                                                                 r.get("h2load_cpu_cores"), r.get("errors") or ""))
        out["rounds"].append(rnd)
    for tgt in targets:
        rs = sorted((rnd[tgt] for rnd in out["rounds"] if rnd.get(tgt)), key=lambda r: r.get("events_per_s") or 0)
        if rs:
            out["median"][tgt] = rs[(len(rs) - 1) // 2]
    if h2sat.perf_works():
        for tgt in ("nginx", "authrelay"):
            log("%s (%s): %s, profiled run (perf stat syscalls)" % (sc["name"], mode, tgt))
            n = nreq.get(tgt)
            out["profile"][tgt] = run(tgt, max(size["clients"] * 10, n // 2) if n else None, True)
    else:
        log("perf cannot count raw_syscalls here: no syscall counts")
    return out


def run_parser(build, quick):
    """bench-parser --json (quick: 8 MiB streams, best of 2)."""
    path = os.path.join(tempfile.mkdtemp(prefix="bench-parser-"), "parser.json")
    args = [os.path.join(build, "bench-parser"), "--json", path]
    if quick:
        args += ["--size-mib", "8", "--reps", "2"]
    try:
        p = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        with open(path) as f:
            res = json.load(f)
        res["exit_status"] = p.returncode
        res["quick"] = quick
        return res
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        return dict(ok=False, errors=[str(e)])
    finally:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def run_load_scenario(sc, size, up, build, args, tmp, mode):
    """bench-load scenario over its targets (latency: nginx twice, so that
    nginx against itself shows the noise). Returns (results, all seq ok)."""
    ok = True
    if sc.get("relay_only"):
        targets = ["authrelay"]
    elif sc["name"] == "latency":
        targets = ["direct", "nginx", "nginx2", "authrelay"]
    else:
        targets = ["direct", "nginx", "authrelay"]
    runs = {t: [] for t in targets}
    order = [t for rnd in rotations(targets, size.get("rounds", 1)) for t in rnd]
    timeout = 60 + size.get("warmup", 0) + size.get("duration", 0) + size["streams"] / 200

    def load(tgt):
        def fn(relay):
            r = run_load(build, relay.addr, sc, size, relay, timeout)
            if tgt == "authrelay":
                m = relay.metrics()
                r["relay_metrics"] = {k: v for k, v in m.items() if any(
                    s in k for s in ("detections", "events_total", "pauses", "resumes", "upstream_errors",
                                     "malformed", "oversized"))}
            return r
        return fn

    for n_run, tgt in enumerate(order):
        log("%s (%s): %s, %d streams, run %d/%d" % (sc["name"], mode, tgt, size["streams"], n_run + 1, len(order)))
        r = one_run(tgt, up, build, args.workers, tmp, load(tgt))
        runs[tgt].append(r)
        lat = r.get("latency_us", {})
        log("  -> ok=%s events/s=%s p99=%s us lost/dup/reord=%s/%s/%s %s" % (
            r.get("ok"), fmt(r.get("events_per_s"), 0), lat.get("p99"), r.get("lost"),
            r.get("duplicated"), r.get("reordered"),
            ("storm %s ms" % r["storm"]["all_resumed_ms"]) if "storm" in r else ""))
        if not seq_ok(r):
            ok = False
            log("  !! errors: %s" % r.get("errors"))
    return {tgt: pick_median(sc["name"], rs) for tgt, rs in runs.items()}, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    ap.add_argument("--smoke", action="store_true", help="correctness smoke test only (ctest)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workers", type=int, default=1, help="authrelay --workers = nginx worker_processes (1)")
    ap.add_argument("--only", default="", help="comma-separated scenario names: " +
                    ",".join(s["name"] for s in SCENARIOS))
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    build = os.path.abspath(args.build_dir)
    if args.smoke:
        return smoke(build)
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        log("nginx is missing: run scripts/deps.sh nginx gnuplot-nox nghttp2-client (make bench does)")
        return 1
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin"
    mode = "quick" if args.quick else "full"
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - {s["name"] for s in SCENARIOS}
    if unknown:
        log("unknown scenario(s): %s" % ", ".join(sorted(unknown)))
        return 2
    scen_list = [s for s in SCENARIOS if not only or s["name"] in only]
    started = datetime.datetime.now()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out_dir, exist_ok=True)
    meta = machine_meta(args, build)
    meta.update(started=started.strftime("%Y-%m-%d %H:%M:%S"), mode=mode,
                command=("make bench-quick" if args.quick else "make bench") if not only else
                "python3 bench/run_bench.py " + " ".join(sys.argv[1:]), notes=[])
    meta["argv"] = sys.argv
    tmp = tempfile.mkdtemp(prefix="authrelay-bench-")
    results = {}
    upstreams = {}
    rc = 0
    try:
        upstreams["agent"] = Upstream(os.path.join(build, "agent-server"), tmp, "agent")
        upstreams["gen"] = Upstream(os.path.join(build, "bench-upstream"), tmp, "gen")
        for sc in scen_list:
            if sc.get("driver") == "parser":
                log("bench-parser (%s)" % mode)
                results["parser"] = run_parser(build, args.quick)
                if results["parser"].get("exit_status") != 0:
                    rc = 1
                    log("  !! bench-parser failed: %s" % results["parser"].get("errors"))
                continue
            size = dict(sc[mode])
            if sc.get("driver") == "h2load":
                results[sc["name"]] = run_h2_scenario(sc, size, upstreams[sc["up"]], build, args, tmp, mode)
                h2 = results[sc["name"]]
                if any(not r.get("ok") for rnd in h2["rounds"] for r in rnd.values()) or \
                        any(not r.get("ok") for r in h2["profile"].values()):
                    rc = 1
                continue
            if sc["name"] == "idle":
                # Each relay holds 2 fds per stream (client + upstream); the
                # hard RLIMIT_NOFILE caps one process.
                # 9000 leaves nginx's worker (client + upstream + its own fds
                # in one worker_connections budget) room below a 20000 limit.
                cap = min(9000, (FD_HARD - 2000) // 2)
                if size["streams"] > cap:
                    meta["notes"].append("idle: %d streams asked, capped at %d: the relay needs 2 fds per stream "
                                         "and the hard fd limit is %d per process" % (size["streams"], cap, FD_HARD))
                    size["streams"] = cap
            results[sc["name"]], ok = run_load_scenario(sc, size, upstreams[sc["up"]].addr, build, args, tmp, mode)
            if not ok:
                rc = 1
    finally:
        for u in upstreams.values():
            u.stop()
    meta["notes"].append("h2load scenarios: bench-upstream fixed=1 answers every request with the same "
                         "pre-rendered SSE body (a static upstream); each run is checked by counts: 0 failed, "
                         "every response 2xx and body bytes = responses x body size")
    meta["notes"].append("saturation and parse-heavy use bench-upstream (bench/upstream.c): the example "
                         "agent server starves all but one stream at rate=0")
    meta["notes"].append("parse-heavy events are MCP tool results whose JSON-in-string holds \\u escapes: "
                         "they pass the detector's prefilter, so yajl parses every event (both levels); "
                         "none is an auth-required result")
    meta["notes"].append("latency = bench-load receive time - the upstream's CLOCK_MONOTONIC send stamp, "
                         "log-linear histogram (6.25 % buckets); added = a run's p99 - the median of direct's p99s; "
                         "nginx runs twice per round (two fresh instances) to show its spread against itself")
    meta["notes"].append("nginx: access_log off; authrelay: one JSON access line per stream (not per event)")
    meta["elapsed_s"] = round((datetime.datetime.now() - started).total_seconds(), 1)
    goals = evaluate(results, results.get("parser"), mode)
    png = os.path.join(args.out_dir, stamp + "-latency.png")
    have_png = plot(results, png, tmp)
    doc = dict(meta=meta, goals=goals, results=results, png=png if have_png else None)
    with open(os.path.join(args.out_dir, stamp + ".json"), "w") as f:
        json.dump(doc, f, indent=1)
    md = markdown(meta, results, goals, scen_list, os.path.basename(png) if have_png else None)
    with open(os.path.join(args.out_dir, stamp + ".md"), "w") as f:
        f.write(md)
    shutil.rmtree(tmp, ignore_errors=True)
    print(md)
    log("wrote %s.{md,json}%s in %.0f s" % (os.path.join(args.out_dir, stamp),
                                             " and -latency.png" if have_png else "", meta["elapsed_s"]))
    return rc


if __name__ == "__main__":
    sys.exit(main())
