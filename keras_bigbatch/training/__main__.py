"""`python -m keras_bigbatch.training RECIPE ...` is `keras-bigbatch train RECIPE ...`."""

import sys

from keras_bigbatch.cli import main

sys.exit(main())
