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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FD_HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
USER_HEADER = "X-Registered-User-Id: bench_user"

# name: (full, quick) sizes. "up" is the upstream: agent (examples/agent-server)
# or gen (bench-upstream, see upstream.c for why).
SCENARIOS = [
    dict(name="saturation", up="gen", title="saturation: 200-byte events, as fast as possible",
         path="/stream?kind=delta&count=1000000000&size=200",
         full=dict(streams=100, warmup=1.0, duration=8.0, rounds=3),
         quick=dict(streams=50, warmup=0.5, duration=3.0)),
    dict(name="latency", up="agent", title="latency: open loop, 200-byte events",
         path="/stream?format=sse&count=1000000&rate={rate}&size=200&ts=1",
         full=dict(streams=1000, rate=100, warmup=2.0, duration=10.0, rounds=3),
         quick=dict(streams=200, rate=50, warmup=1.0, duration=3.0)),
    dict(name="idle", up="agent", title="idle streams: one event every 10 s",
         path="/stream?format=sse&count=1000&rate=0.1&size=200&ts=1",
         full=dict(streams=10000, warmup=0.0, duration=12.0), quick=dict(streams=1000, warmup=0.0, duration=2.0)),
    dict(name="parse_heavy", up="gen", title="parse-heavy: every event a 2 KiB MCP tool result (yajl path)",
         path="/stream?kind=tool&count=1000000000&size=2048",
         full=dict(streams=100, warmup=1.0, duration=8.0, rounds=3),
         quick=dict(streams=50, warmup=0.5, duration=3.0)),
    dict(name="pause_storm", up="agent", title="pause storm: one (user, connector) pause, one completion",
         path="/stream?format=sse&count=6&auth_at=3&shape=authenticate_meta&connector=slack&ts=1",
         full=dict(streams=1000), quick=dict(streams=100), relay_only=True),
]


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


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


def seq_ok(r):
    return (r.get("ok") is True and r.get("lost", 1) == 0 and r.get("duplicated", 1) == 0
            and r.get("reordered", 1) == 0)


