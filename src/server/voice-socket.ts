import { clock } from '../clock.js';
import type { Conn } from './connection-manager.js';
import { notifyServerMembers, type Hub } from './hub.js';
import { checkFields, encode, fail, send, sendError, sendText, type Frame } from './frames.js';
import type { VoiceMember } from './voice-rooms.js';

const TAG = '[VOICE_WS]';

/**
 * `/ws/voice/{voiceChannelId}`: signaling for a full WebRTC mesh. The joiner gets the other
 * users in the room; "others" is every socket in the room but the sender's, so a user's
 * second tab hears about the first. Relays go to every socket of `target_id` in the room.
 */
export function voiceOpen(hub: Hub, conn: Conn): void {
  const vcId = conn.channelId!;
  const vc = hub.store.voiceChannels.get(vcId)!;
  const seen = new Set<number>([conn.userId]);
  const duplicates = hub.opts.faults.has('duplicate-member');
  const participants = [];
  for (const m of hub.voice.members(vcId)) {
    // the joiner's own other tabs are not peers of it
    if (m.userId === conn.userId) continue;
    // duplicate-member fault: a user's every socket is listed, not each user once
    if (seen.has(m.userId) && !duplicates) continue;
    seen.add(m.userId);
    participants.push({ user_id: m.userId, username: m.username, is_muted: m.isMuted, is_deafened: m.isDeafened });
  }
  send(conn.ws, { type: 'participants', participants, ice_servers: hub.opts.iceServers });
  const member: VoiceMember = { conn, userId: conn.userId, username: conn.username, isMuted: false, isDeafened: false, ghost: false };
  broadcast(hub, member, { type: 'user_joined_voice', user_id: conn.userId, username: conn.username });
  hub.voice.join(vcId, member);
  notifyServerMembers(hub, vc.serverId, {
    type: 'voice_channel_join',
    user_id: conn.userId,
    username: conn.username,
    voice_channel_id: vcId,
    voice_channel_name: vc.name,
  });
  if (hub.opts.faults.has('spurious-leave')) spuriousLeave(hub, conn);
  if (hub.log.enabled('debug')) hub.log.debug(TAG, `join ${conn.id} user=${conn.userId} room=${vcId} members=${hub.voice.members(vcId).length}`);
}

/** spurious-leave fault: when each user last left each room, `${vcId}:${userId}` → ms, oldest first */
const recentLeaves = new WeakMap<Hub, Map<string, number>>();

function leavesOf(hub: Hub): Map<string, number> {
  let m = recentLeaves.get(hub);
  if (!m) recentLeaves.set(hub, (m = new Map()));
  return m;
}

/**
 * spurious-leave fault: the leave of a user who rejoins within faultDelayMs is announced (again)
 * after the rejoin, to every socket in the room, the rejoined one included, as a late cleanup
 * task that never checks whether the user came back would.
 */
function spuriousLeave(hub: Hub, conn: Conn): void {
  const leaves = leavesOf(hub);
  const key = `${conn.channelId}:${conn.userId}`;
  const at = leaves.get(key);
  if (at === undefined) return;
  leaves.delete(key);
  if (clock.now() - at > hub.opts.faultDelayMs) return;
  const text = encode({ type: 'user_left_voice', user_id: conn.userId });
  const members = hub.voice.members(conn.channelId!);
  for (const m of members) sendText(m.conn.ws, text);
  hub.delivered.voice += members.length;
  hub.log.debug(TAG, `spurious leave ${conn.id} user=${conn.userId} room=${conn.channelId}`);
}

function recordLeave(hub: Hub, conn: Conn): void {
  const leaves = leavesOf(hub);
  const now = clock.now();
  // forget leaves older than the window (the map is in insertion order)
  for (const [k, t] of leaves) {
    if (now - t <= hub.opts.faultDelayMs) break;
    leaves.delete(k);
  }
  const key = `${conn.channelId}:${conn.userId}`;
  leaves.delete(key);
  leaves.set(key, now);
}

