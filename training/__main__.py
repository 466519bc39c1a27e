"""`python -m training --train train.json --model ARCH --out DIR ...` (no Django)."""

import sys

from training.cli import main

sys.exit(main())
