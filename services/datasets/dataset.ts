/**
 * A dataset is a named list of images by reference. DatasetImage carries the ImageRef fields
 * (id, uri, sha256, mediaType, caption) so a launcher can put it on the wire as is.
 */
export interface DatasetImage {
  id: string;
  /** Absolute file:// URI, http(s) URL or data: URL. */
  uri: string;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  mediaType: string;
  caption: string | null;
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
export function toImageRef(image: DatasetImage): { id: string; uri: string; sha256: string; mediaType: string; caption: string | null } {
  return { id: image.id, uri: image.uri, sha256: image.sha256, mediaType: image.mediaType, caption: image.caption };
}
