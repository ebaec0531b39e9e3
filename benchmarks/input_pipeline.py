"""Images/s per CPU core of imagenet2012's training pipeline against bare JPEG decoding.

Writes ImageNet-sized JPEGs (~400 x 400 pixels, ~110 KB; see
`keras_bigbatch.data.imagenet_sample`) as TFRecord shards into a temporary
folder (or reads `--dir`), then times two tf.data pipelines over the same
training shards side by side in one process:

    pipeline   imagenet2012_source(dir).dataset("train", B, seed=0): file
               interleave, stateless shuffle windows, decode_and_crop_jpeg of
               a random-resized crop, resize to image_size, flip, batches of B
    decode     the ceiling: the same files through the same interleave
               (cycle length min(16, files), AUTOTUNE, deterministic), parse
               the JPEG feature, tf.io.decode_jpeg the whole image (map with
               AUTOTUNE parallelism, deterministic), batches of B (one pixel
               of each image is kept: decoded images differ in shape); no
               crop, resize or flip

Each round builds a fresh iterator per pipeline (the order alternates),
skips `--warmup` batches (start-up, the first shuffle window) and times
`--steps` batches one by one (default: two epochs' worth). Two rates per
pipeline, medians over rounds:

    overall   images / wall time of the round: the pipeline's epoch starts
              included (new file interleave, first shuffle window read before
              any decode), which the sample's short epochs (examples / B
              batches) weigh far more than ImageNet's 1.28M-image epochs do
    steady    images / wall time of the batches that do not start an epoch
              of the pipeline (the same batch positions for both)

and CPU milliseconds per image (process time, all threads). Prints the
ratios pipeline / decode: of both rates, the per-round ratios' median
[quartiles] (paired within a round, so slow drifts of other load on the
machine cancel) and the ratio of the medians; and of the CPU time per
image. Target: steady ratio (per-round median) >= 0.8. The pipeline decodes only the
crop window, which can make it faster than the full decode; on these
high-entropy JPEGs libjpeg must still entropy-decode the rows above the
window, so the saving is small, and the resize to image_size adds its own.

    python benchmarks/input_pipeline.py [--examples 512] [--shards 8]
        [--batch-size 64] [--image-size 224] [--rounds 7] [--steps N]
        [--warmup 2] [--shuffle-buffer 128] [--dir DIR]

`--shuffle-buffer` below the examples per epoch makes the "steady" rate
include the pipeline's window boundaries (where the next window of records
must have been read), as ImageNet's 10,000-record windows do.

`--dir`: an existing ImageNet folder (any format `imagenet2012_source`
reads; the decode pipeline reads the same training files), or an empty or
missing folder to write the sample into and keep.
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from keras_bigbatch import data  # noqa: E402
from keras_bigbatch.data import imagenet_sample  # noqa: E402

CYCLE_LENGTH = 16  # as the imagenet2012 pipeline
READ_BUFFER = 8 << 20  # bytes, as the imagenet2012 pipeline
_plain = tf.autograph.experimental.do_not_convert  # as the imagenet2012 pipeline


def decode_dataset(split, batch_size):
    """Endless batches of one pixel per fully decoded JPEG of `split`'s files."""
    files = tf.data.Dataset.from_tensor_slices(list(split.files)).repeat()
    records = files.interleave(
        _plain(lambda path: tf.data.TFRecordDataset(path, buffer_size=READ_BUFFER)),
        cycle_length=min(CYCLE_LENGTH, len(split.files)), block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    @_plain
    def decode(record):
        features = tf.io.parse_single_example(
            record, {split.image_key: tf.io.FixedLenFeature([], tf.string)})
        image = tf.io.decode_jpeg(features[split.image_key], channels=3)
        return image[0, 0]  # depends on the whole decode; shapes differ per image

    stream = records.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.deterministic = True
    return stream.batch(batch_size, drop_remainder=True).with_options(options).prefetch(
        tf.data.AUTOTUNE)


def prepare(folder, examples, shards):
    """Writes `shards` training shards of ImageNet-sized JPEGs (and one validation shard)."""
    data.write_tfrecord_sample(
        folder, train_shards=shards, validation_shards=1,
        examples_per_shard=-(-examples // shards),
        size_range=imagenet_sample.IMAGENET_SIZE_RANGE, noise=imagenet_sample.IMAGENET_NOISE,
        seed=0)


def time_round(dataset, warmup, steps):
    """{wall, cpu: seconds, intervals: [seconds per batch]} of `steps` batches after `warmup`."""
    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    intervals, cpu = [], time.process_time()
    start = last = time.perf_counter()
    for _ in range(steps):
        next(iterator)
        now = time.perf_counter()
        intervals.append(now - last)
        last = now
    return {"wall": last - start, "cpu": time.process_time() - cpu, "intervals": intervals}


def quartiles(values):
    if len(values) < 2:
        return f"{values[0]:.3f}"
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return f"{mid:.3f} [{low:.3f}, {high:.3f}]"


def run(args, folder):
    source = data.imagenet2012_source(dir=folder, image_size=args.image_size,
                                      shuffle_buffer=args.shuffle_buffer)
    split = source.files.train
    steps = args.steps or 2 * source.steps_per_epoch(args.batch_size)
    datasets = {
        "pipeline": source.dataset("train", args.batch_size, seed=0),
        "decode": decode_dataset(split, args.batch_size),
    }
    names = list(datasets)
    runs = {name: [] for name in names}
    for round_index in range(args.rounds + 1):
        for name in names if round_index % 2 else names[::-1]:  # alternate the order
            measured = time_round(datasets[name], args.warmup, steps)
            if round_index:  # round 0 warms up: function tracing, file cache
                runs[name].append(measured)

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    images = steps * args.batch_size
    overall = {name: [images / r["wall"] for r in runs[name]] for name in names}
    per_epoch = source.steps_per_epoch(args.batch_size)
    # batch warmup + i starts an epoch of the pipeline when divisible by per_epoch
    inside = [i for i in range(steps) if (args.warmup + i) % per_epoch] or list(range(steps))
    steady = {name: [len(inside) * args.batch_size / sum(r["intervals"][i] for i in inside)
                     for r in runs[name]] for name in names}
    rates = {kind: {name: statistics.median(per_round[name]) for name in names}
             for kind, per_round in (("overall", overall), ("steady", steady))}
    megabytes = sum(split.sizes) / 2**20
    print(f"files={len(split.files)} ({source.files.format}, {megabytes:.1f} MiB, "
          f"{split.num_examples} examples, {megabytes * 1024 / split.num_examples:.0f} KiB "
          f"per record) image_size={args.image_size} batch_size={args.batch_size} "
          f"steps/round={steps} ({images} images, {steps / per_epoch:g} epochs) "
          f"rounds={args.rounds} cores={cores}")
    print(f"{'':9s} {'overall images/s':>17s} {'per core':>9s} {'steady images/s':>16s} "
          f"{'per core':>9s} {'cpu ms/image':>13s}")
    for name in names:
        cpu = statistics.median(r["cpu"] / images for r in runs[name])
        print(f"{name:9s} {rates['overall'][name]:17.1f} {rates['overall'][name] / cores:9.1f} "
              f"{rates['steady'][name]:16.1f} {rates['steady'][name] / cores:9.1f} "
              f"{cpu * 1e3:13.2f}")
    ratios = {}
    for kind, per_round in (("overall", overall), ("steady", steady)):
        paired = [p / d for p, d in zip(per_round["pipeline"], per_round["decode"])]
        ratios[kind] = statistics.median(paired)
        print(f"ratio pipeline / decode ({kind:7s}) per-round median [quartiles] "
              f"{quartiles(paired)}; of the medians "
              f"{rates[kind]['pipeline'] / rates[kind]['decode']:.3f}")
    cpu = {name: statistics.median(r["cpu"] for r in runs[name]) for name in names}
    print(f"ratio of CPU time per image decode / pipeline = {cpu['decode'] / cpu['pipeline']:.3f} "
          "(images per CPU-second, robust to other load)")
    ratio = ratios["steady"]
    print(f"verdict (steady, per-round median): {ratio:.3f}, target >= 0.8: "
          f"{'OK' if ratio >= 0.8 else 'UNDER'}")
    return ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=512,
                        help="training JPEGs to write (rounded up to a multiple of --shards)")
    parser.add_argument("--shards", type=int, default=8, help="training shards to write")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed batches per round (default: two epochs)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed batches per round")
    parser.add_argument("--shuffle-buffer", type=int, default=128,
                        help="records per shuffle window (ImageNet's default is 10000; "
                             "the default here puts several windows, and their "
                             "boundaries, in every epoch of the sample)")
    parser.add_argument("--dir", default=None,
                        help="an ImageNet folder to read (written first if empty or missing)")
    args = parser.parse_args(argv)
    if min(args.examples, args.shards, args.batch_size, args.image_size, args.rounds) < 1:
        parser.error("--examples, --shards, --batch-size, --image-size, --rounds must be >= 1")
    if args.warmup < 0 or (args.steps is not None and args.steps < 1):
        parser.error("--warmup must be >= 0 and --steps >= 1")

    if args.dir is not None:
        if not tf.io.gfile.exists(args.dir) or not tf.io.gfile.listdir(args.dir):
            start = time.perf_counter()
            prepare(args.dir, args.examples, args.shards)
            print(f"wrote {args.dir} in {time.perf_counter() - start:.1f} s")
        return run(args, args.dir)
    with tempfile.TemporaryDirectory(prefix="imagenet_sample_") as folder:
        start = time.perf_counter()
        prepare(folder, args.examples, args.shards)
        print(f"wrote {folder} in {time.perf_counter() - start:.1f} s")
        return run(args, folder)


if __name__ == "__main__":
    main()
