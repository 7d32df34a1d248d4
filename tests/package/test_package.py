#!/usr/bin/env python3
"""Checks what authrelay installs and packages, without touching the machine.

  test_package.py install --build-dir B --source-dir S --cc CC
      `cmake --install B --prefix /opt/authrelay-test` into a DESTDIR: every
      file in its place, the .pc and the unit naming that prefix, each public
      header compiling on its own, and tests/package/consumer.c built with
      nothing but `pkg-config --cflags --libs authrelay-parser` and run on an
      SSE stream (it must find the auth-required event).

  test_package.py deb --build-dir B --source-dir S --cc CC
      `cpack -G DEB` of the build into a temporary directory; `dpkg-deb --info`
      (Package, computed Depends), `--contents` and the conffiles; `dpkg-deb
      -x` into a temporary root; the unit checked by `systemd-analyze verify`
      when the machine has it (systemd need not run); the consumer built
      against the unpacked root; then <root>/usr/bin/authrelay started with
      the packaged config (loopback, ports 0, a temporary data_dir) until its
      /readyz answers 200, and stopped with SIGTERM: it must exit 0.

Nothing is installed into the machine's own system: every path is under a
temporary directory, removed at the end. Exits 0 when everything holds.
"""
import argparse
import glob
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PUBLIC_HEADERS = ["framer.h", "detect.h", "dynbuf.h", "rewrite.h"]
STEP_TIMEOUT = 60  # seconds any one command may take
START_TIMEOUT = 10  # seconds authrelay may take to listen and be ready
STOP_TIMEOUT = 30  # seconds it may take to exit after SIGTERM (drain_timeout_s)


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


def run(cmd, env=None, cwd=None):
    """Runs cmd; fails the test with its output when it does not exit 0."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                       cwd=cwd, timeout=STEP_TIMEOUT)
    if p.returncode != 0:
        fail("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, p.stdout.decode(errors="replace"),
                                      p.stderr.decode(errors="replace")))
    return p.stdout.decode(errors="replace")


def find_one(root, pattern):
    found = glob.glob(os.path.join(root, pattern), recursive=True)
    check(len(found) == 1, "one %s under %s (found %s)" % (pattern, root, found))
    return found[0]


def build_consumer(args, root, prefix, work):
    """Compiles the public headers alone and the consumer against the tree
    installed at root + prefix (found through its .pc only), and runs it."""
    pc = find_one(root + prefix, "lib*/**/pkgconfig/authrelay-parser.pc")
    with open(pc) as f:
        text = f.read()
    check("prefix=%s\n" % prefix in text, "%s says prefix=%s" % (pc, prefix))
    # PKG_CONFIG_SYSROOT_DIR: the installed tree's paths are those of the
    # system it is meant for; pkg-config puts root before them.
    env = {"PKG_CONFIG_PATH": os.path.dirname(pc), "PKG_CONFIG_SYSROOT_DIR": root}
    flags = run(["pkg-config", "--cflags", "--libs", "authrelay-parser"], env=env).split()
    check(any(f.startswith("-I" + root) for f in flags) and "-lauthrelay_parser" in flags
          and "-lyajl" in flags, "pkg-config gives the tree's include dir and the libraries: %s" % flags)
    cflags = [f for f in flags if not f.startswith("-l") and not f.startswith("-L")]
    for header in PUBLIC_HEADERS:
        src = os.path.join(work, "only_%s.c" % header[:-2])
        with open(src, "w") as f:
            f.write("#include <authrelay/%s>\n" % header)
        run([args.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c", src,
             "-o", src + ".o", *cflags], cwd=work)
    check(True, "each public header compiles on its own")
    exe = os.path.join(work, "consumer")
    run([args.cc, "-std=c11", "-Wall", "-Wextra", "-Werror",
         os.path.join(args.source_dir, "tests", "package", "consumer.c"), "-o", exe, *flags],
        cwd=work)
    out = run([exe, os.path.join(args.source_dir, "examples", "streams", "auth-interrupt.sse")])
    lines = out.splitlines()
    check(lines[:4] == ["event 0 skipped", "event 1 match", "match authenticate_meta slack ltk_upstream",
                        "event 2 skipped"],
          "the consumer frames the sample and finds its auth-required event: %r" % lines)
    check(lines[-1] == "consumed 523 safe 523", "the whole sample is consumed: %r" % lines[-1])


def check_install(args, work):
    root = os.path.join(work, "root")
    prefix = "/opt/authrelay-test"
    run(["cmake", "--install", args.build_dir, "--prefix", prefix], env={"DESTDIR": root})
    base = root + prefix
    for rel in ["bin/authrelay", "bin/authrelay-scan", "etc/authrelay/authrelay.jsonc",
                "etc/authrelay/connectors.json", "lib/systemd/system/authrelay.service",
                "share/doc/authrelay/README.md"] + ["include/authrelay/" + h for h in PUBLIC_HEADERS]:
        check(os.path.isfile(os.path.join(base, rel)), "installed %s" % rel)
    find_one(base, "lib*/**/libauthrelay_parser.a")
    with open(os.path.join(base, "lib/systemd/system/authrelay.service")) as f:
        unit = f.read()
    check("ExecStart=%s/bin/authrelay --config %s/etc/authrelay/authrelay.jsonc " % (prefix, prefix)
          in unit, "the installed unit names the install's prefix")
    build_consumer(args, root, prefix, work)


def deb_field(info, name):
    for line in info.splitlines():
        if line.strip().startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def verify_unit(root, work):
    """systemd-analyze verify on the packaged unit, its paths moved into root
    (verify wants the executable to exist). Needs systemd-analyze, not systemd."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("skip: no systemd-analyze on this machine", flush=True)
        return
    with open(os.path.join(root, "usr/lib/systemd/system/authrelay.service")) as f:
        unit = f.read()
    unit = unit.replace("/usr/bin/", root + "/usr/bin/").replace("/etc/authrelay/", root + "/etc/authrelay/")
    moved = os.path.join(work, "authrelay.service")
    with open(moved, "w") as f:
        f.write(unit)
    p = subprocess.run([analyze, "verify", "--man=no", moved], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=STEP_TIMEOUT)
    check(p.returncode == 0 and p.stdout.strip() == b"",
          "systemd-analyze verify accepts the unit: %s" % p.stdout.decode(errors="replace"))


