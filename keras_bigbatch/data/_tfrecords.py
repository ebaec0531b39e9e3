"""Reading TFRecord files so that a damaged file is named in the error.

TensorFlow's own reader fails with "truncated record at 8604" or "corrupted
record at 0", without the file's name. Here:

```
first_record(path)        Python, through tf.io.gfile: the first record of a
                          file, its framing checked (length and its masked
                          CRC-32C); cheap, run on every file up front
checked_records(path, n)  tf.data: the records of a file that holds n bytes;
                          after the last record it checks that the records
                          read account for all n bytes
                          (sum of (len(record) + 16) == n), else it fails
                          with an error that names the file
```

`checked_records` reads with `ignore_errors()`, which ends a file at its
first unreadable record (TensorFlow moves on to the next file), and then
the byte count cannot match: truncation or corruption anywhere in a file is
reported, naming the file, when the reader reaches it. TensorFlow only.
"""

import struct

import tensorflow as tf

from keras_bigbatch.data.idx import DataFileError

# A record is: uint64 length, uint32 masked CRC-32C of the length, the data,
# uint32 masked CRC-32C of the data (tensorflow/core/lib/io/record_writer.cc).
RECORD_OVERHEAD = 16
_READ_BUFFER = 8 << 20  # bytes: large sequential reads, also from gs://


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _crc32c_table()


def masked_crc32c(data):
    """TFRecord's masked CRC-32C (Castagnoli) of `data` (short inputs only)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def first_record(path):
    """The first record of TFRecord file `path` as bytes, or None if it is empty.

    Raises:
        DataFileError: the file does not start with a valid record header or
            ends inside its first record (the message names the file).
    """
    with tf.io.gfile.GFile(path, "rb") as handle:
        header = handle.read(12)
        if not header:
            return None
        if len(header) < 12 or masked_crc32c(header[:8]) != struct.unpack("<I", header[8:])[0]:
            raise DataFileError(
                f"Data file {path} is not a TFRecord file: its first record header "
                "is corrupted (bad length checksum). Rewrite or re-download it.")
        (length,) = struct.unpack("<Q", header[:8])
        data = handle.read(length)
    if len(data) < length:
        raise DataFileError(
            f"Data file {path} is truncated inside its first record ({len(data) + 12} "
            f"bytes, the record needs {length + RECORD_OVERHEAD}). Rewrite or re-download it.")
    return data


def checked_records(path, size):
    """A `tf.data.Dataset` of `(record, path)`: file `path`, checked to hold `size` bytes.

    Fails (tf.errors.InvalidArgumentError naming the file) once the records
    run out, if they do not account for all `size` bytes.
    """
    size = tf.cast(size, tf.int64)
    records = tf.data.TFRecordDataset(path, buffer_size=_READ_BUFFER).ignore_errors()
    end = tf.data.Dataset.from_tensors(tf.constant(b""))

    def check(consumed, element):
        record, is_end = element  # is_end: the b"" appended after the last record
        complete = tf.logical_or(tf.logical_not(is_end), tf.equal(consumed, size))
        asserted = tf.debugging.Assert(complete, [
            "Data file", path, "is truncated or corrupted: it holds", size,
            "bytes but only the first", consumed,
            "could be read as TFRecord records. Rewrite or re-download it."])
        with tf.control_dependencies([asserted]):
            length = tf.strings.length(record, unit="BYTE")
            consumed = consumed + tf.cast(length, tf.int64) + RECORD_OVERHEAD
        return consumed, (record, is_end)

    stream = tf.data.Dataset.zip(records, tf.data.Dataset.from_tensors(False).repeat())
    stream = stream.concatenate(tf.data.Dataset.zip(end, tf.data.Dataset.from_tensors(True)))
    stream = stream.scan(tf.constant(0, tf.int64), check)
    return stream.filter(lambda record, is_end: tf.logical_not(is_end)).map(
        lambda record, is_end: (record, path))


def count_records(files, sizes):
    """Records in `files` (one tf.data pass, every file checked as in `checked_records`)."""
    files = tf.data.Dataset.from_tensor_slices((list(files), tf.constant(sizes, tf.int64)))
    records = files.interleave(checked_records, cycle_length=min(16, len(sizes)),
                               num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    return int(records.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1))
