// The device's storage: one IndexedDB database with three stores.
//   kv        the session, the worker's profile, cached lists (tasks, reports), the open patrol, the vault key
//   packages  one offline package per grid of the worker: {id, etag, body, fetched_at}
//   outbox    every write, first here, then sent: {uuid, owner, kind, state, ...}
export const DB_NAME = "gridmgmt-m";
const VERSION = 1;
let opened = null;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export function db() {
  if (!opened) {
    const request = indexedDB.open(DB_NAME, VERSION);
    request.onupgradeneeded = () => {
      const database = request.result;
      database.createObjectStore("kv");
      database.createObjectStore("packages", { keyPath: "id" });
      database.createObjectStore("outbox", { keyPath: "uuid" });
    };
    opened = promised(request);
  }
  return opened;
}

async function run(store, mode, work) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const transaction = database.transaction(store, mode);
    let result;
    Promise.resolve(work(transaction.objectStore(store))).then((value) => { result = value; }, reject);
    transaction.oncomplete = () => resolve(result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

export const get = (store, key) => run(store, "readonly", (s) => promised(s.get(key)));
export const all = (store) => run(store, "readonly", (s) => promised(s.getAll()));
export const keys = (store) => run(store, "readonly", (s) => promised(s.getAllKeys()));
export const put = (store, value, key) =>
  run(store, "readwrite", (s) => { s.put(value, ...(key === undefined ? [] : [key])); });
export const remove = (store, key) => run(store, "readwrite", (s) => { s.delete(key); });
export const clear = (store) => run(store, "readwrite", (s) => { s.clear(); });

// Read, change and write one record in one transaction (no lost update between two tabs).
export const update = (store, key, change) =>
  run(store, "readwrite", async (s) => {
    const current = await promised(s.get(key));
    if (current === undefined) return undefined;
    const next = change(current);
    s.put(next);
    return next;
  });
