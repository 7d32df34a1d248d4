"""Integration tests: replicas under faults (issue #16), three authrelay
replicas on one PostgreSQL store, under tests/pg/pgcluster.py (PG_URL: a
throwaway cluster, PG_CLUSTER_SCRIPT to restart, stop and start it).

- 200 streams over three replicas waiting on 20 (user, connector) pairs:
  20 completions, each on a replica other than the one that minted the
  link, resume all 200 (auth_complete and every upstream event), whether a
  stream joined the pair's link or minted one of its own.
- A replica killed with SIGKILL mid-pause: its streams end (the connection
  closes, no auth_complete), the streams of the other two do not; its
  links survive in the store: B serves A's Link page, and completing it
  there resumes the pair's streams on B and C.
- PostgreSQL restarted mid-pause: every replica reconnects and LISTENs
  again; a completion on B resumes the stream paused on A, and a second one
  after that reaches A by NOTIFY on its new LISTEN connection.
- A's connections to the database silently dead (a relay in front of A
  freezes them: nothing carried, nothing closed, as across a partition):
  A's LISTEN connection finds out by its ping, reconnects and re-reads
  (on pool connections replaced the same way, or asking again when the
  re-read met a dead one), and the stream completed on B meanwhile
  resumes on A.
- The same for A's pool: each idle connection finds out by its ping and
  is replaced, so the first write after the partition succeeds.
- A notified link A cannot read (SELECT on links revoked from A's role
  while its LISTEN connection stays up), nor its re-read of the links:
  once it can again, A re-reads by itself and its stream resumes.
- A stream paused on A while PostgreSQL is down (its link in A's memory
  only): once A's journal was refused (after store_timeout_s) the pause
  fails over to link_expired (a link that is not durable is not used); the
  journal writes the link and its end once the database is back, and B's
  Link page says it expired.
- PostgreSQL stopped mid-pause: /readyz on every replica answers 503
  store_unreachable with the reason; through A a stream that does not
  pause goes on relaying and another one starts and ends meanwhile; the
  paused streams wait on. Started again while A is still cut from it (a
  TCP relay in front of A only): B and C are ready, A is not; the link is
  completed on B while A cannot hear it; once A reaches the database
  again it LISTENs, re-reads what ended, and its stream resumes; /readyz
  is 200 everywhere.

Clients: each Stream is one curl process and one reader thread (harness),
so 200 streams are 200 of each, bounded and all ended in tearDown.
"""

import os
import signal
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pg"))
import pgcluster  # noqa: E402
import test_replicas  # noqa: E402
from harness import Relay, Stream, curl, link_of  # noqa: E402
from test_pgstore import CATALOG, ENV, TcpRelay, api, pg_url, readyz, request, wait_until  # noqa: E402
from test_replicas import SEQS, complete_on, path_of, usable_on  # noqa: E402

PAIRS = 20
STREAMS = 200


def psql(sql):
    """Runs sql on the cluster as its superuser (psql of the same binaries)."""
    subprocess.run([os.path.join(pgcluster.BINDIR, "psql"), os.environ["PG_URL"], "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-c", sql], check=True, timeout=30, stdout=subprocess.DEVNULL)


def pg_cluster(command):
    """Runs pgcluster.py COMMAND (restart, stop, start) on this test's cluster."""
    rc = subprocess.run([sys.executable, os.environ["PG_CLUSTER_SCRIPT"], command], timeout=90).returncode
    if rc != 0:
        raise AssertionError("pgcluster.py %s failed (%d)" % (command, rc))


def unready(relay):
    """/readyz's 503 body when relay reports its store unreachable, else None."""
    status, why = readyz(relay)
    return why if status == 503 and why.get("status") == "store_unreachable" else None


