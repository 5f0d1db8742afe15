import { createRequire } from 'node:module';

/**
 * Typed access to `wrtc` (@roamhq/wrtc 0.10). Its own typings lean on DOM globals that this
 * project does not compile against, so the few shapes the voice client uses are declared
 * here. The native addon is loaded lazily: importing the package must have no side effects,
 * and a process that ever creates an RTCAudioSource must exit through `beforeExit` (see
 * src/cli/main.ts), which only voice runs need.
 */
export interface SdpInit {
  type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  sdp?: string;
}

export interface CandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export interface WrtcTrack {
  readonly id: string;
  readonly kind: 'audio' | 'video';
  readonly readyState: 'live' | 'ended';
  enabled: boolean;
  stop(): void;
}

export interface WrtcSender {
  readonly track: WrtcTrack | null;
}

export interface WrtcReceiver {
  readonly track: WrtcTrack;
}

export interface WrtcTransceiver {
  readonly mid: string | null;
  readonly sender: WrtcSender;
  readonly receiver: WrtcReceiver;
  readonly currentDirection: string | null;
  direction: string;
}

export interface TrackEvent {
  track: WrtcTrack;
  receiver: WrtcReceiver;
  transceiver: WrtcTransceiver;
}

export interface WrtcPeerConnection {
  readonly signalingState: string;
  readonly iceConnectionState: string;
  readonly connectionState: string;
  readonly remoteDescription: SdpInit | null;
  readonly localDescription: SdpInit | null;
  onicecandidate: ((e: { candidate: (CandidateInit & { address?: string }) | null }) => void) | null;
  ontrack: ((e: TrackEvent) => void) | null;
  oniceconnectionstatechange: (() => void) | null;
  onconnectionstatechange: (() => void) | null;
  onnegotiationneeded: (() => void) | null;
  createOffer(): Promise<SdpInit>;
  createAnswer(): Promise<SdpInit>;
  setLocalDescription(d: SdpInit): Promise<void>;
  setRemoteDescription(d: SdpInit): Promise<void>;
  addIceCandidate(c: CandidateInit): Promise<void>;
  addTrack(track: WrtcTrack): WrtcSender;
  removeTrack(sender: WrtcSender): void;
  getTransceivers(): WrtcTransceiver[];
  getStats(): Promise<Map<string, Record<string, unknown>>>;
  close(): void;
}

export interface AudioData {
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample?: number;
  channelCount?: number;
  numberOfFrames?: number;
}

export interface WrtcAudioSource {
  createTrack(): WrtcTrack;
  onData(d: AudioData): void;
}

export interface WrtcAudioSink {
  ondata: ((d: AudioData) => void) | null;
  stop(): void;
  readonly stopped: boolean;
}

export interface VideoFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface WrtcVideoSource {
  createTrack(): WrtcTrack;
  onFrame(f: VideoFrame): void;
}

export interface WrtcVideoSink {
  onframe: ((e: { frame: VideoFrame }) => void) | null;
  stop(): void;
  readonly stopped: boolean;
}

export interface Wrtc {
  RTCPeerConnection: new (config: { iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }> }) => WrtcPeerConnection;
  nonstandard: {
    RTCAudioSource: new () => WrtcAudioSource;
    RTCAudioSink: new (track: WrtcTrack) => WrtcAudioSink;
    RTCVideoSource: new (init?: { isScreencast?: boolean }) => WrtcVideoSource;
    RTCVideoSink: new (track: WrtcTrack) => WrtcVideoSink;
  };
}

let loaded: Wrtc | null = null;

export function loadWrtc(): Wrtc {
  if (!loaded) loaded = createRequire(import.meta.url)('wrtc') as Wrtc;
  return loaded;
}
