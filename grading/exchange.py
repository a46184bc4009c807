"""nbgrader's own shared-folder exchange, with two holes closed (issue 15).

* ``ExchangeSubmit`` (a trainee's "Submit" button) and ``ExchangeCollect`` (the formgrader's
  "Collect") copy with nbgrader's rules (``CourseDirectory.ignore``, ``include``,
  ``max_file_size``, ``max_dir_size``) but never follow a link: a link in a trainee's folder, or
  one planted in the exchange, is left out and logged, so neither copy reaches outside the
  submission (stock nbgrader copies what a link points to).
* ``ExchangeCollect`` takes, per student, the newest submission whose folder and files belong to
  the student's own account (stock nbgrader only warns); one made by another account is refused
  and logged as impersonation, so the student's genuine work is the one collected.

deploy/jupyter/common/nbgrader_config.py selects them (``c.ExchangeFactory``) on the hub.
``python -m grading collect`` applies the same rules itself (grading/collect.py).
"""

from __future__ import annotations

import glob
import os
import pwd
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect as _StockCollect
from nbgrader.exchange.default.submit import ExchangeSubmit as _StockSubmit

from .collect import _DIR, _Rules, _Taken, take_folder


def copy_without_links(exchange, src: str, dest: str) -> _Taken:
    """nbgrader's ``Exchange.do_copy`` (same limits, same groupshared modes), following no link."""
    cd = exchange.coursedir
    size = exchange.get_size(src)
    if size > 1000 * cd.max_dir_size:
        exchange.log.error("Directory size is too big")
        raise RuntimeError(f"Directory size is too big. Size is {size}, maximum size is "
                           f"{1000 * cd.max_dir_size}")
    rules = _Rules(ignore=list(cd.ignore), include=list(cd.include),
                   max_file=cd.max_file_size * 1000, max_total=cd.max_dir_size * 1000,
                   owner_of=lambda st: st.st_uid)
    got = _Taken()
    parent = os.open(Path(src).parent, _DIR & ~os.O_NOFOLLOW)
    try:
        if not take_folder(parent, Path(src).name, Path(dest), rules, got):
            raise RuntimeError(f"{src} is not a folder: " + "".join(got.links or got.dropped))
    finally:
        os.close(parent)
    for link in got.links:
        exchange.log.warning("Not copied (a link, never followed): %s", link)
    for item in got.dropped:
        exchange.log.warning("Not copied: %s", item)
    if cd.groupshared:
        for dirname, _, filenames in os.walk(dest):
            os.chmod(dirname, (os.stat(dirname).st_mode | 0o2770) & 0o2777)
            for name in filenames:
                path = os.path.join(dirname, name)
                os.chmod(path, (os.stat(path).st_mode | 0o660) & 0o777)
    return got


class ExchangeSubmit(_StockSubmit):
    def do_copy(self, src, dest, log=None):
        copy_without_links(self, src, dest)


def _owners(path: str) -> dict[int, str]:
    """uid -> one path it owns, for ``path`` and everything in it (links are not followed)."""
    owners = {os.lstat(path).st_uid: path}
    for dirname, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirname, name)
            owners.setdefault(os.lstat(full).st_uid, full)
    return owners


class ExchangeCollect(_StockCollect):
    def do_copy(self, src, dest, log=None):
        copy_without_links(self, src, dest)

    def _genuine(self, record) -> bool:
        path = os.path.join(self.inbound_path, record["filename"])
        if os.path.islink(path) or not os.path.isdir(path):
            self.log.error("Refused %s: not a folder (a link?)", path)
            return False
        try:
            uid = pwd.getpwnam(record["username"]).pw_uid
        except KeyError:
            self.log.error("Refused %s: there is no account %s to check its owner against",
                           path, record["username"])
            return False
        foreign = {u: p for u, p in _owners(path).items() if u != uid}
        for u, p in foreign.items():
            try:
                who = f"uid {u} ({pwd.getpwuid(u).pw_name})"
            except KeyError:
                who = f"uid {u}"
            self.log.error("Refused %s: impersonation by %s (owns %s); it claims to be by %s",
                           path, who, p, record["username"])
        return not foreign

    def init_src(self):
        super().init_src()
        if not self.check_owner:
            return
        chosen, records = [], {}
        pattern = os.path.join(self.inbound_path, f"*+{self.coursedir.assignment_id}+*")
        for path in glob.glob(pattern):
            rec = self._path_to_record(path)
            records.setdefault(rec["username"], []).append(rec)
        for picked in self.src_records:  # stock nbgrader's choice first, then newest first
            others = [r for r in self._sort_by_timestamp(records.get(picked["username"], []))
                      if r["filename"] != picked["filename"]]
            genuine = next((r for r in [picked, *others] if self._genuine(r)), None)
            if genuine is None:
                self.log.error("No submission of %s by their own account: none collected",
                               picked["username"])
            else:
                chosen.append(genuine)
        self.src_records = chosen
