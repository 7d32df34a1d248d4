"""h2load saturation runs of the load benchmark (imported by run_bench.py).

h2load (Debian's nghttp2-client) drives keep-alive HTTP/1.1 requests (--h1,
one thread, C clients) at a static upstream (bench-upstream fixed=1: the same
finite SSE body of N events for every request), directly or through a relay.
events/s = completed responses x N / h2load's own elapsed time.

h2load cannot check sequence numbers, so every run is checked by counts: 0
failed/errored/timed-out requests, every request done and 2xx, and h2load's
decoded body bytes = responses x the body size fetched once straight from the
upstream. The sequence-checked saturation run is bench-load's (run_bench.py).

Beside each figure: h2load's CPU (its rusage from wait4, so the generator is
seen not to be the bottleneck), the upstream's CPU, the CPU everything else
on the machine used meanwhile (/proc/stat: the noise), and from /proc for
the relay's processes
(nginx: master and workers summed): CPU, minor+major page faults, voluntary
and involuntary context switches. With perf=True the run also counts the
relay's syscalls with `perf stat -e raw_syscalls:sys_enter -p PIDS` (a
separate profiled run: the tracepoint costs the relay some speed).

Python 3 standard library only; every process started here is stopped by pid.
"""

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

CLK = os.sysconf("SC_CLK_TCK")
MAX_REQUESTS = 5_000_000  # hard cap of one run's -n


def h2load_path():
    for d in os.environ.get("PATH", "").split(":") + ["/usr/bin"]:
        p = os.path.join(d, "h2load")
        if d and os.access(p, os.X_OK):
            return p
    return None


