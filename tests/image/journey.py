"""A reader's whole journey across the running compose stack, over HTTP, as a person and
their mail provider would make it. scripts/image_test.sh runs it against the containers.

Sign up on the web container, read the confirmation email at the SMTP server and confirm by
POST, ingest a Daily Papers page, let the worker send the digest, find it at the SMTP
server, and leave with one click. Only the standard library: it runs on the host.

    python tests/image/journey.py --site http://127.0.0.1:18000 \
        --sink http://127.0.0.1:18025 --compose "docker-compose -p x -f a -f b"
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import NoReturn

SEED = "seeds/daily_papers_2025-11-20.txt"


class Forms(HTMLParser):
    """Every form of a page: its action, method and what a browser would submit as is."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "action": a.get("action", ""),
                    "method": a.get("method", "get").lower(),
                    "fields": [],
                    "choices": {},
                }
            )
        if not self.forms:
            return
        form = self.forms[-1]
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                form["choices"].setdefault(a["name"], []).append(a.get("value", "on"))
                if "checked" in a:
                    form["fields"].append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset"):
                form["fields"].append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            form["fields"].append((a["name"], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select and self.forms:
            chosen = [v for v, selected in self._options if selected] or [self._options[0][0]]
            self.forms[-1]["fields"].append((self._select, chosen[0]))
            self._select = None


def forms_of(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


class Browser:
    """Cookies kept, redirects followed, every answer read whatever its status."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def open(self, url: str, data: dict | list | None = None, raw: bytes | None = None):
        url = urllib.parse.urljoin(self.site + "/", url)
        body = (
            raw
            if raw is not None
            else (urllib.parse.urlencode(data).encode() if data is not None else None)
        )
        request = urllib.request.Request(url, data=body, headers={"Referer": url})
        if raw is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers

    def submit(self, page_url: str, html: str, form: dict, **values: object):
        fields = [(k, v) for k, v in form["fields"] if k not in values]
        for name, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                fields.append((name, str(item)))
        return self.open(urllib.parse.urljoin(page_url, form["action"] or page_url), fields)


def step(text: str) -> None:
    print(f"journey: {text}", flush=True)


def fail(text: str) -> NoReturn:
    print(f"journey: FAILED: {text}", file=sys.stderr, flush=True)
    sys.exit(1)


def mail_to(sink: str, address: str) -> list[EmailMessage]:
    with urllib.request.urlopen(f"{sink}/messages", timeout=10) as response:
        listed = json.load(response)
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(m["raw"].encode()) for m in listed if m["to"] == address]


def wait_for_mail(
    sink: str, address: str, count: int, what: str, timeout: float = 120
) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = mail_to(sink, address)
        if len(messages) >= count:
            return messages
        time.sleep(1)
    fail(f"no {what} reached the SMTP server for {address} within {timeout:.0f} s")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    # Over SMTP every line ends in CRLF, and a 7bit or 8bit part keeps them when decoded:
    # without this, no "$" in the patterns below would match.
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


PLAN = ("exec", "-T", "worker", "celery", "-A", "digest", "call", "digest.tasks.plan_digests")


def compose(command: str, *args: str) -> str:
    run = subprocess.run([*shlex.split(command), *args], capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"{' '.join(args)} exited {run.returncode}:\n{run.stdout}{run.stderr}")
    return run.stdout


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--site", required=True)
    options.add_argument("--sink", required=True)
    options.add_argument("--compose", required=True)
    args = options.parse_args()
    address = f"reader-{int(time.time())}@example.org"
    reader = Browser(args.site)

    # 1. Sign up on the web container.
    status, html, _ = reader.open("/")
    signup = next((f for f in forms_of(html) if any(k == "email" for k, _ in f["fields"])), None)
    if status != 200 or signup is None:
        fail(f"the home page answered {status} without a signup form")
    topics = signup["choices"].get("topics", [])
    if not topics:
        fail("the signup form offers no topics")
    status, html, _ = reader.submit(
        args.site + "/",
        html,
        signup,
        email=address,
        topics=topics[:6],
        frequency="daily",
        send_hour=0,
        timezone="UTC",
    )
    if status != 200 or 'class="errorlist' in html:
        fail(f"signing up answered {status}: {html[:2000]}")
    step(f"signed up {address} for {len(topics[:6])} topics")

    # 2. The confirmation email, read at the SMTP server; confirmed by POST.
    [confirmation] = wait_for_mail(args.sink, address, 1, "confirmation email")
    links = re.findall(r"https?://\S+/confirm/[^/\s]+/", text_of(confirmation))
    if not links:
        fail(f"no confirmation link in:\n{text_of(confirmation)}")
    status, html, _ = reader.open(links[0])
    form = next((f for f in forms_of(html) if f["method"] == "post"), None)
    if status != 200 or form is None:
        fail(f"the confirmation link answered {status} without a button")
    status, html, _ = reader.submit(links[0], html, form)
    if status != 200:
        fail(f"confirming answered {status}")
    step("confirmed by POST from the link in the email")

    # 3. A Daily Papers page ingested, as today's; 4. the worker plans and sends.
    today = datetime.now(UTC).date().isoformat()
    manage = ("run", "--rm", "--no-deps", "-T", "web", "python", "manage.py")
    step(compose(args.compose, *manage, "ingest", SEED, "--date", today).strip().splitlines()[-1])
    compose(args.compose, *PLAN)
    _, digest = wait_for_mail(args.sink, address, 2, "digest", timeout=180)
    text = text_of(digest)
    papers = re.findall(r"^\d+\.\s+\S", text, flags=re.MULTILINE)  # "1.  Title", "10. Title"
    more = re.findall(r"^\s*More like this:\s*\n\s*(\S+/feedback/\S+/more/)$", text, re.MULTILINE)
    if not papers or len(more) != len(papers):
        fail(f"the digest lists no papers:\n{text[:3000]}")
    step(f"the worker sent the digest: {digest['Subject']!r}, {len(papers)} papers")

    # 5. One click, as the reader's mail provider makes it (RFC 8058): a POST, no cookies.
    if digest["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click":
        fail("the digest has no one-click unsubscribe header")
    [url] = [
        u for u in re.findall(r"<([^>]+)>", digest["List-Unsubscribe"]) if u.startswith("http")
    ]
    status, html, _ = Browser(args.site).open(url, raw=b"List-Unsubscribe=One-Click")
    if status != 200:
        fail(f"one-click unsubscribe answered {status}")
    state = compose(
        args.compose,
        *manage,
        "shell",
        "--no-imports",
        "-c",
        "from subscriptions.models import Subscriber; "
        f"print(Subscriber.objects.get(email={address!r}).status)",
    ).strip()
    if state != "unsubscribed":
        fail(f"after one click the reader is {state!r}, not unsubscribed")
    # Planned again: nothing more for them.
    compose(args.compose, *PLAN)
    time.sleep(5)
    received = len(mail_to(args.sink, address))
    if received != 2:
        fail(f"{address} received {received} messages, not a confirmation and one digest")
    step("unsubscribed with one click; nothing more was sent")
    print("journey: ok")


if __name__ == "__main__":
    main()
