// Training health: a run that is not learning says so, in one line that says what to change,
// instead of ending quietly at chance. The test error is the signal: it is measured anyway (after
// each epoch and at the end), and it does not depend on the model's loss scale.
/** Below this many steps a run may still be on its way (lenet5-softmax's first plateau); no verdict. */
export const HEALTH_MIN_STEPS = 100;

/**
 * The warning for a run whose test error after `step` steps is no better than twice chance
 * accuracy (K classes: above 1 - 2/K, e.g. 80% for 10, chance being 90%), else null. The usual cause is a
 * learning rate so high that the tanh units saturate (the loss then stays flat, never NaN), less
 * often one so low that nothing moves.
 */
export function learningWarning(step: number, testError: number, o: { readonly learningRate: number }, classes: number): string | null {
  const chance = 1 - 1 / classes;
  if (step < HEALTH_MIN_STEPS || !(testError > 1 - 2 / classes)) return null;
  return (
    `the model is not learning: test error ${(100 * testError).toFixed(1)}% after ${step} steps is near chance (${(100 * chance).toFixed(0)}%); ` +
    `lower the learning rate (now ${o.learningRate}; try ${o.learningRate / 10}), or raise it if it is already small`
  );
}
