import sys

from keras_bigbatch.training.cli import main

sys.exit(main())
