import type { ImageRef } from '../../schemas/generated/events';

/**
 * A dataset is a named list of images by reference. DatasetImage is an ImageRef (the generated Avro
 * type: id, uri, sha256, mediaType, caption) plus local attributes, so a launcher can put it on the
 * wire as is (toImageRef drops the attributes).
 */
export interface DatasetImage extends ImageRef {
  /** Free-form attributes; for synthetic scenes, the scene itself. */
  attributes?: Record<string, unknown>;
}

/** A file or manifest line that was skipped, with where it is and why. */
export interface DatasetProblem {
  path: string;
  /** 1-based manifest line, when the problem comes from a manifest. */
  line?: number;
  message: string;
}

export interface Dataset {
  name: string;
  images: DatasetImage[];
  problems: DatasetProblem[];
}

/** The ImageRef record of a dataset image (what travels on Kafka). */
export function toImageRef(image: DatasetImage): ImageRef {
  return { id: image.id, uri: image.uri, sha256: image.sha256, mediaType: image.mediaType, caption: image.caption };
}
