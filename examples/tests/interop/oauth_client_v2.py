#!/usr/bin/env python3
"""A third-party OAuth 2.0 client in release 2.x against a ZA GW (MedMij OAUTH-19).

Not medmij-rs code: the client is requests-oauthlib (on oauthlib and requests). It
plays the PGO GW (the confidential client, authenticated by its certificate in
mutual TLS, MedMij OAUTH-3) and, with plain `requests`, the person's browser. Run
by examples/tests/interop_v2.rs.

    oauth_client_v2.py --map HOST:PORT=ADDR:PORT ... --authorize-url URL
        --token-url URL --resource-url URL --client-id HOST --redirect-uri URL
        --scope AANBIEDER --cert CHAIN.pem --key KEY.pem --root ROOT.pem

The flow: the authorization request with the scope per Aanbieder (OAUTH-20) and the
tracing identifiers as query parameters (OAUTH-21); the browser logs in and grants
consent for an indefinite period (CONSENT-6); the token request with the tracing
headers gives an access and a refresh token; a resource read; a refresh (a new
X-Correlation-ID) gives new tokens (rotation); a resource read with the new token;
the old refresh token presented again is refused.

Prints one JSON object on stdout with every step's outcome. Exit status 0 when the
report is printed, 3 when a Python module is missing, 1 otherwise.
"""

import argparse
import html.parser
import json
import socket
import sys
import urllib.parse
import uuid

try:
    import oauthlib
    import requests
    import requests_oauthlib
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error
except ImportError as e:  # the Rust test turns this into a clear failure
    print(
        f"missing Python module: {e.name} (install: python3 -m pip install "
        "--break-system-packages requests-oauthlib==2.0.0)",
        file=sys.stderr,
    )
    sys.exit(3)

TIMEOUT = 30


def install_resolver(mapping):
    """Sends the test's host names (and only those) to loopback ports; TLS still
    checks the certificate against the host name in the URL."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        key = (host.decode() if isinstance(host, bytes) else host, int(port or 0))
        if key in mapping:
            addr, to = mapping[key]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, to))]
        return real(host, port, family, type, proto, flags)

    socket.getaddrinfo = getaddrinfo


class FormParser(html.parser.HTMLParser):
    """The first form of a page: its action, its fields, its checkboxes, its buttons."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}
        self.checkboxes = []
        self.buttons = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                self.checkboxes.append((a["name"], a.get("value", "on"), "checked" in a))
            else:
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            self.buttons.append((a["name"], a.get("value", "")))


