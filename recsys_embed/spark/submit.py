"""Entry point for ``spark-submit``: the command line, in the session spark-submit sets up.

    SUBMIT=$(python -c 'import recsys_embed.spark.submit as s; print(s.__file__)')
    spark-submit [spark options] "$SUBMIT" recommend --model models/als --engine spark \\
        --out hdfs:///recs/today
"""

from __future__ import annotations

import sys

from recsys_embed.cli import main

if __name__ == "__main__":
    sys.exit(main())
