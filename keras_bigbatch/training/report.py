"""Results tables, JSON and the paper-style plot of a recipe's runs."""

import json
import math
import os
import tempfile

_COLUMNS = (
    ("run", "{name}"),
    ("test acc", "{test_accuracy:.2%}"),
    ("train acc", "{train_accuracy:.2%}"),
    ("batch", "{global_batch_size}"),
    ("updates", "{updates}"),
    ("epochs", "{epochs}"),
    ("wall s", "{wall_time_s:.0f}"),
)


def format_table(results):
    """A plain-text table with one row per run."""
    rows = [[head for head, _ in _COLUMNS]]
    for result in results:
        rows.append([fmt.format(**result) for _, fmt in _COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(w) if i else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _atomic_write(path, write):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def serializable(results):
    """Results without the live Keras models, ready for JSON."""
    return [{k: v for k, v in r.items() if k != "model"} for r in results]


def write_json(path, payload):
    """Writes JSON atomically (never a half-written file)."""
    text = json.dumps(payload, indent=2).encode()
    _atomic_write(path, lambda stream: stream.write(text))


def plot(path, results, title=""):
    """Test accuracy vs updates, and ||w - w0|| vs log(updates), to PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for result in results:
        curve = result["curve"]
        left.plot(curve["updates"], [100 * a for a in curve["test_accuracy"]],
                  marker="o", markersize=3, label=result["name"])
        steps = [s for s in result["distance"]["updates"] if s > 0]
        values = [d for s, d in zip(result["distance"]["updates"],
                                    result["distance"]["distance"]) if s > 0]
        right.plot(steps, values, label=result["name"])
    left.set_xscale("log")
    left.set_xlabel("updates (log scale)")
    left.set_ylabel("test accuracy (%)")
    left.set_title("Test accuracy vs updates")
    right.set_xscale("log")
    right.set_xlabel("updates t (log scale)")
    right.set_ylabel("||w_t - w_0||")
    right.set_title("Distance from initialization vs log(t)")
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    _atomic_write(path, lambda stream: figure.savefig(stream, format="png", dpi=110))
    plt.close(figure)


def log_slope(result):
    """Least-squares slope of distance against ln(updates) (updates >= 10)."""
    pairs = [(math.log(s), d) for s, d in zip(result["distance"]["updates"],
                                             result["distance"]["distance"]) if s >= 10]
    if len(pairs) < 2:
        return float("nan")
    n = len(pairs)
    mx = sum(p[0] for p in pairs) / n
    my = sum(p[1] for p in pairs) / n
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    return sum((p[0] - mx) * (p[1] - my) for p in pairs) / sxx if sxx else float("nan")
