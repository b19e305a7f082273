"""``python -m sailfish`` is the ``sailfish`` command (and what torchrun launches)."""
import sys

from sailfish.cli import main

sys.exit(main())
