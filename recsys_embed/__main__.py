"""``python -m recsys_embed``, and the script ``spark-submit`` runs (see README: Spark)."""

import sys

from recsys_embed.cli import main

sys.exit(main())
