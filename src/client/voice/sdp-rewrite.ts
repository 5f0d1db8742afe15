/**
 * SDP munging, apart from negotiation: the rewrites VoicePeer applies to its own offers and
 * answers before setting and sending them. Pure string work, no wrtc.
 */

/**
 * The description with `a=ptime:MS` in each audio section (an existing one replaced). The
 * other side's Opus encoder takes its packet duration from it, and so do we from theirs.
 */
export function withPtime<D extends { type: string; sdp?: string }>(desc: D, ms: number): D {
  if (!desc.sdp) return desc;
  const sections = desc.sdp.split(/\r\n(?=m=)/);
  const sdp = sections
    .map((sec) => {
      if (!sec.startsWith('m=audio')) return sec;
      const lines = sec.split('\r\n').filter((l) => !l.startsWith('a=ptime:'));
      const at = lines.findIndex((l) => l.startsWith('a=rtpmap:'));
      lines.splice(at < 0 ? lines.length : at, 0, `a=ptime:${ms}`);
      return lines.join('\r\n');
    })
    .join('\r\n');
  return { ...desc, sdp };
}
