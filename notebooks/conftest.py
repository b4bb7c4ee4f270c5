"""pytest settings for the notebooks: fast mode and static widgets unless the caller chose otherwise.

Set at import, before nbval starts any kernel, so that the kernels inherit them and
``pytest --nbval-lax --nbval-current-env notebooks/`` runs in fast mode without `make`.
"""

import os

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_STATIC", "1")
