"""Report of the load benchmark (imported by run_bench.py): the goals of
issue #12 evaluated on one run's figures, the Markdown report and the latency
plot. Every goal is a figure or a ratio from the same run; a missed goal is
reported, never an error. See bench/README.md "Load benchmark".
"""

import os
import shutil
import statistics
import subprocess
import sys

H2_TARGETS = ("direct", "nginx", "authrelay")


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def seq_ok(r):
    return (r.get("ok") is True and r.get("lost", 1) == 0 and r.get("duplicated", 1) == 0
            and r.get("reordered", 1) == 0)


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


def spread(values):
    """(median, min, max, +-% = largest distance from the median / median)."""
    vs = [v for v in values if v is not None]
    if not vs:
        return None
    med = statistics.median(vs)
    pm = max(abs(v - med) for v in vs) * 100.0 / med if med else None
    return dict(median=med, min=min(vs), max=max(vs), pm_pct=pm, n=len(vs))


def h2_round_ratios(h2, a, b):
    """Per-round events/s ratio a/b of an h2load scenario (rounds where both ran fine)."""
    out = []
    for rnd in h2.get("rounds", []):
        ra, rb = rnd.get(a), rnd.get(b)
        if ra and rb and ra.get("ok") and rb.get("ok"):
            out.append(ratio(ra.get("events_per_s"), rb.get("events_per_s")))
    return [x for x in out if x is not None]


def added_p99_rounds(lat, tgt):
    """Per round: the target's p99 - the median p99 of direct's rounds
    (latency scenario). Not direct's p99 of the same round: the runs are
    seconds apart, so a spike in one direct run would move a whole round."""
    def p99s(t):
        r = lat.get(t, {})
        rounds = r.get("rounds") or [dict(p99_us=r.get("latency_us", {}).get("p99"))]
        return [x["p99_us"] for x in rounds if x.get("p99_us") is not None]
    d = p99s("direct")
    if not d:
        return []
    base = statistics.median(d)
    return [x - base for x in p99s(tgt)]


