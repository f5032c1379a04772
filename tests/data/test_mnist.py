import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from training.data import REPOSITORY_DATA, DataError
from training.data.mnist import MNIST_FILES, load_mnist, parse_idx


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 2051 if array.ndim == 3 else 2049
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_tiny_mnist(folder: Path, compress: bool, n_train: int = 5, n_test: int = 3) -> dict:
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": rng.integers(0, 10, n_train),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, n_test),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, (stem, _) in MNIST_FILES.items():
        raw = idx_bytes(arrays[key])
        if compress:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_tiny_files_in_both_layouts(tmp_path, compress, layout):
    folder = tmp_path if layout == "flat" else tmp_path / "MNIST" / "raw"
    arrays = write_tiny_mnist(folder, compress)
    train, test = load_mnist(tmp_path, verify=False)
    assert train.images.shape == (5, 784) and test.images.shape == (3, 784)
    assert train.images.dtype == torch.float32 and 0.0 <= train.images.min() and train.images.max() <= 1.0
    torch.testing.assert_close(train.images[0] * 255, torch.tensor(arrays["train_images"][0].reshape(-1), dtype=torch.float32))
    assert train.labels.tolist() == arrays["train_labels"].tolist()


def test_checksum_rejects_other_content(tmp_path):
    write_tiny_mnist(tmp_path, compress=True)
    with pytest.raises(DataError, match="damaged or truncated: MD5 of the content [0-9a-f]{32}, expected"):
        load_mnist(tmp_path)


def test_missing_files_say_where_we_looked(tmp_path):
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz") in message
    assert "--data-dir" in message


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    write_tiny_mnist(tmp_path, compress=True)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="cannot be read"):
        load_mnist(tmp_path, verify=False)


def test_idx_structure_is_checked():
    with pytest.raises(DataError, match="magic number"):
        parse_idx(b"\x00\x00\x08\x0e" + bytes(8))
    with pytest.raises(DataError, match="expected 6"):
        parse_idx((2049).to_bytes(4, "big") + (6).to_bytes(4, "big") + bytes(3))


def test_shipped_copy_checksums_match_sha256sums():
    folder = REPOSITORY_DATA / "mnist"
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_real_mnist_shipped_copy():
    train, test = load_mnist()
    assert len(train) == 60_000 and len(test) == 10_000
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert torch.bincount(train.labels).tolist()[:3] == [5923, 6742, 5958]
