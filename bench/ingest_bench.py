"""How long ingesting 10,000 HF Daily Papers API items takes, against the cost of parsing.

    .venv/bin/python bench/ingest_bench.py [--items 10000]

Generates items shaped like the real one in tests/fixtures/, ingests them into a
throwaway database (new papers), then ingests the same items again (all unchanged), and
once more with every upvote count changed (all updated). The floor is JSON decoding plus
our parser alone, measured in the same run: the ratio says what storing and tagging cost
on top of reading the input. Prints a table and, last, one line of key=value pairs.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, throwaway_database, timer

WORDS = [
    "language",
    "model",
    "reasoning",
    "retrieval",
    "zero-shot",
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
]


def make_items(count: int, seed: int = 7, offset: int = 0) -> list[dict]:
    template = json.loads((ROOT / "tests/fixtures/hf_daily_papers_item.json").read_text())
    rng = random.Random(seed)
    items = []
    for n in range(offset, offset + count):
        item = copy.deepcopy(template)
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize()
        abstract = " ".join(rng.choice(WORDS) for _ in range(rng.randint(120, 260)))
        paper = item["paper"]
        paper["id"] = f"26{n // 100_000 % 12 + 1:02d}.{n % 100_000:05d}"
        paper["title"] = item["title"] = f"{title} {n}"
        paper["summary"] = item["summary"] = abstract
        paper["upvotes"] = rng.randint(0, 300)
        paper["submittedOnDailyAt"] = f"2026-03-{rng.randint(1, 7):02d}T03:55:12.777Z"
        items.append(item)
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()

    items = make_items(args.items)
    bumped = copy.deepcopy(items)
    for item in bumped:
        item["paper"]["upvotes"] += 1
    data, data_bumped = json.dumps(items).encode(), json.dumps(bumped).encode()

    with throwaway_database() as database:
        from digest.papers.ingestion import hf_json
        from digest.papers.ingestion.service import ingest_bytes

        times: dict[str, float] = {}
        with timer(times, "floor (parse only)"):
            hf_json.parse(data)
        with timer(times, "ingest, all new"):
            created = ingest_bytes(data, label="bench", fmt="hf-json")
        with timer(times, "ingest, all unchanged"):
            unchanged = ingest_bytes(data, label="bench", fmt="hf-json")
        with timer(times, "ingest, all upvotes changed"):
            updated = ingest_bytes(data_bumped, label="bench", fmt="hf-json")

    assert created.created == args.items, created.counts
    assert unchanged.unchanged == args.items, unchanged.counts
    assert updated.updated == args.items, updated.counts
    floor = times["floor (parse only)"]
    print(f"{args.items:,} hf-json items on {database}")
    print(f"{'step':<30}{'seconds':>10}{'x floor':>10}")
    for step, seconds in times.items():
        print(f"{step:<30}{seconds:>10.2f}{seconds / floor:>10.1f}")
    scale = 10_000 / args.items
    print(
        f"ingest_10k_s={times['ingest, all new'] * scale:.2f} "
        f"reingest_10k_s={times['ingest, all unchanged'] * scale:.2f} "
        f"update_10k_s={times['ingest, all upvotes changed'] * scale:.2f} "
        f"parse_floor_10k_s={floor * scale:.2f} "
        f"ratio={times['ingest, all new'] / floor:.1f}"
    )


if __name__ == "__main__":
    main()
