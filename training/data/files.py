"""What every dataset loader shares: where data lives, how a split looks, checks, errors.

Splits are whole in memory. A classification split holds inputs and labels;
a text split holds one stream of character ids (``labels`` then carries the
same stream, so that ``head`` and ``to`` need no special case).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor

REPOSITORY_DATA = Path(__file__).resolve().parents[2] / "data"
DATA_ENV = "HYPERCLAIMS_DATA"


class DataError(RuntimeError):
    """Data that is missing or damaged; the message says where we looked and what to do."""


@dataclass(frozen=True)
class Split:
    """Inputs and targets, first dimension = examples (or characters, for text).

    MNIST: float32 [N, 784] in [0, 1]; CIFAR-10: uint8 [N, 3, 32, 32]; text: int64 [N].
    ``labels``: int64 [N]. ``label`` names the data for params, reports and plots;
    ``vocab`` is a text's character set (a character's id is its index). ``source`` is
    where the files were read from and ``digest`` a short fingerprint of their checked
    checksums (the run's tracked dataset input).
    """

    images: Tensor
    labels: Tensor
    label: str = ""
    vocab: str = ""
    source: str = ""
    digest: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int | None) -> "Split":
        """The first ``n`` examples (all when n is None)."""
        return self if n is None else replace(self, images=self.images[:n], labels=self.labels[:n])

    def to(self, device: torch.device | str) -> "Split":
        return replace(self, images=self.images.to(device), labels=self.labels.to(device))


def fingerprint(*checksums: str) -> str:
    """16 hex digits identifying data by the checksums of its files."""
    return hashlib.sha256("".join(checksums).encode()).hexdigest()[:16]


def default_data_dir() -> Path:
    """``$HYPERCLAIMS_DATA`` when set, else the repository's ``data/`` folder."""
    return Path(os.environ.get(DATA_ENV, REPOSITORY_DATA))


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in chunks."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_sha256sums(folder: Path) -> dict[str, str]:
    """{file name: sha256} from a folder's ``SHA256SUMS`` (empty when there is none)."""
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        return {}
    pairs = (line.split() for line in sums.read_text().splitlines() if line.strip())
    return {name.lstrip("*"): digest for digest, name in pairs}


def checked_sha256(path: Path, what: str, verify: bool = True) -> str:
    """The SHA-256 of ``path``, hashed once; with ``verify``, DataError unless its folder's
    SHA256SUMS lists the file with that digest."""
    digest = file_digest(path)
    if verify:
        expected = read_sha256sums(path.parent).get(path.name)
        if expected is None:
            raise DataError(f"{path.parent} has no SHA256SUMS entry for {path.name}; the copy cannot be checked.")
        if digest != expected:
            raise DataError(damaged(what, path, "SHA-256", expected, digest))
    return digest


def damaged(what: str, path: Path, algorithm: str, expected: str, found: str) -> str:
    """The one-line message for a file whose checksum is wrong: which file, both checksums, where the data was looked for."""
    return (f"{what} file {path.name} is damaged or truncated: {algorithm} {found}, expected {expected} "
            f"(data looked for in {path.parent}, set by --data-dir / ${DATA_ENV}); replace it with a good copy.")


def read_maybe_gzipped(path: Path, what: str) -> bytes:
    """The content of ``path``, decompressed when it ends in .gz; DataError when it cannot be read."""
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{what} file {path} cannot be read ({error}); replace it with a good copy.") from None


def find_first(candidates: list[Path], what: str, advice: str) -> Path:
    """The first existing path among ``candidates``, else a DataError listing them."""
    found = next((p for p in candidates if p.exists()), None)
    if found is None:
        looked = ", ".join(str(p) for p in candidates)
        raise DataError(f"{what} not found; looked for {looked}. {advice} Or point --data-dir / ${DATA_ENV} at a folder holding it.")
    return found
