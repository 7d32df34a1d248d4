"""Integration tests: out-of-band notice across replicas (issue #16), three
authrelay replicas on one PostgreSQL store, under tests/pg/pgcluster.py
(PG_URL: a throwaway cluster).

- Each webhook delivered once with three replicas draining the outbox
  (deliveries claimed with FOR UPDATE SKIP LOCKED): 60 link events made at
  once over the three replicas (link-token API, Link page, connection
  events), a receiver that answers 503 to the first attempt of a third of
  them: every event is accepted exactly once (without SKIP LOCKED some are
  accepted twice, 5 runs out of 5) (a count per event id, not a
  dedupe), every signature verifies, the outbox ends empty.
- A replica SIGKILLed while it holds leased deliveries (the receiver holds
  every POST): once the lease (NOTIFY_TIMEOUT_MS + 5 s, not configurable:
  the test waits it out) ends, another replica delivers them, each once.
- A replica that starts without the webhook (a rolling change of the
  config) leaves the deliveries another replica owes it in the shared
  outbox (on SQLite a start drops those of webhooks no longer configured):
  they are retried and accepted.
- /v1/events on every replica is served from the shared events log: an
  event made on one replica is on the feed of each, in the same order (the
  same SSE ids), and a client that reconnects to another replica with the
  Last-Event-ID it got from the first gets exactly the events after it,
  none missed or repeated, then the live ones.
- A feed with an OAuth access token on one replica: another replica's
  events reach it, and it ends at the next event once the token's
  application was deleted on a third replica.
- Concurrent inserts on three replicas (300 links minted by 12 threads;
  seq is taken at INSERT, and without the store's advisory lock commits
  come in another order, so a feed reading "seq > last" skipped events in
  5 runs out of 5): feeds on every replica get every event, in one order.
"""

import hashlib
import hmac
import http.server
import json
import os
import re
import select
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay, Stream  # noqa: E402
from test_pgstore import ADMIN_KEY, CATALOG, ENV, FORM, api, pg_url, readyz, request, wait_until  # noqa: E402

SECRET = "whsec-replicas-0123456789"
LEASE_S = 15  # notify.c: NOTIFY_TIMEOUT_MS + 5000
USERS = 20  # made at once, 3 events each: 60 events for the webhook
THREADS = 12  # minting links at once, four on each replica