export function voiceClose(hub: Hub, conn: Conn, code: number): void {
  const vcId = conn.channelId!;
  // with voice-slot-overwrite this may be the member of another socket of the same user
  const member = hub.voice.get(vcId, conn);
  if (!member) return;
  if (hub.opts.faults.has('voice-ghost') && (conn.reaped || code === 1006)) {
    // fault: a socket that died without a close frame is never taken out of its room
    member.ghost = true;
    hub.log.debug(TAG, `ghost ${conn.id} user=${conn.userId} room=${vcId} code=${code}`);
    return;
  }
  hub.voice.leave(vcId, conn);
  broadcast(hub, member, { type: 'user_left_voice', user_id: conn.userId });
  if (hub.opts.faults.has('spurious-leave')) recordLeave(hub, conn);
  const vc = hub.store.voiceChannels.get(vcId);
  if (vc) notifyServerMembers(hub, vc.serverId, { type: 'voice_channel_leave', user_id: conn.userId, username: conn.username, voice_channel_id: vcId });
  hub.log.debug(TAG, `leave ${conn.id} user=${conn.userId} room=${vcId} code=${code}`);
}

const RELAYS: Record<string, string> = { offer: 'offer', answer: 'answer', ice_candidate: 'candidate' };
const STATUS: Record<string, [field: string, out: string]> = {
  mute: ['is_muted', 'user_muted'],
  deafen: ['is_deafened', 'user_deafened'],
  speaking: ['is_speaking', 'user_speaking'],
};

/** A relayed payload (an SDP, an ICE candidate) is one or two levels deep; a deeper one is refused before re-encoding, which would recurse once per level. */
const MAX_RELAY_DEPTH = 32;

/** Whether `value` nests objects or arrays deeper than `max`, measured without recursion. */
function nestedDeeper(value: unknown, max: number): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > max) return true;
    const next: unknown[] = [];
    for (const v of level) if (v !== null && typeof v === 'object') next.push(...Object.values(v));
    level = next;
  }
  return false;
}

/** Returns false for an unknown type (the gateway answers with an error frame). */
export function voiceMessage(hub: Hub, conn: Conn, m: Frame): boolean {
  const member = hub.voice.get(conn.channelId!, conn);
  if (!member) return fail(conn, 'not in a voice room');
  const payloadField = Object.hasOwn(RELAYS, m.type) ? RELAYS[m.type] : undefined;
  if (payloadField) {
    const bad = checkFields(m, { target_id: 'id', [payloadField]: 'object' });
    if (bad) return fail(conn, bad);
    if (nestedDeeper(m[payloadField], MAX_RELAY_DEPTH)) return fail(conn, `${payloadField} nests deeper than ${MAX_RELAY_DEPTH} levels`);
    const target = m.target_id as number;
    const targets = hub.voice.members(conn.channelId!).filter((t) => t.userId === target && t.conn !== conn);
    if (targets.length === 0) {
      sendError(conn.ws, `${m.type}: user ${target} is not in voice channel ${conn.channelId}`);
      return true;
    }
    const text = encode({ type: m.type, from_id: conn.userId, [payloadField]: m[payloadField] });
    for (const t of targets) sendText(t.conn.ws, text);
    hub.delivered.voice += targets.length;
    if (hub.log.enabled('debug')) hub.log.debug(TAG, `relay ${m.type} ${conn.userId} -> ${target} room=${conn.channelId}`);
    return true;
  }
  const status = Object.hasOwn(STATUS, m.type) ? STATUS[m.type] : undefined;
  if (status) {
    const [field, out] = status;
    const bad = checkFields(m, { [field]: 'boolean' });
    if (bad) return fail(conn, bad);
    const value = m[field] as boolean;
    if (m.type === 'mute') member.isMuted = value;
    if (m.type === 'deafen') member.isDeafened = value;
    broadcast(hub, member, { type: out, user_id: conn.userId, [field]: value });
    return true;
  }
  if (m.type === 'screen_share_start' || m.type === 'screen_share_stop') {
    const out = m.type === 'screen_share_start' ? 'screen_share_started' : 'screen_share_stopped';
    broadcast(hub, member, { type: out, user_id: conn.userId, username: conn.username });
    return true;
  }
  return false;
}

function broadcast(hub: Hub, from: VoiceMember, msg: { type: string; [k: string]: unknown }): void {
  if (hub.opts.faults.has('drop-announcement') && msg.type === hub.opts.faultEvent) {
    // fault: this kind of event is never announced
    hub.log.debug(TAG, `drop ${msg.type} of ${from.conn.id} user=${from.userId} room=${from.conn.channelId}`);
    return;
  }
  const text = encode(msg);
  let n = 0;
  for (const m of hub.voice.members(from.conn.channelId!)) {
    if (m === from) continue;
    sendText(m.conn.ws, text);
    n++;
  }
  hub.delivered.voice += n;
}
