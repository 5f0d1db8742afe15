import type { TraceEvent, TraceLine } from './trace-event.js';

export interface SanitizeOptions {
  /** keep `body` fields (--trace-bodies) */
  bodies: boolean;
  /** replace IP addresses and mDNS names in ICE candidates, SDP and addresses */
  redactAddresses: boolean;
}

const IPV4 = /(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])/g;
// whole colon-hex tokens (not followed by a dot: the tail of ::ffff:1.2.3.4 is IPv4's)
const IPV6 = /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:.])/g;
const MDNS = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.local\b/gi;
const ADDRESS_KEYS = new Set(['candidate', 'address', 'relatedAddress', 'ip', 'sdp', 'localAddress', 'remoteAddress', 'local', 'remote']);

// cheap test first: most strings (states, types, ids) cannot hold an address
const MAYBE_ADDRESS = /\d\.\d|[0-9A-Fa-f]:|:[0-9A-Fa-f]|\.local/i;

function keepIpv4(a: string): boolean {
  return a.startsWith('127.') || a === '0.0.0.0';
}

function keepIpv6(a: string): boolean {
  // a clock time (12:30:45) is no address: a real one is compressed (::) or has 8 groups
  if (!a.includes('::') && a.split(':').length !== 8) return true;
  const groups = a.split(':').filter(Boolean);
  return groups.every((g) => /^0+$/.test(g)) || (groups.slice(0, -1).every((g) => /^0+$/.test(g)) && /^0*1$/.test(groups.at(-1)!));
}

/**
 * Loopback addresses say nothing about the machine and are what every test and bundled run
 * uses, so they stay readable; any other address (a LAN or public interface that wrtc
 * gathers a host candidate for) is replaced.
 */
export function redactAddressesIn(text: string): string {
  if (!MAYBE_ADDRESS.test(text)) return text;
  return text
    .replace(IPV4, (m) => (keepIpv4(m) ? m : '[ipv4]'))
    .replace(IPV6, (m) => (keepIpv6(m) ? m : '[ipv6]'))
    .replace(MDNS, '[mdns]');
}

function redactDeep(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactAddressesIn(v);
  if (depth <= 0 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, depth - 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = redactDeep(x, depth - 1);
  return out;
}

/** Signaling bodies (offers, answers, candidates) carry addresses; chat bodies are left alone. */
function isSignaling(e: TraceEvent): boolean {
  return e.ev.startsWith('webrtc.') || (typeof e.socket === 'string' && e.socket.includes('-voice-'));
}

function mayCarryAddresses(e: TraceEvent): boolean {
  if (e.ev === 'webrtc.ice') return true;
  for (const k in e) if (ADDRESS_KEYS.has(k) || (k === 'body' && isSignaling(e))) return true;
  return false;
}

/**
 * Turns an emitted event into the line that is kept and written: `t` first, the caller's
 * object never mutated, `body` dropped unless bodies are on, addresses redacted unless asked
 * (every string of a webrtc.ice event and of a signaling body; elsewhere the fields named like
 * addresses: candidate, address, relatedAddress, ip, sdp, local, remote, localAddress, remoteAddress).
 */
export function sanitizeEvent(e: TraceEvent, t: number, opts: SanitizeOptions): TraceLine {
  const line = { t, ...e } as TraceLine;
  line.t = t; // an emitter's own `t` must not replace the tracer's clock (the key stays first)
  if (!opts.bodies && 'body' in line) delete line.body;
  if (opts.redactAddresses && mayCarryAddresses(line)) {
    const all = line.ev === 'webrtc.ice';
    const body = 'body' in line && isSignaling(line);
    for (const k of Object.keys(line)) {
      if (k === 't' || k === 'ev' || k === 'user' || k === 'socket' || k === 'peer') continue;
      if (all || ADDRESS_KEYS.has(k) || (body && k === 'body')) line[k] = redactDeep(line[k], 4);
    }
  }
  return line;
}