def evaluate(results, parser, mode):
    """Goals of issue #12, each with this run's figure; met None = not measured."""
    goals = []

    def add(goal, shown, met):
        goals.append(dict(goal=goal, shown=shown, met=met))

    sd = results.get("sat_delta")
    if sd and sd.get("rounds"):
        rn = spread(h2_round_ratios(sd, "authrelay", "nginx"))
        rd = spread(h2_round_ratios(sd, "authrelay", "direct"))
        add("saturation, token deltas (h2load): >= 2.5x nginx events/s",
            "%.2fx nginx (median of %d rounds)" % (rn["median"], rn["n"]) if rn else "n/a",
            bool(rn and rn["median"] >= 2.5) if rn else None)
        add("saturation, token deltas (h2load): >= 0.5x the direct connection",
            "%.2fx direct" % rd["median"] if rd else "n/a", bool(rd and rd["median"] >= 0.5) if rd else None)
        add("repeatability: authrelay/nginx saturation ratio over %d runs within +-15 %%" % len(sd["rounds"]),
            "%.2f to %.2f (median %.2f, +-%.1f %%)" % (rn["min"], rn["max"], rn["median"], rn["pm_pct"])
            if rn else "n/a", bool(rn["n"] >= 2 and rn["pm_pct"] <= 15.0) if rn and rn["n"] >= 2 else None)
    else:
        add("saturation, token deltas (h2load): >= 2.5x nginx events/s", "not run", None)
        add("repeatability: authrelay/nginx saturation ratio over 5 runs within +-15 %", "not run", None)
    st = results.get("sat_tool")
    if st and st.get("rounds"):
        rn = spread(h2_round_ratios(st, "authrelay", "nginx"))
        add("saturation, tool results (h2load, 2 KiB JSON-in-string): >= 3x nginx",
            "%.2fx nginx" % rn["median"] if rn else "n/a", bool(rn["median"] >= 3.0) if rn else None)
    else:
        add("saturation, tool results (h2load, 2 KiB JSON-in-string): >= 3x nginx", "not run", None)
    ph = results.get("parse_heavy", {})
    if ph.get("authrelay") and ph.get("nginx"):
        r = ratio(ph["authrelay"].get("events_per_s"), ph["nginx"].get("events_per_s"))
        add("parse-heavy (bench-load, seq checked): >= 0.9x nginx", "%.2fx nginx" % r if r else "n/a",
            bool(r and r >= 0.9) if r else None)
    lat = results.get("latency", {})
    if lat.get("authrelay") and lat.get("nginx") and lat.get("direct"):
        a = spread(added_p99_rounds(lat, "authrelay"))
        n = spread(added_p99_rounds(lat, "nginx") + added_p99_rounds(lat, "nginx2"))
        pairs = [abs(x - y) for x, y in zip(added_p99_rounds(lat, "nginx"), added_p99_rounds(lat, "nginx2"))]
        if a and n:
            noise = ("; nginx against itself: its two instances %.0f us apart (median of %d rounds), "
                     "its %d runs %+.0f to %+.0f us" % (statistics.median(pairs), len(pairs), n["n"], n["min"],
                                                       n["max"])) if pairs else ""
            add("latency: added p99 <= nginx's", "%+.0f us (nginx %+.0f us%s)" % (a["median"], n["median"], noise),
                a["median"] <= n["median"])
    idle = results.get("idle", {}).get("authrelay")
    if idle and idle.get("proc", {}).get("rss_end_kib"):
        per = (idle["proc"]["rss_end_kib"] - idle["proc"]["rss_before_kib"]) * 1024 / max(1, idle["streams"])
        add("idle streams: <= 4 KiB each", "%.0f B/stream (%d streams)" % (per, idle["streams"]), per <= 4096)
    ps = results.get("pause_storm", {}).get("authrelay")
    if ps:
        ms = ps.get("storm", {}).get("all_resumed_ms")
        good = ms is not None and ms >= 0
        add("pause storm: 1 000 streams resumed <= 25 ms after one completion",
            ("%.1f ms for %d streams%s" % (ms, ps["streams"], "" if ps["streams"] >= 1000 else
                                           " (quick size; the goal is for 1 000)")) if good else "not all resumed",
            good and ms <= 25)
    if parser:
        wl = {w["name"]: w for w in parser.get("workloads", [])}
        a, b, c = wl.get("sse-token-delta"), wl.get("sse-tool-result"), wl.get("yajl-raw")
        note = " (--quick sizes)" if parser.get("quick") else ""
        if a:
            add("bench-parser: >= 3 GB/s on token deltas", "%.2f GB/s%s" % (a["mb_per_s"] / 1000, note),
                a["mb_per_s"] >= 3000)
        if b and c:
            r = ratio(b["events_per_s"], c["events_per_s"])
            add("bench-parser: >= 0.8x raw yajl on tool results", "%.2fx%s" % (r, note), bool(r and r >= 0.8))
    bad = []
    for name, rs in results.items():
        if name == "parser":
            if rs.get("exit_status") != 0:
                bad.append("bench-parser checks")
        elif rs.get("kind") == "h2load":
            runs = [(name, t, r) for rnd in rs.get("rounds", []) for t, r in rnd.items()]
            runs += [(name + " (profiled)", t, r) for t, r in rs.get("profile", {}).items()]
            bad += ["%s/%s" % (n, t) for n, t, r in runs if not r.get("ok")]
        else:
            bad += ["%s/%s" % (name, t) for t, r in rs.items() if isinstance(r, dict) and not seq_ok(r)]
    add("zero loss in every scenario (seq numbers; h2load: every response complete)",
        "all runs complete" if not bad else "FAILED: " + ", ".join(sorted(set(bad))), not bad)
    return goals


