"""Integration tests of the link API's validation and audit log (issue #11,
items 10 and 11: validation follows the reference tables exactly, control API
changes get an audit line).

One authrelay with the embedded link service on loopback, the catalog of
examples/connectors.json. Table-driven: for every field of every reference
table (shared/reference/: application credentials, registered-user link
token, unified-API link token, OAuth applications; and authrelay's own
registered users and callback origins), a value at the limit in multi-byte
characters is accepted (lengths are code points, not bytes), one over is
refused with 400 naming the field, and so are a wrong type, null where the
table does not allow it, a value outside an enum and a malformed uuid.
"""

import json
import os
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import AgentServer, Relay, RelayCase  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOG = os.path.join(HERE, "..", "..", "examples", "connectors.json")
ADMIN_KEY = "validation-owner-key-5f1e0c7a"
CLIENT_SECRET = "cs-validation-secret-8d2b41"
UUID = "3c90c3c0-6d46-4b50-8888-8dd25736052f"
E = "\u00e9"        # 2 bytes of UTF-8
SMILE = "\U0001f642"  # 4 bytes of UTF-8
ABSENT = object()   # a case where the field is left out

USERS = "/api/v1/registered-users/"
APPS = "/api/v1/application-credentials/"
OAUTH_APPS = "/api/v1/oauth/applications"
ORIGINS = "/api/v1/callback-origins/"