def proc_counters(pids):
    """Summed over pids: cpu_s (utime+stime), faults (minflt+majflt), csw
    (voluntary + nonvoluntary context switches), rss_kib."""
    out = dict(cpu_s=0.0, faults=0, csw=0, rss_kib=0)
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
            fl = st[st.rindex(")") + 2:].split()  # fl[0] is field 3 (state)
            out["cpu_s"] += (int(fl[11]) + int(fl[12])) / CLK
            out["faults"] += int(fl[7]) + int(fl[9])
            with open("/proc/%d/status" % pid) as f:
                for ln in f:
                    if ln.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        out["csw"] += int(ln.split()[1])
                    elif ln.startswith("VmRSS:"):
                        out["rss_kib"] += int(ln.split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return out


def machine_busy_s():
    """CPU seconds the whole machine has been busy (all CPUs, /proc/stat:
    everything but idle and iowait)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v[:8]) - v[3] - v[4]) / CLK
    except (OSError, ValueError, IndexError):
        return None


_perf_ok = None


def perf_works():
    """True when perf can count the raw_syscalls tracepoint here (needs root
    or a permissive perf_event_paranoid, and tracefs)."""
    global _perf_ok
    if _perf_ok is None:
        try:
            r = subprocess.run(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20)
            _perf_ok = r.returncode == 0 and b"raw_syscalls:sys_enter" in r.stderr and b"not supported" not in r.stderr
        except (OSError, subprocess.TimeoutExpired):
            _perf_ok = False
    return _perf_ok


class PerfSyscalls:
    """perf stat -e raw_syscalls:sys_enter -p PIDS, from start() to stop()."""

    def __init__(self, pids, tmp):
        fd, self.out = tempfile.mkstemp(prefix="perf-", suffix=".csv", dir=tmp)
        os.close(fd)
        self.proc = subprocess.Popen(["perf", "stat", "-x,", "-o", self.out, "-e", "raw_syscalls:sys_enter",
                                      "-p", ",".join(str(p) for p in pids)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # let perf attach before the load starts

    def stop(self):
        """Returns the syscall count, or None."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        try:
            with open(self.out) as f:
                for ln in f:
                    parts = ln.strip().split(",")
                    if len(parts) > 2 and parts[2].startswith("raw_syscalls:sys_enter"):
                        return int(parts[0])
        except (OSError, ValueError):
            pass
        return None


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_h2load(text):
    """The figures of h2load's summary (None for a missing one)."""
    r = {}
    m = re.search(r"finished in ([\d.]+)(us|ms|s),", text)
    r["elapsed_s"] = float(m.group(1)) * _UNITS[m.group(2)] if m else None
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", text)
    if m:
        for k, v in zip(("total", "started", "done", "succeeded", "failed", "errored", "timeout"), m.groups()):
            r["req_" + k] = int(v)
    m = re.search(r"status codes: (\d+) 2xx", text)
    r["status_2xx"] = int(m.group(1)) if m else None
    m = re.search(r"traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers .*?\((\d+)\) data", text)
    if m:
        r["bytes_total"], r["bytes_headers"], r["bytes_data"] = (int(x) for x in m.groups())
    return r


def body_size(upstream_addr, path):
    """Decoded body bytes of one response, straight from the upstream."""
    with urllib.request.urlopen("http://%s%s" % (upstream_addr, path), timeout=30) as resp:
        return len(resp.read())


def run_h2load(url, clients, requests, timeout):
    """Runs h2load; returns (parsed summary, h2load cpu seconds, raw output tail)."""
    with tempfile.TemporaryFile() as outf:
        p = subprocess.Popen([h2load_path() or "h2load", "--h1", "-t", "1", "-c", str(clients), "-m", "1",
                              "-n", str(requests), url], stdout=outf, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, lambda: p.poll() is None and p.kill())
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        outf.seek(0)
        text = outf.read().decode(errors="replace")
    r = parse_h2load(text)
    r["exit_status"] = p.returncode
    return r, ru.ru_utime + ru.ru_stime, text[-600:]


def saturation_run(addr, path, events_per_resp, body_bytes, relay_pids, upstream_pids, clients, duration,
                   requests=None, perf_tmp=None, timeout=120):
    """One h2load run against addr. requests=None: a short probe sizes the
    run to about `duration` seconds (the probe also warms the relay up).
    Returns a result dict (ok, errors, events_per_s, h2load and relay costs)."""
    url = "http://%s%s" % (addr, path)
    res = dict(clients=clients, events_per_response=events_per_resp, body_bytes=body_bytes, errors=[])
    if requests is None:
        # Probe runs, grown until one lasts a quarter of the run (connection
        # setup no longer dominates), give the rate that sizes the run.
        probe_n = clients * 20
        for _ in range(6):
            pr, _, tail = run_h2load(url, clients, probe_n, timeout)
            if not pr.get("elapsed_s") or pr.get("req_succeeded") != probe_n:
                res.update(ok=False, errors=["probe run failed: " + tail])
                return res
            rate = probe_n / pr["elapsed_s"]
            if pr["elapsed_s"] >= duration / 4 or probe_n >= MAX_REQUESTS:
                break
            probe_n = min(MAX_REQUESTS, max(2 * probe_n, int(rate * duration / 3)))
        requests = max(clients * 10, min(MAX_REQUESTS, int(rate * duration)))
    res["requests"] = requests
    perf = PerfSyscalls(relay_pids, perf_tmp) if perf_tmp and relay_pids else None
    before = proc_counters(relay_pids)
    up_before = proc_counters(upstream_pids)
    busy_before = machine_busy_s()
    t0 = time.time()
    h, h2_cpu, tail = run_h2load(url, clients, requests, timeout)
    wall = time.time() - t0
    after = proc_counters(relay_pids)
    up_after = proc_counters(upstream_pids)
    busy_after = machine_busy_s()
    syscalls = perf.stop() if perf else None
    res["h2load"] = h
    el = h.get("elapsed_s")
    done = h.get("req_succeeded") or 0
    res["elapsed_s"] = el
    res["h2load_cpu_cores"] = round(h2_cpu / el, 3) if el else None
    res["upstream_cpu_cores"] = round((up_after["cpu_s"] - up_before["cpu_s"]) / wall, 3) if wall else None
    if wall and busy_before is not None and busy_after is not None:
        # CPU used by everything else on the machine meanwhile (noise)
        ours = h2_cpu + (up_after["cpu_s"] - up_before["cpu_s"]) + (after["cpu_s"] - before["cpu_s"])
        res["others_cpu_cores"] = round(max(0.0, (busy_after - busy_before) - ours) / wall, 3)
    res["events"] = done * events_per_resp
    res["events_per_s"] = done * events_per_resp / el if el else None
    res["requests_per_s"] = done / el if el else None
    # Loss check: every request done, 2xx, and every body complete.
    want_bytes = requests * body_bytes
    if h.get("exit_status") != 0:
        res["errors"].append("h2load exited with %s: %s" % (h.get("exit_status"), tail))
    for k in ("failed", "errored", "timeout"):
        if h.get("req_" + k):
            res["errors"].append("%d requests %s" % (h["req_" + k], k))
    if done != requests or h.get("status_2xx") != requests:
        res["errors"].append("%s of %d requests succeeded (%s 2xx)" % (done, requests, h.get("status_2xx")))
    if h.get("bytes_data") != want_bytes:
        res["errors"].append("body bytes %s, want %d (%d x %d)" % (h.get("bytes_data"), want_bytes, requests,
                                                                   body_bytes))
    res["ok"] = not res["errors"]
    if relay_pids and done:
        dcpu = after["cpu_s"] - before["cpu_s"]
        res["relay"] = dict(cpu_s=round(dcpu, 3), cpu_cores=round(dcpu / wall, 3) if wall else None,
                            cpu_us_per_event=round(dcpu * 1e6 / res["events"], 3),
                            cpu_us_per_request=round(dcpu * 1e6 / done, 2),
                            faults_per_request=round((after["faults"] - before["faults"]) / done, 3),
                            csw_per_request=round((after["csw"] - before["csw"]) / done, 3),
                            rss_end_kib=after["rss_kib"],
                            syscalls_per_request=round(syscalls / done, 2) if syscalls is not None else None)
    return res
