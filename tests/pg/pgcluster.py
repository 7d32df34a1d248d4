#!/usr/bin/env python3
"""pgcluster.py: a throwaway PostgreSQL cluster for tests, from Debian's package.

    pgcluster.py run [--timeout S] [--] COMMAND [ARG...]
        initdb in a new temporary directory, start postgres on 127.0.0.1 at a
        free port (its Unix socket in that directory too, never the package's
        default cluster or /var/run/postgresql), run COMMAND with the
        environment below, stop the server, delete the directory, and exit
        with COMMAND's status. COMMAND is killed after S seconds (default
        150, under the ctest TIMEOUT of its callers) so that the cluster is
        still stopped: a wrapper killed with SIGKILL (a ctest timeout) would
        leave it running (then: pg_ctl -D /tmp/pgcluster-*/data stop).
    pgcluster.py restart
        from inside COMMAND: `pg_ctl restart -m fast` of that cluster (same
        port), waiting until it accepts connections again.
    pgcluster.py stop | start
        from inside COMMAND: `pg_ctl stop -m fast` of that cluster, and
        `start` again with the options it ran with (same port): the
        database down for as long as a test needs.

COMMAND's environment:
    PG_URL          postgresql://authrelay@127.0.0.1:PORT/postgres
    PG_PORT         PORT
    PG_CLUSTER_DIR   the temporary directory (data/, sock/, postgres.log)
    PG_TLS_CA       the server's self-signed certificate for `localhost` (TLS
                    is on: sslmode=verify-full&sslrootcert=$PG_TLS_CA works)
    PG_CLUSTER_SCRIPT this script's path (for `restart`)

Authentication is `trust`, which is fine only because the server listens on
127.0.0.1 alone and its socket sits in a private directory; fsync is off (the
data is thrown away). Binaries: the newest /usr/lib/postgresql/N/bin (15 on
Debian 12), or PG_BINDIR.

Root: postgres refuses to run as root, and CI runs as root. When the
effective uid is 0, initdb, pg_ctl and the server run as `nobody` (or
PG_CLUSTER_USER) through `runuser -u USER --`, and the temporary directory is
chowned to that user. COMMAND itself runs as the caller.

ctest: add_test(NAME x COMMAND python3 tests/pg/pgcluster.py run -- $<TARGET_FILE:t>).
A cluster costs about two seconds (initdb). Its log is printed when COMMAND
fails, to help with the diagnosis.
"""
import glob
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

def default_bindir():
    """The newest /usr/lib/postgresql/N/bin (15 on Debian 12)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else "/usr/lib/postgresql/15/bin"


BINDIR = os.environ.get("PG_BINDIR") or default_bindir()
SUPERUSER = "authrelay"
START_TIMEOUT_S = "60"


def as_user(argv):
    """argv, run as the unprivileged user when we are root."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", os.environ.get("PG_CLUSTER_USER", "nobody"), "--"] + argv


def pg_ctl(datadir, *args):
    return subprocess.run(as_user([os.path.join(BINDIR, "pg_ctl"), "-D", datadir] + list(args)),
                          stdout=subprocess.DEVNULL, check=False).returncode


