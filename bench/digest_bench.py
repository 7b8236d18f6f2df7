"""100,000 personal digests against the cost of rendering alone.

    .venv/bin/python bench/digest_bench.py [--subscribers 100000] [--workers 1]
                                           [--rated 0.1] [--ratings 20]

On a throwaway database (SQLite, or PostgreSQL when DATABASE_URL says so) it creates the
subscribers (topic subsets, keywords for a fifth, daily and weekly, many time zones; a
tenth with 20 "more/less like this" ratings, their profiles fitted) and 2,000 papers over
7 days, then runs the production path in this process: plan, then
dispatch.send_deliveries on batches of SEND_BATCH_SIZE, into a backend that builds every
message's bytes and discards them. In the same run it measures
- the floor: rendering the pre-inlined template from prepared contexts and building the
  message bytes, for the same recipients;
- the naive way: premailer on every message, on a sample of 1,000;
- queries per 1,000 digests, peak RSS, and ingesting 10,000 hf-json items (in a process
  of its own, whose peak RSS is reported apart);
- planning: the pass in which every reader is due (plan_full_s), and one when 1 % are
  (plan_1pct_s), with, for comparison, reading every reader to find the due ones.
The last line is key=value pairs; ratio = digests_per_s / floor_per_s, speedup_vs_naive =
digests_per_s / naive_per_s (both measured in this run); peak_rss_mb is the
peak of the sending process (with --workers N, of the largest worker); fit_s is the time
to fit the rated readers' profiles (profiles_fitted of them, a tenth of the readers).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import throwaway_database

ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
]
KEYWORDS = [
    "retrieval",
    "agents",
    "diffusion",
    "reasoning",
    "memory",
    "quantization",
    "benchmark",
    "alignment",
    "sparse",
    "robust",
    "multimodal",
    "transformer",
]
WORDS = [
    "language",
    "model",
    "reasoning",
    "retrieval",
    "agents",
    "vision",
    "multimodal",
    "diffusion",
    "memory",
    "training",
    "quantization",
    "code",
    "generation",
    "benchmark",
    "reinforcement",
    "learning",
    "search",
    "efficient",
    "transformer",
    "attention",
    "dataset",
    "alignment",
    "evaluation",
    "robust",
    "scalable",
    "sparse",
    "experts",
    "we",
    "propose",
    "method",
    "results",
    "show",
    "improves",
    "state",
    "art",
    "tasks",
    "data",
    "performance",
    "novel",
]
NOW = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
PAPERS = 2_000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def populate(subscribers: int, rng: random.Random) -> None:
    from digest.bulk import bulk_insert_rows
    from digest.models import Paper, PaperSnapshot, PaperTopic, Topic
    from subscriptions.models import Subscriber

    topics = list(Topic.objects.values_list("pk", flat=True))
    papers = []
    for n in range(PAPERS):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize()
        papers.append(
            Paper(
                title=f"{title} {n}",
                title_key=f"{title.lower()} {n}",
                arxiv_id=f"2611.{n:05d}",
                abstract=" ".join(rng.choice(WORDS) for _ in range(rng.randint(120, 220))),
                authors=[f"Author {n}", f"Author {n + 1}"],
                author_count=2,
                featured_on=(NOW - timedelta(days=n % 7)).date(),
                upvotes=rng.randint(0, 200),
                sources=["hf-json"],
            )
        )
    bulk_insert_rows(papers)
    bulk_insert_rows(
        [
            PaperTopic(
                paper_id=p.pk, topic_id=t, score=round(rng.uniform(0.3, 1.0), 3), source="auto"
            )
            for p in papers
            for t in rng.sample(topics, rng.randint(1, 2))
        ]
    )
    bulk_insert_rows(
        [
            PaperSnapshot(paper_id=p.pk, taken_at=NOW - timedelta(hours=30), upvotes=p.upvotes // 2)
            for p in papers
        ]
    )
    through = Subscriber.topics.through
    confirmed = NOW - timedelta(days=30)
    for start in range(0, subscribers, 5_000):
        chunk = []
        for n in range(start, min(subscribers, start + 5_000)):
            zone = rng.choice(ZONES)
            local_hour = NOW.astimezone(ZoneInfo(zone)).hour
            weekly = rng.random() < 0.2
            chunk.append(
                Subscriber(
                    email=f"reader{n:06d}@example.com",
                    status="active",
                    confirmed_at=confirmed,
                    signed_up_at=confirmed,
                    created_at=confirmed,
                    frequency="weekly" if weekly else "daily",
                    weekday=rng.randint(0, NOW.astimezone(ZoneInfo(zone)).weekday()),
                    send_hour=rng.randint(0, local_hour),
                    timezone=zone,
                    max_papers=rng.choice([5, 10, 10, 10, 15, 20, 30]),
                    keywords=", ".join(rng.sample(KEYWORDS, rng.randint(1, 2)))
                    if rng.random() < 0.2
                    else "",
                )
            )
        bulk_insert_rows(chunk)
        bulk_insert_rows(
            [
                through(subscriber_id=s.pk, topic_id=t)
                for s in chunk
                for t in rng.sample(topics, rng.choice([1, 1, 2, 2, 2, 3]))
            ]
        )


def rate(share: float, count: int, rng: random.Random) -> int:
    """`share` of the subscribers rate `count` papers each, seven likes in ten; returns
    how many readers rated."""
    from digest.bulk import bulk_insert_rows
    from digest.models import Feedback, Paper, ReaderProfile
    from subscriptions.models import Subscriber

    papers = list(Paper.objects.values_list("pk", flat=True))
    readers = [pk for pk in Subscriber.objects.values_list("pk", flat=True) if rng.random() < share]
    for start in range(0, len(readers), 5_000):
        chunk = readers[start : start + 5_000]
        bulk_insert_rows(
            [
                Feedback(
                    subscriber_id=reader,
                    paper_id=paper,
                    created_at=NOW - timedelta(days=1),
                    value=1 if rng.random() < 0.7 else -1,
                )
                for reader in chunk
                for paper in rng.sample(papers, count)
            ]
        )
        ReaderProfile.objects.bulk_create(
            [
                ReaderProfile(subscriber_id=reader, changed_at=NOW - timedelta(days=1))
                for reader in chunk
            ]
        )
    return len(readers)


def send_all(ids: list[int], batch_size: int) -> None:
    from digest.mailing import dispatch

    for start in range(0, len(ids), batch_size):
        dispatch.send_deliveries(ids[start : start + batch_size], NOW)


def _worker(ids: list[int], batch_size: int, queries) -> None:
    from django.db import connection, connections

    connections.close_all()
    counted = 0

    def count(execute, sql, params, many, context):
        nonlocal counted
        counted += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        send_all(ids, batch_size)
    # The parent's wrapper does not reach this process: report what it ran.
    with queries.get_lock():
        queries.value += counted


def end_to_end(workers: int, batch_size: int) -> tuple[int, float, int, float]:
    """Plan and send everything; returns (digests sent, seconds, queries, seconds of the
    planning pass, in which every reader is due)."""
    from django.db import connection

    from bench import counting_backend
    from digest.mailing import planning

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    start = time.perf_counter()
    with connection.execute_wrapper(count):
        ids = sorted(planning.plan(NOW).created)
        planning_seconds = time.perf_counter() - start
        if workers == 1:
            send_all(ids, batch_size)
    if workers > 1:
        # Separate processes, like Celery workers: each takes every n-th batch.
        connection.close()
        batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
        context = multiprocessing.get_context("fork")
        worker_queries = context.Value("q", 0)
        procs = [
            context.Process(
                target=_worker,
                args=(
                    [i for batch in batches[w::workers] for i in batch],
                    batch_size,
                    worker_queries,
                ),
            )
            for w in range(workers)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        assert all(proc.exitcode == 0 for proc in procs), [proc.exitcode for proc in procs]
        queries += worker_queries.value
    seconds = time.perf_counter() - start
    from digest.models import Delivery

    sent = Delivery.objects.filter(status="sent").count()
    if workers == 1:
        assert sent == counting_backend.totals["messages"], (sent, counting_backend.totals)
    return sent, seconds, queries, planning_seconds


def plan_one_percent(rng: random.Random) -> tuple[float, int, float]:
    """One planning pass when 1 % of the readers are due: theirs is a period whose send
    moment has just passed and that has no delivery yet (made so by taking back their
    current one). Returns (seconds, deliveries created, seconds to read every reader and
    find the due ones, as every pass did before next_due_at)."""
    from digest.mailing import planning
    from digest.models import Delivery
    from subscriptions.models import Subscriber

    readers = list(Subscriber.objects.values_list("pk", flat=True))
    due = rng.sample(readers, max(1, len(readers) // 100))
    for start in range(0, len(due), 5_000):
        chunk = due[start : start + 5_000]
        Delivery.objects.filter(subscriber_id__in=chunk).delete()
        Subscriber.objects.filter(pk__in=chunk).update(next_due_at=NOW - timedelta(minutes=5))
    began = time.perf_counter()
    plan = planning.plan(NOW)
    seconds = time.perf_counter() - began
    assert plan.looked_at == len(due), (plan.looked_at, len(due))
    began = time.perf_counter()
    everyone = sum(1 for _ in planning.due_subscribers(NOW))
    scan_all = time.perf_counter() - began
    assert everyone == len(readers), (everyone, len(readers))
    return seconds, len(plan.created), scan_all


def prepared(deliveries_chunk):
    """For each delivery: (address, context, headers), as digest_message prepares them."""
    from collections import defaultdict

    from digest.mailing import messages
    from digest.mailing import pool as pools
    from digest.models import DeliveryPaper
    from subscriptions.models import Subscriber

    ids = [d.pk for d in deliveries_chunk]
    picks = defaultdict(list)
    for delivery_id, paper_id, reason in (
        DeliveryPaper.objects.filter(delivery_id__in=ids)
        .order_by("delivery_id", "position")
        .values_list("delivery_id", "paper_id", "reason")
    ):
        picks[delivery_id].append((paper_id, reason))
    subscribers = Subscriber.objects.in_bulk([d.subscriber_id for d in deliveries_chunk])
    topic_ids = defaultdict(list)
    for subscriber_id, topic_id in Subscriber.topics.through.objects.filter(
        subscriber_id__in=list(subscribers)
    ).values_list("subscriber_id", "topic_id"):
        topic_ids[subscriber_id].append(topic_id)
    span = (
        min(d.window_start for d in deliveries_chunk),
        max(d.window_end for d in deliveries_chunk),
    )
    pool = pools.pool_for(span, NOW)
    out = []
    for d in deliveries_chunk:
        subscriber = subscribers[d.subscriber_id]
        reader = pool.reader(topic_ids[subscriber.pk], subscriber.keywords, subscriber.max_papers)
        items = [pools.Item(p, pool.cards[p], r) for p, r in picks[d.pk]]
        context = messages.digest_context(
            subscriber, reader, messages.delivery_period(d), items, d.pk
        )
        headers = messages.digest_headers(str(context["unsubscribe_url"]), d.pk)
        out.append((subscriber.email, context, headers))
    return out


def floor_and_naive(sample: int = 1_000) -> tuple[float, float]:
    """Seconds per message: pre-inlined render + bytes (all sent), as production renders
    and serialises (cards shared); premailer on each message, every card rendered for each
    reader and Django's email package making the bytes (a sample)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from digest.mailing.messages import base_context, build_message
    from digest.mailing.mime import message_bytes
    from digest.mailing.rendering import inline_css
    from digest.models import Delivery

    # Ids only, the rows a chunk at a time: 100,000 Delivery objects at once would make
    # this measurement the whole run's peak.
    ids = list(Delivery.objects.filter(status="sent").order_by("pk").values_list("pk", flat=True))
    floor_seconds = 0.0
    naive_env = Environment(
        loader=FileSystemLoader(str(Path(__file__).resolve().parent.parent / "templates")),
        autoescape=select_autoescape(enabled_extensions=("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Every card rendered for every reader, as before cards were shared.
    naive_env.globals["shared"] = lambda part, key, caller: caller()
    naive_seconds, naive_count = 0.0, 0
    for start in range(0, len(ids), 2_000):
        chunk = Delivery.objects.filter(pk__in=ids[start : start + 2_000]).order_by("pk")
        jobs = prepared(list(chunk))
        began = time.perf_counter()
        for to, context, headers in jobs:
            message_bytes(build_message("digest", to, context, headers=headers))
        floor_seconds += time.perf_counter() - began
        if naive_count < sample:
            began = time.perf_counter()
            for to, shared_context, headers in jobs[: sample - naive_count]:
                # Cards without their renderings: each is rendered again for this reader.
                papers = [
                    {k: v for k, v in p.items() if k != "rendered"}
                    for p in shared_context["papers"]
                ]
                context = {**shared_context, "papers": papers}
                message = build_message("digest", to, context, headers=headers)
                full = {**base_context(), **context, "subject": message.subject}
                html = inline_css(naive_env.get_template("emails/digest.html").render(full))
                message.alternatives = []
                message.attach_alternative(html, "text/html")
                message.message().as_bytes()
                naive_count += 1
            naive_seconds += time.perf_counter() - began
    return floor_seconds / max(1, len(ids)), naive_seconds / max(1, naive_count)


def ingest_10k() -> float:
    """10,000 HF API items as ten answers of 1,000 (the API pages by 100; the store works
    in chunks of 1,000), so that memory stays flat however many items there are."""
    from bench.ingest_bench import make_items
    from digest.papers.ingestion.service import ingest_bytes

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        pages = []
        for n in range(0, 10_000, 1_000):
            page = Path(folder) / f"daily_papers_{n}.json"
            page.write_text(json.dumps(make_items(1_000, seed=n, offset=n)))
            pages.append(page)
        began = time.perf_counter()
        for page in pages:
            ingest_bytes(page.read_bytes(), label=page.name, fmt="hf-json")
        return time.perf_counter() - began


def _ingest_in_child(database_name: str) -> tuple[float, float]:
    """ingest_10k in a fresh process on the same database: (seconds, that process's peak
    RSS in MB), so that ingesting does not count towards the sending process's peak."""
    import django
    from django.conf import settings
    from django.db import connection

    django.setup()  # the environment (settings module, DEBUG off, VAR_DIR) is inherited
    settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = database_name
    try:
        seconds = ingest_10k()
        # VmHWM, not ru_maxrss: Linux carries the parent's RSS at fork into the child's
        # ru_maxrss across exec, while VmHWM starts again with the new program.
        status = Path("/proc/self/status").read_text()
        peak_kb = next(int(line.split()[1]) for line in status.splitlines() if "VmHWM" in line)
        return seconds, peak_kb / 1024
    finally:
        connection.close()  # the pool ends this process abruptly; PostgreSQL must not wait


def ingest_elsewhere() -> tuple[float, float]:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    connection.close()
    # spawn, not fork: a forked child would start with this process's pages in its RSS.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_ingest_in_child, (name,))


def sending_peak_mb() -> float:
    """The peak RSS of the process(es) that sent: this one, or the largest worker."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return max(rss_mb(), children)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rated", type=float, default=0.1, help="share of readers with ratings")
    parser.add_argument("--ratings", type=int, default=20, help="ratings per such reader")
    args = parser.parse_args()

    with throwaway_database() as database:
        from django.conf import settings

        settings.EMAIL_BACKEND = "bench.counting_backend.CountingBackend"
        settings.SEND_RATE_PER_SECOND = 1_000_000.0  # the provider's limit is not measured
        settings.SITE_URL = "https://papers.example.com"
        rng = random.Random(42)
        began = time.perf_counter()
        populate(args.subscribers, rng)
        raters = rate(args.rated, args.ratings, rng) if args.ratings else 0
        setup = time.perf_counter() - began
        began = time.perf_counter()
        from digest.taste import profiles

        fitted = profiles.fit_profiles()
        fitting = time.perf_counter() - began
        assert fitted == raters, (fitted, raters)
        sent, seconds, queries, plan_full = end_to_end(args.workers, settings.SEND_BATCH_SIZE)
        rss_sending = sending_peak_mb()  # before the ingest process is a child too
        from digest.models import DeliveryPaper

        # The ratings at work: picks whose reason names a paper the reader liked.
        liked_reasons = DeliveryPaper.objects.filter(reason__contains="which you liked").count()
        floor, naive = floor_and_naive()
        plan_1pct, planned_1pct, scan_all = plan_one_percent(rng)
        rss_whole = rss_mb()
        ingest, rss_ingest = ingest_elsewhere()

    digests_per_s = sent / seconds
    floor_per_s = 1 / floor
    naive_per_s = 1 / naive
    per_1000 = queries / max(1, sent) * 1000
    print(
        f"{args.subscribers:,} subscribers ({raters:,} with {args.ratings} ratings each), "
        f"{PAPERS:,} papers, {args.workers} worker(s)"
    )
    print(f"database: {database}")
    print(f"{'':<44}{'value':>12}")
    rows = [
        ("setup (not measured), s", setup),
        (f"fit {fitted:,} readers' profiles, s", fitting),
        ("digests sent", sent),
        ("end to end: plan + choose + render + send, s", seconds),
        ("digests per second, end to end", digests_per_s),
        ("floor: render + message bytes, per second", floor_per_s),
        ("ratio end to end / floor", digests_per_s / floor_per_s),
        ("naive: premailer per message, per second", naive_per_s),
        ("speed-up end to end / naive", digests_per_s / naive_per_s),
        ("planning pass, every reader due, s", plan_full),
        (f"planning pass, 1 % due ({planned_1pct:,} planned), s", plan_1pct),
        ("reading every reader to find the due, s", scan_all),
        ("queries per 1,000 digests", per_1000),
        ("picks said to be like a liked paper", liked_reasons),
        ("peak RSS after sending, MB", rss_sending),
        ("peak RSS after the floor, this process, MB", rss_whole),
        ("ingest 10,000 hf-json items, s", ingest),
        ("peak RSS of the ingest process, MB", rss_ingest),
    ]
    for label, value in rows:
        print(f"{label:<44}{value:>12,.2f}")
    print(
        f"digests_per_s={digests_per_s:.0f} floor_per_s={floor_per_s:.0f} "
        f"ratio={digests_per_s / floor_per_s:.2f} naive_per_s={naive_per_s:.0f} "
        f"speedup_vs_naive={digests_per_s / naive_per_s:.1f} "
        f"queries_per_1000={per_1000:.1f} peak_rss_mb={rss_sending:.0f} ingest_10k_s={ingest:.2f} "
        f"plan_1pct_s={plan_1pct:.3f} plan_full_s={plan_full:.2f} "
        f"profiles_fitted={fitted} fit_s={fitting:.2f}"
    )


if __name__ == "__main__":
    main()
