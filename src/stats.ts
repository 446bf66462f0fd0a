// Summary statistics of repeated measurements (bench, profile, host check): no dependencies, so a
// measuring module can use them without loading the trainer.

/** The middle value of `xs` (the mean of the two middle ones for an even count). */
export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
