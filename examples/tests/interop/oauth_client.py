#!/usr/bin/env python3
"""A third-party OAuth 2.0 client against the MedMij demo network's ZA GW.

Not medmij-rs code: the client is requests-oauthlib (on oauthlib and requests).
It plays both the PGO GW (the confidential OAuth client, authenticated by its
certificate in mutual TLS, MedMij OAUTH-3) and, with plain `requests`, the
person's browser on the front channel. Run by examples/tests/demo_interop.rs.

    oauth_client.py --map HOST:PORT=ADDR:PORT ... --authorize-url URL
        --token-url URL --client-id HOST --redirect-uri URL --scope SCOPE
        --cert CHAIN.pem --key KEY.pem --root ROOT.pem

Prints one JSON object on stdout:
  {"outcome": "token", "token": {...}, "state_checked": true, ...}
  {"outcome": "refused", "stage": "token", "error_type": ..., "error": ...}
      (no HTTP answer at all: the TLS connection was refused)
  {"outcome": "oauth_error", "stage": ..., "error": ...}
Exit status 0 for any of those, 3 when a Python module is missing, 1 otherwise.
"""

import argparse
import html.parser
import json
import socket
import sys
import urllib.parse

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
    """Sends the demo's host names (and only those) to loopback ports, the way
    curl's --resolve or Chromium's --host-resolver-rules do. TLS still checks the
    certificate against the host name in the URL."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        key = (host.decode() if isinstance(host, bytes) else host, int(port or 0))
        if key in mapping:
            addr, to = mapping[key]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (addr, to))]
        return real(host, port, family, type, proto, flags)

    socket.getaddrinfo = getaddrinfo


class FormParser(html.parser.HTMLParser):
    """The consent form: its action, its hidden fields, its submit buttons."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.hidden = {}
        self.buttons = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            self.buttons.append((a["name"], a.get("value", "")))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--map", action="append", default=[], help="HOST:PORT=ADDR:PORT")
    p.add_argument("--authorize-url", required=True)
    p.add_argument("--token-url", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--redirect-uri", required=True)
    p.add_argument("--scope", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--decision", default="grant", choices=["grant", "refuse"])
    args = p.parse_args()

    mapping = {}
    for m in args.map:
        src, dst = m.split("=", 1)
        host, port = src.rsplit(":", 1)
        addr, to = dst.rsplit(":", 1)
        mapping[(host, int(port))] = (addr, int(to))
    install_resolver(mapping)

    # The OAuth client: client_id = the PGO GW's hostname, no secret (MedMij OAUTH-3);
    # the redirect URI on that host (OAUTH-4); one scope pair (OAUTH-5).
    oauth = requests_oauthlib.OAuth2Session(
        client_id=args.client_id, redirect_uri=args.redirect_uri, scope=[args.scope]
    )
    # Only the test root, only loopback: no CA bundle or proxy from the environment
    # (REQUESTS_CA_BUNDLE would otherwise override `verify`).
    oauth.trust_env = False
    # requests-oauthlib draws the state itself (OAUTH-10).
    auth_url, state = oauth.authorization_url(args.authorize_url)

    # The person's browser: a separate session, no client certificate (front channel).
    browser = requests.Session()
    browser.trust_env = False
    authz = urllib.parse.urlsplit(auth_url)

    def get_on_za_host(url):
        """GETs url and follows redirects as long as they stay on the ZA GW's host
        (its TEST DigiD stand-in and consent screen); a redirect elsewhere ends the
        walk with that response (the client's redirect URI)."""
        for _ in range(10):
            r = browser.get(url, verify=args.root, timeout=TIMEOUT, allow_redirects=False)
            loc = r.headers.get("Location")
            if r.status_code not in (302, 303) or not loc:
                return r
            nxt = urllib.parse.urljoin(url, loc)
            if urllib.parse.urlsplit(nxt).netloc != authz.netloc:
                return r
            url = nxt
        raise SystemExit("too many redirects on the ZA GW")

    page = get_on_za_host(auth_url)
    if page.status_code == 200 and "TEST DigiD stand-in" in page.text:
        # The ZA GW authenticates the person (MedMij OAUTH-11): its test stand-in
        # for DigiD; the person presses "log in".
        login = FormParser()
        login.feed(page.text)
        if not login.action or ("action", "login") not in login.buttons:
            raise SystemExit(f"no login form on the DigiD stand-in:\n{page.text[:2000]}")
        fields = dict(login.hidden)
        fields["action"] = "login"
        answer = browser.post(urllib.parse.urljoin(page.url, login.action), data=fields,
                              verify=args.root, timeout=TIMEOUT, allow_redirects=False)
        loc = answer.headers.get("Location")
        if answer.status_code == 200:
            # The consent screen as the answer to the login (no redirect in between).
            page = answer
        elif answer.status_code not in (302, 303) or not loc:
            raise SystemExit(f"login POST: HTTP {answer.status_code}, no redirect")
        else:
            page = get_on_za_host(urllib.parse.urljoin(answer.url, loc))
    if page.status_code != 200:
        print(json.dumps({"outcome": "oauth_error", "stage": "authorize",
                          "status": page.status_code,
                          "location": page.headers.get("Location"),
                          "body": page.text[:2000]}))
        return 0
    form = FormParser()
    form.feed(page.text)
    if not form.action or ("decision", args.decision) not in form.buttons:
        raise SystemExit(f"no consent form with a {args.decision!r} button on the page:\n{page.text[:2000]}")
    # The person presses the button: the form's hidden fields plus the decision.
    fields = dict(form.hidden)
    fields["decision"] = args.decision
    action = urllib.parse.urljoin(page.url, form.action)
    answer = browser.post(action, data=fields, verify=args.root, timeout=TIMEOUT,
                          allow_redirects=False)
    location = answer.headers.get("Location")
    if answer.status_code not in (302, 303) or not location:
        raise SystemExit(f"consent POST: HTTP {answer.status_code}, no redirect:\n{answer.text[:2000]}")
    # The redirect goes to the client's redirect URI on the PGO host: the browser
    # would follow it; here the client reads code and state from it.
    target = urllib.parse.urlsplit(location)
    expected = urllib.parse.urlsplit(args.redirect_uri)
    if (target.scheme, target.netloc, target.path) != (expected.scheme, expected.netloc, expected.path):
        raise SystemExit(f"redirect to {location!r}, not to the redirect URI {args.redirect_uri!r}")
    query = dict(urllib.parse.parse_qsl(target.query))
    if query.get("state") != state:
        raise SystemExit("the state on the redirect differs from the one sent (OAUTH-10)")
    if "code" not in query:
        print(json.dumps({"outcome": "oauth_error", "stage": "redirect",
                          "error": query.get("error"),
                          "error_description": query.get("error_description")}))
        return 0

    # The back channel: the token request over mutual TLS with the PGO GW's
    # certificate; client_id in the body, no client secret, no Basic auth (OAUTH-3).
    # Given the whole redirect URL, requests-oauthlib checks the state again itself.
    try:
        token = oauth.fetch_token(
            args.token_url,
            authorization_response=location,
            cert=(args.cert, args.key),
            verify=args.root,
            include_client_id=True,
            timeout=TIMEOUT,
        )
    except requests.exceptions.RequestException as e:
        # No HTTP answer: the connection was refused (TLS handshake, MedMij TLS-3/TLS-4).
        print(json.dumps({"outcome": "refused", "stage": "token",
                          "error_type": type(e).__name__, "error": str(e)}))
        return 0
    except OAuth2Error as e:
        print(json.dumps({"outcome": "oauth_error", "stage": "token",
                          "status": e.status_code, "error": e.error,
                          "error_description": e.description}))
        return 0
    print(json.dumps({
        "outcome": "token",
        "token": dict(token),
        "state_checked": True,
        "client": {"requests": requests.__version__,
                   "requests_oauthlib": requests_oauthlib.__version__,
                   "oauthlib": oauthlib.__version__},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
