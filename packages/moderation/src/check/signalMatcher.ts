/**
 * The matcher role as the upload check sees it: signals in, matches out. The in-process `Matcher`
 * (matcher.ts) implements it; a remote matcher process (apps/matcher, over its internal API) can take its
 * place without the check changing. Thresholds and rollout are policy's business, applied to what comes
 * back; the matcher only has to search at least as wide as the widest bank threshold.
 */
import type { QuerySignals, SignalMatch } from '../matcher.ts';

export interface SignalMatcher {
  match(query: QuerySignals): Promise<SignalMatch[]>;
  /** pick up signals added to the store now (a remote matcher otherwise follows on its own timer) */
  refresh?(): Promise<unknown>;
}
