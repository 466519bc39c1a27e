"""`python -m scoring` (no Django): score images for a prompt, or a subcommand.

python -m scoring --checkpoint PATH [--model ARCH] --prompt TEXT IMAGE...
python -m scoring benchmark --checkpoint PATH --prompts DIR --images DIR ...
python -m scoring evaluate --checkpoint PATH --test test.json [--images DIR] ...
"""

import sys

arguments = sys.argv[1:]
if arguments[:1] == ["benchmark"]:
    from scoring.benchmark_cli import benchmark_main

    sys.exit(benchmark_main(arguments[1:]))
if arguments[:1] == ["evaluate"]:
    from scoring.evaluate_cli import evaluate_main

    sys.exit(evaluate_main(arguments[1:]))

from scoring.cli import main  # noqa: E402

sys.exit(main(arguments))
