// The visitor's model kept on this device (IndexedDB, this origin only) when they tick "keep this
// model on this device": one record { fileName, bytes (ArrayBuffer), metadata, savedAt, open }
// (`open`: it was on show when the page was left, so the page opens on it).
// Nothing here talks to a server.

const DB = 'quantscope';
const STORE = 'models';
const KEY = 'kept';

function open() {
  return new Promise((resolve, reject) => {
    if (!globalThis.indexedDB) {
      reject(new Error('this browser offers no IndexedDB (private window?)'));
      return;
    }
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB could not open'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  });
}

async function run(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = work(tx.objectStore(STORE));
      let result;
      req.onsuccess = () => (result = req.result);
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error ?? req.error ?? new Error('IndexedDB failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB aborted (is the device full?)'));
    });
  } finally {
    db.close();
  }
}

/** The kept model, or null. */
export async function readKept() {
  const record = await run('readonly', (s) => s.get(KEY));
  if (!record?.bytes || !record.metadata) return null;
  return record;
}

/** Keeps `{ fileName, bytes, metadata, savedAt, open }` (bytes: a Uint8Array, stored as its own copy). */
export function writeKept({ fileName, bytes, metadata, savedAt, open = true }) {
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return run('readwrite', (s) => s.put({ fileName, bytes: copy, metadata, savedAt, open }, KEY));
}

/** Whether the page opens on the kept model (true) or only offers it (false). */
export async function setKeptOpen(open) {
  const record = await readKept();
  if (!record || record.open === open) return;
  await run('readwrite', (s) => s.put({ ...record, open }, KEY));
}

export function forgetKept() {
  return run('readwrite', (s) => s.delete(KEY));
}
