// Small helpers: ids, distances on the ground, and thinning a GPS track.

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const EARTH_RADIUS_M = 6371008.8;
const radians = (degrees) => (degrees * Math.PI) / 180;

// Great-circle distance in metres between two [lon, lat] points.
export function metres([lon1, lat1], [lon2, lat2]) {
  const dLat = radians(lat2 - lat1);
  const dLon = radians(lon2 - lon1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(radians(lat1)) * Math.cos(radians(lat2)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
}

// A patrol keeps a point only when it is this far from the last one kept, and only fixes this accurate.
export const TRACK_STEP_M = 10;
export const TRACK_MAX_ACCURACY_M = 50;

export function keepsPoint(track, point, accuracy) {
  if (accuracy != null && accuracy > TRACK_MAX_ACCURACY_M) return false;
  return track.length === 0 || metres(track[track.length - 1], point) >= TRACK_STEP_M;
}

export function trackLength(track) {
  let total = 0;
  for (let i = 1; i < track.length; i += 1) total += metres(track[i - 1], track[i]);
  return total;
}

// RFC 3339 with the device's offset, as the API's DateTimeField reads it.
export const now = () => new Date().toISOString();
