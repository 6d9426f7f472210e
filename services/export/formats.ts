import type { ChatMessage } from '../game/messages';
import type { ExportView } from './views';

export const EXPORT_FORMATS = ['openai', 'hf', 'llamafactory'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Provenance carried by every exported example. */
export interface ExampleMetadata {
  game_id: string;
  iteration: number;
  verdict: 'success' | 'failure';
  kept: boolean;
  failure_reason: string;
  run_id: string;
  dataset: string;
  target_id: string;
  view: ExportView;
  questioner_model: string;
  answerer_model: string;
  filter_version: string;
  referee_version: string;
  transcript_hash: string;
}

/** One exported example: an OpenAI-shaped conversation whose image URLs are `dg-image:<sha256>` until a format resolves them. */
export interface Example {
  messages: ChatMessage[];
  metadata: ExampleMetadata;
}

export const IMAGE_REF_SCHEME = 'dg-image:';

export function imageRefUrl(sha256: string): string {
  return `${IMAGE_REF_SCHEME}${sha256}`;
}

function shaOfRef(url: string): string {
  if (!url.startsWith(IMAGE_REF_SCHEME)) throw new Error(`unexpected image URL in an export: ${url.slice(0, 40)}`);
  return url.slice(IMAGE_REF_SCHEME.length);
}

/** OpenAI chat JSONL line: the image URL becomes what `resolve` says (a data URL or a path relative to the output folder). */
export function openAiLine(example: Example, resolve: (sha256: string) => string): string {
  const messages = example.messages.map((m): ChatMessage => {
    if (m.role !== 'user' || typeof m.content === 'string') return m;
    return {
      role: 'user',
      content: m.content.map((p) => (p.type === 'image_url' ? { type: 'image_url', image_url: { url: resolve(shaOfRef(p.image_url.url)) } } : p)),
    };
  });
  return JSON.stringify({ messages, metadata: example.metadata });
}

/** TRL's VLM SFT shape: every content a list of parts, `{type: 'image'}` where an image goes, images listed in order. */
export interface HfRow {
  messages: Array<{ role: string; content: Array<{ type: 'text' | 'image'; text: string | null }> }>;
  /** sha256 of each image, in the order of the `image` parts. */
  imageShas: string[];
}

export function hfRow(example: Example): HfRow {
  const imageShas: string[] = [];
  const messages = example.messages.map((m) => {
    const parts = typeof m.content === 'string' ? [{ type: 'text' as const, text: m.content }] : m.content;
    return {
      role: m.role,
      content: parts.map((p) => {
        if (p.type === 'text') return { type: 'text' as const, text: p.text };
        imageShas.push(shaOfRef(p.image_url.url));
        return { type: 'image' as const, text: null };
      }),
    };
  });
  return { messages, imageShas };
}

/** LLaMA-Factory's multimodal ShareGPT record: `<image>` placeholders in the text, image paths in order. */
export interface LlamaFactoryRecord {
  messages: Array<{ role: string; content: string }>;
  images: string[];
  game_id: string;
}

export const LLAMAFACTORY_IMAGE_TOKEN = '<image>';

export function llamaFactoryRecord(example: Example, imagePath: (sha256: string) => string): LlamaFactoryRecord {
  const images: string[] = [];
  const messages = example.messages.map((m) => {
    if (typeof m.content === 'string') return { role: m.role, content: m.content };
    const content = m.content
      .map((p) => {
        if (p.type === 'text') return p.text;
        images.push(imagePath(shaOfRef(p.image_url.url)));
        return LLAMAFACTORY_IMAGE_TOKEN;
      })
      .join('\n');
    return { role: m.role, content };
  });
  return { messages, images, game_id: example.metadata.game_id };
}

/** The dataset_info.json entry LLaMA-Factory needs to find a file of ours. */
export function llamaFactoryDatasetInfo(fileName: string): Record<string, unknown> {
  return {
    file_name: fileName,
    formatting: 'sharegpt',
    columns: { messages: 'messages', images: 'images' },
    tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system' },
  };
}

/**
 * The Parquet schema of an `hf` file: `messages` list<struct<role, content list<struct<type, text>>>>,
 * `images` list<struct<bytes, path>> (the Image feature's storage), and flat provenance columns.
 */
export function hfParquetSchema(): Array<Record<string, unknown>> {
  const utf8 = (name: string, repetition: 'REQUIRED' | 'OPTIONAL' = 'REQUIRED') => ({
    name,
    type: 'BYTE_ARRAY',
    converted_type: 'UTF8',
    repetition_type: repetition,
  });
  return [
    { name: 'root', num_children: 6 },
    { name: 'messages', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'REQUIRED', num_children: 2 },
    utf8('role'),
    { name: 'content', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'REQUIRED', num_children: 2 },
    utf8('type'),
    utf8('text', 'OPTIONAL'),
    { name: 'images', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'REQUIRED', num_children: 2 },
    { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
    utf8('path', 'OPTIONAL'),
    utf8('game_id'),
    { name: 'iteration', type: 'INT32', repetition_type: 'REQUIRED' },
    utf8('verdict'),
    { name: 'kept', type: 'BOOLEAN', repetition_type: 'REQUIRED' },
  ];
}

/** Hugging Face `datasets` reads column features from this key-value metadata: `images` decode as Image. */
export function hfFeaturesMetadata(): string {
  const str = { dtype: 'string', _type: 'Value' };
  return JSON.stringify({
    info: {
      features: {
        messages: [{ role: str, content: [{ type: str, text: str }] }],
        images: [{ _type: 'Image' }],
        game_id: str,
        iteration: { dtype: 'int32', _type: 'Value' },
        verdict: str,
        kept: { dtype: 'bool', _type: 'Value' },
      },
    },
  });
}
