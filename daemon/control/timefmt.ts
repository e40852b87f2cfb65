/**
 * BIRD's default time formats, in the daemon's local time zone as BIRD prints them.
 *  - protocol/route times: within 20 hours `HH:MM:SS` (1.6) or `HH:MM:SS.mmm` (2.0), else `YYYY-MM-DD`;
 *  - base times (`show status`): `YYYY-MM-DD HH:MM:SS` (1.6) or with `.mmm` (2.0).
 */
import type { Dialect } from './framing.js';

const RECENT_LIMIT_MS = 20 * 3600 * 1000;
const p2 = (n: number) => String(n).padStart(2, '0');
const p3 = (n: number) => String(n).padStart(3, '0');

function dateOf(t: Date): string {
  return `${t.getFullYear()}-${p2(t.getMonth() + 1)}-${p2(t.getDate())}`;
}
function timeOf(t: Date, ms: boolean): string {
  const base = `${p2(t.getHours())}:${p2(t.getMinutes())}:${p2(t.getSeconds())}`;
  return ms ? `${base}.${p3(t.getMilliseconds())}` : base;
}

// Routes share few distinct timestamps and local-time getters are slow: `show route` over a
// million routes formats each distinct time once (per dialect and recency).
const shortCaches = new Map<string, Map<number, string>>();
const SHORT_CACHE_MAX = 4096;

/** `since` of protocols and routes: one token either way. */
export function formatShortTime(t: Date, now: Date, dialect: Dialect): string {
  const ms = t.getTime();
  const recent = now.getTime() - ms < RECENT_LIMIT_MS;
  const cacheKey = recent ? dialect : `${dialect}-old`;
  let cache = shortCaches.get(cacheKey);
  if (!cache) shortCaches.set(cacheKey, (cache = new Map()));
  let text = cache.get(ms);
  if (text === undefined) {
    text = recent ? timeOf(t, dialect === 'bird2') : dateOf(t);
    if (cache.size >= SHORT_CACHE_MAX) cache.clear();
    cache.set(ms, text);
  }
  return text;
}

/** `show status` times. */
export function formatBaseTime(t: Date, dialect: Dialect): string {
  return `${dateOf(t)} ${timeOf(t, dialect === 'bird2')}`;
}

/** Timer values: `207.789` (2.0, `%t`) or whole seconds (1.6, `%d`). */
export function formatTimer(seconds: number, dialect: Dialect): string {
  return dialect === 'bird2' ? Math.max(0, seconds).toFixed(3) : String(Math.max(0, Math.floor(seconds)));
}
