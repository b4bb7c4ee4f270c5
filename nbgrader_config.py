"""nbgrader settings for grading the course's exercises: copy this file into the root of your nbgrader course folder.

README.md ("For teachers") gives the workflow command by command. Two settings matter:

- Fast mode for the kernels that grade (``COURSE_FAST=1``, and ``COURSE_STATIC=1`` for the sliders): autograde runs
  every submission top to bottom, the student's own training code included, which no checkpoint cache can hold in
  advance. Fast mode shrinks data and epochs as in CI, where the notebooks' own checks still assert that learning
  happened; the marks do not depend on the mode, since every exercise check builds its own cases. Only the kernels
  that nbgrader starts get it: a JupyterLab started in the course folder keeps the mode you give it.
- A per-cell timeout of 30 minutes instead of nbgrader's 30 seconds, which stops notebook 06's beta sweep and kills
  kernels: a cell that trains takes minutes on a slow machine with an empty cache.
"""

c = get_config()  # noqa: F821 - defined by nbgrader when it loads this file

c.Execute.timeout = 1800
c.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=import os; os.environ.setdefault('COURSE_FAST', '1'); "
    "os.environ.setdefault('COURSE_STATIC', '1')"
]
