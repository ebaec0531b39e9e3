import gzip
import struct

import numpy as np
import pytest

from keras_bigbatch.data import DataFileError
from keras_bigbatch.data import read_idx


def idx_bytes(array, type_code=0x08):
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(">u1" if type_code == 0x08 else ">i4").tobytes()


def write(path, payload, compress):
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_images_and_labels(tmp_path, compress):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    path = write(tmp_path / ("img" + (".gz" if compress else "")), idx_bytes(images), compress)
    got = read_idx(path, expected_shape=(3, None, 5))
    np.testing.assert_array_equal(got, images)
    assert got.dtype == np.uint8


def test_big_endian_int32(tmp_path):
    values = np.array([1, -2, 70000], dtype=np.int32)
    path = write(tmp_path / "x", idx_bytes(values, 0x0C), False)
    np.testing.assert_array_equal(read_idx(path), values)
    assert read_idx(path).dtype.byteorder in ("=", "|", "<")


def test_truncated_payload_names_file(tmp_path):
    payload = idx_bytes(np.zeros((10, 28, 28), np.uint8))[:-100]
    path = write(tmp_path / "train-images-idx3-ubyte.gz", payload, True)
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte\.gz is truncated"):
        read_idx(path)


def test_truncated_gzip_stream_names_file(tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (50, 28, 28))
    path = write(tmp_path / "t.gz", idx_bytes(noise), True)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(DataFileError, match=r"t\.gz is corrupted or truncated"):
        read_idx(path)


def test_not_gzip_names_file(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataFileError, match="bad.gz"):
        read_idx(path)


def test_bad_magic(tmp_path):
    path = tmp_path / "m"
    path.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataFileError, match="magic number"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = tmp_path / "t"
    path.write_bytes(b"\x00\x00\x42\x01\x00\x00\x00\x01\x00")
    with pytest.raises(DataFileError, match="unknown IDX element type 0x42"):
        read_idx(path)


def test_too_long_and_wrong_shape(tmp_path):
    path = write(tmp_path / "x", idx_bytes(np.zeros((4,), np.uint8)) + b"\x00", False)
    with pytest.raises(DataFileError, match="too long"):
        read_idx(path)
    path = write(tmp_path / "y", idx_bytes(np.zeros((4,), np.uint8)), False)
    with pytest.raises(DataFileError, match=r"declares shape \(4,\); expected \(5,\)"):
        read_idx(path, expected_shape=(5,))
    with pytest.raises(DataFileError, match="declares 1 dimensions; expected 3"):
        read_idx(path, expected_ndim=3)


@pytest.mark.parametrize("array, expected_shape", [
    # more dimensions than expected: images where labels belong (a prefix matches)
    (np.zeros((4, 2), np.uint8), (4,)),
    # fewer dimensions than expected (the sizes it has match)
    (np.zeros((3, 28), np.uint8), (3, 28, 28)),
    (np.zeros((3, 28), np.uint8), (None, None, None)),
])
def test_expected_shape_enforces_the_number_of_dimensions(tmp_path, array, expected_shape):
    path = write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(array), False)
    with pytest.raises(DataFileError) as info:
        read_idx(path, expected_shape=expected_shape)
    message = str(info.value)
    assert "train-labels-idx1-ubyte" in message
    assert f"declares shape {array.shape}" in message
    assert f"expected {expected_shape}" in message
    assert f"exactly {len(expected_shape)} dimensions" in message


def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        read_idx(tmp_path / "nope")
