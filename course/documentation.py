"""Old name of :mod:`course.documenting`, kept so that notebooks importing it keep working.

``course.documentation`` is the very same module object as ``course.documenting``.
"""

import sys

from course import documenting

sys.modules[__name__] = documenting
