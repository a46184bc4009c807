"""nbgrader's two trainee server extensions, imported when a trainee first uses them.

A trainee's server needs nbgrader's ``assignment_list`` (the Assignments tab: fetch, submit,
feedback) and ``validate_assignment`` (the Validate button). Loading them at start-up imports
nbgrader, nbconvert and their libraries: about 32 MiB more per trainee's server (measured with
psutil's USS) and their import time on every server start, paid by a whole class at once,
although most sessions never open the tab.

This extension takes their URLs at start-up and loads nothing. The first request to one of them
loads both extensions as nbgrader itself would (their own loaders, on this server), removes its
own routes, and sends the request on to the same URL with a 307, which keeps the method and the
body; from then on nbgrader's handlers answer directly. Enable it instead of the two
(``deploy/jupyter/trainee/jupyter_server_config.json``).
"""

from __future__ import annotations

import importlib

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

EXTENSIONS = ("nbgrader.server_extensions.assignment_list",
              "nbgrader.server_extensions.validate_assignment")
# The URLs the two extensions serve (nbgrader 0.9's ``default_handlers``).
PATTERNS = (r"/assignments", r"/assignments/(?:fetch|submit|fetch_feedback|validate)",
            r"/courses", r"/nbgrader_version")


class LoadOnFirstUse(JupyterHandler):
    """Any method: load nbgrader's handlers, then send the request to them."""

    @web.authenticated
    def _load_and_redirect(self, *args, **kwargs):
        load_real_extensions(self.settings["upstream_lazy_nbgrader"])
        self.redirect(self.request.uri, status=307)

    get = post = put = delete = patch = _load_and_redirect

    def check_xsrf_cookie(self):
        """Nothing is done here but loading; nbgrader's handler checks the redirected request."""


class _State:
    def __init__(self, serverapp):
        self.serverapp, self.loaded, self.rule = serverapp, False, None


def load_real_extensions(state: _State) -> None:
    if state.loaded:
        return
    for name in EXTENSIONS:
        importlib.import_module(name)._load_jupyter_server_extension(state.serverapp)
    rules = state.serverapp.web_app.default_router.rules
    if state.rule in rules:  # ours matched first; nbgrader's were added after them
        rules.remove(state.rule)
    state.loaded = True


def _load_jupyter_server_extension(serverapp) -> None:
    web_app = serverapp.web_app
    state = _State(serverapp)
    web_app.settings["upstream_lazy_nbgrader"] = state
    base_url = web_app.settings["base_url"]
    before = list(web_app.default_router.rules)
    web_app.add_handlers(".*$", [(url_path_join(base_url, p), LoadOnFirstUse)
                                 for p in PATTERNS])
    state.rule = next(r for r in web_app.default_router.rules if r not in before)
    serverapp.log.info("nbgrader's assignment list and validation load on first use")


def _jupyter_server_extension_points():
    return [{"module": "course.lazy_nbgrader"}]