def read_until_listening(proc, deadline):
    """Reads authrelay's JSON log lines until "listening"; returns that record."""
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(proc.stderr.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "listening":
                return rec
    return None


def readyz_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def run_packaged(root, work):
    exe = os.path.join(root, "usr/bin/authrelay")
    config = os.path.join(root, "etc/authrelay/authrelay.jsonc")
    data_dir = os.path.join(work, "data")
    os.mkdir(data_dir, 0o700)
    out = run([exe, "--version"])
    check(out.startswith("authrelay "), "the packaged binary runs: %s" % out.strip())
    flags = ["--config", config, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
             "--data-dir", data_dir]
    out = run([exe, *flags, "--check-config"])
    check("configuration ok" in out, "the packaged config passes --check-config")
    proc = subprocess.Popen([exe, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        rec = read_until_listening(proc, deadline)
        check(rec is not None, "authrelay from the unpacked .deb listens")
        url = "http://%s/readyz" % rec["control"]
        status = readyz_status(url)
        while status != 200 and time.monotonic() < deadline and proc.poll() is None:
            select.select([], [], [], 0.05)  # a bounded poll, not a synchronisation
            status = readyz_status(url)
        check(status == 200, "its /readyz answers 200")
        check(os.path.isfile(os.path.join(data_dir, "owner.key")),
              "it keeps its state in the data_dir it was given")
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGTERM stops it with exit 0 (got %r)" % rc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def check_deb(args, work):
    out_dir = os.path.join(work, "pkg")
    run(["cpack", "-G", "DEB", "--config", os.path.join(args.build_dir, "CPackConfig.cmake"),
         "-B", out_dir])
    deb = find_one(out_dir, "authrelay_*.deb")
    info = run(["dpkg-deb", "--info", deb])
    check(deb_field(info, "Package") == "authrelay", "Package: authrelay")
    depends = deb_field(info, "Depends") or ""
    names = [d.strip().split(" ")[0] for d in depends.split(",")]
    for lib in ["libc6", "libuv1", "libyajl2", "libcurl4", "libsqlite3-0", "libssl3"]:
        check(lib in names, "Depends names %s (%s)" % (lib, depends))
    contents = run(["dpkg-deb", "--contents", deb])
    paths = {line.split()[-1].lstrip(".") for line in contents.splitlines() if line.strip()}
    for path in ["/usr/bin/authrelay", "/usr/bin/authrelay-scan",
                 "/usr/lib/systemd/system/authrelay.service", "/etc/authrelay/authrelay.jsonc",
                 "/etc/authrelay/connectors.json"] + ["/usr/include/authrelay/" + h for h in PUBLIC_HEADERS]:
        check(path in paths, "the .deb holds %s" % path)
    check(any(p.endswith("/pkgconfig/authrelay-parser.pc") for p in paths), "the .deb holds authrelay-parser.pc")
    check(any(p.endswith("/libauthrelay_parser.a") for p in paths), "the .deb holds libauthrelay_parser.a")
    control = os.path.join(work, "control")
    run(["dpkg-deb", "--control", deb, control])
    with open(os.path.join(control, "conffiles")) as f:
        conffiles = f.read().split()
    check(sorted(conffiles) == ["/etc/authrelay/authrelay.jsonc", "/etc/authrelay/connectors.json"],
          "the files in /etc are conffiles: %s" % conffiles)
    root = os.path.join(work, "root")
    run(["dpkg-deb", "-x", deb, root])
    with open(os.path.join(root, "usr/lib/systemd/system/authrelay.service")) as f:
        unit = f.read()
    check("ExecStart=/usr/bin/authrelay --config /etc/authrelay/authrelay.jsonc " in unit
          and "ExecReload=/bin/kill -HUP $MAINPID" in unit and "StateDirectory=authrelay" in unit,
          "the packaged unit starts /usr/bin/authrelay with /etc/authrelay and reloads with SIGHUP")
    verify_unit(root, work)
    build_consumer(args, root, "/usr", work)
    run_packaged(root, work)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["install", "deb"])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--cc", default="cc")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    args.source_dir = os.path.abspath(args.source_dir)
    work = tempfile.mkdtemp(prefix="authrelay-package-")
    try:
        if args.what == "install":
            check_install(args, work)
        else:
            check_deb(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
