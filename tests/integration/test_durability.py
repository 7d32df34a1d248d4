"""Integration tests: a write the link store could not make durable is never
acknowledged (issue #11, "Hardening first", item 4).

Real processes on loopback, real file systems that refuse writes:
- a full disk, made with RLIMIT_FSIZE on the running authrelay (prlimit; its
  SIGXFSZ ignored by a wrapper, so every write past a file's first byte
  fails with EFBIG): needs no privilege, so it runs everywhere;
- the same on a small tmpfs filled to the last byte (ENOSPC), where mounting
  is permitted (root with CAP_SYS_ADMIN); skipped otherwise, the first case
  covering the same assertions;
- a data directory authrelay cannot write: as root (CI), authrelay runs as
  nobody through setpriv over root-owned files; as another user, the files'
  modes are enough.
Asserted: API writes answer 503 (never 201) while the disk is full, /readyz
is 503 (saying why) until space returns and 200 after, without traffic; the
Link page shows an error, the link is not spent and the waiting stream stays
paused, then completes once space is back; a stream that paused while the
disk was full gets link_expired (its link's row did not go in); the error
counter went up; after
a restart every acknowledged write is there and nothing refused is.
"""

import errno
import json
import os
import resource
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import AgentServer, Relay, Stream, link_of, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "..", "..", "examples", "connectors.json")
ADMIN_KEY = "test-owner-key-0123456789"
SECRET_KEY = "5e" * 32
ENV = {"AUTHRELAY_ADMIN_KEY": ADMIN_KEY, "AUTHRELAY_SECRET_KEY": SECRET_KEY}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REAL_BIN = harness.AUTHRELAY


def request(method, url, body=None, headers=None, timeout=10):
    """One HTTP exchange: (status, body text)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else (body.encode() if body else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if isinstance(body, dict):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def api(relay, method, path, body=None):
    status, text = request(method, relay.control_url + path, body, {"Authorization": "Bearer " + ADMIN_KEY})
    return status, (json.loads(text) if text.strip() else None)


def readyz(relay):
    status, text = request("GET", relay.control_url + "/readyz")
    return status, json.loads(text)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def wrapper(tmp, prefix=""):
    """A script that runs authrelay with SIGXFSZ ignored (a write over
    RLIMIT_FSIZE then fails with EFBIG instead of killing the process), after
    prefix (a command that execs its arguments). exec keeps the pid."""
    path = os.path.join(tmp, "authrelay-wrapper%d.sh" % len(os.listdir(tmp)))
    with open(path, "w") as f:
        f.write("#!/bin/sh\ntrap '' XFSZ\nexec %s%s \"$@\"\n" % (prefix, shlex.quote(REAL_BIN)))
    os.chmod(path, 0o755)
    return path


def start(agent, data_dir, binary):
    harness.AUTHRELAY = binary
    try:
        return Relay(agent.url, "--connectors", CATALOG, data_dir=data_dir, env=ENV)
    finally:
        harness.AUTHRELAY = REAL_BIN


class RlimitDisk:
    """A full disk for one process: RLIMIT_FSIZE of 1 byte."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.data_dir = tempfile.mkdtemp(prefix="data-", dir=tmp)
        self.pid = None

    def fill(self):
        hard = resource.prlimit(self.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (1, hard))

    def free(self):
        hard = resource.prlimit(self.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (hard, hard))

    def close(self):
        pass


class TmpfsDisk:
    """A 4 MiB tmpfs holding the data directory, filled to the last byte."""

    def __init__(self, tmp):
        self.mnt = tempfile.mkdtemp(prefix="tmpfs-", dir=tmp)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", self.mnt], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.data_dir = os.path.join(self.mnt, "data")
        self.filler = os.path.join(self.mnt, "filler")
        self.pid = None

    def fill(self):
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        finally:
            os.close(fd)
        st = os.statvfs(self.mnt)
        assert st.f_bavail == 0, "the tmpfs is not full"

    def free(self):
        os.unlink(self.filler)

    def close(self):
        subprocess.run(["umount", self.mnt], check=False)


def mount_permitted():
    probe = tempfile.mkdtemp(prefix="authrelay-mount-probe-")
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        if ok:
            subprocess.run(["umount", probe], check=False)
        return ok
    except OSError:
        return False
    finally:
        os.rmdir(probe)


class FullDiskTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="authrelay-durability-")
        self.agent = AgentServer()

    def tearDown(self):
        self.agent.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scenario(self, disk):
        binary = wrapper(self.tmp)
        relay = start(self.agent, disk.data_dir, binary)
        stream = None
        late = None
        try:
            disk.pid = relay.proc.pid
            self.assertEqual(readyz(relay)[0], 200)
            acked = []  # every user we were told was created
            for i in range(3):
                status, u = api(relay, "POST", "/api/v1/registered-users/",
                                {"origin_user_id": "kept_%d" % i, "origin_user_name": "Kept"})
                self.assertEqual(status, 201, u)
                acked.append(u)
            # a stream paused on a link, the link in the store
            writes = relay.metrics()["authrelay_link_store_writes_total"]
            stream = Stream(relay.url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=openai",
                            {"X-Registered-User-Id": "paused_user"})
            _, link = link_of(stream)
            wait_until(lambda: relay.metrics()["authrelay_link_store_writes_total"] > writes, "the journal")
            m = relay.metrics()
            self.assertEqual((m.get("authrelay_store_write_errors_total", 0), m.get("authrelay_store_writable", 1)),
                             (0, 1))

            disk.fill()
            # A link minted by a worker now: the journal's batch commit fails
            # after the fact (it used to leave its transaction open, and every
            # later write joined it and was lost).
            journal_errors = relay.metrics()["authrelay_link_store_errors_total"]
            late = Stream(relay.url + "/stream?format=sse&count=5&auth_at=2&shape=mcp&connector=openai",
                          {"X-Registered-User-Id": "late_user"})
            link_of(late)
            wait_until(lambda: relay.metrics()["authrelay_link_store_errors_total"] > journal_errors,
                       "the journal's failure")
            # its link is not durable: its pause ends as link_expired
            wait_until(lambda: b"event: link_expired" in late.data, "the late pause's link_expired")
            self.assertNotIn(b"auth_complete", late.data)
            # the API: 503 for every write, never 201
            status, body = api(relay, "POST", "/api/v1/registered-users/",
                               {"origin_user_id": "refused_user", "origin_user_name": "Refused"})
            self.assertEqual(status, 503, body)
            self.assertIn("nothing was saved", body["detail"])
            status, why = readyz(relay)
            self.assertEqual(status, 503)
            self.assertEqual(why["status"], "store_cannot_write")
            self.assertTrue(why["error"])
            status, body = api(relay, "POST", "/api/v1/registered-users/%s/link-token/" % acked[0]["id"],
                               {"connector": "openai"})
            self.assertEqual(status, 503, body)
            self.assertNotIn("link_token", body)
            self.assertEqual(api(relay, "PATCH", "/api/v1/registered-users/%s/" % acked[1]["id"],
                                 {"origin_user_name": "Renamed"})[0], 503)
            self.assertEqual(api(relay, "POST", "/api/v1/callback-origins/",
                                 {"origin": "https://refused.example.com"})[0], 503)
            # the Link page: an error, the link not spent, the stream still paused
            status, page = request("POST", link, "api_key=sk-while-full", FORM)
            self.assertEqual(status, 503)
            self.assertIn("could not be saved", page)
            status, listing = api(relay, "GET", "/v1/streams")
            self.assertEqual(status, 200)
            mine = [s for s in listing["streams"] if s["registered_user"] == "paused_user"]
            self.assertEqual([s["state"] for s in mine], ["paused"])
            self.assertEqual(request("GET", link)[0], 200)  # the form again: still usable
            # reads still work; still not ready: the probe fails while full
            self.assertEqual(api(relay, "GET", "/api/v1/registered-users/%s/" % acked[0]["id"])[0], 200)
            m = relay.metrics()
            self.assertGreaterEqual(m["authrelay_store_write_errors_total"], 5)
            self.assertEqual(m["authrelay_store_writable"], 0)
            self.assertEqual(readyz(relay)[0], 503)

            disk.free()
            # ready again without any request that writes (the probe)
            wait_until(lambda: readyz(relay)[0] == 200, "/readyz 200 after space returned")
            self.assertEqual(relay.metrics()["authrelay_store_writable"], 1)
            status, u = api(relay, "POST", "/api/v1/registered-users/",
                            {"origin_user_id": "after_space", "origin_user_name": "After"})
            self.assertEqual(status, 201, u)
            acked.append(u)
            status, page = request("POST", link, "api_key=sk-after-space", FORM)
            self.assertEqual(status, 200, page)
            self.assertIn("Connected", page)
            body = stream.finish()
            stream = None
            late.kill()
            late = None
            self.assertIn(b"event: auth_complete", body)
            self.assertIn(b'"seq":4', body)
            self.assertEqual(relay.stop(), 0)

            # after a restart: every acknowledged write, nothing refused
            relay = start(self.agent, disk.data_dir, binary)
            for u in acked:
                status, got = api(relay, "GET", "/api/v1/registered-users/%s/" % u["id"])
                self.assertEqual((status, got["origin_user_name"]), (200, u["origin_user_name"]))
            self.assertEqual(api(relay, "GET", "/api/v1/registered-users/?origin_user_id=refused_user")[1]["count"],
                             0)
            status, got = api(relay, "GET", "/api/v1/registered-users/?origin_user_id=paused_user")
            self.assertEqual(got["results"][0]["authenticated_connectors"], ["openai"])
            origins = api(relay, "GET", "/api/v1/callback-origins/")[1]["results"]
            self.assertNotIn("https://refused.example.com", [o["origin"] for o in origins])
            self.assertEqual(readyz(relay)[0], 200)
        finally:
            for s in (stream, late):
                if s is not None:
                    s.kill()
            relay.stop()

    def test_full_disk_by_rlimit_fsize(self):
        disk = RlimitDisk(self.tmp)
        self.scenario(disk)

    @unittest.skipUnless(mount_permitted(), "mounting a tmpfs is not permitted here (the RLIMIT_FSIZE case runs)")
    def test_full_tmpfs(self):
        disk = TmpfsDisk(self.tmp)
        try:
            self.scenario(disk)
        finally:
            disk.close()


