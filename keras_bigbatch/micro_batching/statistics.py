"""Which non-trainable variables get one update per optimizer update.

A layer's moving statistics move once per call:

```
moving <- moving + (1 - momentum) * (s - moving)       s: this call's statistic
```

k micro passes, each from the same starting `moving`, give k candidates;
their mean is

```
moving + (1 - momentum) * (mean_j s_j - moving)
```

the single update of the big batch whose statistic is the mean of the k
micro statistics, which is what ghost batch normalization computes over a
big batch whose ghost size divides the micro batch (Hoffer et al. 2017,
Algorithm 1: the moving statistics average the ghost statistics). So every
float non-trainable variable is *averaged* over the passes, each pass
starting from the step's value. The others (a seed generator's integer
state, counters) are *chained*: each pass continues from the last, so
dropout draws new masks on every micro-batch.
"""

import keras


def is_averaged(variable):
    """True for a float variable (moving statistics), False for the others."""
    return keras.backend.is_float_dtype(variable.dtype)
