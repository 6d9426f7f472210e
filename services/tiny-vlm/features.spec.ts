import { embedScene, readPngText } from '../datasets/png-text';
import { renderScenePng } from '../datasets/render';
import { generateDistinctScenes } from '../datasets/scene-generator';
import { encodeQuestion, FEATURE_DIM, imagePatches, OOV_BUCKETS, questionWords } from './features';

describe('TinyVLM inputs', () => {
  const scenes = generateDistinctScenes(3, 21, 144);

  it('pixels only: an image with the scene metadata embedded gives exactly the same features as the bare render', () => {
    for (const scene of scenes) {
      const bare = renderScenePng(scene);
      const withText = embedScene(bare, scene);
      expect(readPngText(withText).size).toBeGreaterThan(0);
      expect(withText.length).toBeGreaterThan(bare.length);
      expect(imagePatches(withText)).toEqual(imagePatches(bare));
    }
  });

  it('a lying text chunk changes nothing: the features follow the pixels', () => {
    const [a, b] = scenes;
    const aPixelsBMetadata = embedScene(renderScenePng(a!), b!);
    expect(imagePatches(aPixelsBMetadata)).toEqual(imagePatches(renderScenePng(a!)));
    expect(imagePatches(aPixelsBMetadata)).not.toEqual(imagePatches(renderScenePng(b!)));
  });

  it('features have the documented size and range; the background estimate is the background colour', () => {
    const f = imagePatches(renderScenePng(scenes[0]!));
    expect(f).toHaveLength(FEATURE_DIM);
    for (const v of f) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    expect(() => imagePatches(Buffer.from('not a png'))).toThrow(/not a decodable PNG/);
  });

  it('questions become a multi-hot over the vocabulary plus hashed buckets for unknown words', () => {
    expect(questionWords('Is there a large, red Circle in the top-left?')).toEqual(['is', 'there', 'a', 'large', 'red', 'circle', 'in', 'the', 'top', 'left']);
    const vocab = ['circle', 'red'];
    const v = encodeQuestion('Is there a red circle?', vocab);
    expect(v).toHaveLength(2 + OOV_BUCKETS);
    expect(v[0]).toBe(1);
    expect(v[1]).toBe(1);
  });
});
