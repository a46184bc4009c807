"""nbgrader settings for every server of the course, from the environment the hub gives it.

The hub (deploy/jupyterhub_config.py) sets UPSTREAM_COURSE_ID and UPSTREAM_EXCHANGE for every
server, and UPSTREAM_COURSE_ROOT for the course's formgrader service only.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

if os.environ.get("UPSTREAM_COURSE_ID"):
    c.CourseDirectory.course_id = os.environ["UPSTREAM_COURSE_ID"]
if os.environ.get("UPSTREAM_EXCHANGE"):
    c.Exchange.root = os.environ["UPSTREAM_EXCHANGE"]
if os.environ.get("UPSTREAM_COURSE_ROOT"):
    c.CourseDirectory.root = os.environ["UPSTREAM_COURSE_ROOT"]
if not os.environ.get("UPSTREAM_NGSHARE_URL"):
    # The shared-folder exchange: nbgrader's own, except that submit and collect never follow a
    # link and collect refuses submissions made by another account (grading/exchange.py).
    c.ExchangeFactory.submit = "grading.exchange.ExchangeSubmit"
    c.ExchangeFactory.collect = "grading.exchange.ExchangeCollect"
