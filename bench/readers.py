"""Simulated readers: do "more like this" and "less like this" change what arrives?

    .venv/bin/python bench/readers.py [--stream ../shared/data/hf_stream/dev]
                                      [--labels bench/topic_labels/dev.json]
                                      [--days 12] [--start YYYY-MM-DD] [--no-clicks]
                                      [--onboard N] [--refit-topics] [--per-reader]

Replays featured days of the stream on a throwaway database, as the service runs them:
each day's file is ingested, then every due digest is planned and sent into the outbox
(`send_digests` at 23:00 UTC, the daily window being that day and the one before).

Readers come from the labels file (arXiv id -> topic slugs, a person's judgement): for
each of the thirteen main topics, an interest, there are two readers,
- exact: picks the one topic that names the interest;
- over-selecting: picks it and two popular ones (Agents and tool use, Vision-language
  models, LLM reasoning, whichever two are not the interest), as people do at signup.
Each signs up on the form, reads the confirmation email and confirms with its button.

Every day each reader reads their message where a person does, in the outbox: the text
part lists each paper as a numbered item with its link, ending in the arXiv id, and its
"More like this:" and "Less like this:" links. For every paper listed they press "More like
this" when the labels give it their interest, else "Less like this": a GET of the link,
then a POST of the page's button with its CSRF token, through Django's test client.
Every paper named anywhere in the message, text or HTML part, counts as sent.

With --onboard N, each reader also rates N papers on the "papers you like" page right
after confirming, as the page offers them.

Per day it prints the precision of what arrived and the recall of the interest's papers
featured that day, for each kind of reader; then one last line:

    readers= days= clicks= exact_p_first= exact_p_last= exact_r_last= over_p_first=
    over_p_last= over_r_last=

Precision is pooled over a kind's readers per day (their interest's papers among all they
were sent), then averaged over the first 3 days and over the last 4. Recall counts the
papers of the interest featured on the last 4 days that reached the reader at all.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, throwaway_database

STREAM = ROOT.parent / "shared" / "data" / "hf_stream" / "dev"
LABELS = ROOT / "bench" / "topic_labels" / "dev.json"
INTERESTS = (
    "agents-and-tool-use",
    "llm-reasoning-and-rl-post-training",
    "code-generation-and-software-agents",
    "vision-language-models",
    "image-generation-and-editing",
    "video",
    "3d-and-4d",
    "robotics-and-embodied-ai",
    "speech-and-audio",
    "safety-security-and-alignment",
    "efficient-training-and-inference",
    "retrieval-and-rag",
    "ai-for-science-and-medicine",
)
POPULAR = ("agents-and-tool-use", "vision-language-models", "llm-reasoning-and-rl-post-training")
FIRST_DAYS, LAST_DAYS = 3, 4
SEND_AT = 23  # UTC hour of each day's send, after that day's papers are in
ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?/?$")
ITEM = re.compile(r"^\s{0,4}(\d+)\.\s+\S")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAPER_LINK = re.compile(r'href="(https?://[^"]*?/(?:papers|abs)/(\d{4}\.\d{4,5})(?:v\d+)?)"')


@dataclass
class SimReader:
    interest: str
    kind: str  # "exact" or "over"
    topics: tuple[str, ...]
    email: str
    ip: str
    sent: dict[date, set[str]] = field(default_factory=dict)
    everything: set[str] = field(default_factory=set)


@dataclass
class Item:
    arxiv_id: str
    more: str
    less: str
    why: str = ""


def readers(interests: Iterable[str] = INTERESTS) -> list[SimReader]:
    made: list[SimReader] = []
    for n, interest in enumerate(INTERESTS):
        if interest not in interests:
            continue
        extra = tuple(t for t in POPULAR if t != interest)[:2]
        for kind, topics in (("exact", (interest,)), ("over", (interest, *extra))):
            number = len(made) + 1
            made.append(
                SimReader(
                    interest,
                    kind,
                    topics,
                    f"{kind}-{n + 1:02d}-{interest[:20]}@readers.example.org",
                    f"10.0.{number // 250}.{number % 250 + 1}",
                )
            )
    return made


# --- reading a message as a person does ---------------------------------------------------
def text_items(text: str) -> list[Item]:
    """The papers the text part lists: each numbered item's link (the first URL after
    its title), and its "More like this:" and "Less like this:" links."""
    lines = [line.strip() for line in text.splitlines()]
    items: list[Item] = []
    current: dict[str, str] | None = None
    for n, line in enumerate(lines):
        if ITEM.match(line) and not line.startswith("http"):
            current = {}
            continue
        if current is None:
            continue
        if line.startswith("http") and "link" not in current:
            current["link"] = line
        elif line.startswith("Why: "):
            current["why"] = line.removeprefix("Why: ")
        elif line == "More like this:" and n + 1 < len(lines):
            current["more"] = lines[n + 1]
        elif line == "Less like this:" and n + 1 < len(lines):
            current["less"] = lines[n + 1]
            found = ARXIV_ID.search(urlsplit(current.get("link", "")).path)
            if found and "more" in current:
                items.append(
                    Item(found.group(1), current["more"], current["less"], current.get("why", ""))
                )
            current = None
    return items


def named_in_html(html: str) -> set[str]:
    return {m.group(2) for m in PAPER_LINK.finditer(html)}


def parts(message: email.message.EmailMessage) -> tuple[str, str]:
    text = html = ""
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not text:
            text = part.get_content()
        elif part.get_content_type() == "text/html" and not html:
            html = part.get_content()
    return text, html


class Outbox:
    """The messages handed to the outbox backend since the last read, by recipient."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.seen: set[str] = set()

    def new(self) -> list[email.message.EmailMessage]:
        found = []
        for path in sorted(self.folder.glob("*.eml")):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            found.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        return found


