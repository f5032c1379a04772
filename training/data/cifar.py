"""CIFAR-10, offline: the standard ``cifar-10-batches-py`` folder, or the shipped JPEG copy.

Search order in the data directory: ``cifar-10-batches-py/`` (what torchvision
downloads; each batch file checked against its published MD5), then
``cifar10-jpeg/cifar10_jpeg.tar.gz`` (a JPEG q75 re-encoding of the originals,
checked against its SHA256SUMS and decoded once into a cached uint8 tensor file
beside the archive). Results on the JPEG copy carry the label
``CIFAR-10 (JPEG q75 copy)``.

Images are kept as uint8 [N, 3, 32, 32]; normalisation and augmentation happen
per batch on the training device (``training.core.tasks``).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import torch

from training.data.files import DataError, Split, checked_sha256, damaged, default_data_dir, find_first, fingerprint

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
LABEL_ORIGINAL = "CIFAR-10"
LABEL_JPEG = "CIFAR-10 (JPEG q75 copy)"
JPEG_ARCHIVE = "cifar10_jpeg.tar.gz"
# MD5 of the python-version batch files, as torchvision checks them
BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
CACHE_FORMAT = "v2"  # bump when the decoded layout changes, so stale caches are not reused
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))


def _read_batch(path: Path, md5: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """One pickled batch -> (uint8 [n, 3, 32, 32], int64 [n], the file's MD5)."""
    if not path.is_file():
        raise DataError(f"CIFAR-10 batch file {path} is missing; the folder must hold {', '.join(BATCH_MD5)}.")
    raw = path.read_bytes()
    found = hashlib.md5(raw).hexdigest()
    if md5 is not None and found != md5:
        raise DataError(damaged("CIFAR-10 batch", path, "MD5", md5, found))
    try:
        batch = pickle.loads(raw, encoding="bytes")
        data, labels = np.asarray(batch[b"data"], dtype=np.uint8), np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, EOFError, TypeError, ValueError) as error:
        raise DataError(f"CIFAR-10 batch file {path} is not a CIFAR-10 python batch ({error!r}).") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DataError(f"CIFAR-10 batch file {path} holds data of shape {data.shape} for {len(labels)} labels, expected [n, 3072].")
    return data.reshape(-1, 3, 32, 32), labels, found


def load_batches(folder: Path, verify: bool = True) -> tuple[Split, Split]:
    """(train, test) from a ``cifar-10-batches-py`` folder; ``verify=False`` skips the MD5s."""
    parts = [_read_batch(folder / name, BATCH_MD5[name] if verify else None) for name in (*TRAIN_BATCHES, "test_batch")]
    train_x = np.concatenate([x for x, _, _ in parts[:-1]])
    train_y = np.concatenate([y for _, y, _ in parts[:-1]])
    (test_x, test_y, test_md5) = parts[-1]
    return (Split(torch.from_numpy(train_x), torch.from_numpy(train_y), LABEL_ORIGINAL, source=str(folder), digest=fingerprint(*(m for _, _, m in parts[:-1]))),
            Split(torch.from_numpy(np.ascontiguousarray(test_x)), torch.from_numpy(test_y), LABEL_ORIGINAL, source=str(folder), digest=fingerprint(test_md5)))


def decode_jpeg_archive(archive: Path) -> dict[str, torch.Tensor]:
    """Decode ``train/<class>/*.jpg`` and ``test/<class>/*.jpg`` of a tar.gz.

    Order: the classes take turns (image 0 of every class, then image 1, ...), file
    names sorted within a class, so that any leading slice is class-balanced, as
    slices of the original, shuffled batches nearly are.

    Returns {'train_images': uint8 [N, 3, 32, 32], 'train_labels': int64 [N], 'test_...': ...}.
    """
    from PIL import Image

    found: dict[str, list[tuple[str, int, np.ndarray]]] = {"train": [], "test": []}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = member.name.strip("./").split("/")
                if not member.isfile() or len(parts) != 3 or parts[0] not in found or not parts[2].endswith(".jpg"):
                    continue
                if parts[1] not in CLASSES:
                    raise DataError(f"{archive}: unknown class folder {parts[1]!r} in {member.name}")
                image = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB")
                if image.size != (32, 32):
                    raise DataError(f"{archive}: {member.name} is {image.size[0]}x{image.size[1]}, expected 32x32")
                found[parts[0]].append((member.name, CLASSES.index(parts[1]), np.asarray(image).transpose(2, 0, 1)))
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DataError(f"{archive} cannot be read ({error}); replace it with a good copy.") from None
    arrays = {}
    for split, items in found.items():
        if not items:
            raise DataError(f"{archive} holds no {split}/<class>/*.jpg images")
        items = interleave_classes(sorted(items, key=lambda item: item[0]))
        arrays[f"{split}_images"] = torch.from_numpy(np.stack([pixels for _, _, pixels in items]))
        arrays[f"{split}_labels"] = torch.tensor([label for _, label, _ in items], dtype=torch.int64)
    return arrays


def interleave_classes(items: list[tuple[str, int, np.ndarray]]) -> list[tuple[str, int, np.ndarray]]:
    """Items (name, label, pixels) reordered so the classes take turns, keeping the order within a class."""
    seen: dict[int, int] = {}
    ranked = []
    for item in items:
        seen[item[1]] = seen.get(item[1], -1) + 1
        ranked.append((seen[item[1]], item[1], item))
    return [item for _, _, item in sorted(ranked, key=lambda entry: entry[:2])]


def load_jpeg_copy(folder: Path, verify: bool = True) -> tuple[Split, Split]:
    """(train, test) from the JPEG copy, decoded once and cached by the archive's SHA-256."""
    archive = folder / JPEG_ARCHIVE
    digest = checked_sha256(archive, "CIFAR-10 JPEG", verify)
    cache = folder / ".cache" / f"cifar10_jpeg_{digest[:16]}_{CACHE_FORMAT}.pt"
    if cache.is_file():
        arrays = torch.load(cache)
    else:
        arrays = decode_jpeg_archive(archive)
        cache.parent.mkdir(exist_ok=True)
        partial = cache.with_suffix(".partial")
        torch.save(arrays, partial)
        partial.replace(cache)  # atomic: a concurrent or interrupted load never sees half a file
    return (Split(arrays["train_images"], arrays["train_labels"], LABEL_JPEG, source=str(archive), digest=fingerprint(digest, "train")),
            Split(arrays["test_images"], arrays["test_labels"], LABEL_JPEG, source=str(archive), digest=fingerprint(digest, "test")))


def load_cifar10(data_dir: Path | str | None = None, verify: bool = True) -> tuple[Split, Split]:
    """(train, test): 50,000 and 10,000 images as uint8 [N, 3, 32, 32] with int64 labels."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    candidates = [root / "cifar-10-batches-py", root / "cifar10-jpeg" / JPEG_ARCHIVE, root / JPEG_ARCHIVE]
    found = find_first(candidates, "CIFAR-10", "Supply torchvision's cifar-10-batches-py folder or the JPEG copy's tar.gz with its SHA256SUMS.")
    if found.is_dir():
        return load_batches(found, verify)
    return load_jpeg_copy(found.parent, verify)