def _h2_tables(L, name, h2):
    med = h2.get("median", {})
    d = med.get("direct", {})
    L.append("| target | requests/s | events/s | x direct | MB/s body | h2load CPU (cores) | upstream CPU (cores) "
             "| relay CPU (cores) | relay CPU us/event | other processes' CPU (cores) | requests | failed | complete |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for tgt in H2_TARGETS:
        r = med.get(tgt)
        if not r:
            continue
        rl = r.get("relay", {})
        h = r.get("h2load", {})
        mbs = ratio(h.get("bytes_data"), r.get("elapsed_s"))
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            tgt, fmt(r.get("requests_per_s"), 0), fmt(r.get("events_per_s"), 0),
            fmt(ratio(r.get("events_per_s"), d.get("events_per_s")), 2), fmt(mbs / 1e6 if mbs else None, 0),
            fmt(r.get("h2load_cpu_cores"), 2), fmt(r.get("upstream_cpu_cores"), 2),
            fmt(rl.get("cpu_cores"), 2) if rl else "", fmt(rl.get("cpu_us_per_event"), 3) if rl else "",
            fmt(r.get("others_cpu_cores"), 2), r.get("requests"), sum(h.get("req_" + k, 0) or 0 for k in ("failed", "errored", "timeout")),
            "yes" if r.get("ok") else "**NO** " + "; ".join(r.get("errors", []))[:200]))
    L.append("")
    rounds = h2.get("rounds", [])
    if rounds:
        L.append("All %d rounds (events/s; targets in rotating order):" % len(rounds))
        L.append("")
        for tgt in H2_TARGETS:
            L.append("- %s: %s" % (tgt, ", ".join(
                (fmt(rnd[tgt].get("events_per_s"), 0) + ("" if rnd[tgt].get("ok") else " FAILED"))
                if tgt in rnd else "-" for rnd in rounds)))
        for a, b in (("authrelay", "nginx"), ("authrelay", "direct"), ("nginx", "direct")):
            rr = h2_round_ratios(h2, a, b)
            s = spread(rr)
            if s:
                L.append("- %s/%s per round: %s; median %.2f, min %.2f, max %.2f, +-%.1f %% around the median" % (
                    a, b, ", ".join("%.2f" % x for x in rr), s["median"], s["min"], s["max"], s["pm_pct"] or 0))
        L.append("")


def _where_time_goes(L, results):
    rows = []
    for name in ("sat_delta", "sat_tool"):
        h2 = results.get(name)
        if not h2 or h2.get("kind") != "h2load":
            continue
        for tgt in ("nginx", "authrelay"):
            r = h2.get("median", {}).get(tgt, {})
            p = h2.get("profile", {}).get(tgt, {})
            rl, pl = r.get("relay", {}), p.get("relay", {})
            if not rl:
                continue
            sc = pl.get("syscalls_per_request")
            ev = r.get("events_per_response") or 1
            rows.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name, tgt, fmt(rl.get("cpu_us_per_event"), 3), fmt(rl.get("cpu_us_per_request"), 1),
                fmt(sc, 1), fmt(sc / ev if sc is not None else None, 2), fmt(rl.get("faults_per_request"), 2),
                fmt(rl.get("csw_per_request"), 2)))
    if not rows:
        return
    L.append("### Where the time goes (relay processes; nginx: master and workers summed)")
    L.append("")
    L.append("| scenario | relay | CPU us/event | CPU us/request | syscalls/request | syscalls/event "
             "| page faults/request | context switches/request |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    L.extend(rows)
    L.append("")
    L.append("CPU, page faults (minflt+majflt) and context switches (voluntary+nonvoluntary) are /proc deltas "
             "over the median round; syscalls come from a separate profiled run per relay "
             "(`perf stat -e raw_syscalls:sys_enter -p PIDS`, n/a when perf cannot count here), "
             "not from the timed rounds.")
    L.append("")


def _load_table(L, results, scen_list):
    """The bench-load scenarios' table, their rounds and the latency noise."""
    L.append("## bench-load scenarios (sequence numbers checked on every event)")
    L.append("")
    L.append("| scenario | target | streams | events/s | p50 us | p99 us | p99.9 us | max us | added p99 us "
             "| relay CPU (cores) | CPU us/event | relay RSS end KiB | RSS/stream B | lost/dup/reord | ok |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for sc in scen_list:
        if sc.get("driver") is not None:
            continue
        rs = results.get(sc["name"], {})
        direct = rs.get("direct")
        for tgt in ("direct", "nginx", "nginx2", "authrelay"):
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
                eps_s = "all resumed in %s ms" % fmt(r.get("storm", {}).get("all_resumed_ms"))
            else:
                eps_s = "%.0f" % eps if eps is not None else "n/a"
            has = lat.get("count")
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s/%s | %s |" % (
                sc["name"], "nginx (2nd instance)" if tgt == "nginx2" else tgt, r.get("streams"), eps_s,
                fmt(lat.get("p50")) if has else "", fmt(lat.get("p99")) if has else "",
                fmt(lat.get("p999")) if has else "", fmt(lat.get("max")) if has else "",
                fmt(added, 0) if added is not None else "",
                fmt(pr.get("cpu_util"), 2) if pr.get("cpu_util") is not None else "",
                fmt(pr.get("cpu_us_per_event"), 2) if pr.get("cpu_us_per_event") is not None else "",
                pr.get("rss_end_kib", ""), fmt(per, 0) if per is not None else "",
                r.get("lost"), r.get("duplicated"), r.get("reordered"),
                "yes" if seq_ok(r) else "**NO** " + "; ".join(r.get("errors", []))[:200]))
    L.append("")
    multi = [(sc["name"], t, r["rounds"]) for sc in scen_list if sc.get("driver") is None
             for t, r in results.get(sc["name"], {}).items() if isinstance(r, dict) and r.get("rounds")]
    if multi:
        L.append("Each target ran %d rounds, in rotating order; the table shows the median round "
                 "(events/s; latency: p99). All rounds:" % len(multi[0][2]))
        L.append("")
        for name, t, rr in multi:
            L.append("- %s, %s: %s" % (name, t, ", ".join(
                "%s ev/s p99 %s us%s" % (fmt(x["events_per_s"], 0), fmt(x["p99_us"], 0), "" if x["ok"] else " FAILED")
                for x in rr)))
        L.append("")
    lat = results.get("latency", {})
    if lat.get("nginx2"):
        L.append("Latency noise: added p99 (run p99 - median of direct's p99s) per round, authrelay %s us; "
                 "nginx %s us; nginx's 2nd instance %s us." % (
            ", ".join("%.0f" % x for x in added_p99_rounds(lat, "authrelay")),
            ", ".join("%.0f" % x for x in added_p99_rounds(lat, "nginx")),
            ", ".join("%.0f" % x for x in added_p99_rounds(lat, "nginx2"))))
        L.append("")


