import { loadImageBytes, localPathOf } from '../datasets/image-bytes';
import type { Dataset, DatasetImage } from '../datasets/dataset';
import { loadDataset } from '../datasets/resolve';

export class ImageNotServed extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * Candidate images of recorded games, looked up by the id the game recorded in the dataset the
 * game recorded, never by a path from the request: the request names a game and a display index,
 * the games table gives the image id, the dataset's manifest gives the file, and the bytes must
 * still match the manifest's sha256. Remote (http) images are not proxied.
 */
export class CandidateImages {
  private readonly datasets = new Map<string, Promise<Map<string, DatasetImage>>>();

  constructor(private readonly datasetsDir: string) {}

  async bytes(datasetName: string, imageId: string): Promise<{ bytes: Buffer; mediaType: string; sha256: string }> {
    const images = await this.dataset(datasetName);
    const image = images.get(imageId);
    if (!image) throw new ImageNotServed(`image ${imageId} is not in dataset ${datasetName}`, 404);
    if (!image.uri.startsWith('data:') && localPathOf(image.uri) === undefined)
      throw new ImageNotServed(`image ${imageId} is remote (${new URL(image.uri).protocol}); the dashboard serves local dataset files only`, 404);
    try {
      return await loadImageBytes(image.uri, { sha256: image.sha256 });
    } catch (err) {
      throw new ImageNotServed(`image ${imageId} of dataset ${datasetName}: ${(err as Error).message}`, 410);
    }
  }

  private dataset(name: string): Promise<Map<string, DatasetImage>> {
    let entry = this.datasets.get(name);
    if (!entry) {
      entry = loadDataset(name, { datasetsDir: this.datasetsDir }).then((d: Dataset) => new Map(d.images.map((i) => [i.id, i])));
      entry.catch(() => this.datasets.delete(name));
      this.datasets.set(name, entry);
    }
    return entry.catch((err: unknown) => {
      throw new ImageNotServed(`dataset ${name} is not available here: ${(err as Error).message}`, 404);
    });
  }
}