def trace_headers(correlation_id):
    """A new MedMij-Request-ID per request, the flow's X-Correlation-ID (OAUTH-21)."""
    return {"MedMij-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": correlation_id}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--map", action="append", default=[], help="HOST:PORT=ADDR:PORT")
    p.add_argument("--authorize-url", required=True)
    p.add_argument("--token-url", required=True)
    p.add_argument("--resource-url", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--redirect-uri", required=True)
    p.add_argument("--scope", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--root", required=True)
    args = p.parse_args()

    mapping = {}
    for m in args.map:
        src, dst = m.split("=", 1)
        host, port = src.rsplit(":", 1)
        addr, to = dst.rsplit(":", 1)
        mapping[(host, int(port))] = (addr, int(to))
    install_resolver(mapping)
    report = {"client": {"requests": requests.__version__,
                         "requests_oauthlib": requests_oauthlib.__version__,
                         "oauthlib": oauthlib.__version__}}

    # The OAuth client: client_id = the PGO GW's hostname, no secret (OAUTH-3); the
    # scope is the Aanbieder's name (OAUTH-20).
    oauth = requests_oauthlib.OAuth2Session(
        client_id=args.client_id, redirect_uri=args.redirect_uri, scope=[args.scope]
    )
    oauth.trust_env = False
    # Every back-channel request of this session uses the PGO GW's certificate.
    oauth.cert = (args.cert, args.key)
    flow_id = str(uuid.uuid4())
    first = trace_headers(flow_id)
    auth_url, state = oauth.authorization_url(args.authorize_url, **first)
    report["authorization_url_params"] = sorted(
        k for k, _ in urllib.parse.parse_qsl(urllib.parse.urlsplit(auth_url).query))

    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(auth_url, verify=args.root, timeout=TIMEOUT, allow_redirects=False)
    if page.status_code != 200:
        raise SystemExit(f"authorization request: HTTP {page.status_code}:\n{page.text[:2000]}")
    # The login page (the ZA GW authenticates the person, OAUTH-18): post its form.
    login = FormParser()
    login.feed(page.text)
    if not login.action:
        raise SystemExit(f"no login form:\n{page.text[:2000]}")
    page = browser.post(urllib.parse.urljoin(page.url, login.action), data=login.fields,
                        verify=args.root, timeout=TIMEOUT, allow_redirects=False)
    if page.status_code != 200:
        raise SystemExit(f"login: HTTP {page.status_code}:\n{page.text[:2000]}")
    form = FormParser()
    form.feed(page.text)
    boxes = [(n, v) for n, v, checked in form.checkboxes]
    report["indefinite_preselected"] = any(checked for _, _, checked in form.checkboxes)
    if ("decision", "grant") not in form.buttons or ("indefinite", "yes") not in boxes:
        raise SystemExit(f"no 2.x consent screen:\n{page.text[:2000]}")
    # The person checks "indefinite period" and grants (CONSENT-6).
    fields = dict(form.fields)
    fields["indefinite"] = "yes"
    fields["decision"] = "grant"
    answer = browser.post(urllib.parse.urljoin(page.url, form.action), data=fields,
                          verify=args.root, timeout=TIMEOUT, allow_redirects=False)
    location = answer.headers.get("Location")
    if answer.status_code not in (302, 303) or not location:
        raise SystemExit(f"consent: HTTP {answer.status_code}, no redirect:\n{answer.text[:2000]}")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    if query.get("state") != state or "code" not in query:
        raise SystemExit(f"redirect without code or with another state: {query}")

    def read(token):
        r = requests.get(args.resource_url, cert=(args.cert, args.key), verify=args.root,
                         timeout=TIMEOUT,
                         headers={"Authorization": f"Bearer {token['access_token']}",
                                  **trace_headers(flow_id)})
        return r.status_code

    try:
        headers = trace_headers(flow_id)
        token = oauth.fetch_token(args.token_url, authorization_response=location,
                                  verify=args.root, include_client_id=True,
                                  timeout=TIMEOUT, headers=headers)
        report["token"] = {"scope": token.get("scope"), "expires_in": token.get("expires_in"),
                           "token_type": token.get("token_type"),
                           "has_refresh_token": "refresh_token" in token}
        report["read_first"] = read(token)
        old_refresh = token["refresh_token"]
        # Collect again: a refresh on the back channel, a new X-Correlation-ID (OAUTH-21).
        flow_id = str(uuid.uuid4())
        refreshed = oauth.refresh_token(args.token_url, refresh_token=old_refresh,
                                        verify=args.root, timeout=TIMEOUT,
                                        headers=trace_headers(flow_id),
                                        client_id=args.client_id)
        report["refreshed"] = {
            "scope": refreshed.get("scope"),
            "expires_in": refreshed.get("expires_in"),
            "new_access_token": refreshed["access_token"] != token["access_token"],
            "new_refresh_token": refreshed.get("refresh_token") not in (None, old_refresh),
        }
        report["read_refreshed"] = read(refreshed)
    except OAuth2Error as e:
        report["error"] = {"error": e.error, "description": e.description}
        print(json.dumps(report))
        return 0
    # Rotation: the retired refresh token is refused (and revokes the chain, OAUTH-19).
    try:
        oauth.refresh_token(args.token_url, refresh_token=old_refresh, verify=args.root,
                            timeout=TIMEOUT, headers=trace_headers(str(uuid.uuid4())),
                            client_id=args.client_id)
        report["old_refresh"] = {"refused": False}
    except OAuth2Error as e:
        report["old_refresh"] = {"refused": True, "error": e.error}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
