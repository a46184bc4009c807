"""A kernel driven through a Jupyter server's REST API and websocket, as JupyterLab drives it."""

from __future__ import annotations

import json
import time
import uuid

import requests
import websocket


class ServerKernel:
    """One kernel of the server at ``base`` (``http://host:port/prefix``), reached with ``token``:
    start it, run code, interrupt, restart and shut it down with the server's own API."""

    def __init__(self, base: str, token: str, timeout: float = 120):
        self.base, self.timeout = base.rstrip("/"), timeout
        self.headers = {"Authorization": f"token {token}"}
        reply = requests.post(f"{self.base}/api/kernels", headers=self.headers, json={},
                              timeout=timeout)
        reply.raise_for_status()
        self.id = reply.json()["id"]
        self.session = uuid.uuid4().hex
        self.ws = None

    def _connect(self) -> None:
        if self.ws is None:
            url = f"{self.base}/api/kernels/{self.id}/channels".replace("http", "ws", 1)
            self.ws = websocket.create_connection(url, header=self.headers, timeout=self.timeout)

    def send(self, code: str) -> str:
        """Send an execute request; its msg_id."""
        self._connect()
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": self.session, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        }))
        return msg_id

    def collect(self, msg_id: str, timeout: float | None = None) -> dict:
        """Output of a request until its reply: {"stdout", "error" (ename or None), "status"}."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out, error, reply, idle = [], None, None, False
        while time.monotonic() < deadline and not (reply and idle):
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                error = msg["content"]["ename"]
            elif msg["msg_type"] == "execute_reply":
                reply = msg["content"]["status"]
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                idle = True  # all of the request's output has come (IOPub's order)
        if not (reply and idle):
            raise TimeoutError(f"no reply from kernel {self.id} within the time allowed")
        return {"stdout": "".join(out), "error": error, "status": reply}

    def run(self, code: str, timeout: float | None = None) -> dict:
        return self.collect(self.send(code), timeout)

    def value(self, expression: str):
        """A JSON-able expression evaluated in the kernel."""
        done = self.run(f"import json as _j; print(_j.dumps({expression}))")
        assert done["status"] == "ok", done
        return json.loads(done["stdout"].strip().splitlines()[-1])

    def interrupt(self) -> None:
        requests.post(f"{self.base}/api/kernels/{self.id}/interrupt", headers=self.headers,
                      timeout=self.timeout).raise_for_status()

    def restart(self) -> None:
        requests.post(f"{self.base}/api/kernels/{self.id}/restart", headers=self.headers,
                      timeout=self.timeout).raise_for_status()
        self.close_channels()

    def wait_ready(self, timeout: float = 60) -> None:
        """Ask for kernel_info until the kernel answers (as JupyterLab does after a restart)."""
        self._connect()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg_id = uuid.uuid4().hex
            self.ws.send(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "kernel_info_request",
                           "username": "test", "session": self.session, "version": "5.3",
                           "date": ""},
                "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
                "content": {}}))
            end = min(deadline, time.monotonic() + 2)
            while time.monotonic() < end:
                self.ws.settimeout(max(0.1, end - time.monotonic()))
                try:
                    msg = json.loads(self.ws.recv())
                except websocket.WebSocketTimeoutException:
                    break
                if (msg.get("parent_header", {}).get("msg_id") == msg_id
                        and msg["msg_type"] == "kernel_info_reply"):
                    return
        raise TimeoutError(f"kernel {self.id} did not answer within {timeout:.0f}s")

    def shutdown(self) -> None:
        self.close_channels()
        requests.delete(f"{self.base}/api/kernels/{self.id}", headers=self.headers,
                        timeout=self.timeout).raise_for_status()

    def close_channels(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None