# --- a reader's browser ---------------------------------------------------------------------
class Browser:
    def __init__(self, ip: str):
        from django.test import Client

        self.client = Client(enforce_csrf_checks=True, REMOTE_ADDR=ip)

    def press(self, url: str, data: dict[str, str | list[str]] | None = None) -> int:
        """GET the page the link opens, then POST its form with the CSRF token it carries."""
        path = urlsplit(url).path
        page = self.client.get(path)
        if page.status_code != 200:
            return page.status_code
        token = CSRF.search(page.content.decode())
        if token is None:
            return 0
        posted = self.client.post(path, {"csrfmiddlewaretoken": token.group(1), **(data or {})})
        return posted.status_code

    def page(self, path: str) -> str:
        response = self.client.get(path)
        return response.content.decode() if response.status_code == 200 else ""

    def post(self, path: str, data: dict[str, str | list[str]]) -> int:
        token = CSRF.search(self.page(path))
        if token is None:
            return 0
        return self.client.post(path, {"csrfmiddlewaretoken": token.group(1), **data}).status_code


def link_in(text: str, fragment: str) -> str:
    for line in text.splitlines():
        if fragment in line and line.strip().startswith("http"):
            return line.strip()
    return ""


# --- the replay -------------------------------------------------------------------------------
def day_files(stream: Path, start: date | None, days: int) -> list[tuple[date, Path]]:
    found = []
    for path in sorted(stream.glob("*.json")):
        match = re.search(r"(\d{4}-\d{2}-\d{2})", path.name)
        if match:
            found.append((date.fromisoformat(match.group(1)), path))
    found = [(d, p) for d, p in found if d >= start] if start else found[-days:]
    return found[:days]


def sign_up(sim: SimReader, browser: Browser, outbox: Outbox, onboard: int) -> int:
    """Sign up on the form, confirm from the email; with `onboard`, rate that many papers
    on the page the confirmation leads to. Returns the ratings given there."""
    status = browser.post(
        "/subscribe/",
        {
            "email": sim.email,
            "topics": list(sim.topics),
            "frequency": "daily",
            "send_hour": "7",
            "timezone": "UTC",
            "max_papers": "10",
            "weekday": "0",
        },
    )
    if status != 200:
        raise SystemExit(f"readers: signing up {sim.email} answered {status}")
    confirm = ""
    for message in outbox.new():
        if sim.email in str(message["To"]):
            confirm = link_in(parts(message)[0], "/confirm/")
    if not confirm:
        raise SystemExit(f"readers: no confirmation email for {sim.email}")
    path = urlsplit(confirm).path
    token = CSRF.search(browser.page(path))
    confirmed = browser.client.post(path, {"csrfmiddlewaretoken": token.group(1) if token else ""})
    papers = re.search(r'href="([^"]*/papers/)"', confirmed.content.decode())
    if confirmed.status_code != 200 or papers is None:
        raise SystemExit(f"readers: confirming {sim.email} answered {confirmed.status_code}")
    return onboard_ratings(sim, browser, papers.group(1), onboard) if onboard else 0


