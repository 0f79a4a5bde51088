// The request loop of the peer engines' workers (ort-worker.js, a module worker, imports it;
// litert-worker.js, a classic one, loads it with importScripts): a plain script, so it works as both.
// Requests: { id, type, ... } -> { id, ok: true, result } or { id, ok: false, error }.
self.serveRequests = (handle) => {
  self.onmessage = async (event) => {
    const { id } = event.data;
    try {
      self.postMessage({ id, ok: true, result: await handle(event.data) });
    } catch (e) {
      self.postMessage({ id, ok: false, error: String(e?.stack ?? e) });
    }
  };
};
