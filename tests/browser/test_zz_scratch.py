import time
from playwright.async_api import expect
from tests.browser.conftest import sign_in

LOG = """
(() => {
  window.__wslog = [];
  const Orig = window.WebSocket;
  window.WebSocket = function (url, p) {
    const ws = new Orig(url, p);
    const t0 = performance.now();
    window.__wslog.push(['new', url]);
    ws.addEventListener('open', () => window.__wslog.push(['open', url, Math.round(performance.now() - t0)]));
    ws.addEventListener('close', (e) => window.__wslog.push(['close', url, e.code, Math.round(performance.now() - t0)]));
    return ws;
  };
  window.WebSocket.prototype = Orig.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""

async def test_scratch(new_page, make_agent):
    agent = await make_agent(name="Scratch Agent")
    t = time.monotonic()
    page = await new_page("b")
    print("page", time.monotonic() - t)
    await page.add_init_script(LOG)
    state = {"online": True, "routes": []}

    async def handler(ws):
        if not state["online"]:
            await ws.close(code=1001, reason="offline")
            return
        ws.connect_to_server()
        state["routes"].append(ws)

    await page.route_web_socket("**/api/v1/ws**", handler)
    t = time.monotonic()
    await sign_in(page, agent)
    print("signin", time.monotonic() - t)
    await page.wait_for_timeout(300)
    banner = page.get_by_role("status").filter(has_text="Reconnecting")
    state["online"] = False
    await page.context.set_offline(True)
    for ws in state["routes"]:
        await ws.close(code=1001, reason="offline")
    t = time.monotonic()
    await expect(banner).to_be_visible(timeout=3000)
    print("banner", time.monotonic() - t)
    await page.wait_for_timeout(2500)
    state["online"] = True
    await page.context.set_offline(False)
    await expect(banner).to_be_hidden(timeout=5000)
    print("back", time.monotonic() - t)
    print(await page.evaluate("window.__wslog"))

import pytest
from tests.support import servers

_orig = servers.LiveServer.stop
def _timed(self):
    t = time.monotonic(); _orig(self); print("server.stop took", time.monotonic() - t, "alive", self.thread.is_alive())
servers.LiveServer.stop = _timed
_worig = servers.LiveWorker.stop
def _wtimed(self):
    t = time.monotonic(); _worig(self); print("worker.stop took", time.monotonic() - t)
servers.LiveWorker.stop = _wtimed