def onboard_ratings(sim: SimReader, browser: Browser, page_path: str, count: int) -> int:
    """Rate up to `count` papers on the "papers you like" page, in the order it offers
    them: each fieldset's legend is a title, its "read it" link ends in the arXiv id."""
    page = browser.page(page_path)
    data: dict[str, str | list[str]] = {}
    for block in page.split("<fieldset")[1:]:
        number = re.search(r'name="rate-(\d+)"', block)
        link = re.search(r'href="([^"]+)"', block)
        found = ARXIV_ID.search(urlsplit(link.group(1)).path) if link else None
        if number and found and len(data) < count:
            liked = sim.interest in LABELS_BY_ID.get(found.group(1), ())
            data[f"rate-{number.group(1)}"] = "1" if liked else "-1"
    if data:
        browser.post(page_path, data)
    return len(data)


LABELS_BY_ID: dict[str, tuple[str, ...]] = {}


def replay(args: argparse.Namespace) -> dict[str, float]:
    """The replay, on the database Django is set up with; returns the last line's figures."""
    import time_machine
    from django.conf import settings
    from django.core.management import call_command

    LABELS_BY_ID.clear()
    LABELS_BY_ID.update({k: tuple(v) for k, v in json.loads(Path(args.labels).read_text()).items()})
    outbox = Outbox(Path(settings.OUTBOX_DIR))
    files = day_files(Path(args.stream), args.start, args.days)
    # A reader for each interest the labels give some paper of the replayed days (every
    # one of the thirteen, on the real stream).
    present = {
        slug
        for _, path in files
        for item in json.loads(path.read_text())
        for slug in LABELS_BY_ID.get(item["paper"]["id"], ())
    }
    sims = readers(present)
    browsers = {sim.email: Browser(sim.ip) for sim in sims}
    by_email = {sim.email: sim for sim in sims}
    if len(files) < FIRST_DAYS + LAST_DAYS:
        raise SystemExit(f"readers: {len(files)} days found in {args.stream}, too few")
    if args.refit_topics:
        # The shipped classifiers were fitted on dev, replayed days included: fitted again
        # on the other days alone, they tag the replayed days as they would unseen ones.
        others = [
            str(p)
            for p in sorted(Path(args.stream).glob("*.json"))
            if p not in dict(files).values()
        ]
        refit_topics(others, args.labels)
    featured: dict[date, set[str]] = {}
    clicks = failed_clicks = brought = 0
    started = time.monotonic()
    labelled_only = Path(tempfile.mkdtemp(prefix="readers-labelled-"))
    for n, (day, path) in enumerate(files):
        items = json.loads(path.read_text())
        if args.only_labelled:
            # Papers nobody labelled are left out of the day (eval/ has 500 labelled of 1,133):
            # a reader could not be said to want them or not.
            items = [item for item in items if item["paper"]["id"] in LABELS_BY_ID]
            path = labelled_only / path.name
            path.write_text(json.dumps(items))
        featured[day] = {item["paper"]["id"] for item in items}
        moment = datetime(day.year, day.month, day.day, SEND_AT, tzinfo=UTC)
        with time_machine.travel(moment - timedelta(hours=2), tick=True):
            call_command("ingest", str(path), "--format", "hf-json", stdout=_Quiet())
            if n == 0:
                # Signed up that evening: the first digest is that day's, and the "papers
                # you like" page (--onboard) offers its papers.
                for sim in sims:
                    clicks += sign_up(sim, browsers[sim.email], outbox, args.onboard)
        with time_machine.travel(moment, tick=True):
            call_command("send_digests", "--now", moment.isoformat(), stdout=_Quiet())
            for message in outbox.new():
                reader = by_email.get(str(message["To"]).strip())
                if reader is None:
                    continue
                sim = reader
                text, html = parts(message)
                listed = text_items(text)
                named = {item.arxiv_id for item in listed} | named_in_html(html)
                sim.sent.setdefault(day, set()).update(named)
                sim.everything |= named
                brought += sum("outside your topics" in item.why for item in listed)
                if args.no_clicks:
                    continue
                for item in listed:
                    liked = sim.interest in LABELS_BY_ID.get(item.arxiv_id, ())
                    status = browsers[sim.email].press(
                        item.more if liked else item.less, {"action": "save"}
                    )
                    clicks += 1
                    failed_clicks += status not in (200, 302)
        report_day(n + 1, day, sims, featured)
    shutil.rmtree(labelled_only, ignore_errors=True)
    if failed_clicks:
        print(f"readers: {failed_clicks} clicks did not answer 200 or 302", file=sys.stderr)
    days = [day for day, _ in files]
    summary = summarize(sims, days, featured)
    if args.per_reader:
        report_readers(sims, days, featured)
    print(
        f"# {time.monotonic() - started:.0f} s; "
        f"{brought} papers came from outside the readers' topics"
    )
    print(
        f"readers={len(sims)} days={len(days)} clicks={clicks} "
        + " ".join(f"{key}={value:.3f}" for key, value in summary.items())
    )
    return summary


