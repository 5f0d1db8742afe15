/**
 * The Miscord wire protocol (see shared/protocol.md): routes, message shapes, close codes
 * and the server-side stats. Both the bench (src/client) and the reference server
 * (src/server) import this file; it imports nothing of ours.
 *
 * "v1" is what a plain Miscord deployment speaks; fields marked [ext] are only sent by the
 * reference server and a client must never depend on them being there.
 */

export type SocketKind = 'chat' | 'voice' | 'notifications';
export const SOCKET_KINDS: readonly SocketKind[] = ['chat', 'voice', 'notifications'];

export const ROUTES = {
  register: '/api/auth/register',
  login: '/api/auth/login',
  me: '/api/auth/me',
  servers: '/api/channels/',
  server: (id: number) => `/api/channels/${id}`,
  joinServer: (id: number) => `/api/channels/${id}/join`,
  serverMembers: (id: number) => `/api/channels/${id}/members`,
  textChannels: (id: number) => `/api/channels/${id}/text-channels`,
  voiceChannels: (id: number) => `/api/channels/${id}/voice-channels`,
  voiceMembers: (voiceChannelId: number) => `/api/channels/voice/${voiceChannelId}/members`,
  stats: '/api/debug/websocket-stats',
  health: '/health',
  metrics: '/metrics',
  wsChat: (serverId: number) => `/ws/chat/${serverId}`,
  wsNotifications: '/ws/notifications',
  wsVoice: (voiceChannelId: number) => `/ws/voice/${voiceChannelId}`,
} as const;

/** Close codes used by Miscord and the reference server. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008, // chat: bad token
  unsupportedData: 1003, // binary frame where JSON text was expected
  messageTooBig: 1009,
  tryAgainLater: 1013, // [ext] total connection limit
  invalidToken: 4001, // voice: invalid token or unknown user
  voiceNotFound: 4004,
  voiceFull: 4005,
  perUserLimit: 4008, // [ext]
} as const;

// ---------------------------------------------------------------- HTTP bodies

export interface UserOut {
  id: number;
  username: string;
  email: string;
  is_active: boolean;
  is_online: boolean;
  created_at: string;
}

export interface TokenOut {
  access_token: string;
  token_type: 'bearer';
}

export interface TextChannelOut {
  id: number;
  name: string;
  type: 'text';
  position: number;
  channel_id?: number;
}

export interface VoiceChannelOut {
  id: number;
  name: string;
  type: 'voice';
  position: number;
  max_users: number;
  channel_id?: number;
}

/** A Miscord "server" (called a channel in its API). */
export interface ServerOut {
  id: number;
  name: string;
  description: string | null;
  owner_id: number;
  created_at: string;
  type?: 'server';
  channels?: Array<TextChannelOut | VoiceChannelOut>;
}

export interface ErrorDetail {
  detail: string | unknown[];
}

/** The `detail` of an error body (a validation error's list as JSON), or undefined when the body has none. */
export function errorDetail(body: string): string | undefined {
  try {
    const d = (JSON.parse(body) as Partial<ErrorDetail> | null)?.detail;
    return d === undefined ? undefined : typeof d === 'string' ? d : JSON.stringify(d);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- chat socket

export interface Author {
  id: number;
  username: string;
}

export interface ChatMessagePayload {
  id: number;
  content: string;
  author: Author;
  timestamp: string;
  text_channel_id: number;
}

export type ChatClientMessage =
  | { type: 'message'; content: string; text_channel_id: number }
  | { type: 'typing'; text_channel_id: number }
  | { type: 'pong' }
  | { type: 'ping' }
  | { type: 'heartbeat' }
  | { type: 'switch_channel'; text_channel_id: number }; // [ext]

export type ChatServerMessage =
  | ({ type: 'message' } & ChatMessagePayload)
  | { type: 'new_message'; data: ChatMessagePayload } // later Miscord versions
  | { type: 'typing'; user: Author; text_channel_id: number }
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'channel_switched'; text_channel_id: number } // [ext]
  | { type: 'error'; message: string };

/** Accepts both the v1 `message` and the later `new_message` shapes. */
export function chatPayloadOf(msg: unknown): ChatMessagePayload | null {
  if (!msg || typeof msg !== 'object') return null;
  const m = msg as Record<string, unknown>;
  if (m.type === 'message' && typeof m.id === 'number') return m as unknown as ChatMessagePayload;
  if (m.type === 'new_message' && m.data && typeof m.data === 'object') return m.data as ChatMessagePayload;
  return null;
}

// ---------------------------------------------------------------- notifications socket

export type NotificationServerMessage =
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'voice_channel_join'; user_id: number; username: string; voice_channel_id: number; voice_channel_name: string }
  | { type: 'voice_channel_leave'; user_id: number; username: string; voice_channel_id: number }
  | { type: 'error'; message: string };

