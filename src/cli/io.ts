/** The tool's output streams, shared by the entry and the commands. */
import type { ProgressStream } from '../pipeline/progress-bar';

/** The tool's output streams: results on stdout, progress and notes on stderr. */
export interface Io {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}