TAXONOMY = ROOT / "digest" / "papers" / "data" / "topics-2026-12.json"
TOPICS_CACHE = ROOT / "var" / "cache" / "readers"


def refit_topics(paths: list[str], labels: str) -> None:
    """The topic classifiers fitted on these files alone (`fit_topics`), then every paper
    tagged again. The fit takes minutes and depends only on its inputs and the code that
    fits, so it is kept in var/cache/readers/ under a hash of those: a second replay of the
    same days starts at once."""
    from django.core.management import call_command

    from digest.management.commands import fit_topics
    from digest.papers import embedding, topic_model, topics

    code = [topic_model.__file__, topics.__file__, embedding.__file__, fit_topics.__file__]
    inputs = [*map(Path, paths), Path(labels), TAXONOMY, *map(Path, code)]
    hasher = hashlib.sha256()
    for path in inputs:
        hasher.update(path.name.encode() + b"\0" + path.read_bytes())
    cached = TOPICS_CACHE / f"topics-{hasher.hexdigest()[:20]}.json"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        fitting = cached.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(TAXONOMY, fitting)
        call_command(
            "fit_topics", *paths, "--labels", labels, "--into", str(fitting), stdout=_Quiet()
        )
        fitting.replace(cached)
    topics.store_weights(
        {t["slug"]: t["weights"] for t in json.loads(cached.read_text())["topics"]}
    )


class _Quiet:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def relevant(sim: SimReader, ids: set[str]) -> set[str]:
    return {i for i in ids if sim.interest in LABELS_BY_ID.get(i, ())}


def precision(sims: list[SimReader], day: date) -> float | None:
    sent = sum(len(sim.sent.get(day, ())) for sim in sims)
    if not sent:
        return None
    return sum(len(relevant(sim, sim.sent.get(day, set()))) for sim in sims) / sent


def recall(sims: list[SimReader], days: list[date], featured: dict[date, set[str]]) -> float:
    wanted = got = 0
    for sim in sims:
        for day in days:
            mine = relevant(sim, featured[day])
            wanted += len(mine)
            got += len(mine & sim.everything)
    return got / wanted if wanted else 0.0


def report_day(n: int, day: date, sims: list[SimReader], featured: dict[date, set[str]]) -> None:
    cells = []
    for kind in ("exact", "over"):
        group = [s for s in sims if s.kind == kind]
        p = precision(group, day)
        sent = sum(len(s.sent.get(day, ())) for s in group)
        cells.append(f"{kind}_p={'-' if p is None else f'{p:.2f}'} {kind}_sent={sent}")
    # Recall of this day's papers so far: tomorrow's digest may still bring some.
    cells.append(
        " ".join(
            f"{kind}_r={recall([s for s in sims if s.kind == kind], [day], featured):.2f}"
            for kind in ("exact", "over")
        )
    )
    print(f"day {n:2d} {day}  " + "  ".join(cells), flush=True)


