// Unsent items that outlive a logout are kept encrypted (AES-GCM, WebCrypto) under a key that only the worker's
// password opens: at login a key is derived from the password (PBKDF2), and it wraps a random data key. While
// logged in, the data key sits in IndexedDB as a non-extractable key; logout seals what is left with it and
// deletes it, keeping only the wrapped copy. The next login of the same account unwraps it and opens the items.
import * as store from "./store.js";

const ITERATIONS = 210000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const vaultKey = (owner) => `vault:${owner}`;

async function passwordKey(password, salt) {
  const material = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: ITERATIONS }, material,
    { name: "AES-KW", length: 256 }, false, ["wrapKey", "unwrapKey"],
  );
}

async function unwrap(wrapping, wrapped) {
  return crypto.subtle.unwrapKey("raw", wrapped, wrapping, "AES-KW", { name: "AES-GCM", length: 256 }, false, [
    "encrypt", "decrypt",
  ]);
}

// At login (the password is in hand): the worker's data key, made on the first login on this device.
export async function open(owner, password) {
  const kept = await store.get("kv", vaultKey(owner));
  if (kept) {
    try {
      const key = await unwrap(await passwordKey(password, kept.salt), kept.wrapped);
      await store.put("kv", key, "dataKey");
      return key;
    } catch {
      // The password changed since: what was sealed with the old one cannot be opened. Start a new vault.
    }
  }
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const fresh = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]);
  const wrapping = await passwordKey(password, salt);
  const wrapped = await crypto.subtle.wrapKey("raw", fresh, wrapping, "AES-KW");
  await store.put("kv", { salt, wrapped, owner }, vaultKey(owner));
  const key = await unwrap(wrapping, wrapped);
  await store.put("kv", key, "dataKey");
  return key;
}

export const currentKey = () => store.get("kv", "dataKey");
export const forgetKey = () => store.remove("kv", "dataKey");
export const keepsVaultFor = (owner) => store.get("kv", vaultKey(owner));

async function encrypt(key, bytes) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  return { iv, data: await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, bytes) };
}

const decrypt = (key, sealed) => crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, key, sealed.data);

// Everything but the item's identity and state goes into the sealed part; photos are sealed one by one.
const OPEN_FIELDS = ["uuid", "owner", "kind", "state", "created_at"];

export async function seal(item, key) {
  const secret = {};
  for (const [name, value] of Object.entries(item)) if (!OPEN_FIELDS.includes(name) && name !== "files") secret[name] = value;
  secret.files = (item.files || []).map(({ bytes, ...meta }) => meta);
  const sealed = Object.fromEntries(OPEN_FIELDS.map((name) => [name, item[name]]));
  sealed.state = "locked";
  sealed.was = item.state;
  sealed.secret = await encrypt(key, encoder.encode(JSON.stringify(secret)));
  sealed.sealedFiles = await Promise.all((item.files || []).map((file) => encrypt(key, file.bytes)));
  return sealed;
}

export async function unseal(sealed, key) {
  const secret = JSON.parse(decoder.decode(await decrypt(key, sealed.secret)));
  const files = await Promise.all(
    secret.files.map(async (meta, index) => ({ ...meta, bytes: await decrypt(key, sealed.sealedFiles[index]) })),
  );
  const item = { ...secret, files };
  for (const name of OPEN_FIELDS) item[name] = sealed[name];
  item.state = sealed.was;
  return item;
}
