"""Old name of :mod:`course.widgets.documenting`, kept so that notebooks importing it keep working.

``course.widgets.documentation`` is the very same module object as ``course.widgets.documenting``.
"""

import sys

from course.widgets import documenting

sys.modules[__name__] = documenting