// ---------------------------------------------------------------- voice signaling socket

export interface SessionDescription {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp: string;
}

export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface VoiceParticipant {
  user_id: number;
  username: string;
  is_muted: boolean;
  is_deafened: boolean;
}

export type VoiceClientMessage =
  | { type: 'offer'; target_id: number; offer: SessionDescription }
  | { type: 'answer'; target_id: number; answer: SessionDescription }
  | { type: 'ice_candidate'; target_id: number; candidate: IceCandidateInit }
  | { type: 'mute'; is_muted: boolean }
  | { type: 'deafen'; is_deafened: boolean }
  | { type: 'speaking'; is_speaking: boolean }
  | { type: 'screen_share_start' }
  | { type: 'screen_share_stop' };

export type VoiceServerMessage =
  | { type: 'participants'; participants: VoiceParticipant[]; ice_servers: IceServer[] }
  | { type: 'user_joined_voice'; user_id: number; username: string }
  | { type: 'user_left_voice'; user_id: number }
  | { type: 'offer'; from_id: number; offer: SessionDescription }
  | { type: 'answer'; from_id: number; answer: SessionDescription }
  | { type: 'ice_candidate'; from_id: number; candidate: IceCandidateInit }
  | { type: 'user_muted'; user_id: number; is_muted: boolean }
  | { type: 'user_deafened'; user_id: number; is_deafened: boolean }
  | { type: 'user_speaking'; user_id: number; is_speaking: boolean }
  | { type: 'screen_share_started'; user_id: number; username: string }
  | { type: 'screen_share_stopped'; user_id: number; username: string }
  | { type: 'error'; message: string };

// ---------------------------------------------------------------- server-side counts

/** The v1 body of GET /api/debug/websocket-stats. */
export interface StatsV1 {
  total_users: number;
  total_connections: number;
  active_channels: number;
  users_by_type: Record<string, number>;
  connections_by_type: Record<string, number>;
  redis_connected: boolean;
}

/** [ext] One registered socket. */
export interface StatsConnection {
  /** an integer, like every id of the protocol */
  id: number;
  user_id: number;
  kind: SocketKind;
  channel_id: number | null;
  connected_at: string;
  last_seen_at: string;
}

export interface StatsCounters {
  connections_opened: number;
  connections_closed: number;
  rejected: number;
  reaped: number;
  /** sockets closed because their send queue passed the server's bound (reference server) */
  slow_consumers_dropped?: number;
}

export interface StatsProcess {
  rss_bytes: number;
  heap_used_bytes: number;
  open_handles: number;
  open_fds: number;
  /** true when heap_used_bytes was measured right after a full collection (the stats route's `?gc=1`, on a server that can collect) */
  heap_after_gc?: boolean;
}

export interface StatsConfig {
  heartbeat_ms: number;
  missed_pongs: number;
  max_per_user: number;
  max_total: number;
}

/** The full body; every [ext] field is optional since a plain Miscord lacks them. */
export interface StatsResponse extends StatsV1 {
  connections?: StatsConnection[];
  voice_rooms?: Record<string, number[]>;
  counters?: StatsCounters;
  process?: StatsProcess;
  config?: StatsConfig;
}

/** True when the stats body carries the [ext] fields a precise diff needs. */
export function hasExtStats(s: StatsResponse): s is StatsResponse & Required<Pick<StatsResponse, 'connections' | 'voice_rooms'>> {
  return Array.isArray(s.connections) && !!s.voice_rooms && typeof s.voice_rooms === 'object';
}

/** Parses a JSON text frame into an object with a string `type`, or null. */
export function parseFrame(data: unknown): { type: string; [k: string]: unknown } | null {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (Buffer.isBuffer(data)) text = data.toString('utf8');
  else if (Array.isArray(data)) text = Buffer.concat(data as Buffer[]).toString('utf8');
  else if (data instanceof ArrayBuffer) text = Buffer.from(data).toString('utf8');
  else return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  if (typeof (v as { type?: unknown }).type !== 'string') return null;
  return v as { type: string };
}
