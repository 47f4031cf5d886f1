"""``python -m shared.runtime.cli``: the same as the ``copro`` command."""

import sys

from shared.runtime.cli import main

sys.exit(main())
