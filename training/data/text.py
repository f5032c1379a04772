"""War and Peace as a character stream, offline and checked, split by position.

The text (Project Gutenberg #2600, body only) ships in ``data/war-and-peace``
and is checked against its SHA256SUMS. The vocabulary is the sorted set of
characters of the whole text (80 of them), so every split maps into the same
ids. Split, fixed and documented: the first 90% of the characters train, the
next 5% validate (unused by the claims), the last 5% test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from training.data.files import DataError, Split, checked_sha256, default_data_dir, find_first, fingerprint, read_maybe_gzipped

LABEL = "War and Peace (Gutenberg #2600)"
TEXT_FILE = "war_and_peace.txt.gz"
SPLIT_FRACTIONS = (0.90, 0.05, 0.05)  # train, validation, test, by position


def vocabulary(text: str) -> str:
    """The sorted distinct characters of ``text``; a character's id is its index."""
    return "".join(sorted(set(text)))


def encode(text: str, vocab: str) -> torch.Tensor:
    """int64 [len(text)] ids; DataError on a character outside ``vocab``."""
    table = np.full(256, -1, dtype=np.int64)
    table[np.frombuffer(vocab.encode("latin-1"), dtype=np.uint8)] = np.arange(len(vocab))
    ids = table[np.frombuffer(text.encode("latin-1"), dtype=np.uint8)]
    if (ids < 0).any():
        raise DataError(f"character {text[int(np.argmax(ids < 0))]!r} is not in the vocabulary")
    return torch.from_numpy(ids)


def split_by_position(ids: torch.Tensor, fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> tuple[torch.Tensor, ...]:
    """(train, validation, test) consecutive slices of ``ids`` in the given fractions."""
    first = int(len(ids) * fractions[0])
    second = first + int(len(ids) * fractions[1])
    return ids[:first], ids[first:second], ids[second:]


def read_text(path: Path, verify: bool = True) -> tuple[str, str]:
    """(the book's text, its file's SHA-256) from a .txt or .txt.gz, checked against its folder's SHA256SUMS."""
    digest = checked_sha256(path, "War and Peace", verify)
    try:
        return read_maybe_gzipped(path, "War and Peace").decode("ascii"), digest
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not ASCII text ({error}); replace it with a good copy.") from None


def load_war_and_peace(data_dir: Path | str | None = None, verify: bool = True) -> tuple[Split, Split]:
    """(train, test) character streams: ``images`` and ``labels`` both hold the int64 ids."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    candidates = [root / "war-and-peace" / TEXT_FILE, root / TEXT_FILE, root / "war-and-peace" / "war_and_peace.txt"]
    path = find_first(candidates, "War and Peace", "Supply war_and_peace.txt(.gz) with its SHA256SUMS.")
    text, digest = read_text(path, verify)
    vocab = vocabulary(text)
    train, _, test = split_by_position(encode(text, vocab))
    return (Split(train, train, LABEL, vocab, source=str(path), digest=fingerprint(digest, "train")),
            Split(test, test, LABEL, vocab, source=str(path), digest=fingerprint(digest, "test")))