def request(method, url, body=None, headers=None, raw=None):
    """(status, parsed JSON body or None, text)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and not any(k.lower() == "content-type" for k in (headers or {})):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    return status, (json.loads(text) if text.strip() else None), text


class Unique:
    """Distinct values for fields that must be unique (names, external ids)."""

    def __init__(self):
        self.n = 0

    def next(self):
        self.n += 1
        return self.n


class ValidationTest(RelayCase):

    @classmethod
    def setUpClass(cls):
        cls.agent = AgentServer()
        cls.relay = Relay(cls.agent.url, "--connectors", CATALOG, env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        cls.uniq = Unique()
        cls.secrets = {ADMIN_KEY, CLIENT_SECRET}
        status, _ = cls.call("POST", ORIGINS, {"origin": "https://app.example.com"})
        assert status == 201, status
        status, cls.user = cls.call("POST", USERS, {"origin_user_id": "val_user", "origin_user_name": "V"})
        assert status == 201, status
        status, _ = cls.call("POST", APPS, {"connector_slug": "github", "client_id": "gh",
                                            "external_id": "tenant_a", "client_secret": CLIENT_SECRET})
        assert status == 201, status

    @classmethod
    def call(cls, method, path, body=None, token=ADMIN_KEY, raw=None):
        status, parsed, _ = request(method, cls.relay.control_url + path, body,
                                    {"Authorization": "Bearer " + token}, raw)
        return status, parsed

    # --- the table-driven check ---

    def run_cases(self, method, path, base, cases, ok_status):
        """cases: (field, value, expected) with expected True (accepted with
        ok_status), a status (e.g. 501), or a message fragment the 400 must
        give on field. base(): a fresh valid body."""
        for field, value, expected in cases:
            body = base()
            target = body
            name = field
            if "." in field:  # a member of a nested object
                outer, name = field.split(".")
                target = body[outer]
            if value is ABSENT:
                target.pop(name, None)
            else:
                target[name] = value
            status, answer = self.call(method, path, body)
            label = (path, field, value if not isinstance(value, str) or len(value) < 20 else
                     "%r x %d" % (value[:1], len(value)))
            if expected is True:
                self.assertEqual(status, ok_status, (label, answer))
            elif isinstance(expected, int):
                self.assertEqual(status, expected, (label, answer))
            else:
                self.assertEqual(status, 400, (label, answer))
                self.assertIsInstance(answer, dict, label)
                # one error shape: a "detail" text, beside it DRF's field -> list of messages
                self.assertIsInstance(answer.pop("detail", None), str, label)
                for msgs in answer.values():
                    self.assertIsInstance(msgs, list, label)
                    self.assertTrue(all(isinstance(m, str) for m in msgs), label)
                self.assertIn(name, answer, label)
                self.assertIn(expected.lower(), answer[name][0].lower(), (label, answer))

    @staticmethod
    def text_cases(field, limit, unit, minimum=1, nullable=False, required=True):
        """At the limit in multi-byte characters, one over, wrong type, null,
        absent, blank."""
        cases = [
            (field, unit * limit, True),
            (field, unit * (limit + 1), "no more than %d characters" % limit),
            (field, 7, "not a valid string"),
            (field, ["x"], "not a valid string"),
            (field, None, True if nullable else "may not be null"),
        ]
        if required:
            cases.append((field, ABSENT, "required"))
        if minimum == 1:
            cases.append((field, "", "blank"))
        return cases

    # --- registered users (authrelay's table) ---

    def test_registered_users(self):
        def base():
            return {"origin_user_id": "ru_%d" % self.uniq.next(), "origin_user_name": "N",
                    "shared_credential_group": {"origin_company_id": "acme"}}
        cases = self.text_cases("origin_user_name", 255, E)
        cases += [
            ("origin_user_id", "x" * 255, True),
            ("origin_user_id", "x" * 256, "no more than 255 characters"),
            ("origin_user_id", E, "visible ascii"),  # the X-Registered-User-Id header value
            ("origin_user_id", 7, "not a valid string"),
            ("origin_user_id", None, "may not be null"),
            ("origin_user_id", ABSENT, "required"),
            ("shared_credential_group", None, True),
            ("shared_credential_group", "acme", "expected an object"),
            ("shared_credential_group", ["acme"], "expected an object"),
            ("user_type", "SYSTEM", True),
            ("user_type", "ROBOT", "valid choice"),
            ("user_type", "human", "valid choice"),
            ("user_type", 1, "not a valid string"),
            ("user_type", None, "may not be null"),
            ("is_test", True, True),
            ("is_test", "yes", "boolean"),
            ("is_test", 1, "boolean"),
            ("is_test", None, "may not be null"),
        ]
        cases += [("shared_credential_group." + f, v, x) for f, v, x in
                  self.text_cases("origin_company_id", 255, SMILE)]
        cases += [("shared_credential_group." + f, v, x) for f, v, x in
                  self.text_cases("origin_company_name", 255, E, minimum=0, nullable=True, required=False)]
        self.run_cases("POST", USERS, base, cases, 201)
        # an update checks what it is given, the same way
        path = USERS + self.user["id"] + "/"
        self.run_cases("PATCH", path, lambda: {}, [
            ("origin_user_name", E * 255, True),
            ("origin_user_name", E * 256, "no more than 255 characters"),
            ("origin_user_name", None, "may not be null"),
            ("is_test", None, "may not be null"),
            ("user_type", "ROBOT", "valid choice"),
        ], 200)
        status, got = self.call("GET", path)
        self.assertEqual((status, got["origin_user_name"]), (200, E * 255))
        # the path id is a uuid
        self.assertEqual(self.call("GET", USERS + "not-a-uuid/")[0], 404)

    # --- application-credentials.txt ---

    def test_application_credentials(self):
        def base():
            return {"connector_slug": "slack", "client_id": "c", "external_id": "ext_%d" % self.uniq.next()}
        cases = self.text_cases("client_id", 255, SMILE)
        cases += self.text_cases("client_secret", 255, E, minimum=0, nullable=True, required=False)
        cases += [
            # 255 characters pass the length check (then are not a catalog slug); 256 do not
            ("connector_slug", E * 255, "not a connector of the catalog"),
            ("connector_slug", E * 256, "no more than 255 characters"),
            ("connector_slug", 7, "not a valid string"),
            ("connector_slug", None, "may not be null"),
            ("connector_slug", ABSENT, "required"),
            ("connector_slug", "", "blank"),
            ("external_id", "e" * 128, True),
            ("external_id", "e" * 129, "no more than 128 characters"),
            ("external_id", "bad id!", "letters, digits"),
            ("external_id", E, "letters, digits"),
            ("external_id", 7, "not a valid string"),
            ("external_id", None, True),  # (slack, no external_id): the first one
            ("is_global_default", False, True),
            ("is_global_default", 1, "boolean"),
            ("is_global_default", "true", "boolean"),
            ("is_global_default", None, "may not be null"),
        ]
        self.run_cases("POST", APPS, base, cases, 201)
        status, app = self.call("POST", APPS, base())
        self.assertEqual(status, 201)
        self.run_cases("PATCH", APPS + app["id"] + "/", lambda: {}, [
            ("client_id", SMILE * 255, True),
            ("client_id", SMILE * 256, "no more than 255 characters"),
            ("client_id", None, "may not be null"),
            ("client_secret", E * 256, "no more than 255 characters"),
            ("client_secret", None, True),
            ("external_id", 7, "not a valid string"),
            ("connector_slug", "github", "cannot be changed"),
        ], 200)
        status, got = self.call("GET", APPS + app["id"] + "/")
        self.assertEqual((status, got["client_id"]), (200, SMILE * 255))
        self.assertEqual(self.call("GET", APPS + "not-a-uuid/")[0], 404)

    # --- registered-user-link-token.txt, and the Link guide's form ---

    def test_registered_user_link_token(self):
        path = USERS + self.user["id"] + "/link-token/"

        def base():
            return {"connector": "openai", "callback_url": "https://app.example.com/cb"}
        cases = [
            ("connector", "openai", True),
            ("connector", E * 255, "not a connector of the catalog"),
            ("connector", E * 256, "no more than 255 characters"),
            ("connector", 7, "not a valid string"),
            ("connector", None, "may not be null"),
            ("connector", ABSENT, "required"),
            ("external_id", None, True),
            ("external_id", 7, "not a valid string"),
            ("external_id", "e" * 129, "no more than 128 characters"),
            ("callback_url", None, True),
            ("callback_url", 7, "not a valid string"),
            ("callback_url", "https://app.example.com/" + "p" * 2030, "no more than 2048 characters"),
            ("callback_url", "https://evil.example.com/cb", "allowed callback origin"),
            ("state", "s" * 255, True),
            ("state", "s" * 256, "no more than 255 characters"),
            ("state", "a b~", True),
            ("state", E, "printable ascii"),  # RFC 6749 VSCHAR
            ("state", 7, "not a valid string"),
            ("state", None, True),
        ]
        self.run_cases("POST", path, base, cases, 201)
        status, err = self.call("POST", path, {"connector": "github", "external_id": "tenant_a"})
        self.assertEqual(status, 201, err)
        # the path's registered_user_id is a uuid
        self.assertEqual(self.call("POST", USERS + "nope/link-token/", {"connector": "openai"})[0], 404)
        # the Link guide's form: POST /api/registered-users/{id}/link-token {"Connector": ...}
        guide = "/api/registered-users/" + self.user["id"] + "/link-token"
        status, lt = self.call("POST", guide, {"Connector": "openai"})
        self.assertEqual(status, 201, lt)
        self.assertIn("link_token", lt)
        self.run_cases("POST", guide, dict, [
            ("Connector", 7, "not a valid string"),
            ("Connector", E * 256, "no more than 255 characters"),
            ("Connector", "nosuch", "not a connector of the catalog"),
            # no Connector: a picker link (the Link page lists the catalog's connectors)
            ("Connector", ABSENT, True),
            ("Connector", None, True),
        ], 201)
        self.assertEqual(self.call("GET", "/api/registered-users/" + self.user["id"] + "/")[0], 404)
        # callback origins (authrelay's table)
        self.run_cases("POST", ORIGINS, lambda: {"origin": "https://o%d.example.com" % self.uniq.next()}, [
            ("origin", 7, "not a valid string"),
            ("origin", None, "may not be null"),
            ("origin", ABSENT, "required"),
            ("origin", "https://" + "o" * 2041, "no more than 2048 characters"),
            ("origin", "https://" + E + ".example.com", "scheme://host"),
        ], 201)

    # --- unified-link-token.txt ---

    def test_unified_link_token(self):
        def base():
            return {"end_user_email_address": "a@example.com", "end_user_organization_name": "Org",
                    "end_user_origin_id": "unified_val", "categories": ["hris"], "integration": "openai"}
        cases = self.text_cases("end_user_email_address", 100, E)
        cases += self.text_cases("end_user_organization_name", 100, SMILE)
        cases += [
            ("end_user_origin_id", "u" * 100, True),
            ("end_user_origin_id", "u" * 101, "no more than 100 characters"),
            ("end_user_origin_id", 7, "not a valid string"),
            ("end_user_origin_id", None, "may not be null"),
            ("end_user_origin_id", ABSENT, "required"),
            ("categories", ["chat", "mktg", "knowledgebase", "filestorage"], True),
            ("categories", [], "may not be empty"),
            ("categories", ["weather"], "valid choice"),
            ("categories", "hris", "list"),
            ("categories", [7], "string"),
            ("categories", None, "may not be null"),
            ("categories", ABSENT, "required"),
            ("integration", E * 100, "not a connector of the catalog"),
            ("integration", E * 101, "no more than 100 characters"),
            ("integration", 7, "not a valid string"),
            ("integration", "", "blank"),
            ("integration", None, True),  # a picker link
            ("integration", ABSENT, True),
            ("link_expiry_mins", 30, True),
            ("link_expiry_mins", 720, True),
            ("link_expiry_mins", 29, "greater than or equal to 30"),
            ("link_expiry_mins", 721, "less than or equal to 720"),
            ("link_expiry_mins", "60", "integer"),
            ("link_expiry_mins", 60.5, "integer"),
            ("link_expiry_mins", True, "integer"),
            ("link_expiry_mins", 10 ** 30, "integer"),
            ("link_expiry_mins", None, "may not be null"),
            ("should_create_magic_link_url", None, True),
            ("should_create_magic_link_url", "yes", "boolean"),
            ("hide_admin_magic_link", None, True),
            ("hide_admin_magic_link", True, True),
            ("hide_admin_magic_link", 1, "boolean"),
            ("common_models", None, True),
            ("common_models", [{"model_id": "hris.Employee", "enabled_actions": ["READ"], "disabled_fields": []}], True),
            ("common_models", [1], "list of objects"),
            ("common_models", {}, "list of objects"),
            ("category_common_model_scopes", None, True),
            ("category_common_model_scopes", {"hris": [{"model_name": "Employee"}]}, True),
            ("category_common_model_scopes", {"hris": 1}, "lists of objects"),
            ("category_common_model_scopes", [], "lists of objects"),
            ("language", "de", True),
            ("language", None, True),
            ("language", "fr", "valid choice"),
            ("language", 1, "not a valid string"),
            ("are_syncs_disabled", None, True),
            ("are_syncs_disabled", "no", "boolean"),
            ("integration_specific_config", {"a": [1, {"b": None}]}, True),
            ("integration_specific_config", None, True),
            ("integration_specific_config", [], "expected an object"),
            ("completed_account_initial_screen", "SELECTIVE_SYNC", True),
            ("completed_account_initial_screen", None, True),
            ("completed_account_initial_screen", "OTHER", "valid choice"),
        ]
        for field in ("linked_destination_id", "credential_id"):
            cases += [
                (field, UUID, True),
                (field, UUID.upper(), True),
                (field, None, True),
                (field, "not-a-uuid", "valid uuid"),
                (field, UUID.replace("-", "x"), "valid uuid"),
                (field, UUID + "0", "no more than 36 characters"),
                (field, 7, "not a valid string"),
            ]
        self.run_cases("POST", "/api/hris/v1/link-token", base, cases, 200)
        magic = dict(base(), should_create_magic_link_url=True)
        self.run_cases("POST", "/api/hris/v1/link-token", lambda: dict(magic), [
            ("link_expiry_mins", 10080, True),
            ("link_expiry_mins", 10081, "less than or equal to 10080"),
        ], 200)
        self.assertEqual(self.call("POST", "/api/chat/v1/link-token", base())[0], 200)
        self.assertEqual(self.call("POST", "/api/weather/v1/link-token", base())[0], 404)

    # --- oauth-applications.txt ---

    def test_oauth_applications(self):
        def base():
            # names are unique: a distinct CJK character (3 bytes) first
            return {"name": chr(0x4E00 + self.uniq.next()), "scopes": ["read:user"]}

        def unique_name(n, unit):
            return chr(0x4E00 + self.uniq.next()) + unit * (n - 1)
        cases = [
            ("name", unique_name(100, E), True),
            ("name", unique_name(100, SMILE), True),
            ("name", unique_name(101, E), "no more than 100 characters"),
            ("name", "", "blank"),
            ("name", 7, "not a valid string"),
            ("name", None, "may not be null"),
            ("name", ABSENT, "required"),
            ("description", SMILE * 500, True),
            ("description", E * 501, "no more than 500 characters"),
            ("description", "", True),
            ("description", 7, "not a valid string"),
            ("description", None, "may not be null"),
            ("redirectUri", "https://ci.example.com/cb", True),
            ("redirectUri", "/relative", "absolute"),
            ("redirectUri", 7, "not a valid string"),
            ("redirectUri", None, "may not be null"),
            ("scopes", ["read:user", "write:webhooks"], True),
            ("scopes", [], "may not be empty"),
            ("scopes", ["read:everything"], "unknown scope"),
            ("scopes", "read:user", "list"),
            ("scopes", [7], "string"),
            ("scopes", None, "may not be null"),
            ("scopes", ABSENT, "required"),
        ]
        self.run_cases("POST", OAUTH_APPS, base, cases, 201)

    # --- the one JSON parse: depth, NUL, UTF-8 ---

    def test_json_parse_limits(self):
        def nested(depth):
            # the body object is level 1; the config's value fills the rest
            inner = "1"
            for _ in range(depth - 2):
                inner = "[" + inner + "]"
            return ('{"end_user_email_address":"a@example.com","end_user_organization_name":"O",'
                    '"end_user_origin_id":"deep","categories":["hris"],"integration":"openai",'
                    '"integration_specific_config":{"k":%s}}' % inner).encode()
        status, answer = self.call("POST", "/api/hris/v1/link-token", raw=nested(16))
        self.assertEqual(status, 200, answer)
        status, answer = self.call("POST", "/api/hris/v1/link-token", raw=nested(17))
        self.assertEqual(status, 400, answer)
        self.assertIn("deep", answer["detail"])
        status, answer = self.call("POST", USERS, raw=b"[" * 30000 + b"]" * 30000)
        self.assertEqual(status, 400, answer)
        status, answer = self.call("POST", USERS, raw=b'{"origin_user_id":"n\\u0000ul","origin_user_name":"N"}')
        self.assertEqual((status, list(answer)), (400, ["detail"]))
        # a lone surrogate escape is not a character: refused, naming the field
        status, answer = self.call("POST", USERS, raw=b'{"origin_user_id":"lone","origin_user_name":"a\\udc00"}')
        self.assertEqual(status, 400, answer)
        self.assertIn("UTF-8", answer["origin_user_name"][0])
        status, answer = self.call("POST", USERS, raw=b'{"origin_user_id":"x"} {"more":1}')
        self.assertEqual(status, 400, answer)
        status, answer = self.call("POST", USERS, raw=b'["origin_user_id"]')
        self.assertEqual((status, list(answer)), (400, ["detail"]))


class AuditTest(unittest.TestCase):
    """Every successful control API change writes one audit line naming who
    and what; no secret appears anywhere in the log."""

    def test_audit_lines_and_no_secrets_in_the_log(self):
        agent = AgentServer()
        relay = Relay(agent.url, "--connectors", CATALOG, env={"AUTHRELAY_ADMIN_KEY": ADMIN_KEY})
        secrets = [ADMIN_KEY, CLIENT_SECRET]

        def call(method, path, body=None, token=ADMIN_KEY):
            status, parsed, _ = request(method, relay.control_url + path, body, {"Authorization": "Bearer " + token})
            return status, parsed
        try:
            self.assertEqual(call("POST", ORIGINS, {"origin": "https://app.example.com"})[0], 201)
            status, user = call("POST", USERS, {"origin_user_id": "audit_u", "origin_user_name": "A"})
            self.assertEqual(status, 201)
            self.assertEqual(call("PATCH", USERS + user["id"] + "/", {"origin_user_name": "B"})[0], 200)
            status, app = call("POST", APPS, {"connector_slug": "github", "client_id": "gh-audit",
                                              "client_secret": CLIENT_SECRET})
            self.assertEqual(status, 201)
            self.assertEqual(call("PATCH", APPS + app["id"] + "/", {"client_secret": CLIENT_SECRET + "-2"})[0], 200)
            secrets.append(CLIENT_SECRET + "-2")
            status, oapp = call("POST", OAUTH_APPS, {"name": "auditor", "scopes": ["read:user", "write:user"]})
            self.assertEqual(status, 201)
            secrets.append(oapp["clientSecret"])
            status, tok, _ = request("POST", relay.control_url + "/oauth/token", raw=urllib.parse.urlencode(
                {"grant_type": "client_credentials", "client_id": oapp["clientId"],
                 "client_secret": oapp["clientSecret"]}).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, 200)
            access = tok["access_token"]
            secrets.append(access)
            # a change made with the app's token names the app
            status, user2 = call("POST", USERS, {"origin_user_id": "audit_v", "origin_user_name": "V"}, token=access)
            self.assertEqual(status, 201)
            status, lt = call("POST", USERS + user["id"] + "/link-token/",
                              {"connector": "openai", "callback_url": "https://app.example.com/cb",
                               "state": "csrf-state-7c1d"})
            self.assertEqual(status, 201, lt)
            secrets += [lt["link_token"], "csrf-state-7c1d"]
            status, ult = call("POST", "/api/crm/v1/link-token",
                               {"end_user_email_address": "a@example.com", "end_user_organization_name": "O",
                                "end_user_origin_id": "audit_w", "categories": ["crm"], "integration": "openai"})
            self.assertEqual(status, 200, ult)
            secrets.append(ult["link_token"])
            # refused requests change nothing and write no audit line
            self.assertEqual(call("POST", APPS, {"connector_slug": "github", "client_id": 7})[0], 400)
            self.assertEqual(call("DELETE", APPS + app["id"] + "/")[0], 204)
            self.assertEqual(call("DELETE", USERS + user2["id"] + "/")[0], 204)
            self.assertEqual(call("DELETE", OAUTH_APPS + "/" + oapp["id"])[0], 204)
            self.assertEqual(call("DELETE", ORIGINS + "?origin=https%3A%2F%2Fapp.example.com")[0], 204)
        finally:
            code = relay.stop()
            agent.stop()
        self.assertEqual(code, 0)
        audits = [r for r in relay.logs if r.get("msg") == "audit"]
        got = [(r["actor"], r["action"], r.get("id")) for r in audits]
        owner_app = "app:" + oapp["clientId"]
        want = [
            ("owner", "callback_origin.create", None),
            ("owner", "registered_user.create", user["id"]),
            ("owner", "registered_user.update", user["id"]),
            ("owner", "application_credential.create", app["id"]),
            ("owner", "application_credential.update", app["id"]),
            ("owner", "oauth_application.create", oapp["id"]),
            (owner_app, "oauth_token.create", None),
            (owner_app, "registered_user.create", user2["id"]),
            ("owner", "link_token.create", None),
            ("owner", "registered_user.create", None),  # the unified call's end user
            ("owner", "link_token.create", None),
            ("owner", "application_credential.delete", app["id"]),
            ("owner", "registered_user.delete", user2["id"]),
            ("owner", "oauth_application.delete", oapp["id"]),
            ("owner", "callback_origin.delete", None),
        ]
        self.assertEqual([(a, b) for a, b, _ in got], [(a, b) for a, b, _ in want])
        for (_, _, have), (_, _, expect) in zip(got, want):
            if expect is not None:
                self.assertEqual(have, expect)
        by_action = {r["action"]: r for r in audits}
        self.assertEqual(by_action["application_credential.create"]["connector"], "github")
        self.assertEqual(by_action["callback_origin.create"]["origin"], "https://app.example.com")
        self.assertEqual(audits[8]["connector"], "openai")
        self.assertEqual(audits[8]["registered_user_id"], user["id"])
        for r in audits:
            self.assertIn("ts", r)  # when
        # no secret anywhere in the log output
        everything = "\n".join(json.dumps(r) for r in relay.logs) + "".join(relay.stdout_lines)
        for secret in secrets:
            self.assertNotIn(secret, everything)


if __name__ == "__main__":
    unittest.main(verbosity=2)