class ReadOnlyDataDirTest(unittest.TestCase):

    def test_a_data_dir_that_cannot_be_written_is_refused_at_start(self):
        tmp = tempfile.mkdtemp(prefix="authrelay-readonly-")
        agent = AgentServer()
        try:
            os.chmod(tmp, 0o755)
            data_dir = os.path.join(tmp, "data")
            os.mkdir(data_dir, 0o700)
            relay = start(agent, data_dir, REAL_BIN)
            self.assertEqual(api(relay, "POST", "/api/v1/registered-users/",
                                 {"origin_user_id": "ro_user", "origin_user_name": "RO"})[0], 201)
            self.assertEqual(relay.stop(), 0)
            names = sorted(os.listdir(data_dir))
            for name in names:
                os.chmod(os.path.join(data_dir, name), 0o644 if os.geteuid() == 0 else 0o444)
            os.chmod(data_dir, 0o755 if os.geteuid() == 0 else 0o555)
            before = {n: read(os.path.join(data_dir, n)) for n in names}
            cmd = [REAL_BIN]
            if os.geteuid() == 0:
                # root writes whatever the modes say: run as nobody, which
                # may read the root-owned files but not write them
                binary = os.path.join(tmp, "authrelay")
                shutil.copy(REAL_BIN, binary)
                os.chmod(binary, 0o755)
                cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", binary]
            env = dict(os.environ, **ENV)
            p = subprocess.run(cmd + ["--listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--data-dir", data_dir,
                                      "--upstream", agent.url, "--connectors", CATALOG],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=20)
            logs = [json.loads(ln) for ln in p.stderr.decode().splitlines() if ln.startswith("{")]
            self.assertEqual(p.returncode, 2, logs)
            self.assertFalse([r for r in logs if r.get("msg") == "listening"])
            errors = [r.get("error", "") for r in logs if r.get("level") == "error"]
            # The start checks name the directory (or the database file).
            self.assertTrue([e for e in errors if data_dir in e and ("not writable" in e or "cannot be written" in e)],
                            errors)
            self.assertEqual(sorted(os.listdir(data_dir)), names)
            for n in names:
                self.assertEqual(read(os.path.join(data_dir, n)), before[n], n)
        finally:
            agent.stop()
            for root, dirs, _ in os.walk(tmp):
                for d in dirs:
                    os.chmod(os.path.join(root, d), stat.S_IRWXU)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
