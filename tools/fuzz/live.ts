/** Live-session fuzzing: see runLiveFuzz (filled in next). */
export interface LiveRunOptions {
  streams: number;
  seed: number;
  corpusDir?: string;
  log?: (line: string) => void;
}
export interface LiveRunStats {
  streams: number;
  messages: number;
  resets: number;
  reconnects: number;
  elapsedMs: number;
  witnessStayedUp: boolean;
  findings: string[];
}
export async function runLiveFuzz(_o: LiveRunOptions): Promise<LiveRunStats> {
  throw new Error('not yet');
}
