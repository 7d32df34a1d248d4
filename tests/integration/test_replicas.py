"""Integration tests: cross-replica completion (issue #16), three authrelay
replicas on one PostgreSQL store, under tests/pg/pgcluster.py (PG_URL: a
throwaway cluster).

- A stream paused on replica A, its link completed on the Link page served
  by replica B: the stream on A resumes (auth_complete) with every event of
  the upstream (nothing lost). B adopts A's pending link from the store, its
  end is NOTIFYd, A's LISTEN connection hears it.
- A link of the same (user, connector) minted by the link-token API on B
  and completed there resumes the stream paused on A.
- The same while A's connections to PostgreSQL are cut (a TCP relay in front
  of it, for A only): the notification is lost for A, yet after the relay is
  back A's LISTEN connection reconnects, re-reads the ended links and the
  stream resumes.
- One link per (user, connector) across replicas: a stream pauses on A,
  A's new link reaches B and C (NOTIFY), streams pausing there for the same
  pair get A's link token; completed on C, all three resume.
- Two replicas minting for one pair at the same time (the links table
  locked by another session, so neither hears of the other's link before
  its own pause): once the rows are in, every replica joins the same one
  (the older) for new pauses, and completing the other resumes them all.

Many streams on many pairs, a replica killed, PostgreSQL restarted or
stopped: test_replica_faults.py.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pg"))
import pgcluster  # noqa: E402
from harness import AgentServer, Relay, Stream, link_of  # noqa: E402
from test_pgstore import CATALOG, ENV, FORM, TcpRelay, api, pg_url, readyz, request, wait_until  # noqa: E402

SEQS = 5  # events of each upstream stream (count=5)


def path_of(link):
    return link[link.index("/_authrelay/link/"):]


def usable_on(relay, link):
    """The Link page for link on relay offers its form (the row is in the store)."""
    status, page = request("GET", relay.url + path_of(link))
    return status == 200 and "<form" in page


def complete_on(test, relay, link, key):
    status, page = request("POST", relay.url + path_of(link), "api_key=" + key, FORM)
    test.assertEqual(status, 200, page)
    test.assertIn("Connected", page)


class TableLock:
    """Another session holding LOCK TABLE ... IN EXCLUSIVE MODE (psql on a
    pipe): writes to the table wait, reads go on."""

    def __init__(self, table):
        self.psql = subprocess.Popen([os.path.join(pgcluster.BINDIR, "psql"), os.environ["PG_URL"], "-X", "-q",
                                      "-v", "ON_ERROR_STOP=1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.psql.stdin.write("BEGIN;\nLOCK TABLE %s IN EXCLUSIVE MODE;\n\\echo locked\n" % table)
        self.psql.stdin.flush()
        if self.psql.stdout.readline().strip() != "locked":
            raise RuntimeError("psql did not lock " + table)

    def release(self):
        if self.psql.poll() is None:
            self.psql.stdin.write("COMMIT;\n\\q\n")
            self.psql.stdin.flush()
            self.psql.wait(timeout=10)
        self.psql.stdin.close()
        self.psql.stdout.close()


class ReplicasTest(unittest.TestCase):

    def setUp(self):
        self.port = int(os.environ["PG_PORT"])
        self.agent = AgentServer()
        self.relays = []
        self.streams = []

    def tearDown(self):
        for s in self.streams:
            if not s.ended:
                s.kill()
        for r in self.relays:
            r.stop()
        self.agent.stop()

    def start(self, url):
        r = Relay(self.agent.url, "--connectors", CATALOG, "--store", url, env=ENV)
        self.relays.append(r)
        return r

    def three(self, url_a=None):
        a = self.start(url_a or pg_url(self.port))
        b = self.start(pg_url(self.port))
        c = self.start(pg_url(self.port))
        wait_until(lambda: all(readyz(r)[0] == 200 for r in (a, b, c)), "three replicas ready")
        return a, b, c

    def pause(self, relay, user):
        s = Stream(relay.url + "/stream?format=sse&count=%d&auth_at=2&shape=mcp&connector=openai" % SEQS,
                   {"X-Registered-User-Id": user})
        self.streams.append(s)
        return s

    def resumed_whole(self, stream):
        body = stream.finish()
        self.assertIn(b"event: auth_complete", body)
        for i in range(SEQS):
            self.assertIn(b'"seq":%d' % i, body)

    def test_paused_on_a_completed_on_b(self):
        a, b, _ = self.three()
        stream = self.pause(a, "cross_user")
        _, link = link_of(stream)
        self.assertTrue(link.startswith(a.url))
        wait_until(lambda: usable_on(b, link), "A's link served by B")
        complete_on(self, b, link, "sk-completed-on-b")
        self.resumed_whole(stream)

    def test_one_link_per_pair_across_replicas(self):
        a, b, c = self.three()
        first = self.pause(a, "shared_user")
        token, _ = link_of(first)
        for r in (b, c):  # A's new link reached the others (NOTIFY, then the row)
            wait_until(lambda: r.metrics().get("authrelay_links_adopted_total", 0) >= 1, "A's link adopted")
        others = [self.pause(r, "shared_user") for r in (b, c)]
        for s in others:
            self.assertEqual(link_of(s)[0], token)  # joined A's link, none minted
        _, link = link_of(others[1])
        complete_on(self, c, link, "sk-shared")
        for s in [first] + others:
            self.resumed_whole(s)

    def test_links_minted_at_once_converge(self):
        a, b, c = self.three()
        lock = TableLock("links")
        try:
            first = [self.pause(a, "race_user"), self.pause(b, "race_user")]
            ta, tb = link_of(first[0])[0], link_of(first[1])[0]
        finally:
            lock.release()
        self.assertNotEqual(ta, tb)  # the race happened: each replica minted its own
        for r, n in ((a, 1), (b, 1), (c, 2)):  # the rows went in: each heard of the other's
            wait_until(lambda: r.metrics().get("authrelay_links_adopted_total", 0) >= n, "links adopted")
        later = [self.pause(r, "race_user") for r in (a, b, c)]
        joined = {link_of(s)[0] for s in later}
        self.assertEqual(len(joined), 1, joined)  # one link for new pauses, on every replica
        (winner,) = joined
        self.assertIn(winner, (ta, tb))
        _, other = link_of(first[1] if winner == ta else first[0])
        complete_on(self, c, other, "sk-race")  # the link new pauses did not join
        for s in first + later:
            self.resumed_whole(s)

    def test_api_link_of_the_pair_on_b_resumes_a(self):
        a, b, _ = self.three()
        stream = self.pause(a, "api_pair_user")
        token, _ = link_of(stream)
        status, u = api(b, "POST", "/api/v1/registered-users/",
                        {"origin_user_id": "api_pair_user", "origin_user_name": "N"})
        self.assertIn(status, (200, 201), u)
        status, lt = api(b, "POST", "/api/v1/registered-users/%s/link-token/" % u["id"], {"connector": "openai"})
        self.assertEqual(status, 201, lt)
        self.assertNotEqual(lt["link_token"], token)  # another link of the same pair, minted on B
        complete_on(self, b, lt["magic_link_url"], "sk-api-link")
        self.resumed_whole(stream)

    def test_completion_while_a_is_cut_from_the_database(self):
        front = TcpRelay(self.port)
        try:
            a, b, _ = self.three(pg_url(front.port))
            stream = self.pause(a, "cut_user")
            _, link = link_of(stream)
            wait_until(lambda: usable_on(b, link), "A's link served by B")
            front.cut()  # A's LISTEN connection (and its pool) go: the NOTIFY is lost for A
            complete_on(self, b, link, "sk-while-cut")
            self.assertNotIn(b"auth_complete", stream.data)
            front.restore()  # A reconnects, LISTENs again, re-reads what ended
            self.resumed_whole(stream)
        finally:
            front.cut()


if __name__ == "__main__":
    unittest.main()
