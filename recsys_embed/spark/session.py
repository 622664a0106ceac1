"""The Spark session: created once per process, bound to loopback for a local master."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping

from pyspark.sql import SparkSession

from recsys_embed.errors import ConfigError

LOCAL_DEFAULTS = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # executors' Python workers: one BLAS thread each (Spark's own parallelism is the cores)
    "spark.executorEnv.OPENBLAS_NUM_THREADS": "1",
    "spark.executorEnv.OMP_NUM_THREADS": "1",
    "spark.executorEnv.MKL_NUM_THREADS": "1",
}


def get_session(
    master: str = "local[*]",
    conf: Mapping[str, str] | None = None,
    checkpoint_dir: str | None = None,
    app_name: str = "recsys-embed",
) -> SparkSession:
    """The active session, or the one ``spark-submit`` set up (its master and settings are
    used as is; ``master`` is then ignored), else a new one.

    A new session gets ``master`` and ``conf``; with a ``local`` master it is bound to
    127.0.0.1 with the UI off (``SPARK_LOCAL_IP`` is set for the JVM it starts). A checkpoint
    directory is always set (``checkpoint_dir``, else a temporary one): MLlib ALS needs it past
    ~20 iterations, and without one its ``checkpointInterval`` is silently ignored.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        spark = active
    elif os.environ.get("PYSPARK_GATEWAY_PORT"):  # under spark-submit: its master and conf
        builder = SparkSession.builder.appName(app_name)
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
    else:
        builder = SparkSession.builder.master(master).appName(app_name)
        settings = dict(LOCAL_DEFAULTS) if master.startswith("local") else {}
        settings.update(conf or {})
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            # local workers run this interpreter (its packages), not whatever python3 is first
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start: one line, no Java stack
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot start Spark (master {master!r}): {first}") from None
        spark.sparkContext.setLogLevel("ERROR")
    sc = spark.sparkContext
    if checkpoint_dir is not None or sc.getCheckpointDir() is None:
        if checkpoint_dir is None:  # ours: removed when this process exits
            checkpoint_dir = tempfile.mkdtemp(prefix="recsys-embed-ckpt-")
            atexit.register(shutil.rmtree, checkpoint_dir, True)
        sc.setCheckpointDir(checkpoint_dir)
    return spark
