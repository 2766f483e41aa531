"""Load a Spark job module from the top-level ``spark_jobs/`` folder.

``spark_jobs/`` holds the jobs as the design card lays them out (one file per
step with extract / transform_* / load / main); it is not an installed
package, so the library loads a job by path. A job module is loaded once per
process.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from zhongtai.errors import ZhongtaiError
from zhongtai.paths import SPARK_JOBS_DIR


def load_job(name: str) -> ModuleType:
    """Import ``spark_jobs/<name>.py`` and return the module."""
    mod_name = f"zhongtai_spark_jobs.{name}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    path = SPARK_JOBS_DIR / f"{name}.py"
    if not path.exists():
        raise ZhongtaiError(f"Spark job {name!r} not found at {path}")
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ZhongtaiError(f"cannot load Spark job {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module
