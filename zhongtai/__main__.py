"""``python -m zhongtai`` is ``zt``."""

import sys

from zhongtai.cli.main import main

sys.exit(main())