# ---- report ---------------------------------------------------------------------


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "%.*f" % (nd, v)
    return str(v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def evaluate(results, sizes):
    """Goals (issue 5): each a ratio from this one run."""
    goals = []

    def get(sc, tgt):
        return results.get(sc, {}).get(tgt)

    s_r, s_n = get("saturation", "authrelay"), get("saturation", "nginx")
    if s_r and s_n:
        r = ratio(s_r.get("events_per_s"), s_n.get("events_per_s"))
        goals.append(dict(goal="saturation events/s >= 1.0x nginx", value=r, shown="%.2fx nginx" % r if r else "n/a",
                          met=bool(r and r >= 1.0)))
    l_r, l_n, l_d = get("latency", "authrelay"), get("latency", "nginx"), get("latency", "direct")
    if l_r and l_n and l_d:
        add_r = l_r["latency_us"]["p99"] - l_d["latency_us"]["p99"]
        add_n = l_n["latency_us"]["p99"] - l_d["latency_us"]["p99"]
        goals.append(dict(goal="added p99 latency <= nginx's and <= 1 ms", value=add_r,
                          shown="+%.0f us (nginx +%.0f us)" % (add_r, add_n),
                          met=add_r <= 1000 and add_r <= add_n))
    i_r = get("idle", "authrelay")
    if i_r and i_r.get("proc", {}).get("rss_end_kib"):
        per = (i_r["proc"]["rss_end_kib"] - i_r["proc"]["rss_before_kib"]) * 1024 / max(1, i_r["streams"])
        goals.append(dict(goal="RSS per idle stream <= 8 KiB", value=per, shown="%.0f B/stream" % per,
                          met=per <= 8192))
    p_r, p_n = get("parse_heavy", "authrelay"), get("parse_heavy", "nginx")
    if p_r and p_n:
        r = ratio(p_r.get("events_per_s"), p_n.get("events_per_s"))
        goals.append(dict(goal="parse-heavy events/s >= 0.8x nginx", value=r, shown="%.2fx nginx" % r if r else "n/a",
                          met=bool(r and r >= 0.8)))
    ps = get("pause_storm", "authrelay")
    if ps:
        ms = ps.get("storm", {}).get("all_resumed_ms", -1)
        goals.append(dict(goal="pause storm: all resumed within 100 ms", value=ms,
                          shown="%.1f ms for %d streams" % (ms, ps["streams"]) if ms >= 0 else "not all resumed",
                          met=0 <= ms <= 100))
    return goals


def markdown(meta, results, goals, scen_list, png_name):
    L = []
    L.append("# authrelay load benchmark, %s (%s)" % (meta["started"], meta["mode"]))
    L.append("")
    L.append("Command: `%s`. Machine: %s, %d CPUs, Linux %s. Relay workers: %d (nginx worker_processes %d). "
             "%s. Build: %s." % (meta["command"], meta["cpu_model"], meta["cpus"], meta["kernel"],
                                 meta["workers"], meta["workers"], meta["nginx_version"], meta["build_type"]))
    L.append("")
    L.append("| scenario | target | streams | events/s | p50 us | p99 us | p99.9 us | max us | added p99 us "
             "| relay CPU (cores) | CPU us/event | relay RSS end KiB | RSS/stream B | lost/dup/reord | ok |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for sc in scen_list:
        rs = results.get(sc["name"], {})
        direct = rs.get("direct")
        for tgt in ("direct", "nginx", "authrelay"):
            r = rs.get(tgt)
            if r is None:
                continue
            lat = r.get("latency_us", {})
            pr = r.get("proc", {})
            added = None
            if direct and tgt != "direct" and lat.get("count") and direct.get("latency_us", {}).get("count"):
                added = lat["p99"] - direct["latency_us"]["p99"]
            per = None
            if sc["name"] == "idle" and pr.get("rss_end_kib"):
                per = (pr["rss_end_kib"] - pr["rss_before_kib"]) * 1024 / max(1, r.get("streams", 1))
            eps = r.get("events_per_s")
            if sc["name"] == "pause_storm":
                st = r.get("storm", {})
                eps_s = "all resumed in %s ms" % fmt(st.get("all_resumed_ms"))
            else:
                eps_s = "%.0f" % eps if eps is not None else "n/a"
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s/%s | %s |" % (
                sc["name"], tgt, r.get("streams"), eps_s,
                fmt(lat.get("p50")) if lat.get("count") else "", fmt(lat.get("p99")) if lat.get("count") else "",
                fmt(lat.get("p999")) if lat.get("count") else "", fmt(lat.get("max")) if lat.get("count") else "",
                fmt(added, 0) if added is not None else "",
                fmt(pr.get("cpu_util"), 2) if pr.get("cpu_util") is not None else "",
                fmt(pr.get("cpu_us_per_event"), 2) if pr.get("cpu_us_per_event") is not None else "",
                pr.get("rss_end_kib", ""), fmt(per, 0) if per is not None else "",
                r.get("lost"), r.get("duplicated"), r.get("reordered"),
                "yes" if seq_ok(r) else "**NO** " + "; ".join(r.get("errors", []))[:200]))
    L.append("")
    L.append("Ratios (events/s; latency: p99 added over direct):")
    L.append("")
    L.append("| scenario | authrelay/nginx | authrelay/direct | nginx/direct |")
    L.append("| --- | ---: | ---: | ---: |")
    for sc in scen_list:
        rs = results.get(sc["name"], {})
        if sc["name"] in ("pause_storm", "idle") or "authrelay" not in rs:
            continue
        a, n, d = (rs.get(t, {}).get("events_per_s") for t in ("authrelay", "nginx", "direct"))
        L.append("| %s | %s | %s | %s |" % (sc["name"], fmt(ratio(a, n), 2), fmt(ratio(a, d), 2), fmt(ratio(n, d), 2)))
    multi = [(sc["name"], t, r["rounds"]) for sc in scen_list for t, r in results.get(sc["name"], {}).items()
             if r.get("rounds")]
    if multi:
        L.append("")
        L.append("Each target ran %d rounds, in rotating order; the tables show the median round "
                 "(events/s; latency: p99). All rounds:" % len(multi[0][2]))
        L.append("")
        for name, t, rr in multi:
            L.append("- %s, %s: %s" % (name, t, ", ".join(
                "%s ev/s p99 %s us%s" % (fmt(x["events_per_s"], 0), fmt(x["p99_us"], 0), "" if x["ok"] else " FAILED")
                for x in rr)))
    L.append("")
    L.append("Goals:")
    L.append("")
    L.append("| goal | this run | met? |")
    L.append("| --- | --- | --- |")
    for gl in goals:
        L.append("| %s | %s | %s |" % (gl["goal"], gl["shown"], "yes" if gl["met"] else "**no**"))
    L.append("")
    for n in meta["notes"]:
        L.append("- " + n)
    if png_name:
        L.append("")
        L.append("![latency percentiles](%s)" % png_name)
    L.append("")
    return "\n".join(L)


