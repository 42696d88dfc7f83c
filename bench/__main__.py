"""Run every benchmark in one go: ``python -m bench [--quick]``.

Each prints its own table with the ratio against its reference:
- bench_spine.py: features + lifecycle + RFM + all schemes vs hand-written DuckDB SQL, and the
  decayed intention score alone vs its SQL (1M customers, ~20M orders, ~50M events);
- bench_clv.py: model fits vs lifetimes 0.11.3 (and PyMC-Marketing when installed);
- bench_tagging.py: comment tagging vs a jieba-based tagger on the real review corpus;
- bench_plan.py: a full playbook plan (caps, opt-outs, control groups) on 1M customers vs its
  30-second budget.
- bench_import.py: importing a clean 1M-row orders CSV vs DuckDB's read_csv + INSERT.
- bench_identity.py: merging 260k planted accounts into persons vs a pure-Python union-find.
- bench_sentiment.py: review sentiment accuracy and speed vs SnowNLP on the real corpus.
- bench_flows.py: webhook deliveries per second, batched vs one row at a time (127.0.0.1).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
QUICK = {
    "bench_spine.py": ["--quick"],
    "bench_clv.py": ["--customers", "100000", "--repeats", "5"],
    "bench_tagging.py": ["--n", "100000"],
    "bench_plan.py": ["--customers", "200000"],
    "bench_import.py": ["--rows", "200000"],
    "bench_identity.py": ["--customers", "20000"],
    "bench_sentiment.py": [],
    "bench_flows.py": [],
}


def main() -> int:
    """Run the benchmarks one after the other; return the worst exit code."""
    quick = "--quick" in sys.argv[1:]
    worst = 0
    for script in QUICK:
        print(f"\n=== {script} ===", flush=True)
        args = QUICK[script] if quick else []
        worst = max(worst, subprocess.call([sys.executable, str(HERE / script), *args]))
    return worst


if __name__ == "__main__":
    sys.exit(main())
