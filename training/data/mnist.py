"""MNIST from the standard IDX files, offline, checked, whole in memory.

Looks in a data directory (default: the repository's own copy in
``data/mnist``) for the four IDX files, gzip'ed or not, either directly or in
torchvision's ``MNIST/raw`` layout. A file listed in its folder's SHA256SUMS
(the repository's copy) is checked before decompression; every file's
uncompressed content is checked against the canonical MD5, so a truncated or
altered copy is caught whatever its packaging.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from training.data.files import DataError, Split, checked_sha256, damaged, default_data_dir, find_first, fingerprint, read_maybe_gzipped, read_sha256sums

# MD5 of the uncompressed files as published with MNIST (torchvision checks the same content).
MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    "train_labels": ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    "test_images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    "test_labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
}
_IDX_MAGIC = {2049: 1, 2051: 3}  # labels: 1-d, images: 3-d (unsigned bytes)


def _candidates(data_dir: Path, stem: str) -> list[Path]:
    folders = [data_dir, data_dir / "mnist", data_dir / "MNIST" / "raw"]
    return [folder / (stem + suffix) for folder in folders for suffix in (".gz", "")]


def _read_checked(data_dir: Path, stem: str, md5: str | None) -> tuple[bytes, Path, str]:
    """(content, the file it came from, the MD5 of the content).

    A file its folder's SHA256SUMS lists is checked before it is decompressed (a damaged
    gzip stream would otherwise fail inside zlib); every file's content is then checked
    against the canonical MD5, whatever its packaging (torchvision's layout has no SHA256SUMS).
    """
    path = find_first(_candidates(data_dir, stem), f"MNIST file {stem}", "Supply the four standard IDX files (gzip'ed or not) in one of those places.")
    if md5 is not None and path.name in read_sha256sums(path.parent):
        checked_sha256(path, "MNIST")
    raw = read_maybe_gzipped(path, "MNIST")
    found = hashlib.md5(raw).hexdigest()
    if md5 is not None and found != md5:
        raise DataError(damaged("MNIST", path, "MD5 of the content", md5, found))
    return raw, path, found


def parse_idx(raw: bytes) -> np.ndarray:
    """Decode an IDX file of unsigned bytes (MNIST's format) into an array."""
    magic = int.from_bytes(raw[:4], "big")
    if magic not in _IDX_MAGIC:
        raise DataError(f"not an IDX file of unsigned bytes (magic number {magic})")
    ndim = _IDX_MAGIC[magic]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(shape)):
        raise DataError(f"IDX file holds {len(raw) - offset} bytes of data, expected {int(np.prod(shape))} for shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _split(images: np.ndarray, labels: np.ndarray, source: Path, digest: str) -> Split:
    if len(images) != len(labels):
        raise DataError(f"{len(images)} images but {len(labels)} labels")
    flat = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    return Split(flat, torch.from_numpy(labels.astype(np.int64)), "MNIST", source=str(source), digest=digest)


def load_mnist(data_dir: Path | str | None = None, verify: bool = True) -> tuple[Split, Split]:
    """(train, test) splits of MNIST: 60,000 and 10,000 examples.

    ``verify=False`` skips the MD5 check (for other IDX data in MNIST's layout);
    the IDX structure is checked either way.
    """
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    read = {key: _read_checked(folder, stem, md5 if verify else None) for key, (stem, md5) in MNIST_FILES.items()}
    arrays = {key: parse_idx(raw) for key, (raw, _, _) in read.items()}

    def split(part: str) -> Split:
        (_, path, images_md5), (_, _, labels_md5) = read[f"{part}_images"], read[f"{part}_labels"]
        return _split(arrays[f"{part}_images"], arrays[f"{part}_labels"], path.parent, fingerprint(images_md5, labels_md5))

    return split("train"), split("test")
