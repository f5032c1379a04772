"""CIFAR-10 and War and Peace loaders: tiny files in the real formats, then the shipped copies."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from training.data import DataError
from training.data.cifar import (
    BATCH_MD5,
    CLASSES,
    LABEL_JPEG,
    LABEL_ORIGINAL,
    load_batches,
    load_cifar10,
)
from training.data.text import (
    LABEL,
    encode,
    load_war_and_peace,
    split_by_position,
    vocabulary,
)


def write_batches(folder, per_batch=6):
    """A cifar-10-batches-py folder with ``per_batch`` random images per file."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in BATCH_MD5:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), b"labels": list(range(per_batch))}
        (folder / name).write_bytes(pickle.dumps(batch))
    return folder


def test_python_batches_are_read_in_channel_first_layout(tmp_path):
    folder = write_batches(tmp_path / "cifar-10-batches-py")
    first = pickle.loads((folder / "data_batch_1").read_bytes())[b"data"][0]
    train, test = load_cifar10(tmp_path, verify=False)
    assert train.images.shape == (30, 3, 32, 32) and test.images.shape == (6, 3, 32, 32)
    assert train.images.dtype == torch.uint8 and train.label == LABEL_ORIGINAL
    # the first 1024 bytes of a row are the red channel, row-major
    assert torch.equal(train.images[0, 0].flatten(), torch.from_numpy(first[:1024]))
    assert train.labels.tolist()[:6] == list(range(6))


def test_python_batches_are_checked_against_the_published_md5(tmp_path):
    write_batches(tmp_path / "cifar-10-batches-py")
    with pytest.raises(DataError, match="MD5"):
        load_cifar10(tmp_path)


def test_a_missing_batch_file_is_named(tmp_path):
    folder = write_batches(tmp_path / "cifar-10-batches-py")
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        load_batches(folder, verify=False)


def write_jpeg_copy(folder, per_class=2):
    """A tar.gz in the JPEG copy's layout, with its SHA256SUMS."""
    folder.mkdir()
    archive = folder / "cifar10_jpeg.tar.gz"
    rng = np.random.default_rng(1)
    with tarfile.open(archive, "w:gz") as tar:
        for split in ("train", "test"):
            for name in CLASSES:
                for i in range(per_class):
                    buffer = io.BytesIO()
                    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=75)
                    info = tarfile.TarInfo(f"{split}/{name}/{i:04d}.jpg")
                    info.size = len(buffer.getvalue())
                    tar.addfile(info, io.BytesIO(buffer.getvalue()))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (folder / "SHA256SUMS").write_text(f"{digest}  cifar10_jpeg.tar.gz\n")
    return archive


def test_jpeg_copy_is_decoded_class_balanced_and_cached(tmp_path):
    write_jpeg_copy(tmp_path / "cifar10-jpeg")
    train, test = load_cifar10(tmp_path)
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (20, 3, 32, 32)
    assert train.label == LABEL_JPEG
    assert train.labels.tolist()[:10] == list(range(10))  # classes take turns: any head is balanced
    assert len(list((tmp_path / "cifar10-jpeg" / ".cache").glob("*.pt"))) == 1
    again, _ = load_cifar10(tmp_path)  # from the cache
    assert torch.equal(again.images, train.images)


def test_a_damaged_jpeg_copy_is_refused(tmp_path):
    archive = write_jpeg_copy(tmp_path / "cifar10-jpeg")
    archive.write_bytes(archive.read_bytes()[:-10])
    with pytest.raises(DataError, match="damaged"):
        load_cifar10(tmp_path)


def test_missing_cifar_lists_where_it_looked(tmp_path):
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        load_cifar10(tmp_path)


def test_text_is_encoded_by_sorted_vocabulary_and_split_by_position():
    text = "abcab\ncba"
    vocab = vocabulary(text)
    assert vocab == "\nabc"
    ids = encode(text, vocab)
    assert ids.tolist() == [1, 2, 3, 1, 2, 0, 3, 2, 1]
    train, validation, test = split_by_position(torch.arange(100))
    assert (len(train), len(validation), len(test)) == (90, 5, 5) and test[0] == 95
    with pytest.raises(DataError, match="'z'"):
        encode("az", vocab)


def test_text_copy_must_match_its_checksum(tmp_path):
    import gzip

    folder = tmp_path / "war-and-peace"
    folder.mkdir()
    (folder / "war_and_peace.txt.gz").write_bytes(gzip.compress(b"Well, Prince, so Genoa and Lucca"))
    (folder / "SHA256SUMS").write_text("0" * 64 + "  war_and_peace.txt.gz\n")
    with pytest.raises(DataError, match="damaged"):
        load_war_and_peace(tmp_path)


def test_shipped_war_and_peace():
    train, test = load_war_and_peace()
    assert len(train.vocab) == 80 and train.label == LABEL
    assert len(train) + len(test) == int(3_202_742 * 0.90) + (3_202_742 - int(3_202_742 * 0.90) - int(3_202_742 * 0.05))
    assert train.labels.max() < 80 and train.labels.min() >= 0


def test_shipped_cifar10_jpeg_copy():
    train, test = load_cifar10()
    assert train.label == LABEL_JPEG
    assert train.labels.bincount().tolist() == [5000] * 10 and test.labels.bincount().tolist() == [1000] * 10
    means = train.images[:10_000].float().mean(dim=(0, 2, 3)) / 255
    assert torch.allclose(means, torch.tensor([0.4914, 0.4822, 0.4465]), atol=0.01)
