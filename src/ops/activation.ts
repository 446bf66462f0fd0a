// The activations a layer op can end with, by name for users and by code for the kernels
// (the WebAssembly epilogue, src/kernels/activation.as.ts biasAct/actGrad, uses the same codes).
export const ACTIVATIONS = ['linear', 'tanh', 'relu', 'sigmoid'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const activationCode = (a: Activation): number => ACTIVATIONS.indexOf(a);

export function checkActivation(a: unknown, where: string): Activation {
  if (!ACTIVATIONS.includes(a as Activation)) throw new TypeError(`${where}: activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(a)}`);
  return a as Activation;
}

/** act(z) in float64, rounded by the caller: the portable kernels' definition. */
export function activate(a: Activation, z: number): number {
  switch (a) {
    case 'tanh':
      return Math.tanh(z);
    case 'relu':
      return z > 0 ? z : 0;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-z));
    default:
      return z;
  }
}

/** act'(z) from the activation's output y = act(z). */
export function slope(a: Activation, y: number): number {
  switch (a) {
    case 'tanh':
      return 1 - y * y;
    case 'relu':
      return y > 0 ? 1 : 0;
    case 'sigmoid':
      return y * (1 - y);
    default:
      return 1;
  }
}
