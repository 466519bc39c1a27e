"""`python -m scoring --checkpoint PATH [--model ARCH] --prompt TEXT IMAGE...` (no Django)."""

import sys

from scoring.cli import main

sys.exit(main())
