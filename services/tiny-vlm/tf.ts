import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

/**
 * The tensor library: @tensorflow/tfjs from the npm registry, on its WebAssembly backend (bundled
 * .wasm files inside the package, nothing fetched at run time). The model uses only dense ops
 * (matMul, elementwise, reductions), whose gradients the wasm backend has; it has no gradient for
 * conv2d (Conv2DBackpropFilter is not registered), which is why the image encoder is a patch MLP.
 * TINY_VLM_BACKEND=cpu selects the pure-JS backend instead (same results up to float rounding).
 */

export { tf };

let ready: Promise<string> | undefined;

export function initTf(): Promise<string> {
  ready ??= (async () => {
    const wanted = process.env.TINY_VLM_BACKEND === 'cpu' ? 'cpu' : 'wasm';
    if (wanted === 'wasm') {
      try {
        if (await tf.setBackend('wasm')) {
          await tf.ready();
          return 'wasm';
        }
      } catch (err) {
        process.stderr.write(`tiny-vlm: wasm backend unavailable (${(err as Error).message}); using the pure-JS cpu backend\n`);
      }
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return 'cpu';
  })();
  return ready;
}