class FreezingRelay(TcpRelay):
    """A TcpRelay whose open connections can go silently dead, as across a
    network partition: freeze() drops whatever they carry from then on
    (both ways) and closes nothing; new connections pass as before."""

    def __init__(self, target_port):
        self.frozen = set()
        super().__init__(target_port)

    def freeze(self, connections=None):
        """Freezes the connections open (or only the first `connections`
        accepted, in their order)."""
        with self.lock:
            self.frozen.update(self.conns if connections is None else self.conns[:2 * connections])

    def passes(self, src):
        return src not in self.frozen


class ReplicaFaultsTest(unittest.TestCase):
    # test_replicas' fixture (an agent server, replicas and streams stopped
    # in tearDown) and helpers, without its tests
    setUp = test_replicas.ReplicasTest.setUp
    tearDown = test_replicas.ReplicasTest.tearDown
    three = test_replicas.ReplicasTest.three
    pause = test_replicas.ReplicasTest.pause
    resumed_whole = test_replicas.ReplicasTest.resumed_whole

    def start(self, url, *args):
        r = Relay(self.agent.url, "--connectors", CATALOG, "--store", url, *args, env=ENV)
        self.relays.append(r)
        return r

    def pg_stop(self):
        """Stops PostgreSQL; started again by pg_start(), or at the end of
        the test if it failed before (the next tests need it)."""
        pg_cluster("stop")
        self.pg_down = True
        self.addCleanup(lambda: self.pg_down and pg_cluster("start"))

    def pg_start(self):
        pg_cluster("start")
        self.pg_down = False

    @staticmethod
    def linked(stream):
        """The stream's link (paused: its link_token event came)."""
        return link_of(stream)[1]

    def ended_unresumed(self, stream):
        """stream ended without auth_complete, cut off (curl's status not 0:
        the response was not whole)."""
        body = stream.finish()
        self.assertNotIn(b"auth_complete", body)
        self.assertIn(b"event: link_token", body)
        self.assertNotEqual(stream.proc.returncode, 0, body[-300:])

    def test_two_hundred_streams_twenty_pairs(self):
        replicas = self.three()
        users = ["many_user_%d" % n for n in range(PAIRS)]
        first = []  # per pair: (the replica that minted its link, the link)
        for n, user in enumerate(users):
            s = self.pause(replicas[n % 3], user)
            first.append((n % 3, s))
        minted = []
        for r, s in first:
            link = self.linked(s)
            self.assertTrue(link.startswith(replicas[r].url))
            minted.append((r, link))
        # the other 180: pair i % 20 on replica i % 3, so each pair waits on all three
        for i in range(PAIRS, STREAMS):
            self.pause(replicas[i % 3], users[i % PAIRS])
        for s in self.streams:
            self.linked(s)  # every stream paused (joined its pair's link or minted one)
        self.assertEqual(len(self.streams), STREAMS)
        for n, (r, link) in enumerate(minted):
            on = replicas[(r + 1 + n % 2) % 3]  # never the minting replica
            wait_until(lambda: usable_on(on, link), "a link served by another replica")
            complete_on(self, on, link, "sk-many-%d" % n)
        for s in self.streams:
            self.resumed_whole(s)

    def test_replica_killed_mid_pause(self):
        a, b, c = self.three()
        users = ["killed_user_0", "killed_user_1"]
        firsts = [self.pause(a, u) for u in users]
        links = [self.linked(s) for s in firsts]
        on_a = firsts + [self.pause(a, u) for u in users]
        on_b = [self.pause(b, u) for u in users]
        on_c = [self.pause(c, u) for u in users + users[:1]]
        for s in on_a + on_b + on_c:
            self.linked(s)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        for s in on_a:
            self.ended_unresumed(s)
        for s in on_b + on_c:
            self.assertFalse(s.ended)
            self.assertNotIn(b"auth_complete", s.data)
        # A's links are in the store: B serves and completes them
        for n, link in enumerate(links):
            self.assertTrue(link.startswith(a.url))
            wait_until(lambda: usable_on(b, link), "A's link served by B after A died")
            complete_on(self, b, link, "sk-after-kill-%d" % n)
        for s in on_b + on_c:
            self.resumed_whole(s)

    def test_postgres_restarted_mid_pause(self):
        a, b, c = self.three()
        on_a = self.pause(a, "restart_user")
        link = self.linked(on_a)
        on_b = self.pause(b, "restart_user")
        self.linked(on_b)
        wait_until(lambda: usable_on(b, link), "A's link served by B")
        pg_cluster("restart")
        wait_until(lambda: all(readyz(r)[0] == 200 for r in (a, b, c)), "ready after the restart")
        wait_until(lambda: usable_on(b, link), "A's link served by B after the restart")
        complete_on(self, b, link, "sk-after-restart")
        self.resumed_whole(on_a)
        self.resumed_whole(on_b)
        # A LISTENs on its new connection: a later completion reaches it by NOTIFY
        # (a resync runs only after a reconnect, and none is due now)
        again = self.pause(a, "after_restart_user")
        link = self.linked(again)
        wait_until(lambda: usable_on(c, link), "A's new link served by C")
        complete_on(self, c, link, "sk-after-restart-2")
        self.resumed_whole(again)

    def test_listen_connection_silently_dead(self):
        front = FreezingRelay(self.port)  # A's way to the database
        try:
            a = self.start(pg_url(front.port), "--store-timeout-s", "1")
            b = self.start(pg_url(self.port))
            wait_until(lambda: readyz(a)[0] == 200 and readyz(b)[0] == 200, "A and B ready")
            on_a = self.pause(a, "partition_user")
            link = self.linked(on_a)
            wait_until(lambda: usable_on(b, link), "A's link served by B")
            front.freeze()  # A's connections carry nothing more, and nothing tells A
            complete_on(self, b, link, "sk-across-a-partition")
            # A finds its LISTEN connection dead (no answer within
            # store_timeout_s), LISTENs on a new one and re-reads what ended
            self.resumed_whole(on_a)
        finally:
            front.cut()

    def test_pool_connections_silently_dead(self):
        front = FreezingRelay(self.port)
        try:
            a = self.start(pg_url(front.port), "--store-timeout-s", "1")
            wait_until(lambda: readyz(a)[0] == 200, "A ready")
            # a write starts after every operation started before it ended:
            # what A did at start is over, its pool is idle
            self.assertEqual(api(a, "POST", "/api/v1/registered-users/",
                                 {"origin_user_id": "before_partition", "origin_user_name": "Before"})[0], 201)
            # dead without a word: the pool's connections (PGSTORE_POOL_DEFAULT,
            # 3), opened before the LISTEN one, which stays (nothing re-reads)
            front.freeze(connections=3)
            # each finds out by its ping, with nothing else asking for it, and
            # is replaced
            wait_until(lambda: {r.get("connection") for r in a.logs
                                if r.get("msg") == "link store connection to PostgreSQL failed"} >= {0, 1, 2},
                       "every pool connection of A found dead")
            wait_until(lambda: readyz(a)[0] == 200, "A ready")
            status, u = api(a, "POST", "/api/v1/registered-users/",
                            {"origin_user_id": "after_partition", "origin_user_name": "After"})
            self.assertEqual(status, 201, u)  # not a dead connection's timeout
        finally:
            front.cut()

    def test_notified_row_not_readable(self):
        b = self.start(pg_url(self.port))  # migrates the schema
        wait_until(lambda: readyz(b)[0] == 200, "B ready")
        psql("CREATE ROLE replica_a LOGIN; GRANT USAGE, CREATE ON SCHEMA public TO replica_a; "
             "GRANT ALL ON ALL TABLES IN SCHEMA public TO replica_a; "
             "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO replica_a")
        a = self.start("postgresql://replica_a@127.0.0.1:%d/postgres" % self.port)
        wait_until(lambda: readyz(a)[0] == 200, "A ready")
        on_a = self.pause(a, "unreadable_user")
        link = self.linked(on_a)
        wait_until(lambda: usable_on(b, link), "A's link served by B")
        # A's LISTEN connection stays up, but its reads of the links fail
        psql("REVOKE SELECT ON links FROM replica_a")
        complete_on(self, b, link, "sk-unreadable")
        wait_until(lambda: any(r.get("msg", "").startswith("link of a peer not read") for r in a.logs),
                   "A's read of the notified link refused")
        # and the re-read it asks for refused as well (asked for again)
        wait_until(lambda: any(r.get("msg", "").startswith("links of peers not re-read") for r in a.logs),
                   "A's re-read of the links refused")
        self.assertNotIn(b"auth_complete", on_a.data)
        psql("GRANT SELECT ON links TO replica_a")
        # nothing reconnects: A asks for a re-read itself, which finds the end
        self.resumed_whole(on_a)

    def test_paused_while_postgres_is_down(self):
        a, b = (self.start(pg_url(self.port), "--store-timeout-s", "1") for _ in range(2))
        wait_until(lambda: readyz(a)[0] == 200 and readyz(b)[0] == 200, "A and B ready")
        self.pg_stop()
        wait_until(lambda: unready(a), "A: /readyz 503 store_unreachable")
        on_a = self.pause(a, "paused_while_down_user")  # its link in A's memory only
        link = self.linked(on_a)
        wait_until(lambda: a.metrics()["authrelay_link_store_errors_total"] >= 1, "A's journal refused")
        # not durable, so not used: the pause fails over to link_expired
        on_a.wait_for(rb"event: link_expired")
        self.assertNotIn(b"auth_complete", on_a.data)
        self.pg_start()
        # the journal writes the link once it can, with its end: B says it expired
        wait_until(lambda: "past its expiry" in request("GET", b.url + path_of(link))[1],
                   "A's link, minted while the database was down, known to B as expired")
        self.assertFalse(usable_on(b, link))

    def test_postgres_down_then_back_while_a_is_cut(self):
        front = TcpRelay(self.port)  # A's way to the database
        try:
            a, b, c = self.three(pg_url(front.port))
            on_a = self.pause(a, "outage_user")
            link = self.linked(on_a)
            on_b = self.pause(b, "outage_user")
            self.linked(on_b)
            wait_until(lambda: usable_on(b, link), "A's link served by B")
            flowing = Stream(a.url + "/stream?format=sse&count=1000000&rate=50")  # ended by tearDown
            self.streams.append(flowing)
            flowing.wait_for(rb'"seq":1\b')
            self.pg_stop()
            for r in (a, b, c):
                why = wait_until(lambda: unready(r), "/readyz 503 store_unreachable while PostgreSQL is down")
                self.assertTrue(why.get("error"), why)
            # relaying does not need the database: a stream goes on, another one starts and ends
            seen = flowing.data.count(b'"seq"')
            flowing.wait_data(lambda d: d.count(b'"seq"') >= seen + 10, "events relayed while PostgreSQL is down")
            rc, out, _ = curl(a.url + "/stream?format=sse&count=%d" % SEQS)
            self.assertEqual(rc, 0)
            for i in range(SEQS):
                self.assertIn(b'"seq":%d' % i, out)
            front.cut()  # A stays away from the database when it comes back
            self.pg_start()
            wait_until(lambda: readyz(b)[0] == 200 and readyz(c)[0] == 200, "B and C ready again")
            self.assertIsNotNone(unready(a))
            wait_until(lambda: usable_on(b, link), "A's link served by B after the outage")
            complete_on(self, b, link, "sk-while-a-is-away")
            self.resumed_whole(on_b)
            self.assertFalse(on_a.ended)
            self.assertNotIn(b"auth_complete", on_a.data)  # A could not hear it
            front.restore()  # A reconnects, LISTENs, re-reads what ended
            self.resumed_whole(on_a)
            wait_until(lambda: readyz(a)[0] == 200, "A ready again")
        finally:
            front.cut()


if __name__ == "__main__":
    unittest.main()