def plot(results, out_png, tmp):
    if shutil.which("gnuplot") is None:
        log("gnuplot not found: no plot")
        return False
    series = []
    for sc in ("latency",):
        for tgt in ("direct", "nginx", "authrelay"):
            r = results.get(sc, {}).get(tgt)
            if not r or not r.get("latency_us", {}).get("count"):
                continue
            dat = os.path.join(tmp, "%s-%s.dat" % (sc, tgt))
            with open(dat, "w") as f:
                for p, v in r["latency_us"]["percentiles"]:
                    if p < 100:
                        f.write("%g %g %g\n" % (p, 1.0 / (1.0 - p / 100.0), max(v, 1.0)))
            series.append((sc, tgt, dat))
    if not series:
        return False
    colors = {"direct": "#1b9e77", "nginx": "#d95f02", "authrelay": "#7570b3"}
    dashes = {"latency": 1, "saturation": 2, "parse_heavy": 3}
    plots = ", ".join("'%s' using 2:3 with linespoints lw 2 dt %d lc rgb '%s' title '%s: %s'" % (
        dat, dashes[sc], colors[tgt], sc, tgt) for sc, tgt, dat in series)
    gp = """set terminal pngcairo size 1000,620 noenhanced
set output '%s'
set logscale x
set logscale y
set grid
set xlabel 'percentile (log scale of 1/(1-p))'
set ylabel 'delivery latency (us, log)'
set xtics ('p0' 1, 'p50' 2, 'p90' 10, 'p99' 100, 'p99.9' 1000, 'p99.99' 10000, 'p99.999' 100000)
set key left top
set title 'latency scenario: delivery latency by percentile (same run, same machine)'
plot %s
""" % (out_png, plots)
    script = os.path.join(tmp, "plot.gp")
    with open(script, "w") as f:
        f.write(gp)
    r = subprocess.run(["gnuplot", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        # pngcairo may be missing from gnuplot-nox builds: fall back to png.
        with open(script, "w") as f:
            f.write(gp.replace("pngcairo", "png"))
        r = subprocess.run(["gnuplot", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        log("gnuplot failed: " + r.stderr.decode()[-500:])
        return False
    return True


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
    return dict(cpu_model=cpu, cpus=os.cpu_count(), kernel=os.uname().release, nginx_version=nv,
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
                ("bench-upstream tool", gen.addr, "/stream?kind=tool&count=500&size=2048")]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    ap.add_argument("--smoke", action="store_true", help="correctness smoke test only (ctest)")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workers", type=int, default=1, help="authrelay --workers = nginx worker_processes (1)")
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    build = os.path.abspath(args.build_dir)
    if args.smoke:
        return smoke(build)
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
        log("nginx is missing: run scripts/deps.sh nginx gnuplot-nox (make bench does)")
        return 1
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin"
    mode = "quick" if args.quick else "full"
    only = [s for s in args.only.split(",") if s]
    scen_list = [s for s in SCENARIOS if not only or s["name"] in only]
    started = datetime.datetime.now()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out_dir, exist_ok=True)
    meta = machine_meta(args, build)
    meta.update(started=started.strftime("%Y-%m-%d %H:%M:%S"), mode=mode,
                command="make bench-quick" if args.quick else "make bench", notes=[])
    meta["argv"] = sys.argv
    tmp = tempfile.mkdtemp(prefix="authrelay-bench-")
    results = {}
    upstreams = {}
    rc = 0
    try:
        upstreams["agent"] = Upstream(os.path.join(build, "agent-server"), tmp, "agent")
        upstreams["gen"] = Upstream(os.path.join(build, "bench-upstream"), tmp, "gen")
        for sc in scen_list:
            size = dict(sc[mode])
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
            results[sc["name"]] = {}
            up = upstreams[sc["up"]].addr
            targets = ["authrelay"] if sc.get("relay_only") else ["direct", "nginx", "authrelay"]
            rounds = size.get("rounds", 1)
            runs = {t: [] for t in targets}
            order = []
            for k in range(rounds):  # rotate the order so no target always runs first
                order += targets[k % len(targets):] + targets[:k % len(targets)]
            for n_run, tgt in enumerate(order):
                log("%s (%s): %s, %d streams, run %d/%d" % (sc["name"], mode, tgt, size["streams"], n_run + 1,
                                                         len(order)))
                relay = None
                try:
                    if tgt == "direct":
                        relay = NoRelay(up)
                    elif tgt == "nginx":
                        relay = Nginx(up, args.workers, tmp)
                    else:
                        relay = Authrelay(os.path.join(build, "authrelay"), up, args.workers, tmp)
                    timeout = 60 + size.get("warmup", 0) + size.get("duration", 0) + size["streams"] / 200
                    r = run_load(build, relay.addr, sc, size, relay, timeout)
                    if tgt == "authrelay":
                        m = relay.metrics()
                        r["relay_metrics"] = {k: v for k, v in m.items() if any(
                            s in k for s in ("detections", "events_total", "pauses", "resumes", "upstream_errors",
                                             "malformed", "oversized"))}
                except Exception as e:  # a target that cannot start is reported, not fatal
                    r = dict(ok=False, errors=["%s: %s" % (type(e).__name__, e)])
                finally:
                    if relay is not None:
                        code = relay.stop()
                        if code not in (0, None) and tgt != "direct":
                            r.setdefault("errors", []).append("%s exited with %s" % (tgt, code))
                            r["ok"] = False
                runs[tgt].append(r)
                lat = r.get("latency_us", {})
                log("  -> ok=%s events/s=%s p99=%s us lost/dup/reord=%s/%s/%s %s" % (
                    r.get("ok"), fmt(r.get("events_per_s"), 0), lat.get("p99"), r.get("lost"),
                    r.get("duplicated"), r.get("reordered"),
                    ("storm %s ms" % r["storm"]["all_resumed_ms"]) if "storm" in r else ""))
                if not seq_ok(r):
                    rc = 1
                    log("  !! errors: %s" % r.get("errors"))
                time.sleep(0.5)
            for tgt, rs in runs.items():
                results[sc["name"]][tgt] = pick_median(sc["name"], rs)
    finally:
        for u in upstreams.values():
            u.stop()
    meta["notes"].append("saturation and parse-heavy use bench-upstream (bench/upstream.c): the example "
                         "agent server starves all but one stream at rate=0")
    meta["notes"].append("parse-heavy events are MCP tool results whose JSON-in-string holds \\u escapes: "
                         "they pass the detector's prefilter, so yajl parses every event (both levels); "
                         "none is an auth-required result")
    meta["notes"].append("latency = bench-load receive time - the upstream's CLOCK_MONOTONIC send stamp, "
                         "log-linear histogram (6.25 % buckets); added = target p99 - direct p99")
    meta["notes"].append("nginx: access_log off; authrelay: one JSON access line per stream (not per event)")
    meta["elapsed_s"] = round((datetime.datetime.now() - started).total_seconds(), 1)
    goals = evaluate(results, None)
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
