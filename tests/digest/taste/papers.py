"""Made-up papers on a few subjects, as many as a test needs: a reader's classifier needs more
ratings than a handful of hand-written abstracts, and each of these reads like its subject."""

from __future__ import annotations

import random

SUBJECTS = {
    "reasoning": [
        "reasoning",
        "reinforcement",
        "learning",
        "reward",
        "rewards",
        "policy",
        "chain-of-thought",
        "math",
        "verifier",
        "rollouts",
        "verifiable",
        "test-time",
        "scaling",
        "thinking",
        "traces",
        "GRPO",
        "preference",
        "self-verification",
        "proofs",
        "problems",
        "steps",
    ],
    "vision": [
        "image",
        "images",
        "pixels",
        "segmentation",
        "vision",
        "detection",
        "objects",
        "video",
        "frames",
        "depth",
        "masks",
        "camera",
        "scenes",
        "visual",
        "encoder",
        "patches",
        "resolution",
        "photos",
        "optical",
        "tracking",
    ],
    "agents": [
        "agent",
        "agents",
        "tool",
        "tools",
        "web",
        "browser",
        "planning",
        "function",
        "calling",
        "environment",
        "tasks",
        "multi-agent",
        "memory",
        "API",
        "actions",
        "workflow",
        "GUI",
        "computer-use",
        "trajectories",
        "MCP",
    ],
    "proteins": [
        "protein",
        "proteins",
        "molecules",
        "molecular",
        "binding",
        "structure",
        "amino",
        "acid",
        "sequences",
        "drug",
        "docking",
        "enzymes",
        "folding",
        "chemistry",
        "ligands",
        "biology",
        "cells",
        "genes",
        "antibodies",
    ],
}
COMMON = [
    "we",
    "propose",
    "a",
    "method",
    "that",
    "improves",
    "the",
    "results",
    "of",
    "models",
    "on",
    "benchmarks",
    "and",
    "data",
    "with",
    "a",
    "simple",
    "training",
    "recipe",
    "and",
    "an",
    "analysis",
    "of",
    "its",
    "performance",
]


def made_up(subject: str, count: int, seed: int = 0) -> list[tuple[str, str]]:
    """`count` (title, abstract) pairs about `subject`, the same for the same seed."""
    rng = random.Random(f"{subject}-{seed}")
    words = SUBJECTS[subject]
    papers = []
    for _ in range(count):
        title = " ".join(rng.sample(words, 5)).capitalize()
        abstract = " ".join(
            rng.choice(words) if rng.random() < 0.5 else rng.choice(COMMON) for _ in range(40)
        )
        papers.append((title, abstract.capitalize() + "."))
    return papers
