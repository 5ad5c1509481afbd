"""``python -m mlops_decorators``: a short tour of the seven decorators; ``--check`` prints
the environment a bug report needs; ``--help`` lists the tour's sections.

The tour lives in `mlops_decorators._tour`; importing this module runs nothing.
"""

from __future__ import annotations

if __name__ == "__main__":
    import sys

    from ._tour import main

    sys.exit(main())
