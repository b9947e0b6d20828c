import type { MatchThresholds } from './matcher.js';

/**
 * Precision, recall and F1 of a matcher on labelled pairs, and the choice of
 * thresholds from them. Recall counts every true pair, including those that
 * blocking never offered for scoring: a duplicate blocking misses is a
 * duplicate the registrar never sees.
 */
export interface LabelledScore {
  score: number;
  isMatch: boolean;
}

export interface MatchQuality {
  threshold: number;
  /** Pairs at or above the threshold. */
  predicted: number;
  truePositives: number;
  precision: number;
  recall: number;
  f1: number;
}

export function qualityAt(scores: readonly LabelledScore[], truePairCount: number, threshold: number): MatchQuality {
  let predicted = 0;
  let truePositives = 0;
  for (const { score, isMatch } of scores) {
    if (score < threshold) continue;
    predicted++;
    if (isMatch) truePositives++;
  }
  return quality(threshold, predicted, truePositives, truePairCount);
}

function quality(threshold: number, predicted: number, truePositives: number, truePairCount: number): MatchQuality {
  const precision = predicted === 0 ? 1 : truePositives / predicted;
  const recall = truePairCount === 0 ? 1 : truePositives / truePairCount;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { threshold, predicted, truePositives, precision, recall, f1 };
}

export interface ThresholdTargets {
  /** Precision the auto-link threshold must keep on the tuning set. */
  autoLinkPrecision: number;
  /** Recall the review threshold must keep on the tuning set. */
  reviewRecall: number;
}

/**
 * Auto-link: the lowest score above which precision never drops under the
 * target (scanning scores downward, so a stray false positive high up is not
 * averaged away). Review: the highest score at which recall reaches the
 * target, or the lowest scored pair when blocking alone cannot reach it. The
 * review threshold never exceeds the auto-link one.
 *
 * Choose on one labelled set and report on another: thresholds read off the
 * set they are judged on flatter the matcher.
 */
export function chooseThresholds(scores: readonly LabelledScore[], truePairCount: number, targets: ThresholdTargets): MatchThresholds {
  const sorted = [...scores].sort((x, y) => y.score - x.score);
  let predicted = 0;
  let truePositives = 0;
  let autoLink = Number.POSITIVE_INFINITY;
  let review = Number.NEGATIVE_INFINITY;
  let precisionBroken = false;
  for (let i = 0; i < sorted.length; ) {
    const score = sorted[i].score;
    // Pairs with equal scores are decided together.
    while (i < sorted.length && sorted[i].score === score) {
      predicted++;
      if (sorted[i].isMatch) truePositives++;
      i++;
    }
    if (!precisionBroken && truePositives / predicted >= targets.autoLinkPrecision) autoLink = score;
    else precisionBroken = true;
    if (review === Number.NEGATIVE_INFINITY && truePositives / truePairCount >= targets.reviewRecall) review = score;
  }
  if (review === Number.NEGATIVE_INFINITY) review = sorted.length > 0 ? sorted[sorted.length - 1].score : 0;
  return { autoLink, review: Math.min(review, autoLink) };
}