def free_port():
    """A loopback port nothing listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(tmp):
    """A self-signed certificate for localhost (also its own CA) and its key,
    made with the openssl command (postgresql depends on it through ssl-cert)."""
    key = os.path.join(tmp, "server.key")
    crt = os.path.join(tmp, "server.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    os.chmod(key, 0o600)
    return key, crt


def start(tmp, datadir, sockdir, log, key, crt):
    """Starts postgres on a free port; a few tries in case another process took it."""
    for _ in range(5):
        port = free_port()
        opts = ("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s "
                "-c fsync=off -c max_connections=50 -c ssl=on -c ssl_cert_file=%s "
                "-c ssl_key_file=%s" % (port, sockdir, crt, key))
        if pg_ctl(datadir, "-l", log, "-o", opts, "-w", "-t", START_TIMEOUT_S, "start") == 0:
            return port
    sys.exit("pgcluster: postgres did not start; see %s" % log)


def run(command, timeout):
    if not command:
        sys.exit("usage: pgcluster.py run [--] COMMAND [ARG...]")
    tmp = tempfile.mkdtemp(prefix="pgcluster-")
    datadir = os.path.join(tmp, "data")
    sockdir = os.path.join(tmp, "sock")
    log = os.path.join(tmp, "postgres.log")
    os.mkdir(sockdir)
    key, crt = make_cert(tmp)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(os.environ.get("PG_CLUSTER_USER", "nobody"))
        for path in (tmp, sockdir, key, crt):
            os.chown(path, pw.pw_uid, pw.pw_gid)
    started = False
    status = 1
    # A SIGTERM (ctest's timeout, a Ctrl-C) still stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        subprocess.run(as_user([os.path.join(BINDIR, "initdb"), "-D", datadir, "-U", SUPERUSER,
                                "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]),
                       stdout=subprocess.DEVNULL, check=True)
        port = start(tmp, datadir, sockdir, log, key, crt)
        started = True
        env = dict(os.environ,
                   PG_URL="postgresql://%s@127.0.0.1:%d/postgres" % (SUPERUSER, port),
                   PG_PORT=str(port), PG_CLUSTER_DIR=tmp, PG_TLS_CA=crt,
                   PG_CLUSTER_SCRIPT=os.path.abspath(__file__))
        try:
            status = subprocess.run(command, env=env, check=False, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            sys.stderr.write("pgcluster: %s killed after %d s\n" % (command[0], timeout))
            status = 124
        if status != 0 and os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as f:
                sys.stderr.write("---- postgres.log ----\n" + f.read()[-4000:])
    finally:
        if started:
            pg_ctl(datadir, "-m", "immediate", "-w", "stop")
        shutil.rmtree(tmp, ignore_errors=True)
    return status


def restart():
    tmp = os.environ.get("PG_CLUSTER_DIR")
    if not tmp:
        sys.exit("pgcluster.py restart: PG_CLUSTER_DIR is not set (run it under `run`)")
    return pg_ctl(os.path.join(tmp, "data"), "-l", os.path.join(tmp, "postgres.log"), "-m", "fast",
                  "-w", "-t", START_TIMEOUT_S, "restart")


def stop():
    tmp = os.environ.get("PG_CLUSTER_DIR")
    if not tmp:
        sys.exit("pgcluster.py stop: PG_CLUSTER_DIR is not set (run it under `run`)")
    return pg_ctl(os.path.join(tmp, "data"), "-m", "fast", "-w", "-t", START_TIMEOUT_S, "stop")


def start_again():
    """`start` after `stop`: the options of the last start, which postgres
    wrote to postmaster.opts (as pg_ctl restart reads them), but -D, which
    pg_ctl adds itself."""
    tmp = os.environ.get("PG_CLUSTER_DIR")
    if not tmp:
        sys.exit("pgcluster.py start: PG_CLUSTER_DIR is not set (run it under `run`)")
    datadir = os.path.join(tmp, "data")
    with open(os.path.join(datadir, "postmaster.opts"), encoding="utf-8") as f:
        argv = shlex.split(f.read())[1:]  # without the binary's path
    opts = [a for i, a in enumerate(argv) if a != "-D" and (i == 0 or argv[i - 1] != "-D")]
    return pg_ctl(datadir, "-l", os.path.join(tmp, "postgres.log"), "-o", " ".join(map(shlex.quote, opts)),
                  "-w", "-t", START_TIMEOUT_S, "start")


def main(argv):
    if len(argv) >= 1 and argv[0] == "run":
        rest = argv[1:]
        timeout = 150
        if len(rest) >= 2 and rest[0] == "--timeout":
            timeout = int(rest[1])
            rest = rest[2:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        return run(rest, timeout)
    if argv == ["restart"]:
        return restart()
    if argv == ["stop"]:
        return stop()
    if argv == ["start"]:
        return start_again()
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
