"""The Spark engine (optional extra ``pip install "recsys-embed[spark]"``).

Reads logs, splits, scores any model's vectors, evaluates and trains MLlib ALS on Spark, with the
same outputs and numbers as the one-process path. ``import recsys_embed`` never imports this
package; this module itself imports no pyspark, so :func:`require_spark` can say what is missing.
The submodules (``session``, ``data``, ``split``, ``scoring``, ``metrics``, ``als``, ``jobs``)
import pyspark: call :func:`require_spark` before importing them.
"""

from __future__ import annotations

import os
import shutil
from importlib.util import find_spec

from recsys_embed.errors import ConfigError

INSTALL_HINT = 'pip install "recsys-embed[spark]"'


def require_spark() -> None:
    """Raise a one-line :class:`ConfigError` unless pyspark and a Java runtime are available."""
    if find_spec("pyspark") is None:
        raise ConfigError(f"the Spark engine needs pyspark: {INSTALL_HINT}")
    java_home = os.environ.get("JAVA_HOME")
    has_java = shutil.which("java") is not None or (
        java_home is not None and os.path.isfile(os.path.join(java_home, "bin", "java"))
    )
    if not has_java:
        raise ConfigError(
            "the Spark engine needs a Java 17+ runtime: put `java` on the PATH or set JAVA_HOME "
            "(e.g. apt-get install openjdk-17-jre-headless)"
        )
