import sys

from keras_bigbatch.cli import main

sys.exit(main())