def markdown(meta, results, goals, scen_list, png_name):
    L = []
    L.append("# authrelay load benchmark, %s (%s)" % (meta["started"], meta["mode"]))
    L.append("")
    L.append("Command: `%s`. Machine: %s, %d CPUs, Linux %s. Relay workers: %d (nginx worker_processes %d). "
             "%s. %s. Build: %s. Took %s s." % (
                 meta["command"], meta["cpu_model"], meta["cpus"], meta["kernel"], meta["workers"],
                 meta["workers"], meta["nginx_version"], meta.get("h2load_version", "h2load missing"),
                 meta["build_type"], meta.get("elapsed_s")))
    L.append("")
    L.append("## Goals (issue #12), this run")
    L.append("")
    L.append("| goal | this run | met? |")
    L.append("| --- | --- | --- |")
    for gl in goals:
        L.append("| %s | %s | %s |" % (gl["goal"], gl["shown"], "not measured" if gl["met"] is None else
                                       "yes" if gl["met"] else "**no**"))
    L.append("")
    for sc in scen_list:
        h2 = results.get(sc["name"])
        if sc.get("driver") == "h2load" and h2:
            L.append("## %s" % sc["title"])
            L.append("")
            if h2.get("skipped"):
                L.append(h2["skipped"])
                L.append("")
                continue
            _h2_tables(L, sc["name"], h2)
    _where_time_goes(L, results)
    if any(sc.get("driver") is None for sc in scen_list):
        _load_table(L, results, scen_list)
    if results.get("parser"):
        L.append("## bench-parser (same run)")
        L.append("")
        L.append("| workload | MB/s | events/s |")
        L.append("| --- | ---: | ---: |")
        for w in results["parser"].get("workloads", []):
            L.append("| %s | %.0f | %.0f |" % (w["name"], w["mb_per_s"], w["events_per_s"]))
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
        for tgt in ("direct", "nginx", "nginx2", "authrelay"):
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
    colors = {"direct": "#1b9e77", "nginx": "#d95f02", "nginx2": "#e6ab02", "authrelay": "#7570b3"}
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

