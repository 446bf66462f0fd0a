// Small formatting helpers for the command line's human-readable output.

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export const percent = (x: number, digits = 2) => `${(100 * x).toFixed(digits)}%`;

export const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/** A run folder name: <model>-<YYYYMMDD-HHMMSS> in local time. */
export function runName(model: string, at = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${model}-${at.getFullYear()}${p(at.getMonth() + 1)}${p(at.getDate())}-${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}`;
}
