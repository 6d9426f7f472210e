import { BadInputError, retry, type RetryPolicy } from '../errors';
import { loadImageBytes, toDataUrl } from '../../datasets/image-bytes';
import type { ImageRef } from '../../../schemas/generated/events';

/** The image a game could not use, and why: the role ends that game as bad_image. */
export class UnusableImageError extends BadInputError {
  constructor(
    readonly image: Pick<ImageRef, 'id' | 'uri'>,
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(`image ${image.id} (${image.uri.startsWith('data:') ? 'data: URL' : image.uri}) is unusable: ${reason}`, { ...options, code: 'BAD_IMAGE' });
  }
}

export interface ImageUrlResolverOptions {
  /** Data URLs kept in memory, by content hash (synthetic candidates repeat across games). */
  cacheEntries?: number;
  /** Retries of transient fetch failures before the image is declared unusable. */
  retry?: RetryPolicy;
  /** Pass http(s) URIs to the model as they are instead of inlining them (default true). */
  passThroughHttp?: boolean;
}

/**
 * Turns image references into the URLs a model request carries: local and data images become data
 * URLs (hash-checked), http(s) images pass through. Any failure becomes UnusableImageError naming the
 * image, after bounded retries for transient ones: the game ends with a reason, never a lost message.
 */
export class ImageUrlResolver {
  private readonly cache = new Map<string, string>();
  private readonly cacheEntries: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly passThroughHttp: boolean;

  constructor(options: ImageUrlResolverOptions = {}) {
    this.cacheEntries = options.cacheEntries ?? 2048;
    this.retryPolicy = options.retry ?? { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 2_000 };
    this.passThroughHttp = options.passThroughHttp ?? true;
  }

  async urlFor(image: ImageRef): Promise<string> {
    if (this.passThroughHttp && /^https?:\/\//i.test(image.uri)) return image.uri;
    const cacheKey = `${image.sha256}|${image.uri}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) {
      // Refresh recency: Map iteration order is insertion order.
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, cached);
      return cached;
    }
    let url: string;
    try {
      const loaded = await retry(() => loadImageBytes(image.uri, image.sha256 ? { sha256: image.sha256 } : {}), this.retryPolicy);
      url = toDataUrl(loaded.bytes, loaded.mediaType);
    } catch (err) {
      throw new UnusableImageError(image, err instanceof Error ? err.message : String(err), { cause: err });
    }
    this.cache.set(cacheKey, url);
    if (this.cache.size > this.cacheEntries) this.cache.delete(this.cache.keys().next().value as string);
    return url;
  }

  /** URLs by image id, in one pass over the candidates. */
  async urlsFor(images: readonly ImageRef[]): Promise<Map<string, string>> {
    const urls = await Promise.all(images.map((image) => this.urlFor(image)));
    return new Map(images.map((image, i) => [image.id, urls[i]!]));
  }
}