class Receiver:
    """A webhook receiver that verifies every Authrelay-Signature and
    records every attempt: (event id, type, user, answer). fail_first(id):
    whether the first attempt of id gets 503. hold(): POSTs wait (for at
    most 30 s) until release(); a held POST whose sender went away is
    recorded as "gone", never answered."""

    def __init__(self, fail_first=lambda event_id: False):
        outer = self
        self.lock = threading.Lock()
        self.attempts = []        # (id, type, user, answer): 200, 503, 401 or "gone"
        self.held = 0
        self.release_event = threading.Event()
        self.release_event.set()
        self.fail_first = fail_first

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event = json.loads(body)
                sig = self.headers.get("Authrelay-Signature", "")
                m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", sig)
                ok = bool(m) and self.headers.get("Authrelay-Event-Id") == event["id"]
                if ok:
                    want = hmac.new(SECRET.encode(), m.group(1).encode() + b"." + body, hashlib.sha256).hexdigest()
                    ok = hmac.compare_digest(want, m.group(2)) and abs(time.time() - int(m.group(1))) < 300
                if not outer.release_event.is_set():
                    with outer.lock:
                        outer.held += 1
                    outer.release_event.wait(30)
                    if outer.sender_gone(self.connection):
                        outer.record(event, "gone")
                        self.close_connection = True
                        return
                with outer.lock:
                    first = not any(a[0] == event["id"] for a in outer.attempts)
                answer = 401 if not ok else (503 if first and outer.fail_first(event["id"]) else 200)
                outer.record(event, answer)
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def sender_gone(conn):
        """The peer closed its end (its process died): readable at EOF."""
        readable, _, _ = select.select([conn], [], [], 0)
        if not readable:
            return False
        try:
            return conn.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def record(self, event, answer):
        with self.lock:
            self.attempts.append((event["id"], event["type"], event["registered_user"], answer))

    def hold(self):
        self.release_event.clear()

    def release(self):
        self.release_event.set()

    def accepted(self):
        """{event id: how many attempts were answered 200}."""
        with self.lock:
            out = {}
            for a in self.attempts:
                if a[3] == 200:
                    out[a[0]] = out.get(a[0], 0) + 1
            return out

    def stop(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()


class Feed(Stream):
    """GET /v1/events (every event type) through curl."""

    def __init__(self, relay, last_id=None, token=ADMIN_KEY):
        headers = {"Authorization": "Bearer " + token}
        if last_id:
            headers["Last-Event-ID"] = last_id
        super().__init__(relay.control_url + "/v1/events", headers)

    @staticmethod
    def parse(data):
        out = []
        for block in data.decode().split("\n\n")[:-1]:  # complete events only (not one cut by a read)
            m = re.match(r"id: (\S+)\nevent: (\S+)\ndata: (.*)$", block)
            if m:
                out.append((m.group(1), m.group(2), json.loads(m.group(3))["registered_user"]))
        return out

    def events(self):
        with self.lock:
            return self.parse(self.data)

    def wait_events(self, n, timeout=20):
        self.wait_data(lambda data: len(self.parse(data)) >= n, "%d events on the feed" % n, timeout)
        return self.events()


class ReplicaEventsTest(unittest.TestCase):

    def setUp(self):
        self.port = int(os.environ["PG_PORT"])
        self.agent = AgentServer()
        self.relays = []
        self.closers = []

    def tearDown(self):
        for c in self.closers:
            c()
        for r in self.relays:
            r.stop()
        self.agent.stop()

    def three(self, receiver=None):
        env = dict(ENV)
        if receiver is not None:
            env["AUTHRELAY_WEBHOOKS"] = json.dumps([{"url": receiver.url, "secret": SECRET}])
        for _ in range(3):
            self.relays.append(Relay(self.agent.url, "--connectors", CATALOG, "--store", pg_url(self.port), env=env))
        wait_until(lambda: all(readyz(r)[0] == 200 for r in self.relays), "three replicas ready")
        return self.relays

    def user_flow(self, replicas, i, prefix, complete=True):
        """A registered user made on one replica, a link minted on the next,
        completed on the third: link_token, auth_complete and
        connection_created, each written by one replica."""
        user = "%s_%d" % (prefix, i)
        status, u = api(replicas[i % 3], "POST", "/api/v1/registered-users/",
                        {"origin_user_id": user, "origin_user_name": "N"})
        self.assertIn(status, (200, 201), u)
        status, lt = api(replicas[(i + 1) % 3], "POST", "/api/v1/registered-users/%s/link-token/" % u["id"],
                         {"connector": "openai"})
        self.assertEqual(status, 201, lt)
        if complete:
            link = lt["magic_link_url"]
            on = replicas[(i + 2) % 3]
            path = link[link.index("/_authrelay/link/"):]
            wait_until(lambda: request("GET", on.url + path)[0] == 200, "the link served by another replica")
            status, page = request("POST", on.url + path, "api_key=sk-%s" % user, FORM)
            self.assertEqual(status, 200, page)
            self.assertIn("Connected", page)
        return user

    def in_parallel(self, fn, n):
        errors = []

        def run(i):
            try:
                fn(i)
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])

    def outbox_drained(self, replicas):
        """No delivery left in the store, none in flight on any replica."""
        def drained():
            m = [r.metrics() for r in replicas]
            return all(x["authrelay_webhook_pending"] == 0 and x["authrelay_webhook_in_flight"] == 0 for x in m)
        wait_until(drained, "the outbox drained", 40)

    def test_each_webhook_delivered_once_with_three_replicas_draining(self):
        # the first attempt of about a third of the events gets 503
        receiver = Receiver(fail_first=lambda event_id: int(hashlib.sha256(event_id.encode()).hexdigest(), 16) % 3 == 0)
        self.closers.append(receiver.stop)
        replicas = self.three(receiver)
        users = []
        self.in_parallel(lambda i: users.append(self.user_flow(replicas, i, "hook_user")), USERS)
        want = {(t, u) for u in users for t in ("link_token", "auth_complete", "connection_created")}

        def delivered():
            with receiver.lock:
                return {(a[1], a[2]) for a in receiver.attempts if a[3] == 200}
        wait_until(lambda: want <= delivered(), "%d events accepted" % len(want), 40)
        self.outbox_drained(replicas)  # nothing more can come
        with receiver.lock:
            attempts = list(receiver.attempts)
        self.assertFalse([a for a in attempts if a[3] == 401], "bad signatures")
        accepted = receiver.accepted()
        self.assertEqual(len(accepted), 3 * USERS)  # one event per (type, user): none written twice
        self.assertEqual({i: n for i, n in accepted.items() if n != 1}, {})  # each accepted exactly once
        retried = {a[0] for a in attempts if a[3] == 503}
        self.assertGreater(len(retried), 0)  # some first attempts failed ...
        self.assertLessEqual(retried, set(accepted))  # ... and were retried to success
        self.assertEqual(delivered(), want)
        # every 2xx counted once, by the replica that sent it
        sent = [r.metrics()['authrelay_webhook_deliveries_total{result="delivered"}'] for r in replicas]
        self.assertEqual(sum(sent), 3 * USERS, sent)

    def test_leases_of_a_killed_replica_are_delivered_by_another(self):
        receiver = Receiver()
        self.closers.append(receiver.stop)
        replicas = self.three(receiver)
        receiver.hold()  # every POST waits: its delivery is leased and in flight
        users = [self.user_flow(replicas, i, "lease_user", complete=False) for i in range(6)]
        wait_until(lambda: receiver.held >= 6, "six POSTs held")
        in_flight = [r.metrics()["authrelay_webhook_in_flight"] for r in replicas]
        self.assertEqual(sum(in_flight), 6, in_flight)
        victim = max(range(3), key=lambda i: in_flight[i])
        replicas[victim].proc.kill()  # SIGKILL: its leases stay in the store
        replicas[victim].proc.wait(10)
        survivors = [r for i, r in enumerate(replicas) if i != victim]
        receiver.release()
        wait_until(lambda: len(receiver.accepted()) == 6, "every event accepted (after the lease)", LEASE_S + 25)
        self.outbox_drained(survivors)
        with receiver.lock:
            gone = [a for a in receiver.attempts if a[3] == "gone"]
        self.assertEqual(len(gone), in_flight[victim])  # the victim's POSTs never got an answer
        self.assertEqual(set(receiver.accepted().values()), {1})
        self.assertLessEqual({a[2] for a in gone}, set(users))

    def test_a_replica_without_the_webhook_leaves_its_deliveries(self):
        receiver = Receiver(fail_first=lambda event_id: True)  # every first attempt: 503
        self.closers.append(receiver.stop)
        env = dict(ENV, AUTHRELAY_WEBHOOKS=json.dumps([{"url": receiver.url, "secret": SECRET}]))
        a = Relay(self.agent.url, "--connectors", CATALOG, "--store", pg_url(self.port), env=env)
        self.relays.append(a)
        wait_until(lambda: readyz(a)[0] == 200, "A ready")
        receiver.hold()  # A's first attempts wait, their deliveries in the outbox
        for i in range(2):
            self.user_flow([a, a, a], i, "rolling_user", complete=False)
        wait_until(lambda: receiver.held >= 2, "two POSTs held")
        b = Relay(self.agent.url, "--connectors", CATALOG, "--store", pg_url(self.port), env=ENV)  # no webhook
        self.relays.append(b)
        wait_until(lambda: readyz(b)[0] == 200, "B ready")
        self.assertEqual(api(b, "GET", "/api/v1/registered-users/?origin_user_id=rolling_user_0")[0], 200)
        receiver.release()  # 503: A retries what is still in the outbox
        wait_until(lambda: len(receiver.accepted()) == 2, "both events accepted on a retry", 20)
        self.assertEqual(set(receiver.accepted().values()), {1})
        self.assertFalse([r for r in b.logs if "deliveries dropped" in r.get("msg", "")])

    def test_events_feed_on_every_replica_and_last_event_id_on_another(self):
        replicas = self.three()
        feeds = [Feed(r) for r in replicas]
        self.closers += [f.kill for f in feeds]
        for r in replicas:
            wait_until(lambda: r.metrics()["authrelay_events_subscribers"] == 1, "a feed subscribed")
        for i in range(3):  # 9 events, each of them written by one replica
            self.user_flow(replicas, i, "feed_user")
        lists = [f.wait_events(9) for f in feeds]
        self.assertEqual(len(lists[0]), 9, lists[0])
        self.assertEqual(lists[1], lists[0])  # the same events, in the same order, with the same ids
        self.assertEqual(lists[2], lists[0])
        self.assertEqual(sorted((e[1], e[2]) for e in lists[0]),
                         sorted((t, "feed_user_%d" % i) for i in range(3)
                                for t in ("link_token", "auth_complete", "connection_created")))
        # The client of A saw the first 4 events, then reconnects to B with
        # the last id it saw: the 5 after it, then the live ones.
        seen = lists[0][:4]
        feeds[0].kill()
        again = Feed(replicas[1], last_id=seen[-1][0])
        self.closers.append(again.kill)
        self.assertEqual(again.wait_events(5), lists[0][4:])
        self.user_flow(replicas, 3, "feed_user", complete=False)  # link_token from A
        after = again.wait_events(6)
        self.assertEqual(after[:5], lists[0][4:])
        self.assertEqual((after[5][1], after[5][2]), ("link_token", "feed_user_3"))
        self.assertEqual(feeds[2].wait_events(10), feeds[1].wait_events(10))
        self.assertEqual(feeds[2].events()[9], after[5])
        self.assertEqual(len({e[0] for e in after}), len(after))  # none repeated

    def test_feed_with_an_access_token_ends_when_revoked_on_another_replica(self):
        a, b, c = self.three()
        status, app = api(a, "POST", "/api/v1/oauth/applications", {"name": "feed-app", "scopes": ["read:webhooks"]})
        self.assertEqual(status, 201, app)
        status, text = request("POST", b.control_url + "/oauth/token",
                               {"grant_type": "client_credentials", "client_id": app["clientId"],
                                "client_secret": app["clientSecret"]})
        self.assertEqual(status, 200, text)
        feed = Feed(c, token=json.loads(text)["access_token"])
        self.closers.append(feed.kill)
        wait_until(lambda: c.metrics()["authrelay_events_subscribers"] == 1, "the feed subscribed")
        self.user_flow([a, b, c], 0, "token_user", complete=False)  # link_token, written by B
        self.assertEqual(feed.wait_events(1)[0][1:], ("link_token", "token_user_0"))
        self.assertEqual(api(a, "DELETE", "/api/v1/oauth/applications/" + app["id"])[0], 204)
        self.user_flow([a, b, c], 1, "token_user", complete=False)  # the next event finds the token gone
        feed.finish(timeout=10)  # C closed the feed
        self.assertEqual(len(feed.events()), 1)

    def test_feeds_miss_nothing_under_concurrent_inserts(self):
        receiver = Receiver()  # its deliveries widen each insert's transaction (more statements before COMMIT)
        self.closers.append(receiver.stop)
        replicas = self.three(receiver)
        feeds = [Feed(r) for r in replicas]
        self.closers += [f.kill for f in feeds]
        for r in replicas:
            wait_until(lambda: r.metrics()["authrelay_events_subscribers"] == 1, "a feed subscribed")
        per_thread = 25

        def mint(t):  # link-token API calls on one replica, three threads at once
            status, u = api(replicas[t % 3], "POST", "/api/v1/registered-users/",
                            {"origin_user_id": "burst_user_%d" % t, "origin_user_name": "N"})
            self.assertIn(status, (200, 201), u)
            for _ in range(per_thread):
                status, lt = api(replicas[t % 3], "POST", "/api/v1/registered-users/%s/link-token/" % u["id"],
                                 {"connector": "openai"})
                self.assertEqual(status, 201, lt)
        self.in_parallel(mint, THREADS)
        total = THREADS * per_thread
        lists = [f.wait_events(total) for f in feeds]
        for got in lists:
            self.assertEqual(len(got), total)
            self.assertEqual(len({e[0] for e in got}), total)  # every event once
        self.assertEqual(lists[1], lists[0])
        self.assertEqual(lists[2], lists[0])
        # resumed on another replica from the 10th: 290 events, more than
        # one page (NOTIFY_FEED_PAGE, 256) of the log
        again = Feed(replicas[2], last_id=lists[0][9][0])
        self.closers.append(again.kill)
        self.assertEqual(again.wait_events(total - 10), lists[0][10:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
