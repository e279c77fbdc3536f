"""Print a recorded run (`resilient-cloud bench --json FILE`) as Markdown tables.

    python benchmarks/tables.py benchmarks/full-run.json

The README's tables are this script's output, pasted, so no figure is typed by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from resilient_cloud.bench import report

if __name__ == "__main__":
    print(report.markdown(json.loads(Path(sys.argv[1]).read_text())))
