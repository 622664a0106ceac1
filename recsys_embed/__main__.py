import sys

from recsys_embed.cli import main

sys.exit(main())
