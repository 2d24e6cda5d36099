// Offline evaluation metrics. AUC is what the ranking cares about (ordering); log-loss checks calibration,
// which matters because the origin blends the score with other signals.

/** ROC AUC via the rank-sum (Mann–Whitney) statistic, ties get average ranks. NaN if one class is absent. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1; // 1-based
    for (let k = i; k <= j; k++) if (labels[idx[k]]) (rankSumPos += avgRank), nPos++;
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Mean binary cross-entropy; probabilities are clipped so one confident miss cannot make it infinite. */
export function logLoss(probs: ArrayLike<number>, labels: ArrayLike<number>, eps = 1e-7): number {
  let s = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i]));
    s -= labels[i] ? Math.log(p) : Math.log(1 - p);
  }
  return s / probs.length;
}
