"""Where things are, from any test's folder: the project root and the test fixtures."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SEED = ROOT / "seeds" / "daily_papers_2025-11-20.txt"