def mean(values: list[float | None]) -> float:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else 0.0


def summarize(
    sims: list[SimReader], days: list[date], featured: dict[date, set[str]]
) -> dict[str, float]:
    out: dict[str, float] = {}
    first, last = days[:FIRST_DAYS], days[-LAST_DAYS:]
    for kind in ("exact", "over"):
        group = [s for s in sims if s.kind == kind]
        out[f"{kind}_p_first"] = mean([precision(group, d) for d in first])
        out[f"{kind}_p_last"] = mean([precision(group, d) for d in last])
        out[f"{kind}_r_last"] = recall(group, last, featured)
    return out


def report_readers(sims: list[SimReader], days: list[date], featured: dict[date, set[str]]) -> None:
    """Over the last days, per reader: what they were sent and how much was wanted, then
    where the wanted papers that never came were lost: untagged (not in the interest's
    topic, so no digest of that topic could hold them) or tagged but not sent (left out
    by the ratings, or beyond the reader's maximum)."""
    from digest.models import PaperTopic

    last = days[-LAST_DAYS:]
    shown = set().union(*(featured[day] for day in last))
    tagged: dict[str, set[str]] = {}
    for arxiv_id, slug in PaperTopic.objects.filter(paper__arxiv_id__in=shown).values_list(
        "paper__arxiv_id", "topic__slug"
    ):
        if arxiv_id:  # always, for papers found by their arXiv id
            tagged.setdefault(arxiv_id, set()).add(slug)
    print("# per reader, last days: sent wanted-sent | wanted got | missed: untagged tagged")
    for sim in sims:
        sent = set().union(*(sim.sent.get(day, set()) for day in last))
        wanted = relevant(sim, shown)
        missed = wanted - sim.everything
        untagged = {i for i in missed if sim.interest not in tagged.get(i, ())}
        print(
            f"#   {sim.kind:5s} {sim.interest:36s} sent={len(sent):3d} "
            f"wanted_sent={len(relevant(sim, sent)):3d} | wanted={len(wanted):3d} "
            f"got={len(wanted) - len(missed):3d} | untagged={len(untagged):2d} "
            f"tagged={len(missed) - len(untagged):2d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", default=str(STREAM), help="a folder of hf-json day files")
    parser.add_argument("--labels", default=str(LABELS), help="arXiv id -> topic slugs (JSON)")
    parser.add_argument("--days", type=int, default=12)
    parser.add_argument(
        "--start", type=date.fromisoformat, help="first day (default: the last --days)"
    )
    parser.add_argument("--no-clicks", action="store_true", help="nobody rates anything")
    parser.add_argument("--onboard", type=int, default=0, help="papers rated after confirming")
    parser.add_argument(
        "--only-labelled",
        action="store_true",
        help="leave out the papers the labels file does not cover (for eval/'s sample)",
    )
    parser.add_argument(
        "--refit-topics",
        action="store_true",
        help="fit the topic classifiers on the stream's other days first (the shipped ones "
        "were fitted on dev, replayed days included)",
    )
    parser.add_argument(
        "--per-reader",
        action="store_true",
        help="also print, per reader, what was sent and where the wanted papers were lost",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="readers-") as work:
        # Embedded defaults, as `make demo` runs: tasks in-process, email to an outbox of
        # this run's own (SQLite, unless DATABASE_URL names a server).
        os.environ["OUTBOX_DIR"] = str(Path(work) / "outbox")
        os.environ["ENV_FILE"] = "off"
        os.environ["LOG_LEVEL"] = "WARNING"
        for name in ("CELERY_BROKER_URL", "EMAIL_PROVIDER", "EMAIL_BACKEND"):
            os.environ.pop(name, None)
        with throwaway_database():
            replay(args)


if __name__ == "__main__":
    main()
