/**
 * wrtc gathers host candidates on every interface. Against a loopback target (and in every
 * test) only loopback candidates are relayed or added, so no traffic leaves 127.0.0.0/8.
 */
export function candidateAddress(candidate: string): string | null {
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
  const parts = candidate.replace(/^a=/, '').split(' ');
  return parts.length >= 8 ? parts[4]! : null;
}

export function isLoopbackAddress(addr: string | null): boolean {
  if (!addr) return false;
  return /^127\./.test(addr) || addr === '::1' || addr === '0:0:0:0:0:0:0:1';
}

export function isLoopbackCandidate(candidate: string): boolean {
  return isLoopbackAddress(candidateAddress(candidate));
}
