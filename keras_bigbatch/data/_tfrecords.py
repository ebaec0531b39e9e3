"""Reading TFRecord files so that a damaged file is named in the error.

TensorFlow's own reader fails with "truncated record at 8604" or "corrupted
record at 0", without the file's name. Here:

```
first_record(path)          Python, through tf.io.gfile: the first record of
                            a file, its framing checked (length and its
                            masked CRC-32C); cheap, run on every file up front
records_with_end(path, i)   tf.data: (record, i) for the records of file i,
                            then an end mark (b"", i)
account(...)                for a batch of such records: bytes read per file;
                            at a file's end mark they must be the file's size,
                            sum of (len(record) + 16) == size, else an error
                            that names the file
checked_records(path, n, i) records_with_end + that check record by record
```

The reader uses `ignore_errors()`, which ends a file at its first
unreadable record (TensorFlow moves on to the next file), and then the byte
count cannot match: truncation or corruption anywhere in a file (a failed
length or data checksum) is reported, naming the file, when the reader
reaches it. Any other read error (a storage error that outlasts the
file system's retries) ends the file the same way and is reported as
damage to it. TensorFlow only.
"""

import re
import struct

import tensorflow as tf

from keras_bigbatch.data.idx import DataFileError

# A record is: uint64 length, uint32 masked CRC-32C of the length, the data,
# uint32 masked CRC-32C of the data (tensorflow/core/lib/io/record_writer.cc).
RECORD_OVERHEAD = 16
_READ_BUFFER = 8 << 20  # bytes: large sequential reads, also from gs://
_plain = tf.autograph.experimental.do_not_convert  # no AutoGraph: faster pipeline builds


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


TRUNCATED = ("Data file {} is truncated or corrupted: it holds {} bytes, reading stopped after "
             "{} at an unreadable or empty record. Rewrite or re-download it.")


def check_that(condition, template, inputs):
    """A bool tensor; evaluating it fails with `template.format(*inputs)` unless `condition`.

    `inputs` may be a callable returning them: then they, and the message,
    are only computed when the check fails. Run the result through
    `tf.control_dependencies`; the error is a tf.errors.InvalidArgumentError
    whose message holds "assertion failed: [<message>]".
    """
    def fail():
        message = tf.strings.format(template, inputs() if callable(inputs) else inputs)
        with tf.control_dependencies([tf.debugging.Assert(False, [message])]):
            return tf.constant(False)

    return tf.cond(condition, lambda: tf.constant(True), fail)


def assertion_message(error):
    """The message `check_that` put into `error` (a tf.errors.InvalidArgumentError)."""
    match = re.search(r"assertion failed: \[(.*?)\]\s*\n", error.message, re.DOTALL)
    return (match.group(1) if match else error.message).replace('\\"', '"')


@_plain
def records_with_end(path, index):
    """`(record, index)` for every record of file `path`, then the end mark `(b"", index)`.

    Reading stops at the first unreadable record. Only dataset ops, no
    function per record: cheap. `account` checks the bytes read.
    """
    records = tf.data.TFRecordDataset(path, buffer_size=_READ_BUFFER).ignore_errors()
    records = records.concatenate(tf.data.Dataset.from_tensors(tf.constant(b"")))
    return tf.data.Dataset.zip(records, tf.data.Dataset.from_tensors(index).repeat())


def account(consumed, records, indices, paths, sizes):
    """Bytes read per file after `records` (of files `indices`), and their check.

    `consumed[i]` counts the bytes of file `i` read so far (all files' records
    in stream order); `records` may hold end marks (b""). For every file
    whose end mark is among `records` the bytes read must be `sizes[i]`.

    Returns:
        `(consumed, check)`: the new counts, and a bool tensor that fails
        (naming the file, see `check_that`) when evaluated if one does not.
    """
    lengths = tf.cast(tf.strings.length(records, unit="BYTE"), tf.int64)
    count = tf.shape(sizes, out_type=tf.int64)[0]
    read = tf.where(lengths > 0, lengths + RECORD_OVERHEAD, tf.zeros_like(lengths))
    consumed = consumed + tf.math.unsorted_segment_sum(read, indices, count)
    ended = tf.math.unsorted_segment_max(tf.cast(lengths == 0, tf.int32), indices, count) > 0
    bad = tf.logical_and(ended, tf.not_equal(consumed, sizes))
    first = tf.argmax(tf.cast(bad, tf.int32))
    check = check_that(tf.logical_not(tf.reduce_any(bad)), TRUNCATED, lambda: (
        tf.gather(paths, first), tf.gather(sizes, first), tf.gather(consumed, first)))
    return consumed, check


@_plain
def checked_records(path, size, index):
    """`(record, index)` for every record of file `path`, checked to hold `size` bytes.

    Record by record (a scan): once the records run out, or reading stops
    at an unreadable or empty record, the bytes read must be `size`; else it
    fails (tf.errors.InvalidArgumentError) naming the file.
    """
    size = tf.cast(size, tf.int64)

    @_plain
    def check(consumed, element):
        record, _ = element
        length = tf.cast(tf.strings.length(record, unit="BYTE"), tf.int64)
        complete = check_that(tf.logical_or(length > 0, tf.equal(consumed, size)), TRUNCATED,
                              (path, size, consumed))
        with tf.control_dependencies([complete]):
            return consumed + length + RECORD_OVERHEAD, element

    records = records_with_end(path, index).scan(tf.constant(0, tf.int64), check)
    return records.filter(_plain(lambda record, _: tf.strings.length(record) > 0))


def count_records(files, sizes):
    """Records in `files` (one tf.data pass, every file checked as in `checked_records`).

    Raises:
        DataFileError: a file is truncated or corrupted (the message names it).
    """
    files = tf.data.Dataset.from_tensor_slices(
        (list(files), tf.constant(sizes, tf.int64), tf.range(len(sizes), dtype=tf.int64)))
    records = files.interleave(checked_records, cycle_length=min(16, len(sizes)),
                               num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    try:
        return int(records.reduce(tf.constant(0, tf.int64), _plain(lambda count, _: count + 1)))
    except tf.errors.InvalidArgumentError as error:
        raise DataFileError(assertion_message(error)) from None
