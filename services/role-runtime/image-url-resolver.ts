import { BadInputError, retry, type RetryPolicy } from '../core/errors';
import { loadImageBytes, prepareImageForModel, toDataUrl, type FetchPolicy, type ModelImageLimits } from '../datasets/image-bytes';
import type { ImageRef } from '../../schemas/generated/events';

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
  /** Downscaling limits for inlined images (default 768 px longest side, 4 MB). */
  limits?: ModelImageLimits;
  /** What fetching an http(s) image to inline it may reach (default: public hosts only, 20 MB, 10 s). */
  fetchPolicy?: FetchPolicy;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ModelImageLimits> = { maxSidePx: 768, maxBytes: 4_000_000 };
export const DEFAULT_FETCH_POLICY: Readonly<FetchPolicy> = { allowHosts: [], allowPrivate: false, maxBytes: 20_000_000, timeoutMs: 10_000 };

/**
 * Turns image references into the URLs a model request carries: local and data images become data
 * URLs (hash-checked against the event, decoded, downscaled to the limits), http(s) images pass
 * through or are fetched under the fetch policy and inlined likewise. Any failure becomes UnusableImageError naming the
 * image, after bounded retries for transient ones: the game ends with a reason, never a lost message.
 */
export class ImageUrlResolver {
  private readonly cache = new Map<string, string>();
  private readonly cacheEntries: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly passThroughHttp: boolean;
  private readonly limits: ModelImageLimits;
  private readonly fetchPolicy: FetchPolicy;

  constructor(options: ImageUrlResolverOptions = {}) {
    this.limits = options.limits ?? DEFAULT_IMAGE_LIMITS;
    this.fetchPolicy = options.fetchPolicy ?? DEFAULT_FETCH_POLICY;
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
      // Hash checked on the original bytes (the event's sha256), then decoded and downscaled if needed.
      const loaded = await retry(
        () => loadImageBytes(image.uri, { ...(image.sha256 ? { sha256: image.sha256 } : {}), fetchPolicy: this.fetchPolicy }),
        this.retryPolicy,
      );
      const prepared = await prepareImageForModel(loaded, this.limits);
      url = toDataUrl(prepared.bytes, prepared.mediaType);
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

/** The resolver as configured (DG_IMAGE_* variables). */
export function imageUrlResolverFromConfig(images: {
  maxSidePx: number;
  maxBytes: number;
  http: 'pass' | 'inline';
  fetch: { allowHosts: readonly string[]; allowPrivate: boolean; timeoutMs: number; maxBytes: number };
}): ImageUrlResolver {
  return new ImageUrlResolver({
    passThroughHttp: images.http === 'pass',
    limits: { maxSidePx: images.maxSidePx, maxBytes: images.maxBytes },
    fetchPolicy: {
      allowHosts: [...images.fetch.allowHosts],
      allowPrivate: images.fetch.allowPrivate,
      timeoutMs: images.fetch.timeoutMs,
      maxBytes: images.fetch.maxBytes,
    },
  });
}
