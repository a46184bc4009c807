"""Kernel clients that are ready as soon as the kernel answers on both channels.

jupyter_client's ``wait_for_ready`` checks IOPub with a 0.2 s wait and then drains it until 0.2 s
pass with no message: 0.2-0.4 s of sleep for every kernel a submission uses (one in stock
placement, three connections in split grading), on the critical path of every worker.

Here a kernel is ready when a ``kernel_info_reply`` has come on shell *and* a status message for
that same request has come on IOPub. The second part is what the drain was for: a subscription
made just now can lose the first messages (ZeroMQ's "slow joiner"), and outputs lost that way
would be missing from a graded cell. Messages still queued on IOPub belong to no request of
ours; nbclient and ``grading.test_interpreter`` skip messages whose parent is not their request.

"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.blocking import BlockingKernelClient
from jupyter_core.utils import ensure_async, run_sync

ROUND_SECONDS = 1.0  # a kernel_info request unanswered this long is sent again


class _PromptReady:
    """The readiness check above, for either kind of jupyter_client kernel client."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            end = min(deadline, time.monotonic() + ROUND_SECONDS)
            reply = await _first_of(self.shell_channel, msg_id, end)
            if reply is not None and await _first_of(self.iopub_channel, msg_id, end):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


async def _first_of(channel, msg_id: str, end: float) -> dict | None:
    """The first message on ``channel`` answering ``msg_id`` before ``end``, or None."""
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await ensure_async(channel.get_msg(timeout=left))
        except Empty:
            return None
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg
    return None


class PromptKernelClient(_PromptReady, AsyncKernelClient):
    """nbclient's kernel client (asynchronous), ready without the 0.2 s waits."""

    # jupyter_client binds wait_for_ready to its own function, not to the method's name.
    wait_for_ready = _PromptReady._async_wait_for_ready


class PromptBlockingKernelClient(_PromptReady, BlockingKernelClient):
    """The same, blocking (the test interpreter's link to a student's kernel)."""

    wait_for_ready = run_sync(_PromptReady._async_wait_for_ready)
