"""``python -m display_board --server URL --token T``: the same as ``walkin board``."""

import sys

from display_board.app import main

sys.exit(main(sys.argv[1:]))
