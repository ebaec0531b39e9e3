"""Reader for the IDX file format used by MNIST and Fashion-MNIST.

An IDX file is a big-endian header followed by raw array data:

    bytes 0-1   zero
    byte  2     element type code (0x08 = unsigned byte, ...)
    byte  3     number of dimensions d
    bytes 4..   d big-endian uint32 sizes
    rest        prod(sizes) elements, big-endian

Files may be gzip-compressed (``.gz``), as Debian ships them. Every check
raises `DataFileError` naming the file, never a bare numpy reshape error.
"""

import gzip
import os
import zlib

import numpy as np

# Element type code -> big-endian numpy dtype (LeCun's IDX specification).
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataFileError(ValueError):
    """A data file is missing, truncated, corrupted or of the wrong shape."""


def _read_bytes(path):
    try:
        if str(path).endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise DataFileError(f"Data file not found: {path}") from None
    except (OSError, EOFError, zlib.error) as error:
        # gzip raises BadGzipFile (an OSError) for a bad header and EOFError
        # for a truncated stream.
        raise DataFileError(
            f"Data file {path} is corrupted or truncated and cannot be "
            f"decompressed ({type(error).__name__}: {error}). Reinstall it "
            "(for Fashion-MNIST: `apt-get install --reinstall "
            "dataset-fashion-mnist`)."
        ) from error


def read_idx(path, expected_ndim=None, expected_shape=None):
    """Reads one IDX file (optionally gzip-compressed) into a numpy array.

    Args:
        path: path of the ``.idx*`` or ``.idx*.gz`` file.
        expected_ndim: if given, the number of dimensions the header must
            declare.
        expected_shape: if given, a tuple of the sizes the header must declare,
            one per dimension (the file must have exactly
            `len(expected_shape)` dimensions); `None` entries accept any size.

    Returns:
        A numpy array of the declared shape, in native byte order.

    Raises:
        DataFileError: the file is missing, cannot be decompressed, has a bad
            magic number or type code, declares unexpected dimensions, or its
            payload length does not match the header.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataFileError(
            f"Data file {path} is too short ({len(raw)} bytes) to hold an IDX "
            "header."
        )
    if raw[0] != 0 or raw[1] != 0:
        raise DataFileError(
            f"Data file {path} is not an IDX file: its magic number "
            f"{raw[:4].hex()} does not start with two zero bytes."
        )
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise DataFileError(
            f"Data file {path} has unknown IDX element type 0x{type_code:02x}; "
            f"valid codes are {sorted(hex(c) for c in _IDX_DTYPES)}."
        )
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataFileError(
            f"Data file {path} declares {ndim} dimensions; expected "
            f"{expected_ndim}."
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataFileError(
            f"Data file {path} is truncated inside its header "
            f"({len(raw)} bytes, header needs {header_len})."
        )
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    if expected_shape is not None:
        expected_shape = tuple(expected_shape)
        if len(shape) != len(expected_shape) or any(
            want is not None and got != want
            for got, want in zip(shape, expected_shape)
        ):
            raise DataFileError(
                f"Data file {path} declares shape {shape}; expected "
                f"{expected_shape} (exactly {len(expected_shape)} dimensions; "
                "None = any size)."
            )
    dtype = _IDX_DTYPES[type_code]
    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header_len
    if payload != expected_bytes:
        state = "truncated" if payload < expected_bytes else "too long"
        raise DataFileError(
            f"Data file {path} is {state}: its header declares shape {shape} "
            f"({expected_bytes} bytes of data) but it holds {payload} bytes."
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)
