"""Where the repository, its data, its default artifact and gunicorn's settings are,
and the seed sentence every smoke test and bench run tags."""
from __future__ import annotations

from pathlib import Path

from model.artifact import DEFAULT_ARTIFACT  # noqa: F401  (re-exported: the one definition)
from model.split import DATA, locate  # noqa: F401  (re-exported: the one definition)

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "service" / "gunicorn.conf.py"

# The seed's example: its text, the tokenizer's tokens, the seed's y and the two names.
SEED_TEXT = "Harry Potter and Hermione Granger invented a new spell."
SEED_TOKENS = ["Harry", "Potter", "and", "Hermione", "Granger", "invented", "a", "new", "spell", "."]
SEED_LABELS = [1, 1, 0, 1, 1, 0, 0, 0, 0, 0]
SEED_NAMES = ["Harry Potter", "Hermione Granger"]
